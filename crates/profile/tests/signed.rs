//! Signed profiles: signing with each key type, verification against the policy's
//! trusted signers, and the import pipeline's handling of signed and unsigned files.

#![allow(clippy::unwrap_used)]

mod common;

use common::data;
use corridor_profile::model::Base64Bytes;
use corridor_profile::signed::{self, SignError};
use corridor_profile::{
    ImportOptions, InputErrorKind, Policy, TrustedSigner, import_bytes, import_file,
};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, PKCS_RSA_SHA256, RsaKeySize};

fn psk_profile() -> Vec<u8> {
    std::fs::read(data("valid/corridor-psk.json")).unwrap()
}

fn spki_of(key_pem: &str) -> Vec<u8> {
    let pem = signed::public_key_pem(key_pem.as_bytes()).unwrap();
    signed::public_key_from_pem(pem.as_bytes()).unwrap()
}

fn trusting(name: &str, key_pem: &str) -> Policy {
    Policy {
        trusted_signers: vec![TrustedSigner {
            name: name.to_string(),
            public_key: Base64Bytes(spki_of(key_pem)),
        }],
        ..Policy::default()
    }
}

fn keys() -> Vec<(&'static str, String)> {
    vec![
        (
            "ecdsa-p256-sha256",
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                .unwrap()
                .serialize_pem(),
        ),
        (
            "ed25519",
            KeyPair::generate_for(&PKCS_ED25519)
                .unwrap()
                .serialize_pem(),
        ),
        (
            "rsa-pss-sha256",
            KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
                .unwrap()
                .serialize_pem(),
        ),
    ]
}

#[test]
fn each_key_type_signs_and_verifies() {
    let profile = psk_profile();
    for (algorithm, key) in keys() {
        let envelope = signed::sign(&profile, key.as_bytes()).unwrap();
        assert!(signed::is_envelope(&envelope), "{algorithm}");
        let json: serde_json::Value = serde_json::from_str(&envelope).unwrap();
        assert_eq!(json["format"], "corridor-signed-profile");
        assert_eq!(json["version"], 1);
        assert_eq!(json["signature"]["algorithm"], algorithm);

        let policy = trusting("IT department", &key);
        let opened = signed::open("vpn.signed.json", &envelope, &policy).unwrap();
        assert_eq!(opened.bytes, profile, "{algorithm}");
        assert_eq!(opened.signer, "IT department");
        assert_eq!(opened.fingerprint, signed::fingerprint(&spki_of(&key)));
        assert!(opened.fingerprint.starts_with("SHA256:"));
        // 32 bytes in unpadded base64, as ssh-keygen prints it.
        assert_eq!(opened.fingerprint.len(), "SHA256:".len() + 43);
    }
}

/// Flips one byte of the signed file inside the envelope.
fn tamper(envelope: &str) -> String {
    let mut json: serde_json::Value = serde_json::from_str(envelope).unwrap();
    let mut inner = Base64Bytes::decode(json["profile"].as_str().unwrap()).unwrap();
    let at = inner.0.windows(4).position(|w| w == b"198.").unwrap();
    inner.0[at] = b'2';
    json["profile"] = serde_json::Value::String(inner.encode());
    serde_json::to_string_pretty(&json).unwrap()
}

#[test]
fn a_changed_profile_is_refused_as_tampered() {
    for (algorithm, key) in keys() {
        let envelope = signed::sign(&psk_profile(), key.as_bytes()).unwrap();
        let err = signed::open("x.json", &tamper(&envelope), &trusting("IT", &key)).unwrap_err();
        assert!(
            matches!(err.kind(), InputErrorKind::Tampered),
            "{algorithm}"
        );
        assert_eq!(
            err.to_string(),
            "x.json: signature: the signature does not match: the profile was changed after it \
             was signed"
        );
    }
}

#[test]
fn a_key_the_policy_does_not_trust_is_refused_with_its_fingerprint() {
    let (_, key) = keys().remove(0);
    let (_, other) = keys().remove(1);
    let envelope = signed::sign(&psk_profile(), key.as_bytes()).unwrap();
    let err = signed::open("x.json", &envelope, &trusting("IT", &other)).unwrap_err();
    let fingerprint = signed::fingerprint(&spki_of(&key));
    assert!(
        matches!(err.kind(), InputErrorKind::UntrustedSigner { fingerprint: f } if *f == fingerprint)
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "signed by a key this computer does not trust ({fingerprint}); an administrator can \
             trust it with `corridor policy trust-key`"
        )),
        "{text}"
    );
}

