//! The initiator's API contract: call order, configuration checks, idle behaviour.

mod support;

use std::sync::Arc;
use std::time::Instant;

use corridor_crypto::DeterministicRandom;
use corridor_ike::{Error, Event, Initiator, RetransmitPolicy};
use rustls_pki_types::UnixTime;
use support::*;

fn initiator(config: corridor_ike::IkeConfig) -> Result<Initiator, Error> {
    Initiator::new(
        Arc::new(config),
        Box::new(DeterministicRandom::from_u64(1)),
        support::sim::LOCAL.parse().unwrap(),
        support::sim::GATEWAY.parse().unwrap(),
        Instant::now(),
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000)),
    )
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let mut c = psk_config(vec![]);
    assert_eq!(
        initiator(c.clone()).unwrap_err().to_string(),
        "invalid IKE configuration: no IKE proposal"
    );
    c.ike_proposals = vec![suite("aes128-sha256-modp2048")];
    c.ike_proposals[0].integrity.clear();
    assert_eq!(
        initiator(c.clone()).unwrap_err().to_string(),
        "invalid IKE configuration: IKE proposal 1 uses a classic cipher without an integrity algorithm"
    );
    let mut c = psk_config(vec![suite("aes128-sha256-modp2048")]);
    c.fragment_size = 100;
    assert!(
        initiator(c)
            .unwrap_err()
            .to_string()
            .contains("fragment size")
    );
    let mut c = psk_config(vec![suite("aes128-sha256-modp2048")]);
    c.retransmit = RetransmitPolicy {
        max_tries: 0,
        ..RetransmitPolicy::default()
    };
    assert!(initiator(c).is_err());
    let pki = pki(&["vpn.example.com"], &rcgen::PKCS_ECDSA_P256_SHA256, 0);
    let mut c = eap_config(
        vec![suite("aes128-sha256-modp2048")],
        &pki.ca_der,
        "alice",
        "pw",
    );
    c.trust = corridor_ike::TrustStore::new(&[]).unwrap();
    assert!(
        initiator(c)
            .unwrap_err()
            .to_string()
            .contains("CA certificate")
    );
    assert!(
        corridor_ike::TrustStore::new(&[vec![1, 2, 3]])
            .unwrap_err()
            .to_string()
            .contains("CA certificate 1")
    );
}

#[test]
fn idle_initiator_does_nothing_until_connect() {
    let mut i = initiator(psk_config(vec![suite("aes128-sha256-modp2048")])).unwrap();
    let now = Instant::now();
    assert_eq!(i.poll_timeout(), None);
    assert!(i.poll_transmit().is_none());
    i.handle_datagram(now, support::sim::GATEWAY.parse().unwrap(), &[0; 64]);
    i.handle_timeout(now);
    assert!(i.poll_event().is_none());
    i.connect(now);
    let t = i.poll_transmit().unwrap();
    assert_eq!((t.destination_port, t.non_esp_marker), (500, false));
    assert!(i.poll_transmit().is_none());
    assert!(i.poll_timeout().is_some());
    // A second connect is ignored.
    i.connect(now);
    assert!(i.poll_transmit().is_none());
    // Disconnecting before keys exist closes at once.
    i.disconnect(now);
    assert!(matches!(
        i.poll_event(),
        Some(Event::Closed { by_gateway: false })
    ));
    assert!(i.is_closed());
    assert_eq!(i.poll_timeout(), None);
}

#[test]
fn spi_never_looks_like_a_non_esp_marker() {
    for seed in 0..64 {
        let i = Initiator::new(
            Arc::new(psk_config(vec![suite("aes128-sha256-modp2048")])),
            Box::new(DeterministicRandom::from_u64(seed)),
            support::sim::LOCAL.parse().unwrap(),
            support::sim::GATEWAY.parse().unwrap(),
            Instant::now(),
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000)),
        )
        .unwrap();
        assert_ne!(i.spi_i() >> 32, 0);
    }
}
