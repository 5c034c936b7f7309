//! The algorithm posture of profiles and the policy that refuses legacy algorithms.

#![allow(clippy::unwrap_used)]

mod common;

use common::data;
use corridor_profile::model::{AuthMethod, EspProposal, IkeProposal, Profile, Uuid};
use corridor_profile::{
    Grade, ImportOptions, InputErrorKind, Policy, assess, enforce, import_bytes, import_file,
};

fn profile(ike: &[&str], esp: &[&str]) -> Profile {
    let mut p = Profile::new(
        Uuid::nil(),
        "Corp",
        "vpn.example.com",
        AuthMethod::EapMschapv2,
    );
    p.proposals.ike = ike
        .iter()
        .map(|s| s.parse::<IkeProposal>().unwrap())
        .collect();
    p.proposals.esp = esp
        .iter()
        .map(|s| s.parse::<EspProposal>().unwrap())
        .collect();
    p
}

fn legacy_allowed() -> Policy {
    Policy {
        allow_legacy_crypto: true,
        ..Policy::default()
    }
}

#[test]
fn defaults_and_modern_proposals_are_strong() {
    let p = assess(&profile(&[], &[]));
    assert_eq!(p.grade, Grade::Strong);
    assert!(p.weaknesses.is_empty());
    assert!(!p.quantum_safe);
    assert_eq!(p.to_string(), "strong");
    let p = assess(&profile(
        &[
            "aes256gcm16-prfsha384-ecp384",
            "aes256-sha256-modp3072",
            // SHA-1 next to a SHA-2 alternative is not SHA-1 only.
            "aes128-sha1-sha256-curve25519",
        ],
        &[
            "aes256gcm16",
            "aes128-sha256-modp2048",
            "aes128-sha256-none",
        ],
    ));
    assert_eq!(p.grade, Grade::Strong, "{:?}", p.weaknesses);
}

#[test]
fn every_legacy_algorithm_is_found_with_its_field() {
    let p = assess(&profile(
        &[
            "aes256gcm16-prfsha384-ecp384",
            "3des-sha1-modp1024",
            "aes128-sha256-modp1536-modp2048s256",
        ],
        &["aes128gcm16-modp1024s160", "aes128-sha1"],
    ));
    assert_eq!(p.grade, Grade::Legacy);
    let found: Vec<(&str, &str)> = p
        .weaknesses
        .iter()
        .map(|w| (w.field.as_str(), w.algorithm.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("proposals.ike[1]", "modp1024"),
            ("proposals.ike[1]", "3des"),
            ("proposals.ike[1]", "sha1"),
            ("proposals.ike[1]", "prfsha1"),
            ("proposals.ike[2]", "modp1536"),
            ("proposals.ike[2]", "modp2048s256"),
            ("proposals.esp[0]", "modp1024s160"),
            ("proposals.esp[1]", "sha1"),
        ]
    );
    assert!(p.weaknesses.iter().all(|w| w.reason.contains("RFC 8")));
    assert_eq!(
        p.to_string(),
        "legacy: modp1024, 3des, sha1, prfsha1, modp1536, modp2048s256, modp1024s160"
    );
}

#[test]
fn legacy_is_refused_naming_field_algorithm_reason_and_the_way_out() {
    let p = profile(&["aes256-sha256-modp1024"], &[]);
    let err = enforce(&Policy::default(), "corp.json", &p).unwrap_err();
    assert_eq!(err.field(), Some("proposals.ike[0]"));
    assert!(matches!(
        err.kind(),
        InputErrorKind::LegacyCrypto { algorithm, .. } if algorithm == "modp1024"
    ));
    let text = err.to_string();
    assert!(
        text.starts_with("corp.json: proposals.ike[0]: modp1024 is a legacy algorithm: "),
        "{text}"
    );
    assert!(text.contains("RFC 8247 §2.4"), "{text}");
    assert!(
        text.contains("an administrator can allow legacy algorithms (allow_legacy_crypto"),
        "{text}"
    );

    let allowed = enforce(&legacy_allowed(), "corp.json", &p).unwrap();
    assert_eq!(allowed.grade, Grade::Legacy);
    assert_eq!(allowed.to_string(), "legacy: modp1024 allowed by policy");

    for (ike, algorithm) in [
        ("3des-sha256-ecp256", "3des"),
        ("aes128-sha1-ecp256", "sha1"),
        ("aes128gcm16-prfsha1-ecp256", "prfsha1"),
    ] {
        let err = enforce(&Policy::default(), "x", &profile(&[ike], &[])).unwrap_err();
        assert!(
            matches!(err.kind(), InputErrorKind::LegacyCrypto { algorithm: a, .. } if a == algorithm),
            "{ike}: {err}"
        );
    }
}

#[test]
fn ml_kem_in_every_ike_proposal_is_quantum_safe() {
    let p = assess(&profile(
        &[
            "aes256gcm16-prfsha384-x25519-ke1_mlkem768",
            "aes256gcm16-prfsha384-ecp384-ke1_mlkem1024",
        ],
        &[],
    ));
    assert!(p.quantum_safe);
    assert_eq!(p.to_string(), "strong, quantum-safe key exchange");
    // An optional round, or one proposal without ML-KEM, is not enough.
    let optional = assess(&profile(
        &["aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_none"],
        &[],
    ));
    assert!(!optional.quantum_safe);
    let mixed = assess(&profile(
        &[
            "aes256gcm16-prfsha384-x25519-ke1_mlkem768",
            "aes256gcm16-prfsha384-ecp384",
        ],
        &[],
    ));
    assert!(!mixed.quantum_safe);
}

#[test]
fn the_import_refuses_the_legacy_sample_unless_the_policy_allows_it() {
    let path = data("invalid/legacy-modp1024.json");
    let err = import_file(&path, &ImportOptions::default()).unwrap_err();
    assert_eq!(err.field(), Some("proposals.ike[0]"));
    assert!(
        matches!(err.kind(), InputErrorKind::LegacyCrypto { .. }),
        "{err}"
    );
    let options = ImportOptions {
        policy: legacy_allowed(),
        ..ImportOptions::default()
    };
    let imported = import_file(&path, &options).unwrap();
    assert_eq!(
        imported.posture.to_string(),
        "legacy: modp1024, 3des, sha1, prfsha1 allowed by policy"
    );
}

#[test]
fn sswan_legacy_proposals_are_refused_too() {
    let sswan = br#"{"uuid":"5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000aa","name":"Old","type":"ikev2-eap",
        "remote":{"addr":"vpn.example.com"},"local":{"eap_id":"alice"},
        "ike-proposal":"aes256-sha256-modp1024"}"#;
    let err = import_bytes("old.sswan", sswan, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(err.kind(), InputErrorKind::LegacyCrypto { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("modp1024"), "{err}");
    let imported = import_bytes(
        "old.sswan",
        sswan,
        &ImportOptions {
            policy: legacy_allowed(),
            ..ImportOptions::default()
        },
    )
    .unwrap();
    assert!(imported.posture.allowed_by_policy);
}
