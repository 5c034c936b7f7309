//! AUTH signatures: sign/verify round trips with keys made by rcgen (as the test PKI
//! makes them) and by aws-lc, key formats, RFC 7427 AlgorithmIdentifiers.

mod common;

use common::hex;
use corridor_crypto::*;
use rcgen::{KeyPair, PublicKeyData, RsaKeySize};

const MESSAGE: &[u8] = b"InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI";

fn rsa(size: RsaKeySize) -> KeyPair {
    KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size).unwrap()
}

fn ec(alg: &'static rcgen::SignatureAlgorithm) -> KeyPair {
    KeyPair::generate_for(alg).unwrap()
}

fn round_trip(pair: &KeyPair, expected_schemes: &[SignatureScheme]) {
    let key = SigningKey::from_der(&pair.serialize_der()).unwrap();
    let spki = pair.subject_public_key_info();
    assert_eq!(key.public_key_spki().unwrap(), spki);
    assert_eq!(key.available_schemes(), expected_schemes);
    for &scheme in expected_schemes {
        let sig = key.sign(scheme, MESSAGE).unwrap();
        verify_signature(scheme, &spki, MESSAGE, &sig).unwrap();
        // Another message, or a damaged signature, does not verify.
        assert_eq!(
            verify_signature(scheme, &spki, b"other message", &sig),
            Err(CryptoError::BadSignature)
        );
        let mut bad = sig.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 1;
        assert_eq!(
            verify_signature(scheme, &spki, MESSAGE, &bad),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            verify_signature(scheme, &spki, MESSAGE, &[]),
            Err(CryptoError::BadSignature)
        );
    }
}

const RSA_SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::RsaPssSha256,
    SignatureScheme::RsaPssSha384,
    SignatureScheme::RsaPssSha512,
    SignatureScheme::RsaPkcs1Sha256,
    SignatureScheme::RsaPkcs1Sha384,
    SignatureScheme::RsaPkcs1Sha512,
];

#[test]
fn rsa_2048_and_3072_round_trip() {
    round_trip(&rsa(RsaKeySize::_2048), &RSA_SCHEMES);
    round_trip(&rsa(RsaKeySize::_3072), &RSA_SCHEMES);
}

#[test]
fn ecdsa_round_trip() {
    round_trip(
        &ec(&rcgen::PKCS_ECDSA_P256_SHA256),
        &[SignatureScheme::EcdsaP256Sha256],
    );
    round_trip(
        &ec(&rcgen::PKCS_ECDSA_P384_SHA384),
        &[SignatureScheme::EcdsaP384Sha384],
    );
    round_trip(
        &ec(&rcgen::PKCS_ECDSA_P521_SHA512),
        &[SignatureScheme::EcdsaP521Sha512],
    );
}

#[test]
fn ecdsa_fixed_encoding_for_classic_auth_methods() {
    for (alg, scheme, len) in [
        (
            &rcgen::PKCS_ECDSA_P256_SHA256,
            SignatureScheme::EcdsaP256Sha256,
            64,
        ),
        (
            &rcgen::PKCS_ECDSA_P384_SHA384,
            SignatureScheme::EcdsaP384Sha384,
            96,
        ),
        (
            &rcgen::PKCS_ECDSA_P521_SHA512,
            SignatureScheme::EcdsaP521Sha512,
            132,
        ),
    ] {
        let pair = ec(alg);
        let key = SigningKey::from_der(&pair.serialize_der()).unwrap();
        let spki = pair.subject_public_key_info();
        // RFC 4754 §7: r | s, each as long as the curve order.
        let fixed = key.sign_ecdsa_fixed(scheme, MESSAGE).unwrap();
        assert_eq!(fixed.len(), len);
        verify_ecdsa_fixed(scheme, &spki, MESSAGE, &fixed).unwrap();
        // The two encodings are not interchangeable.
        assert_eq!(
            verify_signature(scheme, &spki, MESSAGE, &fixed),
            Err(CryptoError::BadSignature)
        );
        let der = key.sign(scheme, MESSAGE).unwrap();
        assert_eq!(der[0], 0x30, "DER ECDSA-Sig-Value is a SEQUENCE");
        assert_eq!(
            verify_ecdsa_fixed(scheme, &spki, MESSAGE, &der),
            Err(CryptoError::BadSignature)
        );
    }
}

