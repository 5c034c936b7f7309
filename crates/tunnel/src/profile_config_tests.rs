use super::*;
use corridor_model::{IpNet, Uuid};

fn psk_profile() -> Profile {
    let mut p = Profile::new(Uuid::nil(), "t", "vpn.example.com", AuthMethod::Psk);
    p.auth.psk = Some(Secret::new("0123456789abcdef0123"));
    p
}

#[test]
fn psk_defaults() {
    let c = ike_config(&psk_profile(), &ConnectSecrets::default()).unwrap();
    assert_eq!(c.local_identity, PSK_IDENTITY_FROM_LOCAL_ADDRESS);
    assert_eq!(
        c.remote_identity,
        Some(Identity::Fqdn("vpn.example.com".into()))
    );
    assert_eq!(c.ike_proposals, default_ike_proposals());
    assert_eq!(c.esp_proposals, default_esp_proposals());
    assert_eq!(c.traffic_selectors, TrafficSelectors::full_tunnel());
    assert!(c.config_request.ipv6);
    assert!(!c.force_udp_encapsulation);
}

#[test]
fn proposals_routing_and_transport_are_mapped() {
    let mut p = psk_profile();
    p.proposals.ike = corridor_model::proposal::parse_list(
        "aes128-sha256-modp2048,chacha20poly1305-prfsha256-curve25519",
    )
    .unwrap();
    p.proposals.esp =
        corridor_model::proposal::parse_list("aes256gcm16-ecp384,aes256gcm16,aes128-sha256")
            .unwrap();
    p.routing.mode = TunnelMode::Split;
    p.routing.include = vec![IpNet::parse_truncating("198.19.0.0/24").unwrap()];
    p.transport.force_udp_encapsulation = true;
    p.transport.mtu = Some(1400);
    p.gateway.identity = Some(corridor_model::Identity::Dn(
        "C=CH, O=Lab, CN=vpn.example.com".into(),
    ));
    let c = ike_config(&p, &ConnectSecrets::default()).unwrap();
    assert_eq!(
        c.ike_proposals[0].describe(),
        "aes128-sha256-prfsha256-modp2048"
    );
    assert_eq!(
        c.ike_proposals[1].describe(),
        "chacha20poly1305-prfsha256-curve25519"
    );
    assert_eq!(
        c.esp_proposals[0].encryption,
        vec![EncrAlgorithm::AesGcm16 { key_bits: 256 }]
    );
    // The PFS group does not count for the first Child SA: the duplicate is offered once.
    assert_eq!(c.esp_proposals.len(), 2);
    assert_eq!(c.esp_proposals[1].describe(), "aes128-sha256");
    assert_eq!(
        c.traffic_selectors.remote,
        vec![IpRange::addresses(
            "198.19.0.0".parse().unwrap(),
            "198.19.0.255".parse().unwrap()
        )]
    );
    assert!(!c.config_request.ipv6);
    assert!(c.force_udp_encapsulation);
    assert_eq!(c.fragment_size, 1352);
    assert_eq!(
        c.remote_identity.unwrap().to_string(),
        "C=CH, O=Lab, CN=vpn.example.com"
    );
}

#[test]
fn unsupported_transform_is_named() {
    let mut p = psk_profile();
    p.proposals.ike = corridor_model::proposal::parse_list("aes256ctr-sha256-modp2048")
        .unwrap_or_else(|_| {
            corridor_model::proposal::parse_list("camellia128-sha256-modp2048").unwrap()
        });
    let e = ike_config(&p, &ConnectSecrets::default()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("which Corridor does not implement"), "{text}");
    assert!(text.contains("ENCR_"), "{text}");
}

#[test]
fn eap_needs_identity_and_password_and_cert_eap_is_refused() {
    let mut p = Profile::new(Uuid::nil(), "t", "198.18.0.1", AuthMethod::EapMschapv2);
    // Needs a CA for the gateway's certificate.
    let ca = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap();
    p.trust.ca = vec![corridor_model::CertificateSource::Pem(ca.pem())];
    let e = ike_config(&p, &ConnectSecrets::default()).unwrap_err();
    assert!(e.to_string().contains("EAP identity"), "{e}");
    p.auth.eap_identity = Some("alice".into());
    let e = ike_config(&p, &ConnectSecrets::default()).unwrap_err();
    assert!(e.to_string().contains("password"), "{e}");
    let secrets = ConnectSecrets {
        eap_password: Some(Secret::new("pw")),
        p12_password: None,
    };
    let c = ike_config(&p, &secrets).unwrap();
    assert_eq!(c.local_identity, Identity::Fqdn("alice".into()));
    assert_eq!(
        c.remote_identity,
        Some(Identity::Ip("198.18.0.1".parse().unwrap()))
    );
    p.auth.method = AuthMethod::CertEap;
    let e = ike_config(&p, &secrets).unwrap_err();
    assert_eq!(
        e.to_string(),
        "authentication method cert+eap is not supported yet"
    );
}

#[test]
fn liveness_check_interval_is_mapped() {
    let p = psk_profile();
    let c = ike_config(&p, &ConnectSecrets::default()).unwrap();
    assert_eq!(c.dpd_interval, std::time::Duration::from_secs(30));
    assert_eq!(c.dpd_on_one_way_traffic, std::time::Duration::from_secs(3));

    let mut p = psk_profile();
    p.transport.liveness_check_secs = Some(600);
    let c = ike_config(&p, &ConnectSecrets::default()).unwrap();
    assert_eq!(c.dpd_interval, std::time::Duration::from_secs(600));
    // Unanswered traffic still brings the check forward.
    assert_eq!(c.dpd_on_one_way_traffic, std::time::Duration::from_secs(3));

    p.transport.liveness_check_secs = Some(0);
    let c = ike_config(&p, &ConnectSecrets::default()).unwrap();
    assert!(c.dpd_interval.is_zero());
    assert!(c.dpd_on_one_way_traffic.is_zero());
}
