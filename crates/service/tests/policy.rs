//! The computer's profile policy in the service: who may change it, and how imports and
//! connects follow it (legacy algorithms, signed and unsigned profiles).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use corridor_ipc::ErrorCode;
use corridor_model::{Base64Bytes, Policy, TrustedSigner};
use corridor_profile::PolicyFile as _;
use corridor_service::policy::PolicyState;
use corridor_service::{Caller, Owner, Profiles};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/profiles")
        .join(rel)
}

fn sample(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap()
}

fn caller(uid: u32) -> Caller {
    Caller {
        uid,
        gid: uid,
        pid: None,
        user: None,
        admin: uid == 0,
    }
}

struct Setup {
    root: tempfile::TempDir,
    profiles: Profiles,
}

impl Setup {
    fn policy_file(&self) -> PathBuf {
        self.root.path().join("etc/policy.json")
    }
}

fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let state = PolicyState::load(root.path().join("etc/policy.json")).unwrap();
    let profiles = Profiles::new(root.path().join("users"), Some(root.path().join("managed")))
        .with_policy(Arc::new(state));
    Setup { root, profiles }
}

fn test_key() -> TrustedSigner {
    let pem = sample("pki/profile-signing-test.pub");
    TrustedSigner {
        name: "Corridor test IT".to_string(),
        public_key: Base64Bytes(corridor_profile::signed::public_key_from_pem(&pem).unwrap()),
    }
}

#[test]
fn only_an_administrator_changes_the_policy_and_it_is_saved() {
    let s = setup();
    let alice = caller(1000);
    let state = s.profiles.policy();
    assert_eq!(state.read(&alice).unwrap(), Policy::default());
    let wanted = Policy {
        allow_legacy_crypto: true,
        ..Policy::default()
    };
    let err = state.set(&alice, wanted.clone()).unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(err.message.contains("administrator"), "{}", err.message);
    assert_eq!(state.get(), Policy::default());
    assert!(!s.policy_file().exists());

    state.set(&caller(0), wanted.clone()).unwrap();
    assert_eq!(state.read(&alice).unwrap(), wanted);
    assert_eq!(Policy::load(&s.policy_file()).unwrap(), wanted);
    // A restarted service reads the same policy.
    let again = PolicyState::load(s.policy_file()).unwrap();
    assert_eq!(again.get(), wanted);
}

#[test]
fn a_legacy_profile_is_refused_until_an_administrator_allows_legacy_algorithms() {
    let s = setup();
    let alice = caller(1000);
    let legacy = sample("invalid/legacy-modp1024.json");
    let err = s
        .profiles
        .import(&alice, "legacy.json", &legacy, false)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidProfile);
    assert!(
        err.message
            .starts_with("legacy.json: proposals.ike[0]: modp1024 is a legacy algorithm"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("an administrator can allow"),
        "{}",
        err.message
    );

    let allow = Policy {
        allow_legacy_crypto: true,
        ..Policy::default()
    };
    s.profiles.policy().set(&caller(0), allow).unwrap();
    let (summary, _) = s
        .profiles
        .import(&alice, "legacy.json", &legacy, false)
        .unwrap();
    assert_eq!(
        summary.posture,
        "legacy: modp1024, 3des, sha1, prfsha1 allowed by policy"
    );
    let (stored, owner) = s.profiles.find(&alice, &summary.name).unwrap();
    assert_eq!(owner, Owner::User(1000));
    s.profiles.check_policy(owner, &stored.profile).unwrap();

    // Tightened again: the stored profile is listed as refused and cannot connect.
    s.profiles
        .policy()
        .set(&caller(0), Policy::default())
        .unwrap();
    let listed = s.profiles.list(&alice).unwrap();
    assert!(
        listed[0]
            .posture
            .ends_with("; refused by this computer's policy"),
        "{}",
        listed[0].posture
    );
    let err = s.profiles.check_policy(owner, &stored.profile).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidProfile);
    assert!(
        err.message.contains("modp1024 is a legacy algorithm"),
        "{}",
        err.message
    );
}

#[test]
fn a_tampered_signed_profile_is_refused_through_the_service() {
    let s = setup();
    let trust = Policy {
        trusted_signers: vec![test_key()],
        ..Policy::default()
    };
    s.profiles.policy().set(&caller(0), trust).unwrap();
    let err = s
        .profiles
        .import(
            &caller(1000),
            "tampered-signed.json",
            &sample("invalid/tampered-signed.json"),
            false,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidProfile);
    assert_eq!(
        err.message,
        "tampered-signed.json: signature: the signature does not match: the profile was \
         changed after it was signed"
    );
}

