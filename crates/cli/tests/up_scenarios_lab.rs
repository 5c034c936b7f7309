//! The tunnel's acceptance in the lab, for every way of logging in: `corridor up` with
//! the DNS the gateway pushes (the namespace's own resolv.conf, a bind mount under
//! `ip netns exec`), names of the corporate LAN resolved through the tunnel, ping, HTTP
//! and iperf3 both ways over IPv4 and IPv6, the split between the LAN (tunnel) and the
//! outside host (direct), and each way of ending (SIGTERM, SIGINT, `corridor down`,
//! kill -9 and a restart) leaving routes, rules, addresses and resolv.conf byte for byte
//! as they were. A full-tunnel run checks that everything but the gateway itself and the
//! profile's excluded prefixes goes through the gateway. Needs root; fails, never skips.
#![cfg(target_os = "linux")]

mod support;

use std::net::IpAddr;

use lab::{Host, Lab, LabConfig, ProfileOptions, Scenario, plan};
use support::{
    down, secrets_for, signal, snapshot, up_until_connected, up_until_connected_with_env,
};
use tempfile::TempDir;

fn start(config: LabConfig) -> Lab {
    match Lab::start(config) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    }
}

/// Runs `args` in the client namespace; panics with its output when it fails.
fn client(lab: &Lab, args: &[&str], context: &str) -> String {
    let run = lab
        .exec_unchecked(Host::Client, args)
        .expect("run a command");
    assert!(
        run.success(),
        "`{}` failed:\n{}\n{}\n--- corridor up\n{context}",
        args.join(" "),
        run.stdout,
        run.stderr
    );
    run.stdout
}

/// The device `ip route get ADDR` picks in the client namespace.
fn route_device(lab: &Lab, addr: IpAddr) -> String {
    let out = client(lab, &["ip", "-j", "route", "get", &addr.to_string()], "");
    let routes: serde_json::Value = serde_json::from_str(&out).expect("ip -j route get");
    routes[0]["dev"].as_str().unwrap_or_default().to_string()
}

/// Fetches `url` with curl from the client namespace and returns the body.
fn curl(lab: &Lab, url: &str, context: &str) -> String {
    client(
        lab,
        &[
            "curl",
            "--silent",
            "--show-error",
            "--max-time",
            "10",
            "--globoff",
            url,
        ],
        context,
    )
}

/// The peer address the outside host's HTTP server logged for `path`.
fn outside_peer_for(lab: &Lab, path: &str) -> Option<IpAddr> {
    let log = std::fs::read_to_string(lab.dir().join("outside").join("http-outside.log"))
        .unwrap_or_default();
    log.lines()
        .filter(|l| l.contains(&format!(" {path} ")))
        .find_map(|l| {
            let peer = l.strip_prefix("http-serve: ")?.split(' ').next()?;
            peer.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
        })
}

/// iperf3 to the LAN host for a fixed amount, upload or download; returns Mbit/s.
fn iperf(lab: &Lab, target: IpAddr, download: bool, context: &str) -> f64 {
    let target = target.to_string();
    let mut args = vec!["iperf3", "-c", &target, "-n", "8M", "-J"];
    if download {
        args.push("-R");
    }
    let out = client(lab, &args, context);
    let report: serde_json::Value = serde_json::from_str(&out).expect("iperf3 -J");
    // With a byte count the sender's total is exact; the receiver's report can end a
    // little before the last segments, so it only has to show most of them.
    let sent = report["end"]["sum_sent"]["bytes"].as_f64().unwrap_or(0.0);
    let received = &report["end"]["sum_received"];
    let got = received["bytes"].as_f64().unwrap_or(0.0);
    assert!(
        sent >= 8.0 * 1024.0 * 1024.0 && got >= sent * 0.5,
        "iperf3 sent {sent} bytes, received {got}:\n{out}"
    );
    received["bits_per_second"].as_f64().unwrap_or(0.0) / 1e6
}

/// Writes the lab's Corridor profile, changed by `edit`, to `dir/profile.json`.
fn write_profile(
    lab: &Lab,
    dir: &std::path::Path,
    edit: impl FnOnce(&mut serde_json::Value),
) -> std::path::PathBuf {
    let mut profile = lab
        .corridor_profile(&ProfileOptions::default())
        .expect("profile");
    edit(&mut profile);
    let path = dir.join("profile.json");
    std::fs::write(&path, serde_json::to_string_pretty(&profile).unwrap()).unwrap();
    path
}

