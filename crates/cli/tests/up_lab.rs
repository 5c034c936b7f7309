//! `corridor up` against the lab's strongSwan gateway with an explicit `--resolv-conf`:
//! ping and HTTP reach the LAN host through its TUN device, SIGTERM leaves the
//! namespace's routes and addresses exactly as they were, and a run killed with SIGKILL
//! is cleaned up by the next. Needs root; fails (never skips) when the lab cannot start.
#![cfg(target_os = "linux")]

mod support;

use lab::{Host, Lab, LabConfig, Scenario};
use support::{signal, snapshot, up_until_connected, wait_exit};
use tempfile::TempDir;

/// A run killed with SIGKILL leaves its resolv.conf behind; the next `up` puts it back
/// before connecting, and its own exit leaves the namespace as it was.
#[test]
fn up_after_a_crash_restores_the_leftovers() {
    let lab = match Lab::start(LabConfig::new(Scenario::Psk)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let profile = lab.write_corridor_profile().expect("write the profile");
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state");
    let resolv = dir.path().join("resolv.conf");
    let original = "nameserver 198.18.255.254\n";
    std::fs::write(&resolv, original).unwrap();
    let before = snapshot(&lab);

    let resolv_arg = resolv.to_str().unwrap();
    let mut first = up_until_connected(&lab, &profile, &state, &["--resolv-conf", resolv_arg], "");
    assert!(signal(first.child.id(), "-KILL"));
    let _ = first.child.wait();
    assert_ne!(std::fs::read_to_string(&resolv).unwrap(), original);

    let mut second = up_until_connected(&lab, &profile, &state, &["--resolv-conf", resolv_arg], "");
    let printed = second.printed.clone();
    assert!(
        printed.iter().any(|l| l.starts_with("restored ")),
        "no restore reported:\n{}",
        printed.join("\n")
    );
    assert!(lab.ping(Host::Client, lab.lan_host_addr()).is_ok());

    // A second `up` on the same state directory is refused and changes nothing.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["up", profile.to_str().unwrap(), "--state-dir"])
        .arg(&state)
        .arg("--resolv-conf")
        .arg(&resolv)
        .output()
        .expect("run corridor up");
    assert_eq!(refused.status.code(), Some(1));
    let refusal = String::from_utf8_lossy(&refused.stderr);
    assert!(refusal.contains("a tunnel is already up"), "{refusal}");
    assert!(lab.ping(Host::Client, lab.lan_host_addr()).is_ok());

    // `corridor down` stops it and waits until the network is restored.
    let down = std::process::Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["down", "--state-dir"])
        .arg(&state)
        .output()
        .expect("run corridor down");
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert_eq!(wait_exit(&mut second.child).code(), Some(0));
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["down", "--state-dir"])
        .arg(&state)
        .output()
        .expect("run corridor down");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no tunnel is up"));
    assert_eq!(snapshot(&lab), before, "routes or addresses changed");
    assert_eq!(std::fs::read_to_string(&resolv).unwrap(), original);
}

#[test]
fn up_carries_ping_and_http_and_restores_on_sigterm() {
    let lab = match Lab::start(LabConfig::new(Scenario::Psk)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let profile = lab.write_corridor_profile().expect("write the profile");
    let dir = TempDir::new().unwrap();
    let resolv = dir.path().join("resolv.conf");
    let original = "nameserver 198.18.255.254\n";
    std::fs::write(&resolv, original).unwrap();
    let before = snapshot(&lab);

    let mut up = up_until_connected(
        &lab,
        &profile,
        &dir.path().join("state"),
        &["--resolv-conf", resolv.to_str().unwrap()],
        "",
    );
    let resolv_text = std::fs::read_to_string(&resolv).unwrap();
    let lan = lab.lan_host_addr();
    let ping = lab.exec_unchecked(
        Host::Client,
        &["ping", "-c", "3", "-W", "2", &lan.to_string()],
    );
    let http = lab.http_get(Host::Client, lan, "/");
    assert!(signal(up.child.id(), "-TERM"));
    let (status, output) = up.wait();
    eprintln!("connected after {:?}\n{output}", up.connected_after);

    let ping = ping.expect("ping");
    eprintln!("{}", ping.stdout);
    assert!(ping.success(), "ping failed:\n{}\n{output}", ping.stderr);
    assert!(ping.stdout.contains("3 received"), "{}", ping.stdout);
    let http = http.expect("HTTP through the tunnel");
    assert_eq!(http.status, 200);
    assert!(
        resolv_text.contains("nameserver 198.19.0.10") && resolv_text.contains("search"),
        "resolv.conf while up:\n{resolv_text}"
    );
    assert!(
        output.contains("route    198.19.0.0/24 via corridor0"),
        "{output}"
    );
    assert_eq!(status.code(), Some(0), "{output}");

    assert_eq!(snapshot(&lab), before, "routes or addresses changed");
    assert_eq!(std::fs::read_to_string(&resolv).unwrap(), original);
    let sas = lab
        .swanctl(&["--list-sas"])
        .expect("swanctl --list-sas")
        .stdout;
    assert!(
        !sas.contains("ESTABLISHED") && !sas.contains("INSTALLED"),
        "the gateway still holds an SA:\n{sas}"
    );
}
