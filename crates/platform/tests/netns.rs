//! Linux integration tests: real TUN devices, addresses and routes, each test in its
//! own network namespace. Run as root.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use corridor_platform::{Family, IpNet, Platform, Route, Tun, TunConfig};
use support::{Netns, ip_json, sh, snapshot};

fn net(s: &str, p: u8) -> IpNet {
    IpNet::new(s.parse().unwrap(), p).unwrap()
}

fn tun_config() -> TunConfig {
    TunConfig {
        name: "corridor0".into(),
        mtu: 1400,
        addresses: vec![net("198.19.100.2", 32), net("fd00:c0::2", 128)],
    }
}

fn has_route(routes: &[serde_json::Value], dst: &str, dev: &str) -> bool {
    routes.iter().any(|r| r["dst"] == dst && r["dev"] == dev)
}

/// Reads packets from the TUN until one matches (the kernel may also emit IPv6
/// router solicitations or MLD reports on the new link).
async fn read_until(tun: &impl Tun, want: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let wait = async {
        loop {
            let n = tun.recv(&mut buf).await.unwrap();
            if want(&buf[..n]) {
                return buf[..n].to_vec();
            }
        }
    };
    // A hang guard, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("no matching packet came out of the TUN")
}

#[test]
fn tun_addresses_routes_packets_and_clean_teardown() {
    let ns = Netns::new();
    ns.run(|| async {
        sh(&["ip", "link", "set", "lo", "up"]);
        let before = snapshot();
        let state = tempfile::tempdir().unwrap();
        let mut platform = Platform::open(state.path()).await.unwrap();
        let tun = platform.create_tun(&tun_config()).await.unwrap();
        assert_eq!(tun.name(), "corridor0");
        assert!(
            tun.capabilities().offload,
            "this kernel offers TUN offloads"
        );

        let link = &ip_json(&["addr", "show", "dev", "corridor0"])[0];
        assert_eq!(link["mtu"], 1400);
        assert!(link["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
        let addrs: Vec<&str> = link["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["local"].as_str().unwrap())
            .collect();
        assert!(addrs.contains(&"198.19.100.2"), "{addrs:?}");
        assert!(addrs.contains(&"fd00:c0::2"), "{addrs:?}");

        let mut r4 = Route::via_device(net("198.19.200.0", 24), "corridor0");
        r4.metric = Some(50);
        let r6 = Route::via_device(net("fd00:c1::", 64), "corridor0");
        let mut r_table = Route::via_device(net("198.19.201.0", 24), "corridor0");
        r_table.table = Some(100);
        for r in [&r4, &r6, &r_table] {
            platform.add_route(r.clone()).await.unwrap();
        }
        let v4 = ip_json(&["route", "show"]);
        assert!(v4.iter().any(|r| r["dst"] == "198.19.200.0/24"
            && r["dev"] == "corridor0"
            && r["metric"] == 50));
        assert!(has_route(
            &ip_json(&["-6", "route", "show"]),
            "fd00:c1::/64",
            "corridor0"
        ));
        assert!(has_route(
            &ip_json(&["route", "show", "table", "100"]),
            "198.19.201.0/24",
            "corridor0"
        ));

        let listed = platform.list_routes(Family::V4, 100).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].destination, net("198.19.201.0", 24));
        assert_eq!(listed[0].device.as_deref(), Some("corridor0"));
        let main = platform
            .list_routes(Family::V4, corridor_platform::MAIN_TABLE)
            .await
            .unwrap();
        assert!(
            main.iter()
                .any(|r| r.destination == net("198.19.200.0", 24) && r.metric == Some(50))
        );

        // Host -> tunnel: a datagram routed into corridor0 comes out of the device.
        let sock = tokio::net::UdpSocket::bind("198.19.100.2:0").await.unwrap();
        sock.send_to(b"outbound", "198.19.200.7:4500")
            .await
            .unwrap();
        let pkt = read_until(&tun, |p| {
            p.len() > 28 && p[0] >> 4 == 4 && p[9] == 17 && p[16..20] == [198, 19, 200, 7]
        })
        .await;
        assert_eq!(&pkt[12..16], &[198, 19, 100, 2]);
        assert_eq!(&pkt[28..], b"outbound");

        // IPv6 too.
        let sock6 = tokio::net::UdpSocket::bind("[fd00:c0::2]:0").await.unwrap();
        sock6.send_to(b"out6", "[fd00:c1::7]:4500").await.unwrap();
        let dst6: IpAddr = "fd00:c1::7".parse().unwrap();
        let IpAddr::V6(d6) = dst6 else { unreachable!() };
        let pkt6 = read_until(&tun, |p| {
            p.len() > 48 && p[0] >> 4 == 6 && p[6] == 17 && p[24..40] == d6.octets()
        })
        .await;
        assert_eq!(&pkt6[48..], b"out6");

        // Tunnel -> host: a packet written into the device reaches a local socket.
        let inbound = tokio::net::UdpSocket::bind("198.19.100.2:5000")
            .await
            .unwrap();
        let pkt = support::ipv4_udp([198, 19, 200, 9], [198, 19, 100, 2], 4000, 5000, b"inbound");
        assert_eq!(tun.send(&pkt).await.unwrap(), pkt.len());
        let mut buf = [0u8; 64];
        let (n, from) = tokio::time::timeout(Duration::from_secs(20), inbound.recv_from(&mut buf))
            .await
            .expect("injected packet never arrived")
            .unwrap();
        assert_eq!(&buf[..n], b"inbound");
        assert_eq!(from.ip(), IpAddr::V4(Ipv4Addr::new(198, 19, 200, 9)));

        // Removing one route drops it from the journal as well.
        platform.remove_route(&r6).await.unwrap();
        assert!(!has_route(
            &ip_json(&["-6", "route", "show"]),
            "fd00:c1::/64",
            "corridor0"
        ));

        drop((sock, sock6, inbound));
        let undone = platform.restore().await.unwrap();
        assert_eq!(undone, 1 + 2 + 2, "tun + 2 addresses + 2 routes left");
        drop(tun);
        assert!(!platform.journal().path().exists());
        assert_eq!(snapshot(), before);
    });
}

/// Uplink with IPv4 and IPv6 default routes, as a real host has (a veth pair:
/// the dummy link type is not built into every kernel).
fn uplink() {
    for cmd in [
        "ip link set lo up",
        "ip link add up0 type veth peer name up0peer",
        "ip link set up0peer up",
        "ip link set up0 up",
        "ip addr add 198.18.0.2/24 dev up0",
        "ip route add default via 198.18.0.1 dev up0",
        "ip -6 addr add fd00:18::2/64 dev up0 nodad",
        "ip -6 route add default via fd00:18::1 dev up0",
    ] {
        sh(&cmd.split(' ').collect::<Vec<_>>());
    }
}

#[test]
fn full_tunnel_then_crash_then_restore_is_exact() {
    let ns = Netns::new();
    ns.run(|| async {
        uplink();
        let before = snapshot();
        let state = tempfile::tempdir().unwrap();

        let mut platform = Platform::open(state.path()).await.unwrap();
        let tun = platform.create_tun(&tun_config()).await.unwrap();
        let gw: IpAddr = "198.18.5.5".parse().unwrap();
        let added = platform
            .full_tunnel("corridor0", gw, &[Family::V4, Family::V6])
            .await
            .unwrap();
        assert_eq!(added.len(), 5);
        let v4 = ip_json(&["route", "show"]);
        assert!(v4.iter().any(|r| r["dst"] == "198.18.5.5"
            && r["gateway"] == "198.18.0.1"
            && r["dev"] == "up0"));
        assert!(has_route(&v4, "0.0.0.0/1", "corridor0"));
        assert!(has_route(&v4, "128.0.0.0/1", "corridor0"));
        let v6 = ip_json(&["-6", "route", "show"]);
        assert!(has_route(&v6, "::/1", "corridor0"));
        assert!(has_route(&v6, "8000::/1", "corridor0"));
        // The kernel now really sends everything but the gateway into the tunnel.
        let get = ip_json(&["route", "get", "203.0.113.1"]);
        assert_eq!(get[0]["dev"], "corridor0");
        let get = ip_json(&["route", "get", "198.18.5.5"]);
        assert_eq!(get[0]["dev"], "up0");

        // Crash: nothing is undone, the device stays (its fd is leaked, as when a
        // helper still holds it).
        std::mem::forget(tun);
        std::mem::forget(platform);
        assert_ne!(snapshot(), before);

        let mut next = Platform::open(state.path()).await.unwrap();
        assert_eq!(next.journal().entries().len(), 1 + 2 + 5);
        assert_eq!(next.restore().await.unwrap(), 8);
        assert_eq!(snapshot(), before);
        // Idempotent.
        assert_eq!(next.restore().await.unwrap(), 0);
        assert_eq!(snapshot(), before);
    });
}

#[test]
fn restore_replays_entries_whose_changes_never_happened() {
    // A crash between "recorded" and "done" leaves entries with nothing behind them.
    let ns = Netns::new();
    ns.run(|| async {
        uplink();
        let before = snapshot();
        let state = tempfile::tempdir().unwrap();
        {
            let mut j = corridor_platform::Journal::open(state.path()).unwrap();
            j.record(corridor_platform::Change::TunCreated {
                name: "corridor9".into(),
            })
            .unwrap();
            j.record(corridor_platform::Change::AddressAdded {
                device: "up0".into(),
                net: net("198.18.0.77", 32),
            })
            .unwrap();
            j.record(corridor_platform::Change::RouteAdded {
                route: Route::via_device(net("198.19.7.0", 24), "up0"),
            })
            .unwrap();
        }
        let mut p = Platform::open(state.path()).await.unwrap();
        assert_eq!(p.restore().await.unwrap(), 3);
        assert_eq!(snapshot(), before);
    });
}

#[test]
fn full_tunnel_without_default_route_is_a_clear_error() {
    let ns = Netns::new();
    ns.run(|| async {
        let state = tempfile::tempdir().unwrap();
        let mut p = Platform::open(state.path()).await.unwrap();
        let err = p
            .full_tunnel("corridor0", "198.18.5.5".parse().unwrap(), &[Family::V4])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("no default route for IPv4"),
            "{err}"
        );
        assert!(p.journal().entries().is_empty());
    });
}

