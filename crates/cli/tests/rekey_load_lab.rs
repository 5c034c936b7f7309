//! A tunnel under load while the gateway keeps replacing its keys: `corridor up`
//! against the lab's strongSwan gateway, which rekeys the Child SA every 20 s and the
//! IKE SA every 60 s, for three minutes of iperf3 upload traffic and a steady ping
//! stream. The tunnel must stay up and at least 99.9% of the pings must come back.
//! Needs root; fails (never skips) when the lab cannot start.
#![cfg(target_os = "linux")]

mod support;

use std::process::Stdio;
use std::time::Duration;

use lab::{Host, Lab, LabConfig, Scenario};
use support::{signal, tail, up_until_connected, wait_exit};
use tempfile::TempDir;

/// How long the load runs.
const SECONDS: u32 = 180;
/// Ping interval (the stream is `SECONDS / INTERVAL` echo requests).
const INTERVAL: f64 = 0.2;

/// `N packets transmitted, M received` from ping's summary.
fn ping_counts(out: &str) -> Option<(u32, u32)> {
    let line = out.lines().find(|l| l.contains("packets transmitted"))?;
    let mut numbers = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().ok());
    Some((numbers.next()??, numbers.next()??))
}

#[test]
fn the_tunnel_stays_up_and_pings_arrive_across_repeated_rekeys_under_load() {
    let config = LabConfig::new(Scenario::Psk)
        .child_rekey(Duration::from_secs(20))
        .ike_rekey(Duration::from_secs(60));
    let lab = match Lab::start(config) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let profile = lab.write_corridor_profile().expect("write the profile");
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 198.18.255.254\n").unwrap();
    let mut up = up_until_connected(
        &lab,
        &profile,
        &state,
        &["--resolv-conf", resolv.to_str().unwrap(), "--no-reconnect"],
        "",
    );

    let lan = lab.lan_host_addr().to_string();
    // Steady load well below the gateway's capacity: what is measured is the rekeys,
    // not queueing under saturation.
    let iperf = lab
        .command(Host::Client, "iperf3")
        .args(["-c", &lan, "-b", "20M", "-t", &SECONDS.to_string(), "-J"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start iperf3");
    let count = (f64::from(SECONDS) / INTERVAL) as u32;
    let ping = lab
        .command(Host::Client, "ping")
        .args([
            "-q",
            "-i",
            &INTERVAL.to_string(),
            "-c",
            &count.to_string(),
            "-W",
            "2",
            &lan,
        ])
        .output()
        .expect("run ping");
    let ping_out = String::from_utf8_lossy(&ping.stdout).into_owned();
    let iperf_out = iperf.wait_with_output().expect("iperf3");
    let gateway_log = lab.gateway_log();

    let output = up.output();
    assert!(
        matches!(up.child.try_wait(), Ok(None)),
        "corridor up ended during the load:\n{output}"
    );
    let (sent, received) =
        ping_counts(&ping_out).unwrap_or_else(|| panic!("no ping summary:\n{ping_out}"));
    let child_rekeys = gateway_log
        .lines()
        .filter(|l| l.contains("generating CREATE_CHILD_SA request") && l.contains("REKEY_SA"))
        .count();
    let ike_rekeys = gateway_log
        .lines()
        .filter(|l| l.contains("generating CREATE_CHILD_SA request") && !l.contains("REKEY_SA"))
        .count();
    eprintln!(
        "{received}/{sent} echo replies across {child_rekeys} Child SA and {ike_rekeys} IKE SA \
         rekeys by the gateway"
    );
    assert!(
        child_rekeys >= 7 && ike_rekeys >= 2,
        "the gateway did not rekey as configured ({child_rekeys} Child, {ike_rekeys} IKE):\n{}",
        tail(&gateway_log, 60)
    );
    assert!(
        u64::from(received) * 1000 >= u64::from(sent) * 999,
        "{received} of {sent} echo replies arrived\n{ping_out}\n--- corridor up\n{output}"
    );
    assert!(
        iperf_out.status.success(),
        "iperf3 failed:\n{}{}",
        String::from_utf8_lossy(&iperf_out.stdout),
        String::from_utf8_lossy(&iperf_out.stderr)
    );

    assert!(signal(up.child.id(), "-TERM"));
    assert_eq!(wait_exit(&mut up.child).code(), Some(0));
}
