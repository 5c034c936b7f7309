//! Whole handshakes between the initiator and the test responder over a simulated link.

mod support;

use std::time::Duration;

use corridor_ike::{AuthenticationError, Error, Event, PeerIncompatible};
use support::sim::{Link, Sim, is_finished};
use support::*;

const LIMIT: Duration = Duration::from_secs(120);

fn run_psk(name: &str, seed: u64, link: Link) -> Sim {
    let mut sim = Sim::new(
        psk_config(vec![suite(name)]),
        psk_responder(vec![suite(name)], seed),
        seed,
        link,
    );
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    sim
}

#[test]
fn psk_with_each_suite_on_a_clean_link() {
    for (name, negotiated) in [
        (
            "aes256gcm16-prfsha384-ecp384",
            "aes256gcm16-prfsha384-ecp384",
        ),
        ("aes128-sha256-modp2048", "aes128-sha256-prfsha256-modp2048"),
        (
            "chacha20poly1305-prfsha256-curve25519",
            "chacha20poly1305-prfsha256-curve25519",
        ),
        ("aes256-sha384-modp3072", "aes256-sha384-prfsha384-modp3072"),
    ] {
        let sim = run_psk(name, 1, Link::clean());
        assert!(sim.failure().is_none(), "{name}: {:?}", sim.failure());
        let est = sim
            .established()
            .unwrap_or_else(|| panic!("{name}: not established"));
        assert_eq!(est.ike_suite.to_string(), negotiated);
        assert_eq!(
            est.assigned.ipv4[0].addr,
            std::net::Ipv4Addr::new(198, 19, 10, 1)
        );
        assert_eq!(est.assigned.dns_domains, ["corp.test"]);
        assert_eq!(est.gateway_identity, gateway_id());
        assert!(!est.udp_encapsulation);
        let child = sim.gw.child.as_ref().unwrap();
        assert_eq!(child.gateway_spi, est.outbound_spi);
        assert_eq!(child.initiator_spi, est.inbound_spi);
        assert_eq!(child.keys, est.child_keys);
        assert!(sim.init.is_established());
    }
}

#[test]
fn psk_over_a_lossy_duplicating_reordering_link() {
    let mut established = 0;
    for seed in 0..12 {
        let sim = run_psk("aes256gcm16-prfsha384-ecp384", seed, Link::lossy());
        match sim.failure() {
            None => {
                let est = sim.established().expect("neither established nor failed");
                assert_eq!(sim.gw.child.as_ref().unwrap().keys, est.child_keys);
                established += 1;
            }
            // A 20% loss rate can, rarely, eat all six tries of one exchange.
            Some(Error::Timeout { .. }) => {}
            Some(other) => panic!("seed {seed}: {other}"),
        }
    }
    assert!(established >= 10, "only {established} of 12 established");
}

#[test]
fn cookie_round_trip() {
    let name = "aes128-sha256-modp2048";
    let mut gw = psk_responder(vec![suite(name)], 3);
    gw.cfg.require_cookie = true;
    let mut sim = Sim::new(psk_config(vec![suite(name)]), gw, 3, Link::clean());
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    assert!(sim.established().is_some(), "{:?}", sim.failure());
    assert_eq!(sim.gw.cookies_sent, 1);
}

#[test]
fn invalid_ke_payload_switches_to_the_requested_group() {
    let mut offer = suite("aes256gcm16-prfsha384-ecp384");
    offer.groups = vec![
        corridor_crypto::DhGroup::Ecp256,
        corridor_crypto::DhGroup::Curve25519,
    ];
    let mut gw = psk_responder(vec![offer.clone()], 4);
    gw.cfg.preferred_group = Some(corridor_crypto::DhGroup::Curve25519);
    gw.cfg.require_cookie = true;
    let mut sim = Sim::new(psk_config(vec![offer]), gw, 4, Link::clean());
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let est = sim
        .established()
        .unwrap_or_else(|| panic!("{:?}", sim.failure()));
    assert_eq!(est.ike_suite.group, corridor_crypto::DhGroup::Curve25519);
    assert_eq!(sim.gw.invalid_ke_sent, 1);
    assert_eq!(
        sim.gw.cookies_sent, 2,
        "a new cookie after the group change"
    );
}

#[test]
fn invalid_ke_for_a_later_group_of_our_list() {
    let offer = suite("aes256gcm16-prfsha384-ecp384");
    let mut gw_offer = offer.clone();
    gw_offer.groups.push(corridor_crypto::DhGroup::Ecp521);
    let mut init_offer = offer;
    init_offer.groups = vec![
        corridor_crypto::DhGroup::Ecp256,
        corridor_crypto::DhGroup::Ecp521,
    ];
    let mut gw = psk_responder(vec![gw_offer], 5);
    gw.cfg.preferred_group = Some(corridor_crypto::DhGroup::Ecp521);
    let mut sim = Sim::new(psk_config(vec![init_offer]), gw, 5, Link::clean());
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    // The gateway wants ECP-521, which we offered: the switch works.
    assert_eq!(
        sim.established().unwrap().ike_suite.group,
        corridor_crypto::DhGroup::Ecp521
    );
}

