//! Importing Corridor's own format: one profile per authentication method, file
//! references, round trips and redaction.

mod common;

use common::{canonical, data, no_password, with_password};
use corridor_profile::model::{
    AuthMethod, Blob, CertificateSource, ClientCertificate, Identity, IpNet, Profile, TunnelMode,
};
use corridor_profile::{
    SourceFormat, import_bytes, import_file, to_json, to_json_redacted, validate,
};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn eap_mschapv2_profile() {
    let imported = import_file(&data("valid/corridor-eap-mschapv2.json"), &no_password()).unwrap();
    assert_eq!(imported.report.source, SourceFormat::Corridor);
    let p = imported.profile;
    assert_eq!(p.name, "HQ (password)");
    assert_eq!(p.auth.method, AuthMethod::EapMschapv2);
    assert_eq!(p.auth.eap_identity.as_deref(), Some("alice"));
    assert_eq!(p.gateway.port, 500);
    assert_eq!(
        p.gateway.identity,
        Some(Identity::Fqdn("vpn.example.com".into()))
    );
    // The relative CA file reference is stored absolute.
    assert_eq!(
        p.trust.ca,
        [CertificateSource::File(canonical("pki/ca.pem"))]
    );
    assert_eq!(p.proposals.ike.len(), 2);
    assert_eq!(
        p.proposals.esp[1].key_exchange,
        [corridor_profile::model::proposal::KeyExchange::Modp3072]
    );
    assert_eq!(p.routing.mode, TunnelMode::Split);
    assert_eq!(p.routing.include, [net("10.0.0.0/8"), net("2001:db8::/32")]);
    assert_eq!(p.routing.exclude, [net("10.9.0.0/16")]);
    assert_eq!(p.dns.match_domains, ["corp.example.com", "example.net"]);
    assert_eq!(p.transport.mtu, Some(1400));
    assert_eq!(p.transport.nat_keepalive_secs, 30);
    assert!(p.transport.force_udp_encapsulation);
}

#[test]
fn eap_tls_profile() {
    let p = import_file(&data("valid/corridor-eap-tls.json"), &with_password())
        .unwrap()
        .profile;
    assert_eq!(p.auth.method, AuthMethod::EapTls);
    assert!(matches!(p.trust.ca.as_slice(), [CertificateSource::Der(_)]));
    assert!(matches!(
        p.auth.client_certificate,
        Some(ClientCertificate::Pkcs12(Blob::Base64(_)))
    ));
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::Dn("C=CH, O=Corridor Test, CN=alice".into()))
    );
}

#[test]
fn cert_profile_with_pem_files() {
    let p = import_file(&data("valid/corridor-cert.json"), &no_password())
        .unwrap()
        .profile;
    assert_eq!(p.auth.method, AuthMethod::Cert);
    assert_eq!(p.gateway.host, "2001:db8::10");
    assert_eq!(p.gateway.port, 4500);
    assert_eq!(
        p.gateway.identity,
        Some(Identity::Dn("C=CH, O=Corridor Test, CN=gateway".into()))
    );
    assert!(p.trust.revocation.strict);
    assert!(p.auth.rsa_pss);
    assert!(p.transport.ipv6_transport);
    match &p.auth.client_certificate {
        Some(ClientCertificate::Pem(pem)) => {
            assert_eq!(
                pem.certificate,
                CertificateSource::File(canonical("pki/client.pem"))
            );
            assert_eq!(pem.private_key_file, canonical("pki/client.key"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::Email("alice@example.com".into()))
    );
}

#[test]
fn psk_profile_keeps_its_key_but_never_prints_it() {
    let p = import_file(&data("valid/corridor-psk.json"), &no_password())
        .unwrap()
        .profile;
    assert_eq!(p.auth.method, AuthMethod::Psk);
    assert_eq!(p.auth.psk.as_ref().unwrap().expose(), "lab-shared-key");
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::KeyId(corridor_profile::model::HexBytes(vec![
            10, 11, 12
        ])))
    );
    assert!(!format!("{p:?}").contains("lab-shared-key"));
    assert!(to_json(&p).contains("\"psk\": \"lab-shared-key\""));
    let shown = to_json_redacted(&p);
    assert!(shown.contains("\"psk\": \"***\""), "{shown}");
}

#[test]
fn cert_eap_profile_with_p12_file() {
    let p = import_file(&data("valid/corridor-cert-eap.json"), &with_password())
        .unwrap()
        .profile;
    assert_eq!(p.auth.method, AuthMethod::CertEap);
    assert!(p.trust.system_roots);
    assert_eq!(
        p.auth.client_certificate,
        Some(ClientCertificate::Pkcs12(Blob::File(canonical(
            "pki/client.p12"
        ))))
    );
}