/// How a run is ended.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Sigterm,
    Sigint,
    Down,
    KillAndRestart,
}

/// One login scenario end to end over IPv4 and IPv6 in split mode.
fn scenario(scenario: Scenario, ending: Ending) {
    let lab = start(LabConfig::new(scenario).ipv6(true));
    let profile = lab.write_corridor_profile().expect("write the profile");
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state");
    let (stdin, flags) = secrets_for(scenario);
    let before = snapshot(&lab);

    let mut up = up_until_connected(&lab, &profile, &state, &flags, &stdin);
    let context = up.output();
    eprintln!(
        "{scenario:?} connected after {:?}\n{context}",
        up.connected_after
    );

    // Names of the corporate domain through the DNS server the gateway pushed.
    let resolv = std::fs::read_to_string(lab.resolv_conf(Host::Client)).unwrap();
    assert!(resolv.contains("search corp.example"), "{resolv}");
    let v4 = client(&lab, &["getent", "ahostsv4", plan::INTRANET_FQDN], &context);
    assert!(v4.contains(&plan::LAN_HOST_V4.to_string()), "{v4}");
    let v6 = client(&lab, &["getent", "ahostsv6", plan::INTRANET_FQDN], &context);
    assert!(v6.contains(&plan::LAN_HOST_V6.to_string()), "{v6}");
    client(
        &lab,
        &["ping", "-4", "-c", "2", "-W", "2", plan::INTRANET_FQDN],
        &context,
    );
    client(
        &lab,
        &["ping", "-6", "-c", "2", "-W", "2", plan::INTRANET_FQDN],
        &context,
    );
    let page = curl(&lab, "http://intranet.corp.example/", &context);
    assert_eq!(page, plan::LAN_PAGE);
    let page = curl(&lab, &format!("http://[{}]/", plan::LAN_HOST_V6), &context);
    assert_eq!(page, plan::LAN_PAGE);
    let short = curl(&lab, "http://intranet/", &context);
    assert_eq!(
        short,
        plan::LAN_PAGE,
        "the search domain completes short names"
    );

    // Bulk data both ways, both families.
    for (target, family) in [(plan::LAN_HOST_V4, "IPv4"), (plan::LAN_HOST_V6, "IPv6")] {
        let upload = iperf(&lab, target, false, &context);
        let download = iperf(&lab, target, true, &context);
        eprintln!("{scenario:?} iperf3 {family}: up {upload:.0} Mbit/s, down {download:.0} Mbit/s");
    }

    // Split tunnel: the LAN through the tunnel, the outside host directly.
    assert_eq!(route_device(&lab, plan::LAN_HOST_V4), "corridor0");
    assert_eq!(route_device(&lab, plan::LAN_HOST_V6), "corridor0");
    assert_ne!(route_device(&lab, plan::OUTSIDE_V4), "corridor0");
    assert_ne!(route_device(&lab, plan::OUTSIDE_V6), "corridor0");
    let probe = format!("/split-{}", scenario.name());
    let page = curl(
        &lab,
        &format!("http://{}{probe}", plan::OUTSIDE_V4),
        &context,
    );
    assert_eq!(page, plan::OUTSIDE_PAGE);
    assert_eq!(outside_peer_for(&lab, &probe), Some(plan::CLIENT_WAN_V4));

    match ending {
        Ending::Sigterm => assert!(signal(up.child.id(), "-TERM")),
        Ending::Sigint => assert!(signal(up.child.id(), "-INT")),
        Ending::Down => {
            let (code, stderr) = down(&state);
            assert_eq!(code, Some(0), "{stderr}");
        }
        Ending::KillAndRestart => {
            assert!(signal(up.child.id(), "-KILL"));
            let _ = up.wait();
            assert_ne!(snapshot(&lab), before, "kill -9 cannot have cleaned up");
            up = up_until_connected(&lab, &profile, &state, &flags, &stdin);
            assert!(
                up.printed.iter().any(|l| l.starts_with("restored ")),
                "the leftovers were not restored:\n{}",
                up.output()
            );
            client(
                &lab,
                &["ping", "-c", "1", "-W", "2", plan::INTRANET_FQDN],
                "",
            );
            let (code, stderr) = down(&state);
            assert_eq!(code, Some(0), "{stderr}");
        }
    }
    let (status, output) = up.wait();
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(output.contains("network restored"), "{output}");
    assert_eq!(
        snapshot(&lab),
        before,
        "the namespace differs after {ending:?}"
    );
}

