//! `corridor diagnose` against real strongSwan gateways in the lab: every authentication
//! method, direct and behind NAT, the lab's proposals, the long certificate chain, and the
//! plain-language failures. Needs root; fails (never skips) when the lab cannot start.
#![cfg(target_os = "linux")]

use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lab::{ClientCert, Host, Lab, LabConfig, ProfileOptions, Scenario};
use serde_json::{Value, json};
use tempfile::TempDir;

/// What one `corridor diagnose` run printed, and what the gateway showed meanwhile.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// `swanctl --list-sas` while the SA was held, when it showed an established SA.
    sas: Option<String>,
}

impl Run {
    fn context(&self, lab: &Lab) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- gateway log (tail)\n{}",
            self.code,
            self.stdout,
            self.stderr,
            tail(&lab.gateway_log(), 60)
        )
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn start(config: LabConfig) -> Lab {
    match Lab::start(config) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    }
}

fn profile(lab: &Lab, opts: &ProfileOptions) -> Value {
    lab.corridor_profile(opts).expect("corridor profile")
}

/// Runs `corridor diagnose` inside the client namespace with `stdin` as its input; when
/// `hold` is set, watches the gateway's SAs while ours is held.
fn diagnose(lab: &Lab, profile: &Value, stdin: &str, flags: &[&str], hold: Option<u64>) -> Run {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("profile.json");
    std::fs::write(&file, serde_json::to_vec_pretty(profile).unwrap()).unwrap();
    let mut cmd = lab.command(Host::Client, env!("CARGO_BIN_EXE_corridor"));
    cmd.arg("diagnose")
        .arg("--profiles-dir")
        .arg(dir.path().join("store"))
        .arg(&file)
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let hold_text;
    if let Some(secs) = hold {
        hold_text = secs.to_string();
        cmd.args(["--hold", &hold_text]);
    }
    let mut child = cmd.spawn().expect("run corridor diagnose");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let mut sas = None;
    if let Some(secs) = hold {
        let until = Instant::now() + Duration::from_secs(secs + 15);
        while Instant::now() < until && sas.is_none() {
            if let Ok(out) = lab.swanctl(&["--list-sas"])
                && out.stdout.contains("ESTABLISHED")
                && out.stdout.contains("INSTALLED")
            {
                sas = Some(out.stdout);
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let output = child.wait_with_output().expect("wait for corridor");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        sas,
    }
}

fn stdin_for(scenario: Scenario) -> String {
    let creds = lab::credentials();
    match scenario {
        Scenario::EapMschapv2 => format!("{}\n", creds.eap_password),
        Scenario::Cert | Scenario::EapTls => format!("{}\n", creds.p12_password),
        Scenario::Psk => String::new(),
    }
}

fn flags_for(scenario: Scenario) -> Vec<&'static str> {
    match scenario {
        Scenario::EapMschapv2 => vec!["--password-stdin"],
        Scenario::Cert | Scenario::EapTls => vec!["--p12-password-stdin"],
        Scenario::Psk => vec![],
    }
}

/// Connects, holds the SA 3 s while checking the gateway shows it, and deletes it.
fn connects(config: LabConfig, cert: ClientCert) -> (Lab, Run) {
    let scenario = config.scenario();
    let lab = start(config);
    let opts = ProfileOptions {
        client_cert: cert,
        ..ProfileOptions::default()
    };
    let run = diagnose(
        &lab,
        &profile(&lab, &opts),
        &stdin_for(scenario),
        &flags_for(scenario),
        Some(3),
    );
    assert_eq!(run.code, Some(0), "{}", run.context(&lab));
    for step in [
        "✔ resolve",
        "✔ ike_sa_init",
        "✔ gateway",
        "✔ auth",
        "✔ child_sa",
        "✔ config",
        "✔ udp_4500",
        "✔ hold",
        "✔ delete",
    ] {
        assert!(
            run.stdout.contains(step),
            "no `{step}`: {}",
            run.context(&lab)
        );
    }
    assert!(!run.stdout.contains('✘'), "{}", run.context(&lab));
    let sas = run
        .sas
        .as_deref()
        .unwrap_or_else(|| panic!("the gateway never showed the SA: {}", run.context(&lab)));
    assert!(
        sas.contains("ESTABLISHED") && sas.contains("INSTALLED"),
        "{sas}"
    );
    assert!(
        run.stdout.contains("address 198.19.100."),
        "{}",
        run.context(&lab)
    );
    // Handshake times, for the record.
    for line in run.stdout.lines().filter(|l| l.contains(" ms")) {
        eprintln!("{}: {line}", scenario);
    }
    (lab, run)
}

#[test]
fn eap_mschapv2_direct() {
    connects(LabConfig::new(Scenario::EapMschapv2), ClientCert::Ecdsa);
}

#[test]
fn eap_mschapv2_nat() {
    connects(
        LabConfig::new(Scenario::EapMschapv2).nat(true),
        ClientCert::Ecdsa,
    );
}

#[test]
fn psk_direct() {
    connects(LabConfig::new(Scenario::Psk), ClientCert::Ecdsa);
}

#[test]
fn psk_nat() {
    connects(LabConfig::new(Scenario::Psk).nat(true), ClientCert::Ecdsa);
}

#[test]
fn cert_ecdsa_direct() {
    connects(LabConfig::new(Scenario::Cert), ClientCert::Ecdsa);
}

#[test]
fn cert_ecdsa_nat() {
    connects(LabConfig::new(Scenario::Cert).nat(true), ClientCert::Ecdsa);
}

#[test]
fn cert_rsa_direct() {
    connects(LabConfig::new(Scenario::Cert), ClientCert::Rsa);
}

#[test]
fn cert_rsa_nat() {
    connects(LabConfig::new(Scenario::Cert).nat(true), ClientCert::Rsa);
}

#[test]
fn eap_tls_direct() {
    connects(LabConfig::new(Scenario::EapTls), ClientCert::Ecdsa);
}

#[test]
fn eap_tls_nat() {
    connects(
        LabConfig::new(Scenario::EapTls).nat(true),
        ClientCert::Ecdsa,
    );
}

/// The gateway accepts exactly one IKE proposal; the profile carries the same.
fn proposal(ike: &str, suite: &str) {
    let (lab, run) = connects(
        LabConfig::new(Scenario::Psk).ike_proposals([ike]),
        ClientCert::Ecdsa,
    );
    assert!(
        run.stdout.contains(&format!("suite {suite}")),
        "{}",
        run.context(&lab)
    );
}

#[test]
fn proposal_aes256gcm16_prfsha384_ecp384() {
    proposal(
        "aes256gcm16-prfsha384-ecp384",
        "aes256gcm16-prfsha384-ecp384",
    );
}

#[test]
fn proposal_aes128_sha256_modp2048() {
    proposal("aes128-sha256-modp2048", "aes128-sha256-prfsha256-modp2048");
}

#[test]
fn proposal_chacha20poly1305_prfsha256_curve25519() {
    proposal(
        "chacha20poly1305-prfsha256-curve25519",
        "chacha20poly1305-prfsha256-curve25519",
    );
}

#[test]
fn proposal_aes256_sha384_modp3072() {
    proposal("aes256-sha384-modp3072", "aes256-sha384-prfsha384-modp3072");
}

/// RSA-4096 chain of three certificates: the gateway's IKE_AUTH answer only fits in
/// fragments (RFC 7383).
#[test]
fn long_chain_needs_fragments() {
    let (lab, run) = connects(
        LabConfig::new(Scenario::Cert).long_chain(true),
        ClientCert::Ecdsa,
    );
    let log = lab.gateway_log();
    let fragment_lines: Vec<&str> = log.lines().filter(|l| l.contains("fragment")).collect();
    eprintln!(
        "gateway log lines about fragments:\n{}",
        fragment_lines.join("\n")
    );
    assert!(!fragment_lines.is_empty(), "{}", run.context(&lab));
    let received: u32 = run
        .stdout
        .lines()
        .find(|l| l.contains("✔ fragments"))
        .and_then(|l| l.split("; ").nth(1))
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // IKE_SA_INIT and one unfragmented IKE_AUTH answer would be 2.
    assert!(received > 3, "{}", run.context(&lab));
}

fn fails(lab: &Lab, profile: &Value, stdin: &str, flags: &[&str], step: &str, words: &[&str]) {
    let run = diagnose(lab, profile, stdin, flags, None);
    assert_eq!(run.code, Some(1), "{}", run.context(lab));
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with('✘'))
        .unwrap_or_else(|| panic!("no failed step: {}", run.context(lab)));
    eprintln!("{line}");
    assert!(
        line.starts_with(&format!("✘ {step}")),
        "{}",
        run.context(lab)
    );
    for w in words {
        assert!(line.contains(w), "`{w}` missing in `{line}`");
    }
}

