//! `corridor up` against `corridor-testpeer` in the lab: the test peer runs in the
//! gateway namespace instead of strongSwan, and ping and HTTP reach the LAN host through
//! both Corridor ends. Needs root; fails (never skips) when the lab cannot start.
#![cfg(target_os = "linux")]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lab::{Host, Lab, LabConfig, Scenario};

/// The target directory's profile directory this test binary lives in
/// (`target/<profile>/deps/<test>` → `target/<profile>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps")
        .to_path_buf()
}

/// The `corridor` binary and the directory holding `lab`: built now if cargo runs this
/// test (it sets `CARGO`), else they must already be built; `CORRIDOR_BIN` overrides.
fn workspace_binaries() -> (PathBuf, PathBuf) {
    let dir = profile_dir();
    // CORRIDOR_BIN names a `corridor` built elsewhere; then only `lab` must exist here.
    if let Some(bin) = std::env::var_os("CORRIDOR_BIN") {
        assert!(dir.join("lab").is_file(), "run `cargo build -p lab` first");
        return (PathBuf::from(bin), dir);
    }
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "corridor-cli", "-p", "lab"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if let Some(target) = dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        let status = cmd.status().expect("run cargo build");
        assert!(
            status.success(),
            "cargo build -p corridor-cli -p lab failed"
        );
    }
    for bin in ["corridor", "lab"] {
        assert!(
            dir.join(bin).is_file(),
            "{} is missing: run `cargo build -p corridor-cli -p lab`",
            dir.join(bin).display()
        );
    }
    (dir.join("corridor"), dir)
}

fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `corridor up` in the client namespace until it prints `connected in`.
fn corridor_up(lab: &Lab, corridor: &Path, state: &Path) -> (Child, Vec<String>) {
    let profile = lab.write_corridor_profile().expect("write the profile");
    let mut child = lab
        .command(Host::Client, corridor)
        .arg("up")
        .arg(&profile)
        .arg("--state-dir")
        .arg(state)
        .arg("--no-dns")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run corridor up");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let done = line.starts_with("connected in");
                printed.push(line);
                if done {
                    return (child, printed);
                }
            }
            Err(_) => {
                signal(child.id(), "-TERM");
                let _ = child.wait();
                panic!(
                    "corridor up did not connect to the test peer within 60 s\n{}",
                    printed.join("\n")
                );
            }
        }
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < until,
            "corridor up did not exit within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn corridor_reaches_the_lan_through_the_test_peer() {
    // The lab finds its own binary (the HTTP server in the namespaces) there too.
    let (corridor, _) = workspace_binaries();
    let lab = match Lab::start(LabConfig::new(Scenario::Psk).gateway_daemon(false)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    assert!(lab.gateway().is_err(), "strongSwan runs on the gateway");
    let mut peer = lab
        .start_testpeer(Path::new(env!("CARGO_BIN_EXE_corridor-testpeer")), &[])
        .expect("start corridor-testpeer");
    let state = tempfile::tempdir().unwrap();
    let (mut child, printed) = corridor_up(&lab, &corridor, state.path());
    peer.wait_connected(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", peer.log()));
    let output = printed.join("\n");
    assert!(
        output.contains("198.19.100.1"),
        "the pool's first address was not assigned:\n{output}"
    );

    let lan = lab.lan_host_addr();
    let ping = lab.exec_unchecked(
        Host::Client,
        &["ping", "-c", "3", "-W", "2", &lan.to_string()],
    );
    let http = lab.http_get(Host::Client, lan, "/");
    assert!(signal(child.id(), "-TERM"));
    let status = wait_exit(&mut child);

    let ping = ping.expect("ping");
    assert!(
        ping.stdout.contains("3 received"),
        "{}\n{}",
        ping.stdout,
        peer.log()
    );
    let http = http.unwrap_or_else(|e| panic!("HTTP through the tunnel: {e:#}\n{}", peer.log()));
    assert_eq!(http.status, 200);
    assert_eq!(http.body, lab::plan::LAN_PAGE);
    assert_eq!(status.code(), Some(0), "{output}");

    // corridor up deletes its IKE SA on the way out; the peer frees the lease.
    let until = Instant::now() + Duration::from_secs(10);
    while !peer.log().contains("deleted 198.19.100.1") {
        assert!(
            Instant::now() < until,
            "no Delete reached the peer:\n{}",
            peer.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    peer.check_running()
        .expect("the test peer is still running");
}