#[test]
fn malformed_envelopes_name_the_field() {
    let (_, key) = keys().remove(0);
    let envelope = signed::sign(&psk_profile(), key.as_bytes()).unwrap();
    let policy = trusting("IT", &key);
    let mut json: serde_json::Value = serde_json::from_str(&envelope).unwrap();
    json["signature"]["value"] = "not base64!".into();
    let err = signed::open("x.json", &json.to_string(), &policy).unwrap_err();
    assert_eq!(err.field(), Some("signature.value"));
    json["signature"]["value"] = "AAAA".into();
    json["signature"]["algorithm"] = "dsa".into();
    let err = signed::open("x.json", &json.to_string(), &policy).unwrap_err();
    assert_eq!(err.field(), Some("signature.algorithm"));
    json["signature"]["algorithm"] = "ed25519".into();
    let err = signed::open("x.json", &json.to_string(), &policy).unwrap_err();
    assert_eq!(err.field(), Some("signature.public_key"), "{err}");
    json["version"] = 2.into();
    let err = signed::open("x.json", &json.to_string(), &policy).unwrap_err();
    assert_eq!(err.field(), Some("version"));
    let mut json: serde_json::Value = serde_json::from_str(&envelope).unwrap();
    json["comment"] = "x".into();
    let err = signed::open("x.json", &json.to_string(), &policy).unwrap_err();
    assert!(err.to_string().contains("unknown field `comment`"), "{err}");
}

#[test]
fn an_envelope_inside_an_envelope_is_refused() {
    let (_, key) = keys().remove(0);
    let once = signed::sign(&psk_profile(), key.as_bytes()).unwrap();
    let twice = signed::sign(once.as_bytes(), key.as_bytes()).unwrap();
    let err = signed::open("x.json", &twice, &trusting("IT", &key)).unwrap_err();
    assert_eq!(err.field(), Some("profile"));
    assert!(err.to_string().contains("itself a signed profile"), "{err}");
}

#[test]
fn keys_that_cannot_sign_profiles_are_refused() {
    let not_pkcs8 = std::fs::read(data("pki/not-a-key.pem")).unwrap();
    assert!(matches!(
        signed::sign(b"{}", &not_pkcs8),
        Err(SignError::Key(_))
    ));
    let p384 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)
        .unwrap()
        .serialize_pem();
    let err = signed::sign(b"{}", p384.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("EC P-256, Ed25519 or RSA"),
        "{err}"
    );
    let cert = std::fs::read(data("pki/ca.pem")).unwrap();
    assert!(signed::public_key_from_pem(&cert).is_err());
}

#[test]
fn the_test_signing_key_matches_its_public_key_file() {
    let key = std::fs::read(data("pki/profile-signing-test.key")).unwrap();
    let public = std::fs::read_to_string(data("pki/profile-signing-test.pub")).unwrap();
    assert_eq!(signed::public_key_pem(&key).unwrap(), public);
}

fn test_key_policy() -> Policy {
    let public = std::fs::read(data("pki/profile-signing-test.pub")).unwrap();
    Policy {
        trusted_signers: vec![TrustedSigner {
            name: "Corridor test IT".to_string(),
            public_key: Base64Bytes(signed::public_key_from_pem(&public).unwrap()),
        }],
        allow_unsigned_imports: false,
        ..Policy::default()
    }
}

#[test]
fn signed_samples_import_with_the_signer_reported() {
    let options = ImportOptions {
        policy: test_key_policy(),
        ..ImportOptions::default()
    };
    for name in ["signed-psk.json", "signed-eap-sswan.json"] {
        let imported = import_file(&data(&format!("valid/{name}")), &options).unwrap();
        assert_eq!(imported.signed_by.as_deref(), Some("Corridor test IT"));
        let report = imported.report.to_string();
        assert!(
            report.contains("signed by Corridor test IT (SHA256:"),
            "{report}"
        );
    }
}

#[test]
fn the_tampered_sample_is_refused() {
    let options = ImportOptions {
        policy: test_key_policy(),
        ..ImportOptions::default()
    };
    let err = import_file(&data("invalid/tampered-signed.json"), &options).unwrap_err();
    assert!(matches!(err.kind(), InputErrorKind::Tampered), "{err}");
    // Without any trusted key it is still refused: a broken signature is never ignored.
    let err = import_file(
        &data("invalid/tampered-signed.json"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err.kind(), InputErrorKind::Tampered), "{err}");
}

