//! SA behaviour that needs the test-only hooks: sequence exhaustion and packets with a
//! good ICV but a bad trailer.

use std::time::{Duration, Instant};

use corridor_crypto::{DeterministicRandom, EncrAlgorithm};

use crate::suite::{Layout, Suite};
use crate::{EspError, InboundSa, Lifetime, OutboundSa, SEQUENCE_SOFT_MARGIN, SaConfig};

const KEY: [u8; 20] = [0x11; 20];

fn config(esn: bool) -> SaConfig {
    SaConfig {
        spi: 0x1234_5678,
        encr: EncrAlgorithm::AesGcm16 { key_bits: 128 },
        integ: None,
        esn,
        lifetime: Lifetime::default(),
    }
}

fn outbound(esn: bool) -> OutboundSa {
    let rng = Box::new(DeterministicRandom::from_u64(3));
    OutboundSa::new(&config(esn), &KEY, &[], rng, Instant::now()).unwrap()
}

const IPV4: [u8; 20] = [0x45; 20];

#[test]
fn sequence_numbers_never_cycle_without_esn() {
    let now = Instant::now();
    let mut tx = outbound(false);
    let mut out = [0u8; 128];
    assert!(!tx.needs_rekey(now));
    tx.set_last_sequence_number(u64::from(u32::MAX) - SEQUENCE_SOFT_MARGIN - 1);
    assert!(!tx.needs_rekey(now));
    tx.encapsulate(&IPV4, &mut out).unwrap();
    assert!(tx.needs_rekey(now), "soft margin reached");
    tx.set_last_sequence_number(u64::from(u32::MAX) - 1);
    let n = tx.encapsulate(&IPV4, &mut out).unwrap();
    assert_eq!(out[4..8], [0xff; 4], "2^32 - 1 is the last number sent");
    assert!(tx.is_expired(now));
    assert_eq!(
        tx.encapsulate(&IPV4, &mut out),
        Err(EspError::SequenceExhausted)
    );
    assert_eq!(tx.last_sequence_number(), u64::from(u32::MAX));
    assert_eq!(tx.stats().packets, 2);
    // The last packet is still a good one for the peer.
    let mut rx = InboundSa::new(&config(false), &KEY, &[], now).unwrap();
    rx.window_for_test().accept(u64::from(u32::MAX) - 1);
    assert_eq!(
        rx.decapsulate(&mut out[..n]).unwrap().seq,
        u64::from(u32::MAX)
    );
}

#[test]
fn esn_crosses_the_32_bit_boundary_and_stops_at_2_64() {
    let now = Instant::now();
    let mut tx = outbound(true);
    let mut rx = InboundSa::new(&config(true), &KEY, &[], now).unwrap();
    tx.set_last_sequence_number(u64::from(u32::MAX) - 2);
    rx.window_for_test().accept(u64::from(u32::MAX) - 2);
    let mut out = [0u8; 128];
    for expected in [0xffff_fffe, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001] {
        let n = tx.encapsulate(&IPV4, &mut out).unwrap();
        let d = rx.decapsulate(&mut out[..n]).unwrap();
        assert_eq!(d.seq, expected);
        assert_eq!(d.inner(&out[..n]), IPV4);
    }
    assert!(!tx.needs_rekey(now));
    tx.set_last_sequence_number(u64::MAX - 1);
    tx.encapsulate(&IPV4, &mut out).unwrap();
    assert_eq!(
        tx.encapsulate(&IPV4, &mut out),
        Err(EspError::SequenceExhausted)
    );
}

