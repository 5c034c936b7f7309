//! The strongSwan client role connects to the gateway in every scenario and the client
//! then reaches the LAN through the tunnel. Runs strongSwan for real: needs root.
#![cfg(target_os = "linux")]

mod common;

use std::time::{Duration, Instant};

use common::{assert_lan_unreachable, ok, shutdown_and_check, start};
use lab::plan::{INTRANET_FQDN, LAN_HOST_V4, LAN_HOST_V6, LAN_PAGE, POOL_V4, POOL_V6};
use lab::{
    ClientCert, ClientOptions, Host, Lab, LabConfig, RecordType, Scenario, StrongswanClient,
};

/// Connects the strongSwan client and checks traffic to the LAN through the tunnel.
fn connect_and_check(lab: &Lab, opts: &ClientOptions, remote_id: &str) -> StrongswanClient {
    assert_lan_unreachable(lab);
    let client = ok(
        lab,
        "strongSwan client",
        lab.start_strongswan_client_with(opts),
    );
    let vips = ok(lab, "virtual IPs", client.virtual_ips());
    assert!(
        vips.iter().any(|ip| POOL_V4.contains(*ip)),
        "no IPv4 virtual IP: {vips:?}"
    );

    ok(
        lab,
        "ping through the tunnel",
        lab.ping(Host::Client, LAN_HOST_V4),
    );
    let page = ok(
        lab,
        "HTTP through the tunnel",
        lab.http_get(Host::Client, LAN_HOST_V4, "/"),
    );
    assert_eq!((page.status, page.body.as_str()), (200, LAN_PAGE));
    let addrs = ok(
        lab,
        "DNS through the tunnel",
        lab.dns_query(Host::Client, LAN_HOST_V4, INTRANET_FQDN, RecordType::A),
    );
    assert_eq!(addrs, vec![LAN_HOST_V4]);

    let sas = ok(lab, "list-sas", lab.swanctl(&["--list-sas"])).stdout;
    assert!(
        sas.contains("ESTABLISHED"),
        "no IKE SA on the gateway:\n{sas}"
    );
    assert!(
        sas.contains("INSTALLED"),
        "no CHILD_SA on the gateway:\n{sas}"
    );
    assert!(
        sas.contains(&format!("remote '{remote_id}'")),
        "wrong peer on the gateway:\n{sas}"
    );
    client
}

