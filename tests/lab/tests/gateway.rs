//! Each scenario's gateway comes up with its connection, pools and services, and the lab
//! writes profiles for it. Runs strongSwan for real: needs root (see the README).
#![cfg(target_os = "linux")]

mod common;

use std::net::IpAddr;

use common::{assert_lan_unreachable, ok, shutdown_and_check, start};
use lab::plan::{INTRANET_FQDN, LAN_HOST_V4, LAN_HOST_V6, LAN_PAGE, OUTSIDE_PAGE};
use lab::{Host, Lab, LabConfig, ProfileOptions, Proto, RecordType, Scenario};

/// What `swanctl --list-conns` must say about the remote side in each scenario.
fn remote_auth(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::EapMschapv2 => "remote EAP_MSCHAPV2 authentication",
        Scenario::Cert => "remote public key authentication",
        Scenario::EapTls => "remote EAP_TLS authentication",
        Scenario::Psk => "remote pre-shared key authentication",
    }
}

fn check_gateway(lab: &Lab) {
    let scenario = lab.config().scenario();
    let conns = ok(lab, "list-conns", lab.swanctl(&["--list-conns"])).stdout;
    assert!(
        conns.contains("corridor: IKEv2"),
        "no connection loaded:\n{conns}"
    );
    assert!(
        conns.contains(remote_auth(scenario)),
        "wrong remote auth:\n{conns}"
    );
    let local_auth = if scenario == Scenario::Psk {
        "local pre-shared key authentication"
    } else {
        "local public key authentication"
    };
    assert!(conns.contains(local_auth), "wrong local auth:\n{conns}");
    assert!(conns.contains("id: vpn.corp.example"), "{conns}");
    assert!(
        conns.contains("local:  198.19.0.0/24"),
        "split-tunnel selectors missing:\n{conns}"
    );

    let pools = ok(lab, "list-pools", lab.swanctl(&["--list-pools"])).stdout;
    assert!(
        pools.contains("pool4") && pools.contains("198.19.100.0"),
        "{pools}"
    );

    let udp = ok(lab, "ss", lab.listening(Host::Gateway, Proto::Udp));
    for port in [":500", ":4500"] {
        assert!(
            udp.iter().any(|a| a.ends_with(port)),
            "gateway not on UDP {port}: {udp:?}"
        );
    }
}

fn check_services(lab: &Lab) {
    // DNS, from the gateway (the only other host on the LAN).
    let a = ok(
        lab,
        "DNS A",
        lab.dns_query(Host::Gateway, LAN_HOST_V4, INTRANET_FQDN, RecordType::A),
    );
    assert_eq!(a, vec![LAN_HOST_V4]);
    let aaaa = ok(
        lab,
        "DNS AAAA",
        lab.dns_query(Host::Gateway, LAN_HOST_V6, INTRANET_FQDN, RecordType::Aaaa),
    );
    assert_eq!(aaaa, vec![LAN_HOST_V6]);

    let page = ok(
        lab,
        "LAN HTTP",
        lab.http_get(Host::Gateway, LAN_HOST_V4, "/any/path"),
    );
    assert_eq!((page.status, page.body.as_str()), (200, LAN_PAGE));
    let page = ok(
        lab,
        "LAN HTTP over IPv6",
        lab.http_get(Host::Gateway, LAN_HOST_V6, "/"),
    );
    assert_eq!(page.status, 200);

    let tcp = ok(lab, "ss", lab.listening(Host::Lan, Proto::Tcp));
    assert!(
        tcp.iter().any(|a| a.ends_with(":5201")),
        "iperf3 not listening: {tcp:?}"
    );

    // The outside host is reachable directly; the LAN is not.
    let outside: IpAddr = lab.outside_addr();
    let page = ok(
        lab,
        "outside HTTP",
        lab.http_get(Host::Client, outside, "/"),
    );
    assert_eq!(page.body, OUTSIDE_PAGE);
    assert_lan_unreachable(lab);
}