#[test]
fn hard_and_soft_lifetimes() {
    let now = Instant::now();
    let mut cfg = config(false);
    cfg.lifetime = Lifetime {
        soft_packets: Some(2),
        hard_packets: Some(3),
        hard_bytes: Some(50),
        soft_age: Some(Duration::from_secs(60)),
        hard_age: Some(Duration::from_secs(120)),
        ..Lifetime::default()
    };
    let rng = Box::new(DeterministicRandom::from_u64(4));
    let mut tx = OutboundSa::new(&cfg, &KEY, &[], rng, now).unwrap();
    let mut out = [0u8; 128];
    assert!(!tx.needs_rekey(now));
    assert!(tx.needs_rekey(now + Duration::from_secs(60)));
    assert!(!tx.is_expired(now + Duration::from_secs(119)));
    assert!(tx.is_expired(now + Duration::from_secs(120)));
    tx.encapsulate(&IPV4, &mut out).unwrap();
    tx.encapsulate(&IPV4, &mut out).unwrap();
    assert!(tx.needs_rekey(now));
    // 40 bytes sent; 20 more would pass the 50-byte hard limit.
    assert_eq!(
        tx.encapsulate(&IPV4, &mut out),
        Err(EspError::LifetimeExpired { limit: "byte" })
    );
    tx.encapsulate(&IPV4[..10], &mut out).unwrap();
    assert_eq!(
        tx.encapsulate(&IPV4[..1], &mut out),
        Err(EspError::LifetimeExpired { limit: "packet" })
    );
    assert!(tx.is_expired(now));
}

/// Seals `plaintext` (payload and an arbitrary trailer) as packet `seq`.
fn seal_raw(suite: &Suite, seq: u32, plaintext: &[u8]) -> Vec<u8> {
    let mut packet = vec![0u8; 8 + 8 + plaintext.len() + 16];
    packet[..4].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    packet[4..8].copy_from_slice(&seq.to_be_bytes());
    packet[8..16].copy_from_slice(&u64::from(seq).to_be_bytes());
    packet[16..16 + plaintext.len()].copy_from_slice(plaintext);
    let layout = Layout {
        iv_end: 16,
        ct_end: 16 + plaintext.len(),
        icv_end: packet.len(),
    };
    suite.seal(&mut packet, layout, None).unwrap();
    packet
}

#[test]
fn authentic_packets_with_bad_trailers_are_malformed() {
    let suite = Suite::new(EncrAlgorithm::AesGcm16 { key_bits: 128 }, None, &KEY, &[]).unwrap();
    let mut rx = InboundSa::new(&config(false), &KEY, &[], Instant::now()).unwrap();
    let cases: [(&[u8], &str); 4] = [
        (
            &[0x45, 0x45, 1, 3, 2, 4],
            "padding bytes are not 1, 2, 3, ...",
        ),
        (
            &[0x45, 0x45, 7, 4],
            "Pad Length is longer than the decrypted data",
        ),
        (&[9, 4], "Pad Length is longer than the decrypted data"),
        (
            &[0x45, 0x45, 0x45, 2, 2, 4],
            "padding bytes are not 1, 2, 3, ...",
        ),
    ];
    for (seq, (plaintext, reason)) in (1..).zip(cases) {
        let mut packet = seal_raw(&suite, seq, plaintext);
        assert_eq!(
            rx.decapsulate(&mut packet),
            Err(EspError::Malformed { reason }),
            "{plaintext:?}"
        );
        // The ICV was good, so the number is spent.
        let mut again = seal_raw(&suite, seq, &[0x45, 0, 4]);
        assert!(matches!(
            rx.decapsulate(&mut again),
            Err(EspError::Replay { .. })
        ));
    }
    assert_eq!(rx.stats().malformed, 4);
    assert_eq!(rx.stats().replay_drops, 4);
    // A good trailer with padding 1, 2, 3 still works, and unaligned AEAD data is
    // accepted (alignment is the sender's duty).
    let mut packet = seal_raw(&suite, 10, &[0x45, 0x45, 1, 2, 3, 3, 4]);
    let d = rx.decapsulate(&mut packet).unwrap();
    assert_eq!(d.inner(&packet), [0x45, 0x45]);
}
