//! Importing Windows VPNv2 ProfileXML documents: mapped fields, the report, and the
//! errors for broken ones.

mod common;

use std::path::PathBuf;

use common::{data, mapped, net, no_password, not_mapped, with_password};
use corridor_profile::model::{AuthMethod, CertificateSource, TunnelMode};
use corridor_profile::{ImportOptions, Outcome, SourceFormat, import_file};

fn error(rel: &str) -> String {
    import_file(&data(rel), &no_password())
        .unwrap_err()
        .to_string()
}

#[test]
fn eap_mschapv2_split_tunnel() {
    let imported = import_file(&data("valid/windows-eap-split.xml"), &no_password()).unwrap();
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(r.source, SourceFormat::ProfileXml);
    assert_eq!(p.name, "Contoso VPN");
    assert_eq!(p.gateway.host, "vpn.example.com");
    assert_eq!(p.auth.method, AuthMethod::EapMschapv2);
    assert_eq!(p.routing.mode, TunnelMode::Split);
    assert_eq!(p.routing.include, [net("10.0.0.0/8"), net("172.16.0.0/12")]);
    assert_eq!(p.routing.exclude, [net("10.99.0.0/16")]);
    assert_eq!(
        p.dns.match_domains,
        ["corp.example.com", "intranet.example.com"]
    );
    assert_eq!(
        p.dns.servers,
        [
            "10.0.0.53".parse::<std::net::IpAddr>().unwrap(),
            "10.0.0.54".parse().unwrap()
        ]
    );
    assert_eq!(p.dns.search_domains, ["corp.example.com", "example.com"]);
    assert!(p.trust.system_roots && p.trust.ca.is_empty());
    assert!(p.proposals.ike.is_empty());

    assert_eq!(mapped(r, "NativeProfile.Servers").0, "gateway.host");
    assert_eq!(
        mapped(r, "NativeProfile.Authentication.Eap.Configuration")
            .1
            .as_deref(),
        Some("EAP type 26 (EAP-MSCHAPv2)")
    );
    assert_eq!(
        mapped(r, "Route[2]"),
        (
            "routing.exclude[0]".to_string(),
            Some("10.99.0.0/16".to_string())
        )
    );
    assert_eq!(
        not_mapped(r, "Route[1].Metric"),
        "Corridor sets the tunnel's route metrics itself"
    );
    assert_eq!(
        not_mapped(r, "TrustedNetworkDetection"),
        "Corridor does not detect trusted networks to stay disconnected there"
    );
    assert!(not_mapped(r, "AlwaysOn").starts_with("Corridor connects when asked"));
    assert!(not_mapped(r, "TrafficFilter").contains("per-app"));
    assert!(not_mapped(r, "DomainNameInformation[0].AutoTrigger").contains("not supported"));
    assert!(
        mapped(r, "DomainNameInformation[1].DomainName")
            .1
            .unwrap()
            .contains("Windows matches this one name only")
    );
    assert!(
        matches!(r.get("trust.system_roots"), Some(Outcome::Derived { note, .. }) if note.contains("--ca FILE"))
    );
    assert!(matches!(r.get("proposals"), Some(Outcome::Derived { .. })));

    // Importing the same file again yields the same id.
    let again = import_file(&data("valid/windows-eap-split.xml"), &no_password()).unwrap();
    assert_eq!(again.profile.id, p.id);
    assert_eq!(p.id.get_version_num(), 5);
}

#[test]
fn machine_certificate_force_tunnel() {
    let options = ImportOptions {
        client_certificate_file: Some(data("pki/client.p12")),
        ca_files: vec![data("pki/ca.pem")],
        ..with_password()
    };
    let imported = import_file(&data("valid/windows-cert-force.xml"), &options).unwrap();
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(p.name, "windows-cert-force");
    assert_eq!(p.gateway.host, "vpn-gw.example.net");
    assert_eq!(p.auth.method, AuthMethod::Cert);
    assert_eq!(p.routing.mode, TunnelMode::Full);
    assert!(p.routing.include.is_empty());
    assert_eq!(p.routing.exclude, [net("192.168.50.0/24")]);
    assert_eq!(p.proposals.ike[0].as_str(), "aes256gcm16-prfsha384-ecp384");
    assert_eq!(p.proposals.esp[0].as_str(), "aes256gcm16-ecp384");
    assert!(p.dns.match_domains.is_empty());
    assert_eq!(
        p.dns.servers,
        ["10.20.0.53".parse::<std::net::IpAddr>().unwrap()]
    );
    assert!(!p.trust.system_roots);
    assert!(matches!(p.trust.ca.as_slice(), [CertificateSource::File(f)] if f.ends_with("ca.pem")));
    assert!(p.auth.local_identity.is_some());
    assert_eq!(
        mapped(r, "NativeProfile.CryptographySuite.DHGroup"),
        (
            "proposals.ike[0]".to_string(),
            Some("aes256gcm16-prfsha384-ecp384".to_string())
        )
    );
    assert!(
        matches!(r.get("trust.ca[0]"), Some(Outcome::Derived { note, .. }) if note.contains("given for the import"))
    );
    assert!(not_mapped(r, "DeviceTunnel").contains("machine tunnel"));
    assert!(matches!(
        r.get("RegisterDNS"),
        Some(Outcome::Checked { .. })
    ));
    assert!(matches!(r.get("name"), Some(Outcome::Derived { .. })));
    assert_eq!(
        not_mapped(r, "Proxy"),
        "Corridor does not set an HTTP proxy while connected"
    );
}