fn check_profiles(lab: &Lab) {
    let scenario = lab.config().scenario();
    let corridor = ok(lab, "corridor profile", lab.write_corridor_profile());
    let text = std::fs::read_to_string(&corridor).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["format"], "corridor-profile");
    assert_eq!(json["auth"]["method"], scenario.name());
    assert_eq!(json["gateway"]["host"], "198.18.0.1");

    if scenario == Scenario::Psk {
        assert!(lab.write_sswan_profile().is_err(), ".sswan has no PSK type");
        return;
    }
    let path = ok(lab, "sswan profile", lab.write_sswan_profile());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let expected_type = match scenario {
        Scenario::EapMschapv2 => "ikev2-eap",
        Scenario::Cert => "ikev2-cert",
        Scenario::EapTls => "ikev2-eap-tls",
        Scenario::Psk => unreachable!(),
    };
    assert_eq!(json["type"], expected_type);
    assert_eq!(json["remote"]["id"], "vpn.corp.example");
    assert_eq!(json["remote"]["addr"], "198.18.0.1");
    assert!(
        json["remote"]["cert"]
            .as_str()
            .is_some_and(|c| c.len() > 100)
    );
    assert_eq!(json["split-tunneling"]["subnets"][0], "198.19.0.0/24");
    match scenario {
        Scenario::EapMschapv2 => assert_eq!(json["local"]["eap_id"], "alice"),
        _ => assert!(json["local"]["p12"].as_str().is_some_and(|p| p.len() > 500)),
    }
    let custom = lab
        .sswan_profile(&ProfileOptions {
            remote_addr: lab.relay_addr(false),
            name: Some("via relay".into()),
            ..ProfileOptions::default()
        })
        .unwrap();
    assert_eq!(custom["remote"]["addr"], "198.18.0.2");
    assert_eq!(custom["name"], "via relay");
}

fn scenario_comes_up(scenario: Scenario) {
    let lab = start(LabConfig::new(scenario));
    check_gateway(&lab);
    check_services(&lab);
    check_profiles(&lab);
    shutdown_and_check(lab);
}

#[test]
fn eap_mschapv2_gateway_comes_up() {
    scenario_comes_up(Scenario::EapMschapv2);
}

#[test]
fn cert_gateway_comes_up() {
    scenario_comes_up(Scenario::Cert);
}

#[test]
fn eap_tls_gateway_comes_up() {
    scenario_comes_up(Scenario::EapTls);
}

#[test]
fn psk_gateway_comes_up() {
    scenario_comes_up(Scenario::Psk);
}

#[test]
fn nat_lab_puts_the_client_behind_the_router() {
    let lab = start(LabConfig::new(Scenario::Psk).nat(true).services(false));
    assert!(lab.namespaces().contains(&lab.netns(Host::Router)));
    let addrs = lab
        .exec(Host::Client, &["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap();
    assert!(addrs.stdout.contains("198.18.2.100/24"), "{addrs}");
    // The client reaches the wan through the router...
    ok(
        &lab,
        "ping gateway",
        lab.ping(Host::Client, lab.gateway_addr()),
    );
    ok(
        &lab,
        "ping gateway v6",
        lab.ping(Host::Client, lab.gateway_addr_v6()),
    );
    // ...and is masqueraded there: the router's conntrack table shows the translation.
    let rules = lab.exec(Host::Router, &["nft", "list", "ruleset"]).unwrap();
    assert!(rules.stdout.contains("masquerade"), "{rules}");
    assert_lan_unreachable(&lab);
    shutdown_and_check(lab);
}

#[test]
fn full_tunnel_ipv6_gateway_offers_everything() {
    let lab = start(
        LabConfig::new(Scenario::EapMschapv2)
            .full_tunnel(true)
            .ipv6(true)
            .services(false)
            .ike_proposals(["aes256gcm16-prfsha384-ecp384"])
            .esp_proposals(["aes256gcm16"]),
    );
    let conns = ok(&lab, "list-conns", lab.swanctl(&["--list-conns"])).stdout;
    assert!(conns.contains("local:  0.0.0.0/0 ::/0"), "{conns}");
    let pools = ok(&lab, "list-pools", lab.swanctl(&["--list-pools"])).stdout;
    assert!(
        pools.contains("pool6") && pools.contains("fd00:19:100::"),
        "{pools}"
    );
    shutdown_and_check(lab);
}

#[test]
fn bad_configurations_are_refused_before_anything_starts() {
    let err = Lab::start(LabConfig::new(Scenario::Psk).long_chain(true)).unwrap_err();
    assert!(
        format!("{err:#}").contains("long certificate chain"),
        "{err:#}"
    );
}