#[test]
fn wrong_key_or_scheme_is_refused() {
    let rsa_pair = rsa(RsaKeySize::_2048);
    let p256 = ec(&rcgen::PKCS_ECDSA_P256_SHA256);
    let p384 = ec(&rcgen::PKCS_ECDSA_P384_SHA384);
    let rsa_key = SigningKey::from_der(&rsa_pair.serialize_der()).unwrap();
    let p256_key = SigningKey::from_der(&p256.serialize_der()).unwrap();

    // A signature checked against another key of the same type.
    let other_rsa = rsa(RsaKeySize::_2048);
    let sig = rsa_key
        .sign(SignatureScheme::RsaPssSha256, MESSAGE)
        .unwrap();
    assert_eq!(
        verify_signature(
            SignatureScheme::RsaPssSha256,
            &other_rsa.subject_public_key_info(),
            MESSAGE,
            &sig
        ),
        Err(CryptoError::BadSignature)
    );
    // PSS and PKCS#1 v1.5 are distinct.
    assert_eq!(
        verify_signature(
            SignatureScheme::RsaPkcs1Sha256,
            &rsa_pair.subject_public_key_info(),
            MESSAGE,
            &sig
        ),
        Err(CryptoError::BadSignature)
    );
    let other_p256 = ec(&rcgen::PKCS_ECDSA_P256_SHA256);
    let sig = p256_key
        .sign(SignatureScheme::EcdsaP256Sha256, MESSAGE)
        .unwrap();
    assert_eq!(
        verify_signature(
            SignatureScheme::EcdsaP256Sha256,
            &other_p256.subject_public_key_info(),
            MESSAGE,
            &sig
        ),
        Err(CryptoError::BadSignature)
    );
    // Key type does not match the scheme.
    assert_eq!(
        verify_signature(
            SignatureScheme::EcdsaP256Sha256,
            &rsa_pair.subject_public_key_info(),
            MESSAGE,
            &sig
        ),
        Err(CryptoError::KeyDoesNotMatchScheme {
            scheme: SignatureScheme::EcdsaP256Sha256
        })
    );
    // RFC 7427 ECDSA: the scheme fixes the hash, the key's curve is free; a P-256
    // signature does not verify under a P-384 key.
    assert_eq!(
        verify_signature(
            SignatureScheme::EcdsaP256Sha256,
            &p384.subject_public_key_info(),
            MESSAGE,
            &sig
        ),
        Err(CryptoError::BadSignature)
    );
    // RFC 4754 fixed-length signatures tie the curve to the method.
    assert!(matches!(
        verify_ecdsa_fixed(
            SignatureScheme::EcdsaP256Sha256,
            &p384.subject_public_key_info(),
            MESSAGE,
            &[0; 64]
        ),
        Err(CryptoError::KeyDoesNotMatchScheme { .. })
    ));
    assert!(matches!(
        verify_signature(
            SignatureScheme::RsaPssSha256,
            &p256.subject_public_key_info(),
            MESSAGE,
            &sig
        ),
        Err(CryptoError::KeyDoesNotMatchScheme { .. })
    ));
    assert!(matches!(
        verify_signature(
            SignatureScheme::RsaPssSha256,
            b"\x30\x03\x02\x01\x00",
            MESSAGE,
            &sig
        ),
        Err(CryptoError::UnsupportedKey { .. })
    ));
    // The signing side refuses schemes the key cannot make.
    assert_eq!(
        p256_key.sign(SignatureScheme::EcdsaP384Sha384, MESSAGE),
        Err(CryptoError::SchemeNotSupportedByKey {
            scheme: SignatureScheme::EcdsaP384Sha384
        })
    );
    assert!(
        rsa_key
            .sign(SignatureScheme::EcdsaP256Sha256, MESSAGE)
            .is_err()
    );
    assert!(
        rsa_key
            .sign(SignatureScheme::RsaPkcs1Sha1, MESSAGE)
            .is_err()
    );
    assert!(
        rsa_key
            .sign_ecdsa_fixed(SignatureScheme::RsaPssSha256, MESSAGE)
            .is_err()
    );
}

