//! SK payload protection: known answers from cipher RFCs and NIST, round trips for every
//! algorithm combination, and tampering.

mod common;

use common::hex;
use corridor_crypto::*;

const AAD: &[u8] = b"IKE header through the SK payload header";

fn combos() -> Vec<(EncrAlgorithm, Option<IntegAlgorithm>)> {
    let mut out = vec![
        (EncrAlgorithm::AesGcm16 { key_bits: 128 }, None),
        (EncrAlgorithm::AesGcm16 { key_bits: 256 }, None),
        (EncrAlgorithm::ChaCha20Poly1305, None),
    ];
    for key_bits in [128, 256] {
        for integ in [
            IntegAlgorithm::HmacSha1_96,
            IntegAlgorithm::HmacSha256_128,
            IntegAlgorithm::HmacSha384_192,
            IntegAlgorithm::HmacSha512_256,
        ] {
            out.push((EncrAlgorithm::AesCbc { key_bits }, Some(integ)));
        }
    }
    out
}

fn crypter(encr: EncrAlgorithm, integ: Option<IntegAlgorithm>, seed: u8) -> SkCrypter {
    let ek = vec![seed; encr.key_len()];
    let ik = integ.map(|i| vec![seed.wrapping_add(1); i.key_len()]);
    SkCrypter::new(encr, integ, &ek, ik.as_deref()).unwrap()
}

#[test]
fn round_trip_every_combination_and_length() {
    let mut rng = DeterministicRandom::from_u64(1);
    for (encr, integ) in combos() {
        let tx = crypter(encr, integ, 9);
        let rx = crypter(encr, integ, 9);
        for len in [0usize, 1, 14, 15, 16, 17, 31, 32, 100, 1000] {
            let plaintext: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let body = tx.seal(&mut rng, AAD, &plaintext).unwrap();
            assert_eq!(body.len(), tx.encrypted_len(len), "{encr} {integ:?} {len}");
            // Minimal padding: CBC ciphertext is the next whole block, AEADs add just
            // the pad-length octet.
            let ct_len = body.len() - tx.iv_len() - tx.icv_len();
            if encr.is_aead() {
                assert_eq!(ct_len, len + 1);
            } else {
                assert_eq!(ct_len % 16, 0);
                assert!(ct_len > len && ct_len <= len + 16);
            }
            assert_eq!(
                rx.open(AAD, &body).unwrap(),
                plaintext,
                "{encr} {integ:?} {len}"
            );
        }
    }
}

#[test]
fn any_modification_fails_authentication() {
    let mut rng = DeterministicRandom::from_u64(2);
    for (encr, integ) in combos() {
        let c = crypter(encr, integ, 3);
        let body = c.seal(&mut rng, AAD, b"some inner payloads").unwrap();
        // Flip one bit in the IV, the ciphertext and the ICV in turn.
        let positions = [0, c.iv_len(), body.len() - c.icv_len() - 1, body.len() - 1];
        for pos in positions {
            let mut bad = body.clone();
            bad[pos] ^= 0x01;
            assert_eq!(
                c.open(AAD, &bad),
                Err(CryptoError::AuthenticationFailed),
                "{encr} {integ:?} byte {pos}"
            );
        }
        let mut bad_aad = AAD.to_vec();
        bad_aad[5] ^= 0x80;
        assert_eq!(
            c.open(&bad_aad, &body),
            Err(CryptoError::AuthenticationFailed)
        );
        // Other keys.
        let other = crypter(encr, integ, 4);
        assert_eq!(
            other.open(AAD, &body),
            Err(CryptoError::AuthenticationFailed)
        );
    }
}

#[test]
fn truncated_bodies_are_errors_not_panics() {
    let mut rng = DeterministicRandom::from_u64(3);
    for (encr, integ) in combos() {
        let c = crypter(encr, integ, 5);
        let body = c.seal(&mut rng, AAD, b"x").unwrap();
        for len in 0..body.len() {
            let err = c.open(AAD, &body[..len]).unwrap_err();
            assert!(
                matches!(
                    err,
                    CryptoError::MalformedCiphertext { .. } | CryptoError::AuthenticationFailed
                ),
                "{encr} {integ:?} {len}: {err}"
            );
        }
    }
}