#[test]
fn eap_mschapv2_client_reaches_the_lan() {
    let lab = start(LabConfig::new(Scenario::EapMschapv2));
    let client = connect_and_check(&lab, &ClientOptions::default(), lab::CLIENT_IKE_IDENTITY);
    let sas = lab.swanctl(&["--list-sas"]).unwrap().stdout;
    assert!(sas.contains("EAP: 'alice'"), "{sas}");
    // iperf3 answers through the tunnel (the benchmarks' baseline uses this path).
    let out = ok(
        &lab,
        "iperf3",
        lab.exec(
            Host::Client,
            &["iperf3", "-c", "198.19.0.10", "-t", "1", "-J"],
        ),
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        report["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0) > 0,
        "{out}"
    );
    drop(client);
    shutdown_and_check(lab);
}

#[test]
fn psk_client_behind_nat_reaches_the_lan() {
    let lab = start(LabConfig::new(Scenario::Psk).nat(true));
    let client = connect_and_check(&lab, &ClientOptions::default(), lab::CLIENT_IKE_IDENTITY);
    let sas = lab.swanctl(&["--list-sas"]).unwrap().stdout;
    // The gateway sees the router's outside address: the client is behind NAT.
    assert!(sas.contains("@ 198.18.0.50[4500]"), "{sas}");
    client.stop();
    shutdown_and_check(lab);
}

#[test]
fn cert_clients_with_ecdsa_and_rsa_keys() {
    let lab = start(LabConfig::new(Scenario::Cert));
    let ecdsa = connect_and_check(&lab, &ClientOptions::default(), lab::ECDSA_CLIENT_IDENTITY);
    ecdsa.stop();
    let rsa = ClientOptions {
        client_cert: ClientCert::Rsa,
        ..ClientOptions::default()
    };
    let client = connect_and_check(&lab, &rsa, lab::RSA_CLIENT_IDENTITY);
    client.stop();
    shutdown_and_check(lab);
}

#[test]
fn eap_tls_client_reaches_the_lan() {
    let lab = start(LabConfig::new(Scenario::EapTls));
    let client = connect_and_check(&lab, &ClientOptions::default(), lab::EAP_TLS_IDENTITY);
    client.stop();
    shutdown_and_check(lab);
}

#[test]
fn long_chain_is_sent_in_fragments() {
    let lab = start(
        LabConfig::new(Scenario::Cert)
            .long_chain(true)
            .services(false),
    );
    let client = ok(&lab, "strongSwan client", lab.start_strongswan_client());
    let log = lab.gateway_log();
    assert!(
        log.contains("IDr CERT CERT CERT AUTH"),
        "gateway did not send the chain:\n{log}"
    );
    assert!(
        log.contains("splitting IKE message"),
        "IKE_AUTH was not fragmented:\n{log}"
    );
    ok(
        &lab,
        "ping through the tunnel",
        lab.ping(Host::Client, LAN_HOST_V4),
    );
    client.stop();
    shutdown_and_check(lab);
}

#[test]
fn full_tunnel_carries_ipv6_and_internet_traffic() {
    let lab = start(
        LabConfig::new(Scenario::EapMschapv2)
            .full_tunnel(true)
            .ipv6(true)
            .nat(true),
    );
    let client = ok(&lab, "strongSwan client", lab.start_strongswan_client());
    let vips = client.virtual_ips().unwrap();
    assert!(
        vips.iter().any(|ip| POOL_V6.contains(*ip)),
        "no IPv6 virtual IP: {vips:?}"
    );
    ok(
        &lab,
        "ping LAN over IPv6",
        lab.ping(Host::Client, LAN_HOST_V6),
    );
    let page = ok(
        &lab,
        "HTTP over IPv6",
        lab.http_get(Host::Client, LAN_HOST_V6, "/"),
    );
    assert_eq!(page.body, LAN_PAGE);
    // Internet traffic goes into the tunnel too, and the gateway masquerades it.
    let route = lab
        .exec(Host::Client, &["ip", "route", "get", "198.18.0.200"])
        .unwrap();
    assert!(route.stdout.contains("dev ipsec0"), "{route}");
    let page = ok(
        &lab,
        "outside HTTP",
        lab.http_get(Host::Client, lab.outside_addr(), "/"),
    );
    assert_eq!(page.status, 200);
    let log = std::fs::read_to_string(lab.dir().join("outside").join("http-outside.log")).unwrap();
    assert!(
        log.contains("198.18.0.1:"),
        "outside host did not see the gateway's address:\n{log}"
    );
    client.stop();
    shutdown_and_check(lab);
}

#[test]
fn gateway_rekeys_on_the_configured_schedule() {
    let lab = start(
        LabConfig::new(Scenario::Psk)
            .services(false)
            .child_rekey(Duration::from_secs(5))
            .ike_rekey(Duration::from_secs(8)),
    );
    let conns = lab.swanctl(&["--list-conns"]).unwrap().stdout;
    assert!(conns.contains("rekeying every 8s"), "{conns}");
    assert!(conns.contains("rekeying every 5s"), "{conns}");
    let client = ok(&lab, "strongSwan client", lab.start_strongswan_client());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = lab.gateway_log();
        let child_rekeyed = log.contains("CHILD_SA corridor{2} established");
        let ike_rekeyed = log.contains("IKE_SA corridor[2] rekeyed")
            || log.contains("IKE_SA corridor[1] rekeyed");
        if child_rekeyed && ike_rekeyed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no CHILD_SA and IKE_SA rekey within 20 s:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    ok(
        &lab,
        "ping after rekeying",
        lab.ping(Host::Client, LAN_HOST_V4),
    );
    client.stop();
    shutdown_and_check(lab);
}
