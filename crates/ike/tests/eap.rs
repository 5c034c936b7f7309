//! EAP-MSCHAPv2 inside IKE_AUTH, with the gateway authenticated by its certificate first.

mod support;

use std::time::Duration;

use corridor_ike::{AuthenticationError, Error};
use support::sim::{Link, Sim, is_finished};
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
const SUITE: &str = "aes256gcm16-prfsha384-ecp384";

fn run(
    config: corridor_ike::IkeConfig,
    gw: support::responder::Responder,
    seed: u64,
    link: Link,
) -> Sim {
    let mut sim = Sim::new(config, gw, seed, link);
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    sim
}

#[test]
fn eap_mschapv2_succeeds() {
    let pki = pki(&["vpn.example.com"], &rcgen::PKCS_ECDSA_P256_SHA256, 0);
    let config = eap_config(
        vec![suite(SUITE)],
        &pki.ca_der,
        "alice@example.com",
        "s3cret!",
    );
    let sim = run(
        config,
        eap_responder(vec![suite(SUITE)], pki, 30),
        30,
        Link::clean(),
    );
    let est = sim
        .established()
        .unwrap_or_else(|| panic!("{:?}", sim.failure()));
    assert_eq!(est.gateway_identity, gateway_id());
    assert_eq!(sim.gw.child.as_ref().unwrap().keys, est.child_keys);
    assert_eq!(sim.gw.credentials_seen, 1);
}

#[test]
fn eap_over_a_lossy_link() {
    let pki = pki(&["vpn.example.com"], &rcgen::PKCS_ECDSA_P256_SHA256, 1);
    let ca = pki.ca_der.clone();
    let mut gw = eap_responder(vec![suite(SUITE)], pki, 31);
    gw.cfg.fragment_size = Some(600);
    let config = eap_config(vec![suite(SUITE)], &ca, "alice@example.com", "s3cret!");
    let sim = run(config, gw, 31, Link::lossy());
    assert!(
        sim.established().is_some() || matches!(sim.failure(), Some(Error::Timeout { .. })),
        "{:?}",
        sim.failure()
    );
}