#[test]
fn every_sample_round_trips_through_json() {
    for entry in std::fs::read_dir(data("valid")).unwrap() {
        let path = entry.unwrap().path();
        // Windows samples of certificate methods leave the certificate to the import.
        let options = corridor_profile::ImportOptions {
            client_certificate_file: Some(data("pki/client.p12")),
            ..with_password()
        };
        let first = import_file(&path, &options).unwrap().profile;
        let text = to_json(&first);
        let again = import_bytes("again.json", text.as_bytes(), &with_password())
            .unwrap()
            .profile;
        assert_eq!(first, again, "{}", path.display());
        let parsed: Profile = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, first);
        validate("again", &parsed).unwrap();
    }
}

#[test]
fn redaction_elides_embedded_blobs() {
    let p = import_file(&data("valid/corridor-eap-tls.json"), &no_password())
        .unwrap()
        .profile;
    let shown = to_json_redacted(&p);
    assert!(shown.contains("\"base64\": \"<"), "{shown}");
    assert!(shown.contains("characters>"), "{shown}");
    assert!(shown.len() < 1500, "{shown}");
}

#[test]
fn format_is_detected_from_content_not_extension() {
    // A .sswan-named file holding a Corridor profile, and the reverse.
    let corridor = std::fs::read(data("valid/corridor-psk.json")).unwrap();
    let imported = import_bytes("profile.sswan", &corridor, &no_password()).unwrap();
    assert_eq!(imported.report.source, SourceFormat::Corridor);
    let sswan = std::fs::read(data("valid/byod-eap.sswan")).unwrap();
    let imported = import_bytes("profile.json", &sswan, &no_password()).unwrap();
    assert_eq!(imported.report.source, SourceFormat::Sswan);
}

#[test]
fn minimal_profile_defaults() {
    let text = br#"{"format": "corridor-profile", "version": 1,
        "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c000010", "name": "Minimal",
        "gateway": {"host": "vpn.example.com"}, "trust": {"system_roots": true},
        "auth": {"method": "eap-mschapv2"}}"#;
    let p = import_bytes("minimal.json", text, &no_password())
        .unwrap()
        .profile;
    assert_eq!(p.gateway.port, 500);
    assert!(p.trust.certificate_requests);
    assert!(p.trust.revocation.crl && p.trust.revocation.ocsp && !p.trust.revocation.strict);
    assert_eq!(p.routing.mode, TunnelMode::Full);
    assert_eq!(p.transport.nat_keepalive_secs, 20);
    assert!(p.proposals.ike.is_empty() && p.proposals.esp.is_empty());
}

fn with_timers(timers: &str) -> Result<corridor_profile::Imported, String> {
    let text = format!(
        r#"{{"format": "corridor-profile", "version": 1,
        "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c000011", "name": "Timers",
        "gateway": {{"host": "vpn.example.com"}}, "trust": {{"system_roots": true}},
        "auth": {{"method": "eap-mschapv2"}}, {timers}}}"#
    );
    import_bytes("timers.json", text.as_bytes(), &no_password()).map_err(|e| e.to_string())
}

#[test]
fn liveness_and_rekey_settings() {
    let imported = with_timers(
        r#""transport": {"liveness_check_secs": 0},
           "rekey": {"ike_minutes": 480, "child_minutes": 45}"#,
    )
    .unwrap();
    let p = &imported.profile;
    assert_eq!(p.transport.liveness_check_secs, Some(0));
    assert_eq!(p.rekey.ike_minutes, Some(480));
    assert_eq!(p.rekey.child_minutes, Some(45));
    let json = to_json(p);
    assert!(json.contains("\"liveness_check_secs\": 0"), "{json}");
    assert!(json.contains("\"child_minutes\": 45"), "{json}");

    // Absent: the defaults, and nothing new is written.
    let p = with_timers(r#""rekey": {}"#).unwrap().profile;
    assert!(p.rekey.is_default());
    assert_eq!((p.rekey.ike_minutes(), p.rekey.child_minutes()), (240, 60));
    assert_eq!(p.transport.liveness_check_secs(), 30);
    let json = to_json(&p);
    assert!(
        !json.contains("rekey") && !json.contains("liveness"),
        "{json}"
    );

    let err = with_timers(r#""rekey": {"ike_minute": 480}"#).unwrap_err();
    assert!(
        err.contains("rekey") && err.contains("unknown field `ike_minute`"),
        "{err}"
    );
    let err = with_timers(r#""rekey": {"child_minutes": "60"}"#).unwrap_err();
    assert!(err.contains("rekey.child_minutes"), "{err}");
    assert_eq!(
        with_timers(r#""rekey": {"child_minutes": 5}"#).unwrap_err(),
        "timers.json: rekey.child_minutes: 5 is outside 10..=1440 minutes"
    );
    assert_eq!(
        with_timers(r#""transport": {"liveness_check_secs": 3}"#).unwrap_err(),
        "timers.json: transport.liveness_check_secs: 3 is outside 10..=3600 seconds (0 turns liveness checks off)"
    );
}
