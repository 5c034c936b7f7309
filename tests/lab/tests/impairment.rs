//! Path impairment: nftables loss, duplication and size limits on the client's side of
//! the wan, and the userspace relay's delay. Needs root.
#![cfg(target_os = "linux")]

mod common;

use std::time::Instant;

use common::{ok, shutdown_and_check, start};
use lab::plan::LAN_HOST_V4;
use lab::{ClientOptions, Host, Impairment, LabConfig, RelaySettings, Scenario};

fn ping(lab: &lab::Lab, size: u16, count: u8) -> lab::ExecOutput {
    lab.exec_unchecked(
        Host::Client,
        &[
            "ping",
            "-c",
            &count.to_string(),
            "-i",
            "0.05",
            "-W",
            "1",
            "-s",
            &size.to_string(),
            &lab.gateway_addr().to_string(),
        ],
    )
    .unwrap()
}

#[test]
fn nftables_impairment_loads_and_changes_at_run_time() {
    let lab = start(LabConfig::new(Scenario::Psk).services(false));
    assert!(lab.impairment_rules().unwrap().is_empty());

    ok(&lab, "loss", lab.set_impairment(&Impairment::loss(1000)));
    let rules = lab.impairment_rules().unwrap();
    assert!(rules.contains("meta protocol { ip, ip6 } drop"), "{rules}");
    assert!(!ping(&lab, 56, 3).success(), "all packets should be lost");

    ok(
        &lab,
        "duplication",
        lab.set_impairment(&Impairment::duplicate(1000)),
    );
    let rules = lab.impairment_rules().unwrap();
    assert!(rules.contains("dup to \"gw\""), "{rules}");
    let out = ping(&lab, 56, 3);
    assert!(
        out.success() && out.stdout.contains("duplicates"),
        "no duplicates: {out}"
    );

    ok(
        &lab,
        "size limit",
        lab.set_impairment(&Impairment::max_size(1000)),
    );
    assert!(ping(&lab, 500, 2).success(), "small packets must pass");
    assert!(
        !ping(&lab, 1200, 2).success(),
        "large packets must be dropped"
    );

    ok(&lab, "clear", lab.clear_impairment());
    assert!(lab.impairment_rules().unwrap().is_empty());
    assert!(ping(&lab, 1200, 2).success());
    shutdown_and_check(lab);
}

#[test]
fn impairment_applies_behind_nat_and_tunnel_survives_loss() {
    let lab = start(LabConfig::new(Scenario::EapMschapv2).nat(true));
    let client = ok(&lab, "strongSwan client", lab.start_strongswan_client());
    ok(
        &lab,
        "impairment",
        lab.set_impairment(&Impairment {
            loss_permille: 100,
            duplicate_permille: 100,
            max_packet_size: None,
        }),
    );
    // 10% loss each way: some of 20 pings get through the tunnel, and duplicates do not
    // break the ESP anti-replay window (duplicates are dropped by the receiver).
    let out = lab
        .exec_unchecked(
            Host::Client,
            &["ping", "-c", "20", "-i", "0.05", "-W", "1", "198.19.0.10"],
        )
        .unwrap();
    assert!(out.success(), "nothing got through 10% loss: {out}");
    ok(&lab, "clear", lab.clear_impairment());
    client.stop();
    shutdown_and_check(lab);
}

#[test]
fn relay_delays_the_tunnel_and_changes_at_run_time() {
    let mut lab = start(LabConfig::new(Scenario::Psk));
    let settings = RelaySettings {
        delay_ms: 100,
        jitter_ms: 10,
        ..RelaySettings::default()
    };
    let started = lab.start_relay(settings, 42);
    ok(&lab, "relay", started);
    let client = ok(
        &lab,
        "strongSwan client via the relay",
        lab.start_strongswan_client_with(&ClientOptions {
            remote_addr: lab.relay_addr(false),
            ..ClientOptions::default()
        }),
    );
    // Both directions are delayed: a round trip takes at least 200 ms.
    let rtt = |lab: &lab::Lab| {
        let t0 = Instant::now();
        let page = lab.http_get(Host::Client, LAN_HOST_V4, "/");
        (page, t0.elapsed())
    };
    let (page, slow) = rtt(&lab);
    ok(&lab, "HTTP through the relay", page);
    assert!(
        slow.as_millis() >= 400,
        "TCP handshake plus request took only {slow:?}"
    );

    ok(
        &lab,
        "new relay settings",
        lab.set_relay(&RelaySettings::default()),
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (page, fast) = rtt(&lab);
    ok(&lab, "HTTP through the undelayed relay", page);
    assert!(fast < slow / 2, "delay did not drop: {fast:?} vs {slow:?}");

    let sas = lab.swanctl(&["--list-sas"]).unwrap().stdout;
    assert!(
        sas.contains("@ 198.18.0.2["),
        "gateway should see the relay as the peer:\n{sas}"
    );
    client.stop();
    lab.stop_relay();
    shutdown_and_check(lab);
}
