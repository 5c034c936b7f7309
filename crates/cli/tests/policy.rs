//! `corridor profile sign` / `public-key` (local) and `corridor policy …` against a real
//! service instance (the corridord server code, run in this test process on a private
//! socket with its own policy file).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use corridor_profile::{Policy, PolicyFile as _};
use corridor_service::events::Hub;
use corridor_service::policy::PolicyState;
use corridor_service::profiles::Profiles;

fn data(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/profiles")
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

/// Runs the service with its own policy file until the test ends; returns its socket.
fn start_service(dir: &Path, policy: &Path) -> PathBuf {
    let state = PolicyState::load(policy).unwrap();
    let profiles = Profiles::new(dir.join("profiles"), None).with_policy(Arc::new(state));
    support::service::start_service(dir, None, profiles, Hub::new())
}

fn corridor(socket: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(args)
        .env("CORRIDOR_SOCKET", socket)
        .env_remove("CORRIDOR_PROFILES_DIR")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sign_and_public_key_work_on_local_files() {
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("no.sock");
    let out = dir.path().join("psk.signed.json");
    let key = data("pki/profile-signing-test.key");
    let (code, text, err) = corridor(
        &none,
        &[
            "profile",
            "sign",
            "--key",
            &key,
            "-o",
            out.to_str().unwrap(),
            &data("valid/corridor-psk.json"),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("with key SHA256:"), "{text}");
    let envelope = std::fs::read_to_string(&out).unwrap();
    assert!(corridor_profile::is_envelope(&envelope));

    let (code, text, err) = corridor(&none, &["profile", "public-key", "--key", &key]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        text,
        std::fs::read_to_string(data("pki/profile-signing-test.pub")).unwrap()
    );

    // A file that does not import is not signed; neither is a signed one.
    let (code, _, err) = corridor(
        &none,
        &[
            "profile",
            "sign",
            "--key",
            &key,
            &data("invalid/port-zero.json"),
        ],
    );
    assert_eq!(code, Some(65), "{err}");
    let (code, _, err) = corridor(
        &none,
        &["profile", "sign", "--key", &key, out.to_str().unwrap()],
    );
    assert_eq!(code, Some(65));
    assert!(err.contains("signed already"), "{err}");
    // A key that is no signing key.
    let (code, _, err) = corridor(
        &none,
        &[
            "profile",
            "sign",
            "--key",
            &data("pki/ca.pem"),
            &data("valid/corridor-psk.json"),
        ],
    );
    assert_eq!(code, Some(65));
    assert!(err.contains("PKCS#8"), "{err}");
}

#[test]
fn an_administrator_trusts_a_key_and_signed_profiles_import_through_the_service() {
    // The test process is the service's administrator only when it runs as root.
    if !std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        eprintln!("skipped: needs root to be the service's administrator");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("policy.json");
    let socket = start_service(dir.path(), &policy_file);

    let (code, text, err) = corridor(&socket, &["policy", "show"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("allow unsigned imports  yes"), "{text}");
    assert!(text.contains("(none)"), "{text}");

    let (code, text, err) = corridor(
        &socket,
        &[
            "policy",
            "trust-key",
            &data("pki/profile-signing-test.pub"),
            "--name",
            "Corridor test IT",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.contains("trusted \"Corridor test IT\" (SHA256:"),
        "{text}"
    );
    let (code, _, err) = corridor(
        &socket,
        &["policy", "set", "--allow-unsigned-imports", "no"],
    );
    assert_eq!(code, Some(0), "{err}");
    let saved = Policy::load(&policy_file).unwrap();
    assert!(!saved.allow_unsigned_imports);
    assert_eq!(saved.trusted_signers[0].name, "Corridor test IT");

    let (code, text, err) = corridor(
        &socket,
        &["profile", "import", &data("valid/signed-psk.json")],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.contains("signed by Corridor test IT (SHA256:"),
        "{text}"
    );
    assert!(text.contains("posture: strong"), "{text}");
    let (code, _, err) = corridor(
        &socket,
        &["profile", "import", &data("valid/corridor-eap-tls.json")],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("unsigned profiles are not allowed"), "{err}");
    let (code, _, err) = corridor(
        &socket,
        &["profile", "import", &data("invalid/tampered-signed.json")],
    );
    assert_ne!(code, Some(0));
    assert!(
        err.contains("the profile was changed after it was signed"),
        "{err}"
    );

    let (code, text, err) = corridor(&socket, &["profile", "list"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("strong"), "{text}");

    let (code, _, err) = corridor(&socket, &["policy", "untrust-key", "Corridor test IT"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, text, _) = corridor(&socket, &["policy", "show", "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["trusted_signers"].as_array().unwrap().len(), 0);
    assert_eq!(shown["allow_unsigned_imports"], false);
}
