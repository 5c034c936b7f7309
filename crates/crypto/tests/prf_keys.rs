//! Known-answer tests for the PRFs, prf+, the integrity algorithms and key derivation.

mod common;

use aws_lc_rs::hmac;
use common::hex;
use corridor_crypto::*;

const HI_THERE: &[u8] = b"Hi There";
const JEFE_DATA: &[u8] = b"what do ya want for nothing?";

/// RFC 4231 §4.2 (test case 1) and §4.3 (test case 2); RFC 4868 §2.7.1 uses the same
/// vectors for PRF_HMAC_SHA2_*.
#[test]
fn rfc4231_hmac_sha2_prf() {
    let key1 = [0x0b; 20];
    let cases: [(PrfAlgorithm, &[u8], &[u8], &str); 6] = [
        (
            PrfAlgorithm::HmacSha256,
            &key1,
            HI_THERE,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            PrfAlgorithm::HmacSha384,
            &key1,
            HI_THERE,
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c
             faea9ea9076ede7f4af152e8b2fa9cb6",
        ),
        (
            PrfAlgorithm::HmacSha512,
            &key1,
            HI_THERE,
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde
             daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        ),
        (
            PrfAlgorithm::HmacSha256,
            b"Jefe",
            JEFE_DATA,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            PrfAlgorithm::HmacSha384,
            b"Jefe",
            JEFE_DATA,
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e
             8e2240ca5e69e2c78b3239ecfab21649",
        ),
        (
            PrfAlgorithm::HmacSha512,
            b"Jefe",
            JEFE_DATA,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
    ];
    for (prf, key, data, expected) in cases {
        let out = prf.prf(key, data);
        assert_eq!(out.expose(), hex(expected), "{prf}");
        assert_eq!(out.len(), prf.output_len());
        // prf_parts over a split input gives the same answer.
        let (a, b) = data.split_at(3);
        assert_eq!(prf.prf_parts(key, &[a, b]), out);
    }
}

/// RFC 2202 §3 test cases 1 and 2 (HMAC-SHA-1).
#[test]
fn rfc2202_hmac_sha1_prf() {
    let prf = PrfAlgorithm::HmacSha1;
    assert_eq!(
        prf.prf(&[0x0b; 20], HI_THERE).expose(),
        hex("b617318655057264e28bc0b6fb378c8ef146be00")
    );
    assert_eq!(
        prf.prf(b"Jefe", JEFE_DATA).expose(),
        hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    );
}

/// RFC 4868 §2.7.2 test cases 1 and 2 (keys of exactly the integrity key length) and
/// RFC 2404 §5 / RFC 2202 for HMAC-SHA1-96.
#[test]
fn rfc4868_truncated_icvs() {
    let jefe = |n: usize| b"Jefe".repeat(16)[..n].to_vec();
    let cases = [
        (
            IntegAlgorithm::HmacSha1_96,
            vec![0x0b; 20],
            HI_THERE,
            "b617318655057264e28bc0b6",
        ),
        (
            IntegAlgorithm::HmacSha256_128,
            vec![0x0b; 32],
            HI_THERE,
            "198a607eb44bfbc69903a0f1cf2bbdc5",
        ),
        (
            IntegAlgorithm::HmacSha384_192,
            vec![0x0b; 48],
            HI_THERE,
            "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973",
        ),
        (
            IntegAlgorithm::HmacSha512_256,
            vec![0x0b; 64],
            HI_THERE,
            "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8",
        ),
        (
            IntegAlgorithm::HmacSha256_128,
            jefe(32),
            JEFE_DATA,
            "167f928588c5cc2eef8e3093caa0e87c",
        ),
        (
            IntegAlgorithm::HmacSha384_192,
            jefe(48),
            JEFE_DATA,
            "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d",
        ),
        (
            IntegAlgorithm::HmacSha512_256,
            jefe(64),
            JEFE_DATA,
            "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454",
        ),
    ];
    for (alg, key, data, expected) in cases {
        let icv = alg.compute(&key, data).unwrap();
        assert_eq!(icv, hex(expected), "{alg}");
        assert_eq!(icv.len(), alg.icv_len());
        alg.verify(&key, data, &icv).unwrap();
        let mut bad = icv.clone();
        bad[0] ^= 1;
        assert_eq!(
            alg.verify(&key, data, &bad),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            alg.verify(&key, data, &icv[1..]),
            Err(CryptoError::AuthenticationFailed)
        );
        assert!(matches!(
            alg.compute(&key[1..], data),
            Err(CryptoError::KeyLength { .. })
        ));
    }
}

/// prf+ against an independent computation (Python's hmac module, written out from
/// the RFC 7296 §2.13 definition).
#[test]
fn prf_plus_matches_reference() {
    let out = PrfAlgorithm::HmacSha256
        .prf_plus(b"prf+ key", b"seed bytes", 100)
        .unwrap();
    assert_eq!(
        out.expose(),
        hex(
            "d4f33f87aa2d9530a8aaf5c5415c51ddbcd6fb59289760eb313a60e8ea9b1533
             f38c797b923f676ba07ef950d70841b05d9bab5fad851ead0f9aaa9f8117a669
             d37857a2aa7282e78e06778d8590ea2c56197eeacb2b7ba751481453a807a42f
             1f598aec"
        )
    );
}

/// prf+ against a direct transcription of T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S
/// | n), for every PRF and lengths around block boundaries.
#[test]
fn prf_plus_matches_definition() {
    for (prf, alg) in [
        (PrfAlgorithm::HmacSha1, hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        (PrfAlgorithm::HmacSha256, hmac::HMAC_SHA256),
        (PrfAlgorithm::HmacSha384, hmac::HMAC_SHA384),
        (PrfAlgorithm::HmacSha512, hmac::HMAC_SHA512),
    ] {
        let key = hmac::Key::new(alg, b"K");
        let mut stream = Vec::new();
        let mut t = Vec::new();
        for n in 1..=255u8 {
            let input = [t.as_slice(), b"S".as_slice(), &[n]].concat();
            t = hmac::sign(&key, &input).as_ref().to_vec();
            stream.extend_from_slice(&t);
        }
        let h = prf.output_len();
        for len in [0, 1, h - 1, h, h + 1, 3 * h, 255 * h] {
            let out = prf.prf_plus(b"K", b"S", len).unwrap();
            assert_eq!(out.expose(), &stream[..len], "{prf} {len}");
        }
        // RFC 7296 §2.13: "The prf+ function is not defined beyond 255 times the size
        // of the prf function output."
        assert_eq!(
            prf.prf_plus(b"K", b"S", 255 * h + 1),
            Err(CryptoError::PrfPlusTooLong {
                requested: 255 * h + 1,
                max: 255 * h
            })
        );
    }
}

fn nonces() -> (Vec<u8>, Vec<u8>) {
    (vec![0xa1; 32], vec![0xb2; 32])
}

const SPI_I: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const SPI_R: [u8; 8] = [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18];

fn ike_sa() -> (SecretBytes, IkeSaKeys) {
    let shared: Vec<u8> = (1..=32).collect();
    let (ni, nr) = nonces();
    derive_ike_sa_keys(
        PrfAlgorithm::HmacSha256,
        EncrAlgorithm::AesCbc { key_bits: 128 },
        Some(IntegAlgorithm::HmacSha256_128),
        &shared,
        &ni,
        &nr,
        SPI_I,
        SPI_R,
    )
    .unwrap()
}

/// RFC 7296 §2.14 against an independent computation (Python, from the RFC text).
#[test]
fn ike_sa_keys_match_reference() {
    let (skeyseed, keys) = ike_sa();
    assert_eq!(
        skeyseed.expose(),
        hex("b2d8d644c7e78d60bf8fb046271ab974801d3b0762d3011c982397c76950a6c3")
    );
    let expect = [
        (
            &keys.sk_d,
            "7f8d04f38c448c6e65669f5f0a4f04e279f919d40c23009fa26253c5cb1511b7",
        ),
        (
            &keys.sk_ai,
            "d75813d43c64587e5ef5a4de9a9f69f2acb2f426176a093699c01701fbac7e41",
        ),
        (
            &keys.sk_ar,
            "fb9de003b93745c2632e1537dd9720e6fb601290927482cc97a9cb5dfd274139",
        ),
        (&keys.sk_ei, "e49f9ec481b7d4299cfe975c8fbb7ad7"),
        (&keys.sk_er, "f2461ec8b1e22aa21b047b7f445d268c"),
        (
            &keys.sk_pi,
            "c06ee0330315786bfd8e98c7d01c204287652e60a19403ca7acbeb58ca33bd5d",
        ),
        (
            &keys.sk_pr,
            "1908f67cd12e479c3d5597ab7c2e5873c8c33c5d635daaf34c62bb2c95fdc6a7",
        ),
    ];
    for (key, hexed) in expect {
        assert_eq!(key.expose(), hex(hexed));
    }
    // Secrets never reach Debug output.
    let printed = format!("{keys:?} {skeyseed:?}");
    assert!(!printed.contains("7f8d") && printed.contains("***"));
}

#[test]
fn aead_ike_sa_has_salted_keys_and_no_integrity_keys() {
    let (ni, nr) = nonces();
    let (_, keys) = derive_ike_sa_keys(
        PrfAlgorithm::HmacSha384,
        EncrAlgorithm::AesGcm16 { key_bits: 256 },
        None,
        &[7; 32],
        &ni,
        &nr,
        SPI_I,
        SPI_R,
    )
    .unwrap();
    assert_eq!(keys.sk_d.len(), 48);
    assert!(keys.sk_ai.is_empty() && keys.sk_ar.is_empty());
    assert_eq!(keys.sk_ei.len(), 36);
    assert_eq!(keys.sk_er.len(), 36);
    assert_eq!(keys.sk_pr.len(), 48);
    // An AEAD with an integrity algorithm, or CBC without one, is refused.
    for (encr, integ) in [
        (
            EncrAlgorithm::ChaCha20Poly1305,
            Some(IntegAlgorithm::HmacSha256_128),
        ),
        (EncrAlgorithm::AesCbc { key_bits: 256 }, None),
        (
            EncrAlgorithm::AesCbc { key_bits: 192 },
            Some(IntegAlgorithm::HmacSha256_128),
        ),
    ] {
        assert!(matches!(
            derive_ike_sa_keys(
                PrfAlgorithm::HmacSha256,
                encr,
                integ,
                &[1],
                &ni,
                &nr,
                SPI_I,
                SPI_R
            ),
            Err(CryptoError::UnsupportedAlgorithm { .. })
        ));
    }
}

/// RFC 7296 §2.17 against an independent computation, with and without PFS.
#[test]
fn child_sa_keys_match_reference() {
    let (_, ike) = ike_sa();
    let (ni, nr) = nonces();
    let gcm = EncrAlgorithm::AesGcm16 { key_bits: 128 };
    let child = derive_child_sa_keys(
        PrfAlgorithm::HmacSha256,
        &ike.sk_d,
        None,
        &ni,
        &nr,
        gcm.key_len(),
        0,
    )
    .unwrap();
    assert_eq!(
        child.encr_i.expose(),
        hex("529c64cea90d80d280709e66cc70a30168ab0e9b")
    );
    assert_eq!(
        child.encr_r.expose(),
        hex("7211b76e8916b1cf8f27ab79d93c1fdc6be3b7bd")
    );
    assert!(child.integ_i.is_empty() && child.integ_r.is_empty());

    let shared = [0x42; 64];
    let pfs = derive_child_sa_keys(
        PrfAlgorithm::HmacSha256,
        &ike.sk_d,
        Some(&shared),
        &ni,
        &nr,
        32,
        32,
    )
    .unwrap();
    assert_eq!(
        pfs.encr_i.expose(),
        hex("0226c4bbe449af7c40bf3d43e1f5883dc43e1ec647a2183de1d3d2b90eb2ae8b")
    );
    assert_eq!(
        pfs.integ_i.expose(),
        hex("ea16c218bb7e792705f188a558006db76b435f20fa8fe7296c1ad593cecc16a4")
    );
    assert_eq!(
        pfs.encr_r.expose(),
        hex("9932f1b1362b0a81a49214e9d9d664cbed030e592b1ef8f9a39c38f4da05c157")
    );
    assert_eq!(
        pfs.integ_r.expose(),
        hex("e096b732cf31f1d0f1a6153cfe9eb3e6363aa9920264fa2b4e6af650f3b65701")
    );
}

/// RFC 7296 §2.18: SKEYSEED with the old PRF, the keys with the new one.
#[test]
fn rekeyed_ike_sa_keys_match_reference() {
    let (_, old) = ike_sa();
    let (skeyseed, keys) = derive_rekeyed_ike_sa_keys(
        PrfAlgorithm::HmacSha256,
        PrfAlgorithm::HmacSha384,
        EncrAlgorithm::AesGcm16 { key_bits: 256 },
        None,
        &old.sk_d,
        &[0x42; 64],
        &[0xc3; 32],
        &[0xd4; 48],
        [0x21; 8],
        [0x31; 8],
    )
    .unwrap();
    assert_eq!(
        skeyseed.expose(),
        hex("a4c387e2216140678fb922c4f3f23b495ebf615686d2d359c827b412fd2347de")
    );
    assert_eq!(
        keys.sk_d.expose(),
        hex(
            "d104a2e4a0b606d404a0ea5999383c8590df2aae572cf22ac22d8e7aa491e4ee
             1ef38f633e3060efd56925d494cc674e"
        )
    );
    assert_eq!(
        keys.sk_er.expose(),
        hex("5124f171c75a8545ca308ad9c19eef30553491c1318ccf32780f7dcf7059d3a9b759e50c")
    );
    assert_eq!(
        keys.sk_pr.expose(),
        hex(
            "29b00a4d4685d173068c135bdc357fff9f6cb77230d65997f7ba4a9a5e3a3102
             e09173381de31c3721b266b4e19fb02a"
        )
    );
}

#[test]
fn child_sa_keys_too_long_is_an_error() {
    let sk_d = SecretBytes::from_slice(&[1; 20]);
    assert!(matches!(
        derive_child_sa_keys(PrfAlgorithm::HmacSha1, &sk_d, None, b"n", b"n", 3000, 0),
        Err(CryptoError::PrfPlusTooLong { .. })
    ));
}

#[test]
fn iana_ids_round_trip() {
    for prf in [
        PrfAlgorithm::HmacSha1,
        PrfAlgorithm::HmacSha256,
        PrfAlgorithm::HmacSha384,
        PrfAlgorithm::HmacSha512,
    ] {
        assert_eq!(PrfAlgorithm::from_iana_id(prf.iana_id()), Some(prf));
    }
    for integ in [
        IntegAlgorithm::HmacSha1_96,
        IntegAlgorithm::HmacSha256_128,
        IntegAlgorithm::HmacSha384_192,
        IntegAlgorithm::HmacSha512_256,
    ] {
        assert_eq!(IntegAlgorithm::from_iana_id(integ.iana_id()), Some(integ));
    }
    assert_eq!(
        EncrAlgorithm::from_iana_id(20, Some(256)),
        Ok(EncrAlgorithm::AesGcm16 { key_bits: 256 })
    );
    assert_eq!(
        EncrAlgorithm::from_iana_id(28, None),
        Ok(EncrAlgorithm::ChaCha20Poly1305)
    );
    assert!(EncrAlgorithm::from_iana_id(28, Some(256)).is_err());
    assert!(EncrAlgorithm::from_iana_id(12, None).is_err());
    assert!(EncrAlgorithm::from_iana_id(12, Some(192)).is_err());
    assert!(EncrAlgorithm::from_iana_id(3, None).is_err());
    // RFC 5282 §7.1 / RFC 7634 §2: AEAD keying material carries a 4-byte salt.
    assert_eq!(EncrAlgorithm::AesGcm16 { key_bits: 128 }.key_len(), 20);
    assert_eq!(EncrAlgorithm::AesGcm16 { key_bits: 256 }.key_len(), 36);
    assert_eq!(EncrAlgorithm::ChaCha20Poly1305.key_len(), 36);
    assert_eq!(EncrAlgorithm::AesCbc { key_bits: 256 }.key_len(), 32);
}
