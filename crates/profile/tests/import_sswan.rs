//! Importing strongSwan `.sswan` files: every type, every key, and the report.

mod common;

use common::{canonical, data, no_password, with_password};
use corridor_profile::model::{
    AuthMethod, Blob, CertificateSource, ClientCertificate, Identity, IpNet, TunnelMode, Uuid,
};
use corridor_profile::{Outcome, SourceFormat, import_file};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn outcome_to(report: &corridor_profile::ImportReport, key: &str) -> String {
    match report.get(key) {
        Some(Outcome::Mapped { to, .. }) => to.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

fn not_mapped_reason(report: &corridor_profile::ImportReport, key: &str) -> String {
    match report.get(key) {
        Some(Outcome::NotMapped { reason }) => reason.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

#[test]
fn eap_profile() {
    let imported = import_file(&data("valid/eap.sswan"), &no_password()).unwrap();
    let p = &imported.profile;
    assert_eq!(imported.report.source, SourceFormat::Sswan);
    assert_eq!(
        p.id,
        Uuid::parse_str("d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001").unwrap()
    );
    assert_eq!(p.name, "Corp VPN (EAP)");
    assert_eq!(p.auth.method, AuthMethod::EapMschapv2);
    assert_eq!(p.gateway.host, "vpn.example.com");
    assert_eq!(p.gateway.port, 4500);
    assert_eq!(
        p.gateway.identity,
        Some(Identity::Fqdn("vpn.example.com".into()))
    );
    assert!(matches!(p.trust.ca.as_slice(), [CertificateSource::Der(_)]));
    assert!(!p.trust.system_roots);
    assert_eq!(p.auth.eap_identity.as_deref(), Some("alice"));
    assert_eq!(p.proposals.ike[0].as_str(), "aes256gcm16-prfsha384-ecp384");
    assert_eq!(p.proposals.esp[0].as_str(), "aes256gcm16-ecp384");
    // dns-servers given as one space-separated string.
    assert_eq!(
        p.dns.servers,
        [
            "10.0.0.53".parse::<std::net::IpAddr>().unwrap(),
            "2001:db8::53".parse().unwrap()
        ]
    );
    assert_eq!(p.transport.mtu, Some(1400));
    assert_eq!(p.transport.nat_keepalive_secs, 25);
    assert_eq!(p.routing.mode, TunnelMode::Full);

    // The password is handed over, never stored.
    assert_eq!(
        imported.secrets.eap_password.as_ref().unwrap().expose(),
        "s3cret-password"
    );
    assert_eq!(
        format!("{:?}", imported.secrets),
        "ImportedSecrets { eap_password: Some(***), p12_password: None }"
    );
    assert!(!corridor_profile::to_json(p).contains("s3cret"));
    assert!(
        not_mapped_reason(&imported.report, "local.shared_secret")
            .starts_with("passwords are never stored")
    );

    for (key, to) in [
        ("uuid", "id"),
        ("name", "name"),
        ("type", "auth.method"),
        ("remote.addr", "gateway.host"),
        ("remote.port", "gateway.port"),
        ("remote.id", "gateway.identity"),
        ("remote.cert", "trust.ca[0]"),
        ("local.eap_id", "auth.eap_identity"),
        ("ike-proposal", "proposals.ike"),
        ("esp-proposal", "proposals.esp"),
        ("dns-servers", "dns.servers"),
        ("mtu", "transport.mtu"),
        ("nat-keepalive", "transport.nat_keepalive_secs"),
    ] {
        assert_eq!(outcome_to(&imported.report, key), to, "{key}");
    }
}

#[test]
fn cert_profile() {
    let imported = import_file(&data("valid/cert.sswan"), &with_password()).unwrap();
    let p = &imported.profile;
    assert_eq!(p.auth.method, AuthMethod::Cert);
    assert_eq!(p.gateway.host, "192.0.2.10");
    assert_eq!(p.gateway.port, 500);
    assert_eq!(
        p.gateway.identity,
        Some(Identity::Fqdn("vpn.example.com".into()))
    );
    // remote.cert carried PEM (base64 of the PEM text).
    assert!(
        matches!(&p.trust.ca[..], [CertificateSource::Pem(pem)] if pem.starts_with("-----BEGIN CERTIFICATE-----"))
    );
    assert!(!p.trust.certificate_requests);
    assert!(matches!(
        p.auth.client_certificate,
        Some(ClientCertificate::Pkcs12(Blob::Base64(_)))
    ));
    assert!(p.auth.rsa_pss);
    assert_eq!(p.auth.eap_identity, None);
    // dns-servers given as an array.
    assert_eq!(p.dns.servers.len(), 2);
    // Two comma-separated IKE proposals; PRF derived from the integrity algorithm.
    assert_eq!(p.proposals.ike.len(), 2);
    assert_eq!(p.proposals.ike[1].as_str(), "aes256-sha384-modp3072");
    assert_eq!(
        p.proposals.esp[0].esn,
        [corridor_profile::model::proposal::Esn::Yes]
    );
    // The local identity defaults to the certificate subject, read with the password.
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::Dn("C=CH, O=Corridor Test, CN=alice".into()))
    );
    match imported.report.get("auth.local_identity") {
        Some(Outcome::Derived { note, .. }) => {
            assert_eq!(
                note,
                "asn1dn:C=CH, O=Corridor Test, CN=alice, from the client certificate"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        not_mapped_reason(&imported.report, "local.eap_id"),
        "type ikev2-cert uses no username; strongSwan's app ignores it too"
    );
}

#[test]
fn cert_profile_without_password_checks_structure_only() {
    let imported = import_file(&data("valid/cert.sswan"), &no_password()).unwrap();
    assert_eq!(imported.profile.auth.local_identity, None);
    let checked = imported
        .report
        .entries
        .iter()
        .any(|e| matches!(&e.outcome, Outcome::Checked { note } if note.starts_with("PKCS#12 structure is intact")));
    assert!(checked, "{}", imported.report);
}

#[test]
fn cert_eap_profile() {
    let p = import_file(&data("valid/cert-eap.sswan"), &with_password())
        .unwrap()
        .profile;
    assert_eq!(p.auth.method, AuthMethod::CertEap);
    assert_eq!(p.auth.eap_identity.as_deref(), Some("alice"));
    // An explicit local.id wins over the certificate's subject.
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::Email("alice@example.com".into()))
    );
    assert!(p.auth.client_certificate.is_some());
}

#[test]
fn eap_tls_profile() {
    let p = import_file(&data("valid/eap-tls.sswan"), &with_password())
        .unwrap()
        .profile;
    assert_eq!(p.auth.method, AuthMethod::EapTls);
    assert!(p.auth.client_certificate.is_some());
    assert_eq!(
        p.proposals.ike[0].as_str(),
        "chacha20poly1305-prfsha256-curve25519"
    );
    assert_eq!(p.proposals.esp[0].as_str(), "chacha20poly1305");
}

#[test]
fn byod_profile() {
    let imported = import_file(&data("valid/byod-eap.sswan"), &no_password()).unwrap();
    let p = &imported.profile;
    assert_eq!(p.auth.method, AuthMethod::EapMschapv2);
    assert_eq!(p.auth.eap_identity.as_deref(), Some("bob"));
    // No remote.cert: the system's CA certificates are trusted, as in strongSwan's apps.
    assert!(p.trust.system_roots);
    assert!(p.trust.ca.is_empty());
    match imported.report.get("type") {
        Some(Outcome::Mapped {
            note: Some(note), ..
        }) => assert!(note.contains("BYOD"), "{note}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        imported.report.get("trust.system_roots"),
        Some(Outcome::Derived { .. })
    ));
}

#[test]
fn split_tunneling_proxy_and_apps() {
    let imported = import_file(&data("valid/split-proxy-apps.sswan"), &no_password()).unwrap();
    let p = &imported.profile;
    let r = &p.routing;
    assert_eq!(r.mode, TunnelMode::Split);
    assert_eq!(
        r.include,
        [
            net("10.0.0.0/8"),
            net("192.168.1.10/31"),
            net("192.168.1.12/30"),
            net("192.168.1.16/30"),
            net("192.168.1.20/32"),
            net("2001:db8::/32"),
        ]
    );
    assert_eq!(r.exclude, [net("10.99.0.0/16"), net("192.168.1.15/32")]);
    assert!(r.block_ipv4);
    assert!(!r.block_ipv6);
    assert!(p.trust.certificate_requests);
    assert!(!p.trust.revocation.crl);
    assert!(p.trust.revocation.ocsp);
    assert!(p.trust.revocation.strict);
    assert!(p.transport.ipv6_transport);
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::Email("carol@example.com".into()))
    );

    let report = &imported.report;
    match report.get("split-tunneling.subnets") {
        Some(Outcome::Mapped {
            to,
            note: Some(note),
        }) => {
            assert_eq!(to, "routing.include");
            assert_eq!(
                note,
                "range 192.168.1.10-192.168.1.20 became 192.168.1.10/31 192.168.1.12/30 192.168.1.16/30 192.168.1.20/32"
            );
        }
        other => panic!("{other:?}"),
    }
    for key in ["proxy.host", "proxy.port", "proxy.exclusions"] {
        assert_eq!(
            not_mapped_reason(report, key),
            "Corridor does not set an HTTP proxy for apps while connected (an Android VpnService feature)"
        );
    }
    for key in ["apps", "excluded-apps"] {
        assert_eq!(
            not_mapped_reason(report, key),
            "per-app VPN (which apps use the tunnel) is an Android feature; Corridor routes by destination"
        );
    }
    assert_eq!(
        not_mapped_reason(report, "favourite-colour"),
        "unknown key; strongSwan's apps ignore it too"
    );
    let dropped: Vec<&str> = report.dropped().map(|e| e.key.as_str()).collect();
    assert_eq!(
        dropped,
        [
            "proxy.host",
            "proxy.port",
            "proxy.exclusions",
            "apps",
            "excluded-apps",
            "favourite-colour"
        ]
    );
    let text = report.to_string();
    assert!(
        text.starts_with("read as strongSwan .sswan profile\n"),
        "{text}"
    );
    assert!(
        text.contains("  mapped      remote.addr -> gateway.host\n"),
        "{text}"
    );
    assert!(text.contains("  not mapped  apps: per-app VPN"), "{text}");
}

