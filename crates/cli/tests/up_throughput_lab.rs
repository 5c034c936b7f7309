//! Throughput of `corridor up` against the lab's strongSwan gateway: iperf3 (TCP, both
//! directions) from the client namespace to the LAN host through the tunnel, with the
//! CPU time the `corridor up` process spent meanwhile. A measurement, not a check: it
//! asserts only that traffic flowed, and prints the numbers.
//!
//! Run with `cargo test --release -p corridor-cli --test up_throughput_lab -- --ignored
//! --nocapture` (root). The gateway's data path is strongSwan's userspace libipsec, so
//! the gateway itself may be what limits the rate.
#![cfg(target_os = "linux")]

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lab::{Host, Lab, LabConfig, Scenario};
use tempfile::TempDir;

/// Seconds each iperf3 run lasts.
const SECONDS: &str = "5";

/// `utime + stime` of process `pid` in seconds, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // The command name (field 2) may contain spaces; fields after it are plain.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 counting from field 3.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    ticks as f64 / per_second
}

/// Bits per second (receiver side) and bytes of one iperf3 JSON report.
fn iperf_rate(json: &str) -> (f64, f64) {
    let v: serde_json::Value = serde_json::from_str(json).expect("iperf3 JSON");
    let received = &v["end"]["sum_received"];
    (
        received["bits_per_second"].as_f64().unwrap_or(0.0),
        received["bytes"].as_f64().unwrap_or(0.0),
    )
}

fn signal(pid: u32, sig: &str) -> bool {
    std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
#[ignore = "a measurement: run with --ignored --release"]
fn up_throughput_with_iperf3() {
    let lab = Lab::start(LabConfig::new(Scenario::Psk)).expect("start the lab (needs root)");
    let profile = lab.write_corridor_profile().expect("write the profile");
    let dir = TempDir::new().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 198.18.255.254\n").unwrap();
    let mut child = lab
        .command(Host::Client, env!("CARGO_BIN_EXE_corridor"))
        .arg("up")
        .arg(&profile)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--resolv-conf")
        .arg(&resolv)
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match line_rx.recv_timeout(left) {
            Ok(line) if line.starts_with("connected in") => break,
            Ok(_) => {}
            Err(_) => {
                signal(child.id(), "-TERM");
                let _ = child.wait();
                panic!("corridor up did not connect within 60 s");
            }
        }
    }
    let lan = lab.lan_host_addr().to_string();
    let pid = child.id();
    let mut results = Vec::new();
    for (label, reverse) in [("client -> LAN", false), ("LAN -> client", true)] {
        let mut args = vec!["iperf3", "-c", lan.as_str(), "-t", SECONDS, "-J"];
        if reverse {
            args.push("-R");
        }
        let cpu_before = cpu_seconds(pid);
        let out = lab.exec_unchecked(Host::Client, &args).expect("iperf3");
        let cpu = cpu_seconds(pid) - cpu_before;
        let (bps, bytes) = iperf_rate(&out.stdout);
        let gb = bytes / 1e9;
        eprintln!(
            "{label}: {:.0} Mbit/s, corridor CPU {cpu:.2} s ({:.2} s per GB)",
            bps / 1e6,
            if gb > 0.0 { cpu / gb } else { f64::NAN }
        );
        results.push(bps);
    }
    assert!(signal(pid, "-TERM"));
    let _ = child.wait();
    for bps in results {
        assert!(bps > 0.0, "no traffic went through the tunnel");
    }
}