#[test]
fn wrong_password_is_an_eap_authentication_error() {
    let pki = pki(&["vpn.example.com"], &rcgen::PKCS_ECDSA_P256_SHA256, 0);
    let config = eap_config(
        vec![suite(SUITE)],
        &pki.ca_der,
        "alice@example.com",
        "wrong",
    );
    let sim = run(
        config,
        eap_responder(vec![suite(SUITE)], pki, 32),
        32,
        Link::clean(),
    );
    let err = sim.failure().expect("no failure");
    assert!(
        matches!(err, Error::Authentication(AuthenticationError::Eap { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("EAP authentication failed"),
        "{err}"
    );
}

#[test]
fn untrusted_gateway_never_sees_credentials() {
    let gateway_pki = pki(&["vpn.example.com"], &rcgen::PKCS_ECDSA_P256_SHA256, 0);
    let other_ca = pki(&["unrelated.example"], &rcgen::PKCS_ECDSA_P256_SHA256, 0);
    let config = eap_config(
        vec![suite(SUITE)],
        &other_ca.ca_der,
        "alice@example.com",
        "s3cret!",
    );
    let sim = run(
        config,
        eap_responder(vec![suite(SUITE)], gateway_pki, 33),
        33,
        Link::clean(),
    );
    let err = sim.failure().expect("no failure");
    assert!(
        matches!(
            err,
            Error::Authentication(AuthenticationError::GatewayCertificateUntrusted { .. })
        ),
        "{err:?}"
    );
    // Both test CAs share a name, so path building finds the look-alike and its
    // signature check fails.
    assert!(
        err.to_string()
            .starts_with("the gateway's certificate is not trusted: "),
        "{err}"
    );
    assert_eq!(sim.gw.credentials_seen, 0);
    // Only IKE_SA_INIT, the first IKE_AUTH (without any EAP payload) and an
    // INFORMATIONAL telling the gateway AUTHENTICATION_FAILED went out.
    let exchanges: Vec<u8> = sim
        .sent_to_gateway
        .iter()
        .map(|(port, d)| d[if *port == 4500 { 4 + 18 } else { 18 }])
        .collect();
    assert_eq!(exchanges[0], 34, "{exchanges:?}");
    assert_eq!(exchanges[1..], [35, 37]);
}

#[test]
fn gateway_certificate_for_another_name_is_refused() {
    let pki = pki(&["vpn.corp.example"], &rcgen::PKCS_ECDSA_P256_SHA256, 0);
    let ca = pki.ca_der.clone();
    let mut gw = eap_responder(vec![suite(SUITE)], pki, 34);
    gw.cfg.identity = corridor_ike::Identity::Fqdn("vpn.corp.example".into());
    let config = eap_config(vec![suite(SUITE)], &ca, "alice@example.com", "s3cret!");
    let sim = run(config, gw, 34, Link::clean());
    assert_eq!(
        sim.failure().expect("no failure").to_string(),
        "the gateway's certificate is for vpn.corp.example, the profile expects vpn.example.com"
    );
    assert_eq!(sim.gw.credentials_seen, 0);
}

#[test]
fn long_rsa4096_chain_arrives_in_fragments() {
    let pki = pki(&["vpn.example.com"], &rcgen::PKCS_RSA_SHA256, 2);
    assert!(pki.chain.iter().map(Vec::len).sum::<usize>() > 3000);
    let ca = pki.ca_der.clone();
    let mut gw = eap_responder(vec![suite("aes128-sha256-modp2048")], pki, 35);
    gw.cfg.fragment_size = Some(1000);
    let config = eap_config(
        vec![suite("aes128-sha256-modp2048")],
        &ca,
        "alice@example.com",
        "s3cret!",
    );
    let sim = run(config, gw, 35, Link::clean());
    let est = sim
        .established()
        .unwrap_or_else(|| panic!("{:?}", sim.failure()));
    assert!(est.fragmentation);
    // The gateway's IKE_AUTH response came as Encrypted Fragments (payload type 53).
    let fragments = sim
        .received_from_gateway
        .iter()
        .filter(|d| d.len() > 16 && d[16] == 53)
        .count();
    assert!(fragments >= 4, "{fragments} fragments");
}

#[test]
fn gateway_without_a_connection_for_our_identities_is_named() {
    let pki = pki(&["vpn.example.com"], &rcgen::PKCS_ECDSA_P256_SHA256, 0);
    let mut config = eap_config(
        vec![suite(SUITE)],
        &pki.ca_der,
        "alice@example.com",
        "s3cret!",
    );
    config.remote_identity = Some(corridor_ike::Identity::Fqdn("vpn.elsewhere.example".into()));
    let mut gw = eap_responder(vec![suite(SUITE)], pki, 31);
    gw.cfg.strict_idr = true;
    let sim = run(config, gw, 31, Link::clean());
    let failure = sim.failure().expect("the handshake must fail");
    assert!(
        matches!(
            failure,
            Error::Authentication(AuthenticationError::NoMatchingConnection { .. })
        ),
        "{failure:?}"
    );
    assert!(
        failure.to_string().contains("vpn.elsewhere.example"),
        "{failure}"
    );
    assert_eq!(sim.gw.credentials_seen, 0);
}

#[test]
fn chain_of_fifty_certificates_is_refused_before_any_credential() {
    let pki = pki(&["vpn.example.com"], &rcgen::PKCS_ECDSA_P256_SHA256, 49);
    assert_eq!(pki.chain.len(), 50);
    let ca = pki.ca_der.clone();
    let mut gw = eap_responder(vec![suite(SUITE)], pki, 36);
    gw.cfg.fragment_size = Some(1200);
    let config = eap_config(vec![suite(SUITE)], &ca, "alice@example.com", "s3cret!");
    let sim = run(config, gw, 36, Link::clean());
    let err = sim.failure().expect("the handshake must fail");
    assert_eq!(
        err.to_string(),
        "the gateway's certificate is not trusted: the gateway sent more than 8 intermediate certificates"
    );
    assert_eq!(sim.gw.credentials_seen, 0);
}