#[test]
fn every_pkcs12_flavour_opens() {
    // Made by p12-keystore (AES-256/PBKDF2 and 3DES) and by OpenSSL 3 (default and -legacy).
    for file in [
        "client.p12",
        "client-3des.p12",
        "client-openssl3.p12",
        "client-openssl-legacy.p12",
    ] {
        let data = std::fs::read(data(&format!("pki/{file}"))).unwrap();
        let b64 = corridor_profile::model::Base64Bytes(data).encode();
        let text = format!(
            r#"{{"uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0010", "name": "{file}", "type": "ikev2-cert",
                "remote": {{"addr": "vpn.example.com"}}, "local": {{"p12": "{b64}"}}}}"#
        );
        let imported = corridor_profile::import_bytes(file, text.as_bytes(), &with_password())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            imported.profile.auth.local_identity,
            Some(Identity::Dn("C=CH, O=Corridor Test, CN=alice".into())),
            "{file}"
        );
    }
}

#[test]
fn client_certificate_file_fills_a_missing_certificate() {
    let text = br#"{"uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0011", "name": "phone picks cert",
        "type": "ikev2-cert", "remote": {"addr": "vpn.example.com"}}"#;
    let err = corridor_profile::import_bytes("x.sswan", text, &no_password()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.sswan: local.p12: method cert needs a client certificate"
    );

    let mut options = with_password();
    options.client_certificate_file = Some(data("pki/client.p12"));
    let imported = corridor_profile::import_bytes("x.sswan", text, &options).unwrap();
    match imported.profile.auth.client_certificate {
        Some(ClientCertificate::Pkcs12(Blob::File(path))) => {
            assert_eq!(
                dunce::canonicalize(path).unwrap(),
                canonical("pki/client.p12")
            )
        }
        other => panic!("{other:?}"),
    }
}
