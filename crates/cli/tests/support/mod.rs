//! Running `corridor up` in a lab's client namespace: start it, wait for `connected in`,
//! signal it, and snapshot the namespace's network state for exact-restore checks.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lab::{Host, Lab, Scenario};

pub mod service;

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The client namespace's routes, rules, addresses and resolv.conf, for exact-restore
/// checks.
pub fn snapshot(lab: &Lab) -> Vec<String> {
    lab.network_state(Host::Client)
}

/// What a scenario's `corridor up` reads on standard input, and the flag that says so.
pub fn secrets_for(scenario: Scenario) -> (String, Vec<&'static str>) {
    let creds = lab::credentials();
    match scenario {
        Scenario::EapMschapv2 => (
            format!("{}\n", creds.eap_password),
            vec!["--password-stdin"],
        ),
        Scenario::Cert | Scenario::EapTls => (
            format!("{}\n", creds.p12_password),
            vec!["--p12-password-stdin"],
        ),
        Scenario::Psk => (String::new(), vec![]),
    }
}

/// A running `corridor up` and what it printed until it connected.
pub struct Up {
    pub child: Child,
    pub connected_after: Duration,
    pub printed: Vec<String>,
    lines: mpsc::Receiver<String>,
}

impl Up {
    /// Everything printed so far, including lines after `connected in`.
    pub fn output(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.printed.push(line);
        }
        self.printed.join("\n")
    }

    /// Waits (at most 20 s) for the process to exit, then returns its status and output.
    pub fn wait(&mut self) -> (ExitStatus, String) {
        let status = wait_exit(&mut self.child);
        // The reader thread sees EOF once the process is gone.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.printed.push(line);
        }
        (status, self.printed.join("\n"))
    }
}

impl Drop for Up {
    /// A failing test must not leave `corridor up` running in the lab.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `corridor up PROFILE --state-dir STATE ARGS...` in the client namespace with
/// `stdin` as its input until it prints `connected in`. Panics (after stopping the
/// child) when it does not connect within 60 s.
pub fn up_until_connected(
    lab: &Lab,
    profile: &Path,
    state: &Path,
    args: &[&str],
    stdin: &str,
) -> Up {
    up_until_connected_with_env(lab, profile, state, args, stdin, &[])
}

/// [`up_until_connected`] with extra environment variables.
pub fn up_until_connected_with_env(
    lab: &Lab,
    profile: &Path,
    state: &Path,
    args: &[&str],
    stdin: &str,
    envs: &[(&str, String)],
) -> Up {
    let started = Instant::now();
    let mut child = lab
        .command(Host::Client, env!("CARGO_BIN_EXE_corridor"))
        .arg("up")
        .arg(profile)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run corridor up");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
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
                    return Up {
                        child,
                        connected_after: started.elapsed(),
                        printed,
                        lines: line_rx,
                    };
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

/// Sends `sig` (`-TERM`, `-INT`, `-KILL`) to the process `pid` we started.
pub fn signal(pid: u32, sig: &str) -> bool {
    std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits at most 20 s for `child` to exit.
pub fn wait_exit(child: &mut Child) -> ExitStatus {
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

/// Runs `corridor down --state-dir STATE` and returns its exit code and stderr.
pub fn down(state: &Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["down", "--state-dir"])
        .arg(state)
        .output()
        .expect("run corridor down");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `corridor up` of the stored profile `id` (from `store`, with the scenario's secrets on
/// standard input) until connected; ping and HTTP to the LAN host through the tunnel;
/// SIGTERM; then a clean exit and the client's network exactly as before.
pub fn up_carries_traffic(lab: &Lab, scenario: Scenario, store: &Path, id: &str, dir: &Path) {
    let resolv = dir.join("resolv.conf");
    std::fs::write(&resolv, "nameserver 198.18.255.254\n").unwrap();
    let before = snapshot(lab);
    let (stdin, flags) = secrets_for(scenario);
    let mut args = vec![
        "--profiles-dir",
        store.to_str().unwrap(),
        "--resolv-conf",
        resolv.to_str().unwrap(),
    ];
    args.extend(flags);
    let mut up = up_until_connected(lab, Path::new(&id), &dir.join("state"), &args, &stdin);
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
    assert!(ping.success(), "ping failed:\n{}\n{output}", ping.stderr);
    assert!(ping.stdout.contains("3 received"), "{}", ping.stdout);
    assert_eq!(http.expect("HTTP through the tunnel").status, 200);
    assert_eq!(status.code(), Some(0), "{output}");
    assert_eq!(snapshot(lab), before, "routes or addresses changed");
}
