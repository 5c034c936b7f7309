//! The profiles a running lab hands out (the files IT would send) import cleanly and
//! keep what the gateway needs. Starts real strongSwan gateways: needs root, and fails
//! (never skips) when the lab cannot come up.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;

use lab::{Lab, LabConfig, Scenario};
use tempfile::TempDir;

fn corridor(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_corridor"))
        .arg("--profiles-dir")
        .arg(store)
        .args(args)
        .output()
        .expect("run corridor")
}

fn import_and_check(scenario: Scenario, expected_auth: &str) {
    let lab = match Lab::start(LabConfig::new(scenario)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab: {e:#}"),
    };
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let mut files = vec![
        lab.write_corridor_profile()
            .expect("write corridor profile"),
    ];
    if scenario != Scenario::Psk {
        files.push(lab.write_sswan_profile().expect("write sswan profile"));
    }
    for file in files {
        let out = corridor(
            &store,
            &[
                "profile",
                "import",
                "--replace",
                "--json",
                file.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let id = result["id"].as_str().unwrap();
        let shown = corridor(&store, &["profile", "show", id, "--json"]);
        assert!(shown.status.success());
        let profile: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(profile["gateway"]["host"], lab.gateway_addr().to_string());
        assert_eq!(
            profile["auth"]["method"],
            expected_auth,
            "{}",
            file.display()
        );
    }
    lab.shutdown().expect("lab teardown");
}

#[test]
fn eap_mschapv2_lab_profiles_import() {
    import_and_check(Scenario::EapMschapv2, "eap-mschapv2");
}

#[test]
fn cert_lab_profiles_import() {
    import_and_check(Scenario::Cert, "cert");
}

#[test]
fn psk_lab_profile_imports() {
    import_and_check(Scenario::Psk, "psk");
}