#[test]
fn psk_then_sigterm() {
    scenario(Scenario::Psk, Ending::Sigterm);
}

#[test]
fn eap_mschapv2_then_sigint() {
    scenario(Scenario::EapMschapv2, Ending::Sigint);
}

#[test]
fn certificate_then_corridor_down() {
    scenario(Scenario::Cert, Ending::Down);
}

#[test]
fn eap_tls_then_kill_and_restart() {
    scenario(Scenario::EapTls, Ending::KillAndRestart);
}

/// Full tunnel over both families from behind the NAT router (so the outside host is
/// not on the client's own link, which stays local): the outside host is reached
/// through the gateway (which masquerades the pool), except for a prefix the profile
/// excludes; the gateway itself stays reachable directly, so ESP does not loop into
/// the tunnel.
#[test]
fn full_tunnel_with_an_excluded_prefix() {
    let lab = start(
        LabConfig::new(Scenario::Psk)
            .ipv6(true)
            .full_tunnel(true)
            .nat(true),
    );
    let dir = TempDir::new().unwrap();
    let path = write_profile(&lab, dir.path(), |profile| {
        profile["routing"] = serde_json::json!({
            "mode": "full",
            "exclude": [format!("{}/32", plan::OUTSIDE_V4)],
        });
    });
    let state = dir.path().join("state");
    let before = snapshot(&lab);

    let mut up = up_until_connected(&lab, &path, &state, &[], "");
    let context = up.output();
    eprintln!(
        "full tunnel connected after {:?}\n{context}",
        up.connected_after
    );

    assert_eq!(route_device(&lab, plan::OUTSIDE_V6), "corridor0");
    assert_ne!(
        route_device(&lab, plan::OUTSIDE_V4),
        "corridor0",
        "excluded"
    );
    assert_ne!(
        route_device(&lab, lab.gateway_addr()),
        "corridor0",
        "gateway pinned"
    );
    let page = curl(
        &lab,
        &format!("http://[{}]/full-v6", plan::OUTSIDE_V6),
        &context,
    );
    assert_eq!(page, plan::OUTSIDE_PAGE);
    assert_eq!(
        outside_peer_for(&lab, "/full-v6"),
        Some(plan::GATEWAY_WAN_V6),
        "IPv6 to the outside host must leave through the gateway"
    );
    let page = curl(
        &lab,
        &format!("http://{}/full-v4", plan::OUTSIDE_V4),
        &context,
    );
    assert_eq!(page, plan::OUTSIDE_PAGE);
    assert_eq!(
        outside_peer_for(&lab, "/full-v4"),
        Some(plan::ROUTER_WAN_V4),
        "the excluded prefix must be reached directly (through the NAT router)"
    );
    let page = curl(&lab, "http://intranet.corp.example/", &context);
    assert_eq!(page, plan::LAN_PAGE);

    assert!(signal(up.child.id(), "-TERM"));
    let (status, output) = up.wait();
    assert_eq!(status.code(), Some(0), "{output}");
    assert_eq!(
        snapshot(&lab),
        before,
        "the namespace differs after SIGTERM"
    );
}

