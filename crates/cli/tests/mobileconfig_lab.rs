//! An Apple `.mobileconfig` for the lab, imported with `corridor profile import`, brings
//! a tunnel up with `corridor up` that carries ping and HTTP to the LAN host, for
//! EAP-MSCHAPv2 and certificate authentication. Starts real strongSwan gateways: needs
//! root, and fails (never skips) when the lab cannot come up.
#![cfg(target_os = "linux")]

mod support;

use std::path::Path;
use std::process::Command;

use lab::{Lab, LabConfig, Scenario, profile_apple};
use tempfile::TempDir;

fn corridor(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_corridor"))
        .arg("--profiles-dir")
        .arg(store)
        .args(args)
        .output()
        .expect("run corridor")
}

fn import_and_connect(scenario: Scenario, method: &str) {
    let lab = match Lab::start(LabConfig::new(scenario)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let file = profile_apple::write_mobileconfig(&lab).expect("write the .mobileconfig");
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");

    let out = corridor(
        &store,
        &["profile", "import", "--json", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = result["id"].as_str().unwrap().to_string();
    assert_eq!(id, profile_apple::VPN_PAYLOAD_UUID.to_ascii_lowercase());
    let shown = corridor(&store, &["profile", "show", &id, "--json"]);
    assert!(shown.status.success());
    let profile: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(profile["auth"]["method"], method);
    assert_eq!(profile["gateway"]["host"], lab.gateway_addr().to_string());
    assert_eq!(profile["gateway"]["identity"]["fqdn"], lab.gateway_id());
    assert_eq!(
        profile["proposals"]["ike"][0],
        "aes256gcm16-prfsha384-ecp384"
    );
    assert_eq!(profile["proposals"]["esp"][0], "aes256gcm16");

    support::up_carries_traffic(&lab, scenario, &store, &id, dir.path());
    lab.shutdown().expect("lab teardown");
}

#[test]
fn eap_mschapv2_mobileconfig_connects() {
    import_and_connect(Scenario::EapMschapv2, "eap-mschapv2");
}

#[test]
fn cert_mobileconfig_connects() {
    import_and_connect(Scenario::Cert, "cert");
}