/// PKCS#1 `RSAPrivateKey` and SEC1 `ECPrivateKey` load as well as PKCS#8.
#[test]
fn key_formats() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

    // PKCS#8 wraps the PKCS#1 key in an OCTET STRING after a fixed 22-byte prefix for
    // RSA: SEQUENCE hdr(4) | version(3) | AlgorithmIdentifier(15) | OCTET STRING hdr(4).
    let pair = rsa(RsaKeySize::_2048);
    let pkcs8 = pair.serialize_der();
    assert_eq!(pkcs8[22..24], [0x04, 0x82]);
    let pkcs1 = &pkcs8[26..];
    let key = SigningKey::from_der(pkcs1).unwrap();
    let sig = key.sign(SignatureScheme::RsaPkcs1Sha384, MESSAGE).unwrap();
    verify_signature(
        SignatureScheme::RsaPkcs1Sha384,
        &pair.subject_public_key_info(),
        MESSAGE,
        &sig,
    )
    .unwrap();

    let ec_pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).unwrap();
    let sec1 = ec_pair.private_key().as_der().unwrap();
    let key = SigningKey::from_der(sec1.as_ref()).unwrap();
    assert_eq!(key.available_schemes(), [SignatureScheme::EcdsaP384Sha384]);
    let spki = ec_pair.public_key().as_der().unwrap();
    let sig = key.sign(SignatureScheme::EcdsaP384Sha384, MESSAGE).unwrap();
    verify_signature(
        SignatureScheme::EcdsaP384Sha384,
        spki.as_ref(),
        MESSAGE,
        &sig,
    )
    .unwrap();

    for junk in [&b""[..], b"\x30\x00", &[0x42; 100]] {
        assert!(matches!(
            SigningKey::from_der(junk),
            Err(CryptoError::UnsupportedKey { .. })
        ));
    }
    assert!(format!("{key:?}").contains("P-384"));
}