#[test]
fn aead_ivs_never_repeat_within_a_crypter() {
    let mut rng = DeterministicRandom::from_u64(4);
    let c = crypter(EncrAlgorithm::AesGcm16 { key_bits: 128 }, None, 1);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..1000 {
        let body = c.seal(&mut rng, AAD, b"").unwrap();
        assert!(seen.insert(body[..8].to_vec()), "IV repeated");
    }
}

#[test]
fn cbc_ivs_come_from_the_rng() {
    let c = crypter(
        EncrAlgorithm::AesCbc { key_bits: 128 },
        Some(IntegAlgorithm::HmacSha256_128),
        1,
    );
    let a = c
        .seal(&mut DeterministicRandom::from_u64(5), AAD, b"m")
        .unwrap();
    let b = c
        .seal(&mut DeterministicRandom::from_u64(5), AAD, b"m")
        .unwrap();
    let d = c
        .seal(&mut DeterministicRandom::from_u64(6), AAD, b"m")
        .unwrap();
    assert_eq!(a, b, "same seed, same output");
    assert_ne!(a[..16], d[..16]);
}

#[test]
fn bad_configurations_are_refused() {
    let gcm = EncrAlgorithm::AesGcm16 { key_bits: 128 };
    let cbc = EncrAlgorithm::AesCbc { key_bits: 128 };
    let sha = IntegAlgorithm::HmacSha256_128;
    assert!(matches!(
        SkCrypter::new(gcm, None, &[0; 16], None),
        Err(CryptoError::KeyLength {
            expected: 20,
            actual: 16,
            ..
        })
    ));
    assert!(SkCrypter::new(gcm, Some(sha), &[0; 20], Some(&[0; 32])).is_err());
    assert!(SkCrypter::new(cbc, None, &[0; 16], None).is_err());
    assert!(SkCrypter::new(cbc, Some(sha), &[0; 16], None).is_err());
    assert!(matches!(
        SkCrypter::new(cbc, Some(sha), &[0; 16], Some(&[0; 31])),
        Err(CryptoError::KeyLength { .. })
    ));
    assert!(
        SkCrypter::new(
            EncrAlgorithm::AesGcm16 { key_bits: 192 },
            None,
            &[0; 28],
            None
        )
        .is_err()
    );
}

