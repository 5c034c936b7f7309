//! `corridor up` against the lab's strongSwan gateway: the command runs in the client
//! namespace, ping and HTTP reach the LAN host through its TUN device, and SIGTERM
//! leaves the namespace's routes and addresses exactly as they were. Needs root; fails
//! (never skips) when the lab cannot start.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lab::{Host, Lab, LabConfig, Scenario};
use tempfile::TempDir;

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `ip -j route` and `ip -j addr` (both families) in the client namespace.
fn snapshot(lab: &Lab) -> Vec<String> {
    [
        &["ip", "-j", "-4", "route", "show", "table", "all"][..],
        &["ip", "-j", "-6", "route", "show", "table", "all"],
        &["ip", "-j", "addr"],
    ]
    .iter()
    .map(|args| lab.exec(Host::Client, args).expect("ip").stdout)
    .collect()
}

/// Runs `corridor up` in the client namespace until it prints `connected in`; returns
/// the child, the time it took and the lines printed so far. Panics (after stopping
/// the child) when it does not connect within 60 s.
fn up_until_connected(
    lab: &Lab,
    profile: &std::path::Path,
    state: &std::path::Path,
    resolv: &std::path::Path,
) -> (std::process::Child, Duration, Vec<String>) {
    let started = Instant::now();
    let mut child = lab
        .command(Host::Client, env!("CARGO_BIN_EXE_corridor"))
        .arg("up")
        .arg(profile)
        .arg("--state-dir")
        .arg(state)
        .arg("--resolv-conf")
        .arg(resolv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run corridor up");
    let stdout = child.stdout.take().unwrap();
    let (line_tx, line_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = line_tx.send(line);
        }
    });
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match line_rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.starts_with("connected in");
                printed.push(line);
                if done {
                    return (child, started.elapsed(), printed);
                }
            }
            Err(_) => {
                let _ = signal(child.id(), "-TERM");
                let _ = child.wait();
                panic!(
                    "corridor up did not connect within 60 s\n--- stdout\n{}\n\
                     --- gateway log (tail)\n{}",
                    printed.join("\n"),
                    tail(&lab.gateway_log(), 60)
                );
            }
        }
    }
}

/// Sends `sig` (`-TERM`, `-KILL`) to the process `pid` we started.
fn signal(pid: u32, sig: &str) -> bool {
    std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let wait_until = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < wait_until,
            "corridor up did not exit within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

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

    let (mut first, _, _) = up_until_connected(&lab, &profile, &state, &resolv);
    assert!(signal(first.id(), "-KILL"));
    let _ = first.wait();
    assert_ne!(std::fs::read_to_string(&resolv).unwrap(), original);

    let (mut second, _, printed) = up_until_connected(&lab, &profile, &state, &resolv);
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
    assert_eq!(wait_exit(&mut second).code(), Some(0));
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

    let (mut child, connected_after, printed) =
        up_until_connected(&lab, &profile, &dir.path().join("state"), &resolv);
    let resolv_text = std::fs::read_to_string(&resolv).unwrap();
    let lan = lab.lan_host_addr();
    let ping = lab.exec_unchecked(
        Host::Client,
        &["ping", "-c", "3", "-W", "2", &lan.to_string()],
    );
    let http = lab.http_get(Host::Client, lan, "/");
    assert!(signal(child.id(), "-TERM"));
    let status = wait_exit(&mut child);
    let output = printed.join("\n");
    eprintln!("connected after {connected_after:?}\n{output}");

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
