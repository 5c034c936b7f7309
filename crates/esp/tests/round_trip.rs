//! Both directions of a Child SA for every suite, in both sequence number modes, and
//! what the receiver does with damaged packets.

use std::time::Instant;

use corridor_crypto::{
    ChildSaKeys, DeterministicRandom, EncrAlgorithm, IntegAlgorithm, SecretBytes,
};
use corridor_esp::{
    ChildSa, ChildSaParams, DatagramBatch, EspError, Lifetime, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6,
    NEXT_HEADER_NONE, Received, classify, nat_keepalive,
};

fn suites() -> Vec<(EncrAlgorithm, Option<IntegAlgorithm>)> {
    let mut s = vec![
        (EncrAlgorithm::AesGcm16 { key_bits: 128 }, None),
        (EncrAlgorithm::AesGcm16 { key_bits: 256 }, None),
        (EncrAlgorithm::ChaCha20Poly1305, None),
    ];
    for bits in [128, 256] {
        for integ in [
            IntegAlgorithm::HmacSha1_96,
            IntegAlgorithm::HmacSha256_128,
            IntegAlgorithm::HmacSha384_192,
            IntegAlgorithm::HmacSha512_256,
        ] {
            s.push((EncrAlgorithm::AesCbc { key_bits: bits }, Some(integ)));
        }
    }
    s
}

fn bytes(len: usize, seed: u8) -> SecretBytes {
    SecretBytes::new((0..len).map(|i| seed.wrapping_add(i as u8)).collect())
}

/// The initiator's and the responder's view of one Child SA.
fn pair(encr: EncrAlgorithm, integ: Option<IntegAlgorithm>, esn: bool) -> (ChildSa, ChildSa) {
    let integ_len = integ.map_or(0, IntegAlgorithm::key_len);
    let keys = ChildSaKeys {
        encr_i: bytes(encr.key_len(), 1),
        integ_i: bytes(integ_len, 2),
        encr_r: bytes(encr.key_len(), 3),
        integ_r: bytes(integ_len, 4),
    };
    let params = ChildSaParams {
        inbound_spi: 0xc100_0001,
        outbound_spi: 0xc200_0002,
        encr,
        integ,
        esn,
        lifetime: Lifetime::default(),
    };
    let peer_params = ChildSaParams {
        inbound_spi: params.outbound_spi,
        outbound_spi: params.inbound_spi,
        ..params
    };
    let now = Instant::now();
    let rng = |seed| Box::new(DeterministicRandom::from_u64(seed));
    (
        ChildSa::new_initiator(&params, &keys, rng(1), now).unwrap(),
        ChildSa::new_responder(&peer_params, &keys, rng(2), now).unwrap(),
    )
}

fn ip_packet(version: u8, len: usize, fill: u8) -> Vec<u8> {
    let mut p: Vec<u8> = (0..len).map(|i| fill.wrapping_add(i as u8)).collect();
    if let Some(first) = p.first_mut() {
        *first = version << 4 | 5;
    }
    p
}

#[test]
fn every_suite_round_trips_in_both_directions_and_sequence_modes() {
    for (encr, integ) in suites() {
        for esn in [false, true] {
            let (mut us, mut gateway) = pair(encr, integ, esn);
            let mut buf = vec![0u8; 2048];
            let sizes = (1..=70).chain([255, 256, 1279, 1280, 1399, 1400, 1500]);
            for (i, len) in sizes.enumerate() {
                let version = if i % 2 == 0 { 4 } else { 6 };
                let inner = ip_packet(version, len, i as u8);
                for (tx, rx) in [
                    (&mut us.outbound, &mut gateway.inbound),
                    (&mut gateway.outbound, &mut us.inbound),
                ] {
                    let n = tx.encapsulate(&inner, &mut buf).unwrap();
                    assert_eq!(n, tx.encapsulated_len(len));
                    assert!(tx.max_inner_len(n) >= len, "{encr} {len}");
                    let packet = &mut buf[..n];
                    let d = rx.decapsulate(packet).unwrap();
                    assert_eq!(
                        d.inner(packet),
                        inner,
                        "{encr} {integ:?} esn={esn} len={len}"
                    );
                    let expected = if version == 4 {
                        NEXT_HEADER_IPV4
                    } else {
                        NEXT_HEADER_IPV6
                    };
                    assert_eq!(d.next_header, expected);
                    assert_eq!(d.seq, tx.last_sequence_number());
                    assert!(!d.is_dummy());
                }
            }
            assert_eq!(us.outbound.stats().packets, 77);
            assert_eq!(gateway.inbound.stats().packets, 77);
            assert_eq!(us.inbound.stats(), gateway.outbound.stats());
        }
    }
}