/// Split tunnel with `block_ipv4` and `block_ipv6` from behind the NAT router, the
/// gateway assigning IPv4 only: the LAN works through the tunnel, the outside host is
/// refused over both families instead of being reached directly, and the gateway stays
/// reachable (pinned) so the tunnel itself keeps working.
#[test]
fn split_tunnel_blocking_everything_else() {
    let lab = start(LabConfig::new(Scenario::Psk).nat(true));
    let dir = TempDir::new().unwrap();
    let path = write_profile(&lab, dir.path(), |profile| {
        profile["routing"]["block_ipv4"] = serde_json::json!(true);
        profile["routing"]["block_ipv6"] = serde_json::json!(true);
    });
    let state = dir.path().join("state");
    let before = snapshot(&lab);
    // Before the tunnel, the outside host answers over both families.
    client(
        &lab,
        &["ping", "-c", "1", "-W", "2", &plan::OUTSIDE_V4.to_string()],
        "",
    );
    client(
        &lab,
        &["ping", "-c", "1", "-W", "2", &plan::OUTSIDE_V6.to_string()],
        "",
    );

    let mut up = up_until_connected(&lab, &path, &state, &[], "");
    let context = up.output();
    assert!(context.contains("unreachable 0.0.0.0/1"), "{context}");
    assert!(context.contains("unreachable ::/1"), "{context}");
    let page = curl(&lab, "http://intranet.corp.example/", &context);
    assert_eq!(page, plan::LAN_PAGE);
    for outside in [plan::OUTSIDE_V4, plan::OUTSIDE_V6] {
        let run = lab
            .exec_unchecked(
                Host::Client,
                &["ping", "-c", "1", "-W", "2", &outside.to_string()],
            )
            .unwrap();
        assert!(
            !run.success(),
            "{outside} answered while blocked:\n{}",
            run.stdout
        );
        assert!(
            run.stderr.contains("unreachable") || run.stderr.contains("No route to host"),
            "{outside}: {}\n{}",
            run.stdout,
            run.stderr
        );
    }
    assert_ne!(route_device(&lab, lab.gateway_addr()), "corridor0");

    assert!(signal(up.child.id(), "-TERM"));
    let (status, output) = up.wait();
    assert_eq!(status.code(), Some(0), "{output}");
    assert_eq!(
        snapshot(&lab),
        before,
        "the namespace differs after SIGTERM"
    );
    client(
        &lab,
        &["ping", "-c", "1", "-W", "2", &plan::OUTSIDE_V6.to_string()],
        "",
    );
}

/// With systemd-resolved running in the client namespace, `corridor up` leaves
/// resolv.conf alone and gives the tunnel link its DNS server and the pushed domain:
/// intranet.corp.example resolves through the tunnel, other names still go to the
/// host's own server, and after SIGTERM resolved's state is what it was.
#[test]
fn split_dns_through_systemd_resolved() {
    let lab = start(LabConfig::new(Scenario::Psk));
    let host_dns: std::net::IpAddr = "198.18.255.254".parse().unwrap();
    let resolved =
        lab::resolved::SystemdResolved::start(&lab.netns(Host::Client), lab.dir(), &[host_dns])
            .expect("start systemd-resolved in the client namespace");
    let profile = lab.write_corridor_profile().expect("write the profile");
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state");
    let before = snapshot(&lab);
    // Which server is "current" is runtime state set by the first query, not
    // configuration; everything else must come back as it was.
    let configuration = || {
        let status = resolved.resolvectl(&["status"]).unwrap().stdout;
        status
            .lines()
            .filter(|l| !l.trim_start().starts_with("Current DNS Server:"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let resolved_before = configuration();

    let envs = [("DBUS_SYSTEM_BUS_ADDRESS", resolved.bus_address())];
    let mut up = up_until_connected_with_env(&lab, &profile, &state, &[], "", &envs);
    let context = up.output();
    assert!(
        context.contains(
            "dns      198.19.0.10 for corp.example on corridor0 (systemd-resolved, split)"
        ),
        "{context}"
    );
    let link = resolved
        .resolvectl(&["status", "corridor0"])
        .unwrap()
        .stdout;
    assert!(link.contains("198.19.0.10"), "{link}");
    assert!(link.contains("corp.example"), "{link}");
    assert!(link.contains("-DefaultRoute"), "{link}");
    let answer = resolved
        .resolvectl(&["query", "--legend=no", plan::INTRANET_FQDN])
        .unwrap()
        .stdout;
    assert!(answer.contains(&plan::LAN_HOST_V4.to_string()), "{answer}");
    assert!(
        answer.contains("corridor0"),
        "answered on the tunnel link: {answer}"
    );

    assert!(signal(up.child.id(), "-TERM"));
    let (status, output) = up.wait();
    assert_eq!(status.code(), Some(0), "{output}");
    assert_eq!(
        snapshot(&lab),
        before,
        "the namespace differs after SIGTERM"
    );
    assert_eq!(
        configuration(),
        resolved_before,
        "systemd-resolved's state differs after SIGTERM"
    );
}