/// Environment variable that turns [`crash_child`] into the process that gets killed.
const CHILD_ENV: &str = "CORRIDOR_PLATFORM_CRASH_CHILD";
const READY: &str = "corridor-platform-child-ready";

#[test]
#[ignore = "child half of sigkill_mid_tunnel_then_restore, which runs it"]
fn crash_child() {
    // Under `--include-ignored` without the parent there is nothing to do.
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (ns, dir) = spec.split_once('|').unwrap();
    let dir = std::path::PathBuf::from(dir);
    support::run_in(ns, move || async move {
        let mut platform = Platform::open(&dir).await.unwrap();
        let _tun = platform.create_tun(&tun_config()).await.unwrap();
        platform
            .full_tunnel(
                "corridor0",
                "198.18.5.5".parse().unwrap(),
                &[Family::V4, Family::V6],
            )
            .await
            .unwrap();
        println!("{READY}");
        std::io::Write::flush(&mut std::io::stdout()).unwrap();
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

#[test]
fn sigkill_mid_tunnel_then_restore() {
    use std::io::BufRead;
    let ns = Netns::new();
    let ns_name = ns.name.clone();
    ns.run(move || async move {
        uplink();
        let before = snapshot();
        let state = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{}|{}", ns_name, state.path().display()))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let ready = std::io::BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
                .any(|l| l.contains(READY));
            let _ = tx.send(ready);
        });
        // A hang guard, not a timing assertion.
        let ready = rx.recv_timeout(Duration::from_secs(120)).unwrap_or(false);
        // Child::kill sends SIGKILL: no destructor, no cleanup runs in the child.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(ready, "child never reported its tunnel as up");

        // The kernel removed the TUN with its last fd; the gateway pin survived.
        let v4 = ip_json(&["route", "show"]);
        assert!(v4.iter().any(|r| r["dst"] == "198.18.5.5"), "{v4:?}");
        assert_ne!(snapshot(), before);

        let mut next = Platform::open(state.path()).await.unwrap();
        assert_eq!(next.restore().await.unwrap(), 8);
        assert_eq!(snapshot(), before);
        assert_eq!(next.restore().await.unwrap(), 0);
    });
}

/// The kernel tells a subscriber about a route added in its namespace, and the
/// subscription keeps delivering (a second change is reported too).
#[test]
fn route_changes_are_reported_by_the_os() {
    let ns = Netns::new();
    ns.run(|| async {
        sh(&["ip", "link", "set", "lo", "up"]);
        sh(&[
            "ip", "link", "add", "rt0", "type", "veth", "peer", "name", "rt0peer",
        ]);
        sh(&["ip", "link", "set", "rt0peer", "up"]);
        sh(&["ip", "link", "set", "rt0", "up"]);
        let mut events = corridor_platform::RouteEvents::subscribe();
        assert!(
            events.is_subscribed(),
            "rtnetlink route groups are available"
        );
        for prefix in ["198.19.210.0/24", "198.19.211.0/24"] {
            sh(&["ip", "route", "add", prefix, "dev", "rt0"]);
            // A hang guard, not a timing assertion.
            tokio::time::timeout(Duration::from_secs(20), events.changed())
                .await
                .unwrap_or_else(|_| panic!("adding {prefix} was not reported"));
        }
        sh(&["ip", "link", "del", "rt0"]);
    });
}