#[test]
fn total_loss_times_out_within_the_budget_with_a_plain_message() {
    let name = "aes256gcm16-prfsha384-ecp384";
    let mut sim = Sim::new(
        psk_config(vec![suite(name)]),
        psk_responder(vec![suite(name)], 6),
        6,
        Link::clean(),
    );
    sim.blackhole = true;
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let err = sim.failure().expect("no failure");
    assert!(
        matches!(
            err,
            Error::Timeout {
                tries: 6,
                port: 500,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "no answer from the gateway on UDP 500 after 6 tries (35 s)"
    );
    assert!(sim.elapsed() <= Duration::from_secs(35));
    assert_eq!(sim.sent_to_gateway.len(), 6);
    // The retransmissions are byte-identical.
    assert!(sim.sent_to_gateway.windows(2).all(|w| w[0] == w[1]));
    assert!(sim.init.is_closed());
}

#[test]
fn no_proposal_chosen_names_what_we_offered() {
    let mut sim = Sim::new(
        psk_config(vec![suite("aes128-sha256-modp2048")]),
        psk_responder(vec![suite("aes256gcm16-prfsha512-ecp521")], 7),
        7,
        Link::clean(),
    );
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let err = sim.failure().expect("no failure");
    assert!(matches!(
        err,
        Error::PeerIncompatible(PeerIncompatible::NoProposalChosen { kind: "IKE", .. })
    ));
    assert_eq!(
        err.to_string(),
        "the gateway accepted none of our IKE proposals (we offered aes128-sha256-prfsha256-modp2048); \
         check the profile's IKE proposals against the gateway's configuration"
    );
}

#[test]
fn wrong_psk_is_an_authentication_error() {
    let name = "aes256gcm16-prfsha384-ecp384";
    let mut config = psk_config(vec![suite(name)]);
    config.auth = corridor_ike::LocalAuth::Psk(corridor_crypto::SecretBytes::from_slice(b"wrong"));
    let mut sim = Sim::new(
        config,
        psk_responder(vec![suite(name)], 8),
        8,
        Link::clean(),
    );
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let err = sim.failure().expect("no failure");
    assert_eq!(
        err,
        &Error::Authentication(AuthenticationError::CredentialsRejected)
    );
    assert!(
        err.to_string()
            .starts_with("the gateway rejected our credentials")
    );
}

#[test]
fn gateway_with_an_unexpected_identity_is_refused() {
    let name = "aes256gcm16-prfsha384-ecp384";
    let mut gw = psk_responder(vec![suite(name)], 9);
    gw.cfg.identity = corridor_ike::Identity::Fqdn("vpn.corp.example".into());
    let mut sim = Sim::new(psk_config(vec![suite(name)]), gw, 9, Link::clean());
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    assert_eq!(
        sim.failure().unwrap().to_string(),
        "the gateway identified itself as vpn.corp.example, the profile expects vpn.example.com"
    );
}

#[test]
fn nat_moves_ike_to_port_4500_with_the_marker() {
    let name = "aes256gcm16-prfsha384-ecp384";
    let mut gw = psk_responder(vec![suite(name)], 10);
    gw.cfg.sees_initiator_at = "198.18.200.7:31000".parse().unwrap();
    let mut sim = Sim::new(psk_config(vec![suite(name)]), gw, 10, Link::clean());
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let est = sim
        .established()
        .unwrap_or_else(|| panic!("{:?}", sim.failure()));
    assert!(est.nat.local_behind_nat && !est.nat.remote_behind_nat);
    assert!(est.udp_encapsulation);
    assert_eq!(est.remote_port, 4500);
    let (first_port, first) = &sim.sent_to_gateway[0];
    assert_eq!(*first_port, 500);
    assert_ne!(&first[..4], &[0, 0, 0, 0]);
    let (auth_port, auth) = &sim.sent_to_gateway[1];
    assert_eq!(*auth_port, 4500);
    assert_eq!(&auth[..4], &[0, 0, 0, 0]);
}

#[test]
fn forced_encapsulation_without_nat() {
    let name = "aes256gcm16-prfsha384-ecp384";
    let mut config = psk_config(vec![suite(name)]);
    config.force_udp_encapsulation = true;
    let mut sim = Sim::new(
        config,
        psk_responder(vec![suite(name)], 11),
        11,
        Link::clean(),
    );
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let est = sim.established().unwrap();
    assert!(!est.nat.detected());
    assert!(est.udp_encapsulation && est.remote_port == 4500);
}

#[test]
fn key_material_is_reported_before_establishment() {
    let sim = run_psk("aes128-sha256-modp2048", 12, Link::clean());
    let kinds: Vec<&str> = sim
        .events
        .iter()
        .map(|e| match e {
            Event::KeyMaterial(corridor_ike::KeyMaterial::Ike(_)) => "ike-keys",
            Event::KeyMaterial(corridor_ike::KeyMaterial::Child(_)) => "child-keys",
            Event::Established(_) => "established",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["ike-keys", "child-keys", "established"]);
    // Debug output never shows keys.
    let debug = format!("{:?}", sim.events);
    assert!(debug.contains("***"));
}

fn cert_config(
    ike: Vec<corridor_ike::IkeProposal>,
    gateway_ca: &[u8],
    ours: Pki,
) -> corridor_ike::IkeConfig {
    let mut config = psk_config(ike);
    config.local_identity = corridor_ike::Identity::Fqdn("client.example.com".into());
    config.auth = corridor_ike::LocalAuth::Certificate {
        key: std::sync::Arc::new(ours.key),
        chain: ours.chain,
    };
    config.trust = corridor_ike::TrustStore::new(&[gateway_ca.to_vec()]).unwrap();
    config
}

#[test]
fn certificate_authentication_both_ways_with_fragmented_requests() {
    let name = "aes256gcm16-prfsha384-ecp384";
    let gateway = pki(&["vpn.example.com"], &rcgen::PKCS_ECDSA_P256_SHA256, 0);
    // An RSA-4096 client chain makes our IKE_AUTH request larger than the fragment size.
    let client = pki(&["client.example.com"], &rcgen::PKCS_RSA_SHA256, 1);
    let mut config = cert_config(vec![suite(name)], &gateway.ca_der, client);
    config.fragment_size = 1000;
    let mut gw = support::responder::Responder::new(
        responder_config(
            vec![suite(name)],
            support::responder::ResponderAuth::Certificate {
                key: gateway.key,
                chain: gateway.chain,
            },
        ),
        40,
    );
    gw.cfg.fragment_size = Some(1200);
    let mut sim = Sim::new(config, gw, 40, Link::clean());
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let est = sim
        .established()
        .unwrap_or_else(|| panic!("{:?}", sim.failure()));
    assert_eq!(sim.gw.credentials_seen, 1);
    assert_eq!(sim.gw.child.as_ref().unwrap().keys, est.child_keys);
    let fragments = sim
        .sent_to_gateway
        .iter()
        .filter(|(_, d)| d.len() > 16 && d[16] == 53)
        .count();
    assert!(fragments >= 2, "{fragments} fragments");
    assert!(sim.sent_to_gateway.iter().all(|(_, d)| d.len() <= 1000));
}

#[test]
fn esp_no_proposal_chosen_names_our_esp_offer() {
    let name = "aes256gcm16-prfsha384-ecp384";
    let mut gw = psk_responder(vec![suite(name)], 41);
    gw.cfg.esp = vec![corridor_ike::EspProposal {
        encryption: vec![corridor_crypto::EncrAlgorithm::ChaCha20Poly1305],
        integrity: vec![],
        esn: vec![false],
    }];
    let mut sim = Sim::new(psk_config(vec![suite(name)]), gw, 41, Link::clean());
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let err = sim.failure().expect("no failure");
    assert_eq!(
        err.to_string(),
        "the gateway accepted none of our ESP proposals (we offered aes256gcm16, aes128-sha256); \
         check the profile's ESP proposals against the gateway's configuration"
    );
}

#[test]
fn narrowing_outside_our_selectors_fails_and_deletes_the_ike_sa() {
    let name = "aes256gcm16-prfsha384-ecp384";
    let mut config = psk_config(vec![suite(name)]);
    config.traffic_selectors.local = vec![corridor_wire::payload::IpRange::addresses(
        "10.0.0.0".parse().unwrap(),
        "10.255.255.255".parse().unwrap(),
    )];
    let mut sim = Sim::new(
        config,
        psk_responder(vec![suite(name)], 42),
        42,
        Link::clean(),
    );
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    let err = sim.failure().expect("no failure");
    assert!(
        matches!(
            err,
            Error::PeerIncompatible(PeerIncompatible::TrafficSelectorsUnacceptable { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "traffic selectors not acceptable: the gateway's TSi 198.19.10.1-198.19.10.1 is outside what we proposed"
    );
    // Deliver the Delete that went out.
    while sim.step() {}
    assert!(sim.gw.deleted_by_initiator);
}