#[test]
fn encrypted_part_is_aligned() {
    for (encr, integ) in suites() {
        let (mut us, _) = pair(encr, integ, false);
        let iv = if encr.is_aead() { 8 } else { 16 };
        let icv = integ.map_or(16, IntegAlgorithm::icv_len);
        let align = if encr.is_aead() { 4 } else { 16 };
        let mut buf = [0u8; 256];
        for len in 1..100 {
            let n = us
                .outbound
                .encapsulate(&ip_packet(4, len, 0), &mut buf)
                .unwrap();
            let encrypted = n - 8 - iv - icv;
            assert_eq!(encrypted % align, 0);
            assert!(encrypted - len - 2 < align, "minimal padding");
        }
    }
}

#[test]
fn aead_iv_is_the_sequence_number() {
    let (mut us, _) = pair(EncrAlgorithm::ChaCha20Poly1305, None, true);
    let mut buf = [0u8; 128];
    for seq in 1u64..=3 {
        us.outbound
            .encapsulate(&ip_packet(4, 20, 0), &mut buf)
            .unwrap();
        assert_eq!(buf[8..16], seq.to_be_bytes());
        assert_eq!(buf[4..8], (seq as u32).to_be_bytes());
    }
}

#[test]
fn batch_is_contiguous_and_gso_ready() {
    for (encr, integ) in suites() {
        let (mut us, mut gateway) = pair(encr, integ, true);
        let packets: Vec<Vec<u8>> = (0..64).map(|i| ip_packet(4, 1400, i)).collect();
        let mut batch = DatagramBatch::with_capacity(64, 64 * 1500);
        let short = ip_packet(6, 100, 9);
        let sent = us
            .outbound
            .encapsulate_batch(
                packets.iter().map(Vec::as_slice).chain([&short[..]]),
                &mut batch,
            )
            .unwrap();
        assert_eq!(sent, 65);
        assert_eq!(batch.len(), 65);
        let segment = us.outbound.encapsulated_len(1400);
        assert_eq!(batch.gso_segment_size(), Some(segment));
        assert_eq!(
            batch.as_bytes().len(),
            64 * segment + us.outbound.encapsulated_len(100)
        );
        for (i, datagram) in batch.iter().enumerate() {
            let mut datagram = datagram.to_vec();
            let d = gateway.inbound.decapsulate(&mut datagram).unwrap();
            let expected = packets.get(i).unwrap_or(&short);
            assert_eq!(d.inner(&datagram), &expected[..]);
        }
        // Reuse keeps working after clear.
        batch.clear();
        us.outbound
            .encapsulate_batch([&short[..]], &mut batch)
            .unwrap();
        assert_eq!(batch.len(), 1);
        // A bad packet stops the batch but keeps what came before.
        batch.clear();
        let err = us
            .outbound
            .encapsulate_batch([&short[..], &[0x10, 0, 0][..], &short[..]], &mut batch);
        assert!(matches!(err, Err(EspError::Malformed { .. })));
        assert_eq!(batch.len(), 1);
    }
}

