//! Throughput of ESP encapsulation and decapsulation of 1400-byte inner packets, per
//! suite, and the overhead of ESP over the bare AEAD call at 64, 512 and 1400 bytes:
//! `cargo bench -p corridor-esp`. The target is an ESP round trip costing at most 1.3×
//! the bare AEAD seal + open of the same payload at 1400 bytes (compare the
//! `esp-vs-aead/esp` and `esp-vs-aead/aead` lines of one run).

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

/// The bare AEAD seal + open that an ESP round trip wraps, on the same payload size.
fn aead_round_trip(
    alg: &'static aws_lc_rs::aead::Algorithm,
) -> impl FnMut(&mut Vec<u8>, usize) -> usize {
    use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
    let key_bytes = vec![0x42; alg.key_len()];
    let key = LessSafeKey::new(UnboundKey::new(alg, &key_bytes).expect("AEAD key"));
    let mut counter: u64 = 0;
    move |buf: &mut Vec<u8>, len: usize| {
        counter += 1;
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&counter.to_be_bytes());
        let aad = [0u8; 8];
        buf.truncate(len);
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf[..],
            )
            .expect("seal");
        buf.extend_from_slice(tag.as_ref());
        key.open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf[..],
        )
        .expect("open")
        .len()
    }
}

fn esp_vs_aead(c: &mut Criterion) {
    let aeads: [(&str, EncrAlgorithm, &'static aws_lc_rs::aead::Algorithm); 3] = [
        (
            "aes128gcm16",
            EncrAlgorithm::AesGcm16 { key_bits: 128 },
            &aws_lc_rs::aead::AES_128_GCM,
        ),
        (
            "aes256gcm16",
            EncrAlgorithm::AesGcm16 { key_bits: 256 },
            &aws_lc_rs::aead::AES_256_GCM,
        ),
        (
            "chacha20poly1305",
            EncrAlgorithm::ChaCha20Poly1305,
            &aws_lc_rs::aead::CHACHA20_POLY1305,
        ),
    ];
    for size in [64usize, 512, 1400] {
        let mut group = c.benchmark_group(format!("esp-vs-aead-{size}"));
        group
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .sample_size(20)
            .throughput(Throughput::Bytes(size as u64));
        let mut inner = vec![0xab; size];
        inner[0] = 0x45;
        for (name, encr, alg) in aeads {
            let (mut tx, mut rx) = sa_pair(encr, None);
            let mut out = vec![0u8; tx.encapsulated_len(size)];
            group.bench_function(BenchmarkId::new("esp", name), |b| {
                b.iter(|| {
                    let n = tx
                        .encapsulate(black_box(&inner), &mut out)
                        .expect("encapsulation");
                    rx.decapsulate(&mut out[..n]).expect("decapsulation").inner
                });
            });
            let mut round_trip = aead_round_trip(alg);
            let mut buf = Vec::with_capacity(size + 16);
            group.bench_function(BenchmarkId::new("aead", name), |b| {
                b.iter(|| {
                    buf.clear();
                    buf.extend_from_slice(black_box(&inner));
                    round_trip(&mut buf, size)
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench, esp_vs_aead);
criterion_main!(benches);
