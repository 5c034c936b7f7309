//! A Windows ProfileXML (and a PowerShell deployment script) for the lab, imported with
//! `corridor profile import --ca …`, brings a tunnel up with `corridor up` that carries
//! ping and HTTP to the LAN host, for EAP-MSCHAPv2 and certificate authentication.
//! Starts real strongSwan gateways: needs root, and fails (never skips) when the lab
//! cannot come up.
#![cfg(target_os = "linux")]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lab::{Lab, LabConfig, ProfileOptions, Scenario, profile_windows};
use tempfile::TempDir;

fn corridor(store: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .arg("--profiles-dir")
        .arg(store)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run corridor");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait for corridor")
}

fn import_and_connect(scenario: Scenario, file: fn(&Lab) -> anyhow::Result<PathBuf>) {
    let lab = match Lab::start(LabConfig::new(scenario)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let file = file(&lab).expect("write the Windows profile");
    profile_windows::resolve_gateway_name(&lab, &ProfileOptions::default())
        .expect("map the gateway's name");
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let ca = profile_windows::gateway_ca(&lab);
    let p12 = profile_windows::client_p12(&lab, &ProfileOptions::default());
    let creds = lab::credentials();

    let mut args = vec![
        "profile".to_string(),
        "import".to_string(),
        "--json".to_string(),
        file.display().to_string(),
        "--ca".to_string(),
        ca.display().to_string(),
    ];
    let mut stdin = String::new();
    if scenario == Scenario::Cert {
        args.extend([
            "--client-cert".to_string(),
            p12.display().to_string(),
            "--p12-password-stdin".to_string(),
        ]);
        stdin = format!("{}\n", creds.p12_password);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = corridor(&store, &args, &stdin);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = result["id"].as_str().unwrap().to_string();
    if scenario == Scenario::EapMschapv2 {
        // Windows asks for the user name when connecting; a profile from it has none.
        let set = corridor(
            &store,
            &[
                "profile",
                "set",
                &id,
                &format!("auth.eap_identity={}", creds.eap_identity),
            ],
            "",
        );
        assert!(
            set.status.success(),
            "{}",
            String::from_utf8_lossy(&set.stderr)
        );
    }
    let shown = corridor(&store, &["profile", "show", &id, "--json"], "");
    assert!(shown.status.success());
    let profile: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let method = match scenario {
        Scenario::Cert => "cert",
        _ => "eap-mschapv2",
    };
    assert_eq!(profile["auth"]["method"], method);
    assert_eq!(profile["gateway"]["host"], lab.gateway_id());
    assert_eq!(
        profile["proposals"]["ike"][0],
        "aes256gcm16-prfsha384-ecp384"
    );
    assert_eq!(profile["proposals"]["esp"][0], "aes256gcm16");
    assert_eq!(profile["routing"]["mode"], "split");
    assert_eq!(profile["trust"]["system_roots"], false);
    assert!(profile["trust"]["ca"][0].is_object(), "{profile}");

    support::up_carries_traffic(&lab, scenario, &store, &id, dir.path());
    lab.shutdown().expect("lab teardown");
}

#[test]
fn eap_mschapv2_profilexml_connects() {
    import_and_connect(Scenario::EapMschapv2, profile_windows::write_profile_xml);
}

#[test]
fn cert_profilexml_connects() {
    import_and_connect(Scenario::Cert, profile_windows::write_profile_xml);
}

#[test]
fn eap_mschapv2_powershell_script_connects() {
    import_and_connect(Scenario::EapMschapv2, profile_windows::write_powershell);
}