#[test]
fn signatures_required_by_policy() {
    let s = setup();
    let alice = caller(1000);
    let strict = Policy {
        allow_unsigned_imports: false,
        trusted_signers: vec![test_key()],
        ..Policy::default()
    };
    s.profiles.policy().set(&caller(0), strict).unwrap();
    let err = s
        .profiles
        .import(
            &alice,
            "psk.json",
            &sample("valid/corridor-psk.json"),
            false,
        )
        .unwrap_err();
    assert!(
        err.message
            .contains("unsigned profiles are not allowed by this computer's policy"),
        "{}",
        err.message
    );
    let (summary, report) = s
        .profiles
        .import(
            &alice,
            "signed-psk.json",
            &sample("valid/signed-psk.json"),
            false,
        )
        .unwrap();
    assert_eq!(summary.posture, "strong");
    assert_eq!(report[0].source, "signature");
    assert!(
        report[0]
            .outcome
            .contains("signed by Corridor test IT (SHA256:"),
        "{}",
        report[0].outcome
    );

    // Untrusting the key: the same file is now refused, naming the key's fingerprint.
    s.profiles
        .policy()
        .set(
            &caller(0),
            Policy {
                allow_unsigned_imports: false,
                ..Policy::default()
            },
        )
        .unwrap();
    let err = s
        .profiles
        .import(
            &alice,
            "signed-psk.json",
            &sample("valid/signed-psk.json"),
            true,
        )
        .unwrap_err();
    assert!(
        err.message
            .contains("signed by a key this computer does not trust (SHA256:"),
        "{}",
        err.message
    );
}

#[test]
fn a_signed_profile_cannot_smuggle_a_file_reference() {
    let s = setup();
    let key = sample("pki/profile-signing-test.key");
    let envelope =
        corridor_profile::signed::sign(&sample("valid/corridor-eap-mschapv2.json"), &key).unwrap();
    let trust = Policy {
        trusted_signers: vec![test_key()],
        ..Policy::default()
    };
    s.profiles.policy().set(&caller(0), trust).unwrap();
    let err = s
        .profiles
        .import(&caller(1000), "signed.json", envelope.as_bytes(), false)
        .unwrap_err();
    assert!(err.message.contains("refers to a file"), "{}", err.message);
}

#[test]
fn an_edit_cannot_bring_in_what_an_import_would_refuse() {
    let s = setup();
    let alice = caller(1000);
    s.profiles
        .import(&alice, "eap.sswan", &sample("valid/eap.sswan"), false)
        .unwrap();
    let name = s.profiles.list(&alice).unwrap()[0].name.clone();
    let (before, _) = s.profiles.get(&alice, &name).unwrap();
    let legacy = serde_json::json!({ "proposals": { "ike": ["aes128-sha1-modp1024"] } });
    let err = s.profiles.edit(&alice, &name, &legacy).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidProfile);
    assert!(err.message.contains("modp1024"), "{}", err.message);
    let (kept, _) = s.profiles.get(&alice, &name).unwrap();
    assert_eq!(kept, before);

    s.profiles
        .policy()
        .set(
            &caller(0),
            Policy {
                allow_legacy_crypto: true,
                ..Policy::default()
            },
        )
        .unwrap();
    let (_, changed) = s.profiles.edit(&alice, &name, &legacy).unwrap();
    assert_eq!(changed, vec!["proposals.ike".to_string()]);
}

#[test]
fn a_policy_that_takes_signed_profiles_only_also_holds_for_profiles_stored_before() {
    let s = setup();
    let alice = caller(1000);
    let admin = caller(0);
    // Imported while unsigned imports were allowed, and signed by a then untrusted key.
    s.profiles
        .import(&alice, "eap.sswan", &sample("valid/eap.sswan"), false)
        .unwrap();
    s.profiles
        .import(
            &alice,
            "signed-psk.json",
            &sample("valid/signed-psk.json"),
            false,
        )
        .unwrap();
    let strict = Policy {
        allow_unsigned_imports: false,
        trusted_signers: vec![test_key()],
        ..Policy::default()
    };
    s.profiles.policy().set(&admin, strict).unwrap();
    assert_eq!(s.profiles.list(&alice).unwrap().len(), 2);
    for summary in s.profiles.list(&alice).unwrap() {
        let (found, owner) = s.profiles.find(&alice, &summary.id.to_string()).unwrap();
        let err = s.profiles.check_policy(owner, &found.profile).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidProfile);
        assert!(
            err.message.contains("signed profiles only"),
            "{}",
            err.message
        );
    }

    // IT's signed copy, imported again now that its key is trusted, may connect; a
    // change to a field IT set ends that.
    let (summary, _) = s
        .profiles
        .import(
            &alice,
            "signed-psk.json",
            &sample("valid/signed-psk.json"),
            true,
        )
        .unwrap();
    let id = summary.id.to_string();
    let (found, owner) = s.profiles.find(&alice, &id).unwrap();
    s.profiles.check_policy(owner, &found.profile).unwrap();
    let err = s
        .profiles
        .edit(
            &alice,
            &id,
            &serde_json::json!({ "gateway": { "port": 4500 } }),
        )
        .unwrap_err();
    assert!(
        err.message.contains("signed profiles only"),
        "{}",
        err.message
    );
    let (_, changed) = s
        .profiles
        .edit(&alice, &id, &serde_json::json!({ "name": "My corp PSK" }))
        .unwrap();
    assert_eq!(changed, ["name"]);
}