#[test]
fn unsigned_profiles_are_refused_when_the_policy_says_so() {
    let options = ImportOptions {
        policy: test_key_policy(),
        ..ImportOptions::default()
    };
    let err = import_bytes("corp.json", &psk_profile(), &options).unwrap_err();
    assert!(matches!(err.kind(), InputErrorKind::UnsignedRefused));
    assert_eq!(
        err.to_string(),
        "corp.json: unsigned profiles are not allowed by this computer's policy; ask IT for a \
         signed profile"
    );
    let imported = import_bytes("corp.json", &psk_profile(), &ImportOptions::default()).unwrap();
    assert_eq!(imported.signed_by, None);
}

#[test]
fn an_untrusted_signature_counts_as_unsigned() {
    // Allowed when unsigned profiles are (the signature proves nothing this computer
    // trusts, and the report says so); refused when they are not.
    let (_, key) = keys().remove(0);
    let envelope = signed::sign(&psk_profile(), key.as_bytes()).unwrap();
    let imported = import_bytes("x.json", envelope.as_bytes(), &ImportOptions::default()).unwrap();
    assert_eq!(imported.signed_by, None);
    assert!(
        imported
            .report
            .to_string()
            .contains("a key this computer does not trust"),
        "{}",
        imported.report
    );
    let options = ImportOptions {
        policy: test_key_policy(),
        ..ImportOptions::default()
    };
    let err = import_bytes("x.json", envelope.as_bytes(), &options).unwrap_err();
    assert!(matches!(err.kind(), InputErrorKind::UntrustedSigner { .. }));
}

#[test]
fn the_verified_signer_is_recorded_and_no_file_can_claim_one() {
    let options = ImportOptions {
        policy: test_key_policy(),
        ..ImportOptions::default()
    };
    let signed = import_file(&data("valid/signed-psk.json"), &options)
        .unwrap()
        .profile;
    let by = signed.signed_by.clone().expect("the signer is recorded");
    assert_eq!(by.signer, "Corridor test IT");
    assert!(by.fingerprint.starts_with("SHA256:"), "{by:?}");

    // The same profile as a plain file, claiming the signature: imported without it.
    let claimed = corridor_profile::to_json(&signed);
    assert!(claimed.contains("\"signed_by\""), "{claimed}");
    let lenient = ImportOptions {
        policy: Policy {
            allow_unsigned_imports: true,
            ..test_key_policy()
        },
        ..ImportOptions::default()
    };
    let imported = import_bytes("claims.json", claimed.as_bytes(), &lenient).unwrap();
    assert_eq!(imported.profile.signed_by, None);
    assert!(matches!(
        imported.report.get("signed_by"),
        Some(corridor_profile::Outcome::NotMapped { .. })
    ));
    // Exports and backups do not carry it either.
    assert!(!corridor_profile::to_json_export(&signed, false).contains("signed_by"));
    let backup = corridor_profile::backup_json(std::slice::from_ref(&signed));
    let restored = corridor_profile::read_backup("backup.json", backup.as_bytes()).unwrap();
    assert_eq!(restored[0].signed_by, None);
}

#[test]
fn editing_a_field_it_controls_ends_the_signature_and_renaming_does_not() {
    let options = ImportOptions {
        policy: test_key_policy(),
        ..ImportOptions::default()
    };
    let signed = import_file(&data("valid/signed-psk.json"), &options)
        .unwrap()
        .profile;
    let renamed =
        corridor_profile::apply_edit("p", &signed, &serde_json::json!({ "name": "Mine" })).unwrap();
    assert!(renamed.profile.signed_by.is_some());
    let moved = corridor_profile::apply_edit(
        "p",
        &signed,
        &serde_json::json!({ "gateway": { "port": 4500 } }),
    )
    .unwrap();
    assert_eq!(moved.profile.signed_by, None);
    assert_eq!(moved.changed, ["gateway.port", "signed_by"]);
    let err = corridor_profile::apply_edit(
        "p",
        &signed,
        &serde_json::json!({ "signed_by": { "signer": "Someone else", "fingerprint": "SHA256:x" } }),
    )
    .unwrap_err();
    assert_eq!(err.field(), Some("signed_by"), "{err}");
}