#[test]
fn tampering_anywhere_fails_and_leaves_the_window_unchanged() {
    for (encr, integ) in suites() {
        for esn in [false, true] {
            let (mut us, mut gateway) = pair(encr, integ, esn);
            let mut buf = [0u8; 256];
            let n = us
                .outbound
                .encapsulate(&ip_packet(4, 61, 3), &mut buf)
                .unwrap();
            let original = buf[..n].to_vec();
            let window = gateway.inbound.replay_window().clone();
            for position in 0..n {
                for flip in [0x01, 0x80] {
                    let mut packet = original.clone();
                    packet[position] ^= flip;
                    let err = gateway.inbound.decapsulate(&mut packet).unwrap_err();
                    if position < 4 {
                        assert!(matches!(err, EspError::UnknownSpi { .. }));
                    } else {
                        assert!(
                            matches!(err, EspError::IntegrityFailed | EspError::Replay { .. }),
                            "{encr} byte {position}: {err}"
                        );
                    }
                    assert_eq!(gateway.inbound.replay_window(), &window);
                }
            }
            assert!(gateway.inbound.stats().auth_failures >= 2 * (n as u64 - 8) - 8);
            assert_eq!(gateway.inbound.stats().packets, 0);
            let mut packet = original.clone();
            gateway.inbound.decapsulate(&mut packet).unwrap();
        }
    }
}

#[test]
fn truncated_packets_of_every_length_are_refused() {
    for (encr, integ) in suites() {
        let (mut us, mut gateway) = pair(encr, integ, false);
        let mut buf = [0u8; 256];
        let n = us
            .outbound
            .encapsulate(&ip_packet(6, 40, 1), &mut buf)
            .unwrap();
        for len in 0..n {
            let mut packet = buf[..len].to_vec();
            let err = gateway.inbound.decapsulate(&mut packet).unwrap_err();
            assert!(
                matches!(err, EspError::Malformed { .. } | EspError::IntegrityFailed),
                "{encr} length {len}: {err}"
            );
        }
        let mut longer = buf[..n + 1].to_vec();
        assert!(gateway.inbound.decapsulate(&mut longer).is_err());
        gateway.inbound.decapsulate(&mut buf[..n]).unwrap();
    }
}

#[test]
fn replayed_packets_are_dropped_and_counted() {
    let (mut us, mut gateway) = pair(EncrAlgorithm::AesGcm16 { key_bits: 256 }, None, false);
    let mut first = [0u8; 128];
    let n = us
        .outbound
        .encapsulate(&ip_packet(4, 30, 0), &mut first)
        .unwrap();
    let copy = first;
    gateway.inbound.decapsulate(&mut first[..n]).unwrap();
    let mut replay = copy;
    assert_eq!(
        gateway.inbound.decapsulate(&mut replay[..n]),
        Err(EspError::Replay { seq: 1 })
    );
    assert_eq!(gateway.inbound.stats().replay_drops, 1);
}

#[test]
fn dummy_packets_are_reported_for_discarding() {
    let (mut us, mut gateway) = pair(EncrAlgorithm::ChaCha20Poly1305, None, false);
    let mut buf = [0u8; 64];
    let n = us
        .outbound
        .encapsulate_with_next_header(&[], NEXT_HEADER_NONE, &mut buf)
        .unwrap();
    let d = gateway.inbound.decapsulate(&mut buf[..n]).unwrap();
    assert!(d.is_dummy());
    assert!(d.inner.is_empty());
    assert_eq!(gateway.inbound.stats().dummies, 1);
    assert_eq!(gateway.inbound.stats().packets, 0);
}