#[test]
fn utf16_eap_tls_needs_a_client_certificate() {
    let file = data("valid/windows-eap-tls-utf16.xml");
    let e = import_file(&file, &no_password()).unwrap_err().to_string();
    assert!(
        e.ends_with("auth.client_certificate: method eap-tls needs a client certificate"),
        "{e}"
    );

    let options = ImportOptions {
        client_certificate_file: Some(data("pki/client.p12")),
        ..no_password()
    };
    let imported = import_file(&file, &options).unwrap();
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(p.name, "windows-eap-tls-utf16");
    assert_eq!(p.auth.method, AuthMethod::EapTls);
    assert_eq!(p.gateway.host, "gw.example.org");
    assert_eq!(p.routing.include, [net("fd00:10::/48"), net("10.1.0.0/16")]);
    assert!(
        mapped(r, "Route[1]")
            .1
            .unwrap()
            .contains("host bits of 10.1.2.3 cleared")
    );
    assert_eq!(p.proposals.ike[0].as_str(), "aes256-sha256-modp2048");
    assert_eq!(p.proposals.esp[0].as_str(), "aes256-sha256-modp2048");
    let eap = "NativeProfile.Authentication.Eap.Configuration";
    assert!(not_mapped(r, &format!("{eap}.TrustedRootCA")).contains("--ca"));
    assert!(not_mapped(r, &format!("{eap}.SimpleCertSelection")).contains("--client-cert"));
    assert!(matches!(
        r.get("RememberCredentials"),
        Some(Outcome::NotMapped { .. })
    ));
}

#[test]
fn billion_laughs_and_external_entities_are_refused_unexpanded() {
    let reason = "the XML has a document type declaration (<!DOCTYPE … [ … ]>); entity definitions are refused so that entity expansion (\"billion laughs\") and external entities cannot be used, and a VPN profile never needs them";
    for file in ["invalid/billion-laughs.xml", "invalid/external-entity.xml"] {
        assert_eq!(error(file), format!("{}: {reason}", data(file).display()));
    }
}

#[test]
fn broken_profiles_name_file_field_and_reason() {
    let cases: &[(&str, &str)] = &[
        (
            "invalid/malformed.xml",
            ":3:29: not well-formed XML: expected 'Servers' tag, not 'Server'",
        ),
        (
            "invalid/l2tp.xml",
            ":4:5: NativeProfile.NativeProtocolType: L2tp is not supported; Corridor is an IKEv2 client (NativeProtocolType IKEv2)",
        ),
        (
            "invalid/peap.xml",
            ":8:9: NativeProfile.Authentication.Eap.Configuration: EAP type 25 (PEAP) is not supported; Corridor supports EAP-MSCHAPv2 (26) and EAP-TLS (13) directly inside IKEv2",
        ),
        (
            "invalid/bad-prefix-size.xml",
            ":9:37: Route[1].PrefixSize: \"sixteen\" is not a prefix length (0-32)",
        ),
        (
            "invalid/unknown-dhgroup.xml",
            ":11:7: NativeProfile.CryptographySuite.DHGroup: unknown DHGroup value \"Group19\"; expected one of None, Group1, Group2, Group14, ECP256, ECP384, Group24",
        ),
    ];
    for (file, expected) in cases {
        let path: PathBuf = data(file);
        assert_eq!(
            error(file),
            format!("{}{expected}", path.display()),
            "{file}"
        );
    }
}

#[test]
fn fuzzed_documents_never_panic() {
    let base = std::fs::read_to_string(data("valid/windows-eap-split.xml")).unwrap();
    let bytes = base.as_bytes();
    for cut in (0..bytes.len()).step_by(7) {
        let _ = corridor_profile::import_bytes("cut.xml", &bytes[..cut], &no_password());
    }
    for (i, _) in base.char_indices().step_by(11) {
        let mut text = base.clone();
        text.replace_range(i..i + 1, "<");
        let _ = corridor_profile::import_bytes("mutated.xml", text.as_bytes(), &no_password());
    }
}

#[test]
fn a_name_given_for_the_import_replaces_the_derived_one() {
    let options = ImportOptions {
        client_certificate_file: Some(data("pki/client.p12")),
        name: Some("Example Net (office)".to_string()),
        ..with_password()
    };
    let imported = import_file(&data("valid/windows-cert-force.xml"), &options).unwrap();
    assert_eq!(imported.profile.name, "Example Net (office)");
    assert!(
        imported.report.entries.iter().any(|e| e.key == "name"
            && matches!(&e.outcome, Outcome::Derived { note, .. } if note.contains("given for the import"))),
        "{}",
        imported.report
    );
    // Not a valid name: refused like one in the file.
    let options = ImportOptions {
        name: Some(String::new()),
        ..options
    };
    let err = import_file(&data("valid/windows-cert-force.xml"), &options).unwrap_err();
    assert_eq!(err.field(), Some("name"), "{err}");
}
