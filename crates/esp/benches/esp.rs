//! Throughput of ESP encapsulation and decapsulation of 1400-byte inner packets, per
//! suite: `cargo bench -p corridor-esp`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use corridor_crypto::{EncrAlgorithm, IntegAlgorithm, SystemRandom};
use corridor_esp::{DatagramBatch, InboundSa, Lifetime, OutboundSa, SaConfig};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const INNER_LEN: usize = 1400;
const BATCH: usize = 64;

fn suites() -> Vec<(&'static str, EncrAlgorithm, Option<IntegAlgorithm>)> {
    vec![
        (
            "aes128gcm16",
            EncrAlgorithm::AesGcm16 { key_bits: 128 },
            None,
        ),
        (
            "aes256gcm16",
            EncrAlgorithm::AesGcm16 { key_bits: 256 },
            None,
        ),
        ("chacha20poly1305", EncrAlgorithm::ChaCha20Poly1305, None),
        (
            "aes128-sha256",
            EncrAlgorithm::AesCbc { key_bits: 128 },
            Some(IntegAlgorithm::HmacSha256_128),
        ),
        (
            "aes256-sha256",
            EncrAlgorithm::AesCbc { key_bits: 256 },
            Some(IntegAlgorithm::HmacSha256_128),
        ),
        (
            "aes256-sha384",
            EncrAlgorithm::AesCbc { key_bits: 256 },
            Some(IntegAlgorithm::HmacSha384_192),
        ),
        (
            "aes256-sha512",
            EncrAlgorithm::AesCbc { key_bits: 256 },
            Some(IntegAlgorithm::HmacSha512_256),
        ),
        (
            "aes128-sha1",
            EncrAlgorithm::AesCbc { key_bits: 128 },
            Some(IntegAlgorithm::HmacSha1_96),
        ),
    ]
}

fn sa_pair(encr: EncrAlgorithm, integ: Option<IntegAlgorithm>) -> (OutboundSa, InboundSa) {
    let config = SaConfig {
        spi: 0xbe7c_0001,
        encr,
        integ,
        // ESN: the benchmark sends far more than 2^32 packets' worth of iterations
        // only in theory, but it is also what gateways negotiate for fast links.
        esn: true,
        lifetime: Lifetime::default(),
    };
    let encr_key = vec![0x42; encr.key_len()];
    let integ_key = vec![0x24; integ.map_or(0, IntegAlgorithm::key_len)];
    let now = Instant::now();
    let tx = OutboundSa::new(
        &config,
        &encr_key,
        &integ_key,
        Box::new(SystemRandom::new()),
        now,
    )
    .expect("valid benchmark SA");
    let rx = InboundSa::new(&config, &encr_key, &integ_key, now).expect("valid benchmark SA");
    (tx, rx)
}

fn inner_packet() -> Vec<u8> {
    let mut p = vec![0xab; INNER_LEN];
    p[0] = 0x45;
    p
}

fn bench(c: &mut Criterion) {
    let inner = inner_packet();
    let mut group = c.benchmark_group("esp-1400");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .throughput(Throughput::Bytes(INNER_LEN as u64));
    for (name, encr, integ) in suites() {
        let (mut tx, mut rx) = sa_pair(encr, integ);
        let mut out = vec![0u8; tx.encapsulated_len(INNER_LEN)];
        group.bench_function(BenchmarkId::new("encapsulate", name), |b| {
            b.iter(|| {
                tx.encapsulate(black_box(&inner), &mut out)
                    .expect("encapsulation")
            });
        });
        let (mut tx, _) = sa_pair(encr, integ);
        group.bench_function(BenchmarkId::new("encapsulate+decapsulate", name), |b| {
            b.iter(|| {
                let n = tx
                    .encapsulate(black_box(&inner), &mut out)
                    .expect("encapsulation");
                rx.decapsulate(&mut out[..n]).expect("decapsulation").inner
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("esp-1400-batch64");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .throughput(Throughput::Bytes((INNER_LEN * BATCH) as u64));
    for (name, encr, integ) in suites().into_iter().take(3) {
        let (mut tx, _) = sa_pair(encr, integ);
        let packets = vec![inner.clone(); BATCH];
        let mut batch = DatagramBatch::with_capacity(BATCH, BATCH * 1500);
        group.bench_function(BenchmarkId::new("encapsulate_batch", name), |b| {
            b.iter(|| {
                batch.clear();
                tx.encapsulate_batch(packets.iter().map(Vec::as_slice), &mut batch)
                    .expect("encapsulation")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