#[test]
fn wrong_spi_and_bad_input_are_errors() {
    let (mut us, _) = pair(EncrAlgorithm::AesGcm16 { key_bits: 128 }, None, false);
    let mut buf = [0u8; 128];
    let n = us
        .outbound
        .encapsulate(&ip_packet(4, 20, 0), &mut buf)
        .unwrap();
    // Our own outbound packet is for the gateway's SPI, not our inbound one.
    assert_eq!(
        us.inbound.decapsulate(&mut buf[..n]),
        Err(EspError::UnknownSpi { spi: 0xc200_0002 })
    );
    assert!(matches!(
        us.outbound.encapsulate(&[], &mut buf),
        Err(EspError::Malformed { .. })
    ));
    assert!(matches!(
        us.outbound.encapsulate(&[0x50; 20], &mut buf),
        Err(EspError::Malformed { .. })
    ));
    let before = us.outbound.last_sequence_number();
    assert_eq!(
        us.outbound
            .encapsulate(&ip_packet(4, 100, 0), &mut buf[..50]),
        Err(EspError::BufferTooSmall {
            needed: us.outbound.encapsulated_len(100),
            available: 50
        })
    );
    assert_eq!(
        us.outbound.last_sequence_number(),
        before,
        "no number spent"
    );
}

#[test]
fn bad_configurations_are_refused() {
    let keys = ChildSaKeys {
        encr_i: bytes(20, 0),
        integ_i: bytes(0, 0),
        encr_r: bytes(20, 0),
        integ_r: bytes(0, 0),
    };
    let good = ChildSaParams {
        inbound_spi: 1,
        outbound_spi: 2,
        encr: EncrAlgorithm::AesGcm16 { key_bits: 128 },
        integ: None,
        esn: false,
        lifetime: Lifetime::default(),
    };
    let build = |p: &ChildSaParams, k: &ChildSaKeys| {
        ChildSa::new_initiator(
            p,
            k,
            Box::new(DeterministicRandom::from_u64(0)),
            Instant::now(),
        )
    };
    assert!(build(&good, &keys).is_ok());
    for bad in [
        ChildSaParams {
            inbound_spi: 0,
            ..good
        },
        ChildSaParams {
            outbound_spi: 0,
            ..good
        },
        ChildSaParams {
            encr: EncrAlgorithm::AesGcm16 { key_bits: 256 },
            ..good
        },
        ChildSaParams {
            integ: Some(IntegAlgorithm::HmacSha256_128),
            ..good
        },
        ChildSaParams {
            encr: EncrAlgorithm::AesCbc { key_bits: 128 },
            ..good
        },
        ChildSaParams {
            encr: EncrAlgorithm::AesGcm16 { key_bits: 192 },
            ..good
        },
    ] {
        assert!(
            matches!(build(&bad, &keys), Err(EspError::InvalidConfig { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn debug_output_shows_no_keys() {
    let (us, _) = pair(
        EncrAlgorithm::AesCbc { key_bits: 128 },
        Some(IntegAlgorithm::HmacSha256_128),
        true,
    );
    let text = format!("{us:?}");
    assert!(text.contains("0xc2000002"), "{text}");
    assert!(text.contains("***"));
    // The key bytes 01 02 03 ... would print as a list of small numbers.
    assert!(!text.contains("1, 2, 3"), "{text}");
}

#[test]
fn port_4500_demultiplexing() {
    let (mut us, mut gateway) = pair(EncrAlgorithm::ChaCha20Poly1305, None, false);
    let mut buf = [0u8; 128];
    let n = us
        .outbound
        .encapsulate(&ip_packet(4, 20, 0), &mut buf)
        .unwrap();
    let datagram = &mut buf[..n];
    match classify(datagram).unwrap() {
        Received::Esp { spi } => {
            assert_eq!(spi, gateway.inbound.spi());
            gateway.inbound.decapsulate(datagram).unwrap();
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(nat_keepalive(), [0xff]);
    assert_eq!(classify(&nat_keepalive()).unwrap(), Received::Keepalive);
    assert_eq!(
        classify(&[0, 0, 0, 0, 1]).unwrap(),
        Received::Ike { offset: 4 }
    );
}