/// RFC 7427 Appendix A byte strings for PKCS#1 v1.5 (A.1) and ECDSA (A.3), and the
/// explicit RSASSA-PSS parameters (MGF1 with the same hash, salt = hash length).
#[test]
fn algorithm_identifiers() {
    let expected = [
        (
            SignatureScheme::RsaPkcs1Sha1,
            "300d06092a864886f70d0101050500",
        ),
        (
            SignatureScheme::RsaPkcs1Sha256,
            "300d06092a864886f70d01010b0500",
        ),
        (
            SignatureScheme::RsaPkcs1Sha384,
            "300d06092a864886f70d01010c0500",
        ),
        (
            SignatureScheme::RsaPkcs1Sha512,
            "300d06092a864886f70d01010d0500",
        ),
        (SignatureScheme::EcdsaP256Sha256, "300a06082a8648ce3d040302"),
        (SignatureScheme::EcdsaP384Sha384, "300a06082a8648ce3d040303"),
        (SignatureScheme::EcdsaP521Sha512, "300a06082a8648ce3d040304"),
        (
            SignatureScheme::RsaPssSha256,
            "304106092a864886f70d01010a3034a00f300d06096086480165030402010500
             a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120",
        ),
        (
            SignatureScheme::RsaPssSha384,
            "304106092a864886f70d01010a3034a00f300d06096086480165030402020500
             a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130",
        ),
        (
            SignatureScheme::RsaPssSha512,
            "304106092a864886f70d01010a3034a00f300d06096086480165030402030500
             a11c301a06092a864886f70d010108300d06096086480165030402030500a203020140",
        ),
    ];
    for (scheme, hexed) in expected {
        assert_eq!(scheme.algorithm_identifier(), hex(hexed), "{scheme:?}");
        assert_eq!(
            SignatureScheme::from_algorithm_identifier(&hex(hexed)),
            Ok(scheme)
        );
    }
    assert_eq!(expected.len(), SignatureScheme::ALL.len());

    // Lenient where DER allows: PKCS#1 without the NULL, PSS hashes without NULL, an
    // explicit default trailerField.
    assert_eq!(
        SignatureScheme::from_algorithm_identifier(&hex("300b06092a864886f70d01010b")),
        Ok(SignatureScheme::RsaPkcs1Sha256)
    );
    assert_eq!(
        SignatureScheme::from_algorithm_identifier(&hex(
            "304206092a864886f70d01010a3035a00d300b0609608648016503040201
             a11a3018 06092a864886f70d010108 300b0609608648016503040201
             a203020120 a303020101"
        )),
        Ok(SignatureScheme::RsaPssSha256)
    );
    // Refused: PSS with default (SHA-1) parameters or a salt we cannot verify, a
    // mismatched MGF hash, ECDSA with parameters, unknown OIDs, trailing bytes, junk.
    for bad in [
        "300b06092a864886f70d01010a",
        "300d06092a864886f70d01010a3000",
        "304106092a864886f70d01010a3034a00f300d06096086480165030402010500
         a11c301a06092a864886f70d010108300d06096086480165030402010500a203020114",
        "304106092a864886f70d01010a3034a00f300d06096086480165030402010500
         a11c301a06092a864886f70d010108300d06096086480165030402020500a203020120",
        "300c06082a8648ce3d0403020500",
        "300d06092a864886f70d0101040500",
        "300d06092a864886f70d01010b050000",
        "",
        "30",
        "ff",
    ] {
        assert_eq!(
            SignatureScheme::from_algorithm_identifier(&hex(bad)),
            Err(CryptoError::UnknownAlgorithmIdentifier),
            "{bad}"
        );
    }
}

#[test]
fn hash_algorithm_ids() {
    // RFC 7427 §7 "IKEv2 Hash Algorithms": SHA1 = 1, SHA2-256 = 2, SHA2-384 = 3,
    // SHA2-512 = 4.
    assert_eq!(SignatureScheme::RsaPkcs1Sha1.hash_algorithm_id(), 1);
    assert_eq!(SignatureScheme::EcdsaP256Sha256.hash_algorithm_id(), 2);
    assert_eq!(SignatureScheme::RsaPssSha384.hash_algorithm_id(), 3);
    assert_eq!(SignatureScheme::EcdsaP521Sha512.hash_algorithm_id(), 4);
}

/// RFC 7427 lets the hash and the curve vary independently: a P-521 key signing with
/// ecdsa-with-SHA256 (as the AlgorithmIdentifier says) verifies.
#[test]
fn ecdsa_hash_and_curve_are_independent_in_rfc7427() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P521_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

    let pair = EcdsaKeyPair::generate(&ECDSA_P521_SHA256_ASN1_SIGNING).unwrap();
    let spki = pair.public_key().as_der().unwrap();
    let sig = pair.sign(&SystemRandom::new(), MESSAGE).unwrap();
    let scheme =
        SignatureScheme::from_algorithm_identifier(&hex("300a06082a8648ce3d040302")).unwrap();
    assert_eq!(scheme, SignatureScheme::EcdsaP256Sha256);
    verify_signature(scheme, spki.as_ref(), MESSAGE, sig.as_ref()).unwrap();
    assert_eq!(
        verify_signature(
            SignatureScheme::EcdsaP521Sha512,
            spki.as_ref(),
            MESSAGE,
            sig.as_ref()
        ),
        Err(CryptoError::BadSignature)
    );
}