#[test]
fn wrong_password_is_reported() {
    let lab = start(LabConfig::new(Scenario::EapMschapv2));
    let p = profile(&lab, &ProfileOptions::default());
    fails(
        &lab,
        &p,
        "not-the-password\n",
        &["--password-stdin"],
        "auth",
        &["eap-mschapv2"],
    );
}

#[test]
fn untrusted_ca_is_reported() {
    let lab = start(LabConfig::new(Scenario::Cert));
    let mut p = profile(&lab, &ProfileOptions::default());
    // The long chain's root did not issue this gateway's certificate.
    p["trust"] = json!({ "ca": [ { "file": lab.pki().long_root_pem().display().to_string() } ] });
    fails(
        &lab,
        &p,
        &stdin_for(Scenario::Cert),
        &flags_for(Scenario::Cert),
        "gateway",
        &["not trusted"],
    );
}

#[test]
fn wrong_gateway_identity_is_reported() {
    let lab = start(LabConfig::new(Scenario::EapMschapv2));
    let mut p = profile(&lab, &ProfileOptions::default());
    p["gateway"]["identity"] = json!({ "fqdn": "vpn.elsewhere.example" });
    fails(
        &lab,
        &p,
        &stdin_for(Scenario::EapMschapv2),
        &["--password-stdin"],
        "gateway",
        &["no connection for gateway identity vpn.elsewhere.example"],
    );
}

#[test]
fn no_common_proposal_is_reported() {
    let lab = start(LabConfig::new(Scenario::Psk));
    let mut p = profile(&lab, &ProfileOptions::default());
    p["proposals"]["ike"] = json!(["aes128gcm16-prfsha512-ecp521"]);
    fails(
        &lab,
        &p,
        "",
        &[],
        "ike_sa_init",
        &[
            "accepted none of our IKE proposals",
            "aes128gcm16-prfsha512-ecp521",
        ],
    );
}

#[test]
fn gateway_down_is_reported() {
    let lab = start(LabConfig::new(Scenario::Psk));
    let mut p = profile(&lab, &ProfileOptions::default());
    p["gateway"]["host"] = json!("198.18.0.77");
    fails(
        &lab,
        &p,
        "",
        &["--timeout", "3"],
        "ike_sa_init",
        &["no answer from the gateway on UDP 500"],
    );
}