/// RFC 7634 Appendix A, the IKEv2 example: an INFORMATIONAL message whose SK payload
/// carries one Notify (12 octets) and a zero Pad Length, sealed with ChaCha20-Poly1305.
#[test]
fn rfc7634_ikev2_example() {
    let key: Vec<u8> = (0x80..=0xa3).collect();
    // IKE header (28 octets) and the SK payload header (4 octets).
    let aad = hex(
        "c0c1c2c3c4c5c6c7 d0d1d2d3d4d5d6d7 2e202500 00000009 00000045
         29000029",
    );
    let inner = hex("0000000c 00004001 0000000a");
    let body = hex("1011121314151617
         610394701f8d017f7c129248896b71bfe25236efd7cdc67066906315b2");
    let c = SkCrypter::new(EncrAlgorithm::ChaCha20Poly1305, None, &key, None).unwrap();
    assert_eq!(c.encrypted_len(inner.len()), body.len());
    assert_eq!(
        aad.len() + body.len(),
        0x45,
        "matches the IKE header's Length"
    );
    let mut rng = common::FixedRandom::new(hex("1011121314151617"));
    assert_eq!(c.seal(&mut rng, &aad, &inner).unwrap(), body);
    assert_eq!(c.open(&aad, &body).unwrap(), inner);
}

/// NIST GCM specification (McGrew & Viega), test case 4: AES-128, 60-byte plaintext
/// with AAD. The 12-byte IV cafebabe facedbad decaf888 is our salt | IV. The plaintext
/// happens to end in 0x39 = 57, a valid Pad Length leaving two bytes of payload.
#[test]
fn nist_gcm_test_case_4_opens() {
    let key = hex("feffe9928665731c6d6a8f9467308308 cafebabe");
    let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let body = hex("facedbaddecaf888
         42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
         21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091
         5bc94fbc3221a5db94fae95ae7121a47");
    let c = SkCrypter::new(EncrAlgorithm::AesGcm16 { key_bits: 128 }, None, &key, None).unwrap();
    assert_eq!(c.open(&aad, &body).unwrap(), hex("d931"));
    // And sealing runs the same keystream: the first 59 ciphertext bytes match.
    let mut rng = common::FixedRandom::new(hex("facedbaddecaf888"));
    let padded = hex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
                      1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b",
    );
    let sealed = c.seal(&mut rng, &aad, &padded).unwrap();
    assert_eq!(sealed[..8 + 59], body[..8 + 59]);
}

/// NIST GCM specification, test case 16: the same with AES-256.
#[test]
fn nist_gcm_test_case_16_opens() {
    let key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308 cafebabe");
    let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let body = hex("facedbaddecaf888
         522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
         8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
         76fc6ece0f4e1768cddf8853bb2d551b");
    let c = SkCrypter::new(EncrAlgorithm::AesGcm16 { key_bits: 256 }, None, &key, None).unwrap();
    assert_eq!(c.open(&aad, &body).unwrap(), hex("d931"));
}

/// RFC 8439 §2.8.2 AEAD test vector. Its nonce 07000000 4041424344454647 is salt | IV
/// as RFC 7634 §2 builds it; the plaintext ends in '.', 46, read as the Pad Length.
#[test]
fn rfc8439_chacha20_poly1305_opens() {
    let key: Vec<u8> = (0x80..=0x9f).chain([0x07, 0x00, 0x00, 0x00]).collect();
    let aad = hex("50515253c0c1c2c3c4c5c6c7");
    let body = hex("4041424344454647
         d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
         3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
         92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
         3ff4def08e4b7a9de576d26586cec64b6116
         1ae10b594f09e26a7e902ecbd0600691");
    let c = SkCrypter::new(EncrAlgorithm::ChaCha20Poly1305, None, &key, None).unwrap();
    let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    assert_eq!(c.open(&aad, &body).unwrap(), &plaintext[..114 - 1 - 46]);
}

/// RFC 3602 §4 case #2 (AES-128-CBC, two blocks). The plaintext 00..1f ends in 0x1f =
/// 31, a Pad Length that leaves an empty payload; the ICV is ours over AAD | IV | ct.
#[test]
fn rfc3602_cbc_case_2_opens() {
    let key = hex("c286696d887c9aa0611bbb3e2025a45a");
    let integ_key = [0x5a; 32];
    let iv_ct = hex("562e17996d093d28ddb3ba695a2e6f58
         d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1");
    let integ = IntegAlgorithm::HmacSha256_128;
    let icv = integ.compute(&integ_key, &[AAD, &iv_ct].concat()).unwrap();
    let body = [iv_ct.clone(), icv].concat();
    let c = SkCrypter::new(
        EncrAlgorithm::AesCbc { key_bits: 128 },
        Some(integ),
        &key,
        Some(&integ_key),
    )
    .unwrap();
    assert_eq!(c.open(AAD, &body).unwrap(), b"");

    // Sealing 31 bytes pads to exactly two blocks; the first block is the RFC's.
    let mut rng = common::FixedRandom::new(hex("562e17996d093d28ddb3ba695a2e6f58"));
    let plaintext: Vec<u8> = (0..31).collect();
    let sealed = c.seal(&mut rng, AAD, &plaintext).unwrap();
    assert_eq!(sealed[..32], iv_ct[..32]);
}

/// RFC 3602 §4 case #1: "Single block msg" ends in 'g' (103), a Pad Length longer
/// than the block; authentic but badly padded data is refused after the ICV check.
#[test]
fn rfc3602_cbc_case_1_has_bad_padding() {
    let key = hex("06a9214036b8a15b512e03d534120006");
    let integ = IntegAlgorithm::HmacSha1_96;
    let integ_key = [0x33; 20];
    let iv_ct = hex("3dafba429d9eb430b422da802c9fac41 e353779c1079aeb82708942dbe77181a");
    let icv = integ.compute(&integ_key, &[AAD, &iv_ct].concat()).unwrap();
    let c = SkCrypter::new(
        EncrAlgorithm::AesCbc { key_bits: 128 },
        Some(integ),
        &key,
        Some(&integ_key),
    )
    .unwrap();
    assert!(matches!(
        c.open(AAD, &[iv_ct, icv].concat()),
        Err(CryptoError::BadPadding { .. })
    ));
}

/// Lengths and contents drawn from a seeded stream: seal/open always round-trips and a
/// random single-byte change is always caught.
#[test]
fn random_lengths_property() {
    let mut rng = DeterministicRandom::from_u64(99);
    let all = combos();
    for round in 0..300u32 {
        let mut pick = [0u8; 4];
        rng.fill(&mut pick);
        let (encr, integ) = all[usize::from(pick[0]) % all.len()];
        let len = usize::from(u16::from_be_bytes([pick[1], pick[2]]) % 1500);
        let mut plaintext = vec![0u8; len];
        rng.fill(&mut plaintext);
        let c = crypter(encr, integ, pick[3]);
        let body = c.seal(&mut rng, AAD, &plaintext).unwrap();
        assert_eq!(body.len(), c.encrypted_len(len));
        assert_eq!(c.open(AAD, &body).unwrap(), plaintext, "round {round}");
        let mut pos = [0u8; 2];
        rng.fill(&mut pos);
        let pos = usize::from(u16::from_be_bytes(pos)) % body.len();
        let mut bad = body;
        bad[pos] ^= 0x40;
        assert_eq!(c.open(AAD, &bad), Err(CryptoError::AuthenticationFailed));
    }
}

#[test]
fn debug_hides_keys() {
    let c = crypter(EncrAlgorithm::ChaCha20Poly1305, None, 0x77);
    let printed = format!("{c:?}");
    assert!(printed.contains("ChaCha20Poly1305") && printed.contains("***"));
    assert!(!printed.contains("119")); // 0x77
}

/// The fuzz seeds were sealed by an independent implementation (Python's
/// `cryptography`) with the fuzz target's fixed keys; they must open here too.
#[test]
fn fuzz_seeds_open() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/sk_open");
    let inner = [&hex("2900000c0100000198120001")[..], b"payload data"].concat();
    for (file, encr, integ) in [
        (
            "aes-gcm-128.bin",
            EncrAlgorithm::AesGcm16 { key_bits: 128 },
            None,
        ),
        (
            "chacha20-poly1305.bin",
            EncrAlgorithm::ChaCha20Poly1305,
            None,
        ),
        (
            "aes-cbc-128-sha256.bin",
            EncrAlgorithm::AesCbc { key_bits: 128 },
            Some(IntegAlgorithm::HmacSha256_128),
        ),
    ] {
        let data = std::fs::read(dir.join(file)).unwrap();
        let aad_len = usize::from(data[1]);
        let (aad, body) = data[2..].split_at(aad_len);
        let integ_key = integ.map(|i| vec![0x5a; i.key_len()]);
        let c = SkCrypter::new(
            encr,
            integ,
            &vec![0xa5; encr.key_len()],
            integ_key.as_deref(),
        )
        .unwrap();
        assert_eq!(c.open(aad, body).unwrap(), inner, "{file}");
    }
}

#[test]
fn max_plaintext_len_is_the_inverse_of_encrypted_len() {
    for (encr, integ) in combos() {
        let c = crypter(encr, integ, 1);
        for body_len in 0..200 {
            let max = c.max_plaintext_len(body_len);
            if body_len >= c.encrypted_len(0) {
                assert!(
                    c.encrypted_len(max) <= body_len,
                    "{encr} {integ:?} {body_len}"
                );
                assert!(
                    c.encrypted_len(max + 1) > body_len,
                    "{encr} {integ:?} {body_len}"
                );
            } else {
                assert_eq!(max, 0);
            }
        }
    }
}
