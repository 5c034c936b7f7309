//! Importing Apple `.mobileconfig` files: XML, binary and CMS-signed profiles, the
//! report of every key, and one exact error per kind of broken file.

mod common;

use std::net::IpAddr;

use common::{data, no_password, with_password};
use corridor_profile::model::{
    AuthMethod, Blob, CertificateSource, ClientCertificate, Identity, TunnelMode, Uuid,
};
use corridor_profile::{
    ImportOptions, ImportReport, Imported, Outcome, SourceFormat, Store, import_bytes, import_file,
};
use plist::Value;

fn import(name: &str, options: &ImportOptions) -> Imported {
    import_file(&data(&format!("valid/{name}")), options).unwrap()
}

fn mapped_to(report: &ImportReport, key: &str) -> String {
    match report.get(key) {
        Some(Outcome::Mapped { to, .. }) => to.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

fn reason(report: &ImportReport, key: &str) -> String {
    match report.get(key) {
        Some(Outcome::NotMapped { reason }) => reason.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

fn note(report: &ImportReport, key: &str) -> String {
    match report.get(key) {
        Some(Outcome::Checked { note } | Outcome::Derived { note, .. }) => note.clone(),
        Some(Outcome::Mapped { note: Some(n), .. }) => n.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

/// Asserts that every key of the property list has a report entry (for itself or for
/// a dictionary or array holding it).
fn assert_every_key_reported(file: &str, report: &ImportReport) {
    fn walk(path: &str, value: &Value, report: &ImportReport, missing: &mut Vec<String>) {
        let covered = report
            .entries
            .iter()
            .any(|e| e.key == path || path.starts_with(&format!("{}.", e.key)));
        if covered {
            return;
        }
        match value {
            Value::Dictionary(d) => {
                for (k, v) in d {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, v, report, missing);
                }
            }
            Value::Array(items) if path == "PayloadContent" => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), v, report, missing);
                }
            }
            _ => missing.push(path.to_string()),
        }
    }
    let root = Value::from_file(data(&format!("valid/{file}"))).unwrap();
    let mut missing = Vec::new();
    walk("", &root, report, &mut missing);
    assert!(
        missing.is_empty(),
        "{file}: keys without a report entry: {missing:?}"
    );
}

#[test]
fn eap_mschapv2_with_dns_and_proposals() {
    let imported = import("apple-eap.mobileconfig", &no_password());
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(r.source, SourceFormat::Mobileconfig);
    assert_eq!(
        p.id,
        Uuid::parse_str("0b5e6f1a-2c3d-4e5f-8091-a2b3c4d5e601").unwrap()
    );
    assert_eq!(p.name, "Example Corp (EAP)");
    assert_eq!(p.auth.method, AuthMethod::EapMschapv2);
    assert_eq!(p.gateway.host, "vpn.example.com");
    assert_eq!(p.gateway.port, 500);
    assert_eq!(
        p.gateway.identity,
        Some(Identity::Fqdn("vpn.example.com".into()))
    );
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::Email("alice@example.com".into()))
    );
    assert_eq!(p.auth.eap_identity.as_deref(), Some("alice"));
    assert!(matches!(p.trust.ca.as_slice(), [CertificateSource::Der(_)]));
    assert!(!p.trust.system_roots);
    assert_eq!(p.proposals.ike[0].as_str(), "aes256gcm16-prfsha384-ecp384");
    assert_eq!(p.proposals.esp[0].as_str(), "aes256gcm16-ecp384");
    assert_eq!(p.dns.servers, ips(&["10.0.0.53", "2001:db8::53"]));
    assert_eq!(p.dns.search_domains, ["corp.example.com"]);
    assert_eq!(p.dns.match_domains, ["corp.example.com", "example.net"]);
    assert_eq!(p.transport.mtu, Some(1400));
    assert_eq!(p.transport.nat_keepalive_secs, 30);
    // DeadPeerDetectionRate Medium; LifeTimeInMinutes 1440 (IKE) and 480 (Child).
    assert_eq!(p.transport.liveness_check_secs, Some(600));
    assert_eq!(p.rekey.ike_minutes, Some(1440));
    assert_eq!(p.rekey.child_minutes, Some(480));
    assert_eq!(p.routing.mode, TunnelMode::Full);
    assert!(!p.routing.block_ipv4);

    assert_eq!(
        imported.secrets.eap_password.as_ref().unwrap().expose(),
        "s3cret-password"
    );
    assert!(imported.secrets.p12_password.is_none());
    assert!(!corridor_profile::to_json(p).contains("s3cret"));

    let vpn = "PayloadContent[0]";
    for (key, to) in [
        ("PayloadUUID", "id"),
        ("UserDefinedName", "name"),
        ("IKEv2.RemoteAddress", "gateway.host"),
        ("IKEv2.RemoteIdentifier", "gateway.identity"),
        ("IKEv2.LocalIdentifier", "auth.local_identity"),
        ("IKEv2.AuthenticationMethod", "auth.method"),
        ("IKEv2.ExtendedAuthEnabled", "auth.method"),
        ("IKEv2.AuthName", "auth.eap_identity"),
        (
            "IKEv2.ServerCertificateIssuerCommonName",
            "trust.certificate_requests",
        ),
        ("IKEv2.EnablePFS", "proposals.esp"),
        ("IKEv2.NATKeepAliveInterval", "transport.nat_keepalive_secs"),
        ("IKEv2.MTU", "transport.mtu"),
        (
            "IKEv2.IKESecurityAssociationParameters.EncryptionAlgorithm",
            "proposals.ike",
        ),
        (
            "IKEv2.ChildSecurityAssociationParameters.DiffieHellmanGroup",
            "proposals.esp",
        ),
        (
            "IKEv2.DeadPeerDetectionRate",
            "transport.liveness_check_secs",
        ),
        (
            "IKEv2.IKESecurityAssociationParameters.LifeTimeInMinutes",
            "rekey.ike_minutes",
        ),
        (
            "IKEv2.ChildSecurityAssociationParameters.LifeTimeInMinutes",
            "rekey.child_minutes",
        ),
        ("DNS.ServerAddresses", "dns.servers"),
        ("DNS.DomainName", "dns.search_domains"),
        ("DNS.SupplementalMatchDomains", "dns.match_domains"),
    ] {
        assert_eq!(mapped_to(r, &format!("{vpn}.{key}")), to, "{key}");
    }
    assert_eq!(
        mapped_to(r, "PayloadContent[1].PayloadContent"),
        "trust.ca[0]"
    );
    assert!(
        note(r, "PayloadContent[0].IKEv2.AuthenticationMethod").starts_with("eap-mschapv2: EAP")
    );
    assert_eq!(
        note(r, "PayloadContent[0].IKEv2.DeadPeerDetectionRate"),
        "Medium: after 10 minutes without a message from the gateway"
    );
    assert_eq!(
        note(r, "PayloadContent[0].IKEv2.ServerCertificateCommonName"),
        "the same name as the gateway identity, which the gateway's certificate must prove"
    );
    for (key, start) in [
        (
            "IKEv2.AuthPassword",
            "passwords are never stored in a profile",
        ),
        (
            "IKEv2.DisableMOBIKE",
            "Corridor does not implement MOBIKE (RFC 4555)",
        ),
        (
            "IKEv2.DisableRedirect",
            "Corridor does not implement IKEv2 redirection (RFC 5685)",
        ),
        (
            "IKEv2.UseConfigurationAttributeInternalIPSubnet",
            "Corridor routes what the traffic selectors allow",
        ),
        ("IKEv2.OnDemandEnabled", "Corridor connects when asked"),
        (
            "IKEv2.ChildSecurityAssociationParameters.IntegrityAlgorithm",
            "the AEAD cipher needs no integrity algorithm",
        ),
        ("Proxies.HTTPEnable", "Corridor does not set proxies"),
        ("PayloadIdentifier", "payload metadata"),
    ] {
        assert!(
            reason(r, &format!("{vpn}.{key}")).starts_with(start),
            "{key}: {}",
            reason(r, &format!("{vpn}.{key}"))
        );
    }
    assert_eq!(
        reason(r, "PayloadContent[2]"),
        "a com.apple.wifi.managed payload (\"Office Wi-Fi\"): not VPN settings"
    );
    assert!(reason(r, "PayloadDisplayName").starts_with("profile metadata"));
    assert_every_key_reported("apple-eap.mobileconfig", r);
}

#[test]
fn certificate_with_embedded_pkcs12_and_pem_ca() {
    // The PKCS#12 payload's Password opens the container without asking.
    let imported = import("apple-cert.mobileconfig", &no_password());
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(p.auth.method, AuthMethod::Cert);
    assert_eq!(p.gateway.host, "198.51.100.7");
    assert_eq!(
        p.gateway.identity,
        Some(Identity::Fqdn("vpn.example.com".into()))
    );
    let expected = std::fs::read(data("pki/client.p12")).unwrap();
    match &p.auth.client_certificate {
        Some(ClientCertificate::Pkcs12(Blob::Base64(b))) => assert_eq!(b.0, expected),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        imported.secrets.p12_password.as_ref().unwrap().expose(),
        "corridor-test"
    );
    assert!(
        matches!(p.trust.ca.as_slice(), [CertificateSource::Pem(pem)] if pem.starts_with("-----BEGIN CERTIFICATE-----"))
    );
    assert_eq!(p.routing.mode, TunnelMode::Full);
    assert!(p.routing.block_ipv4 && p.routing.block_ipv6);
    assert!(p.trust.revocation.crl && p.trust.revocation.ocsp && !p.trust.revocation.strict);
    assert_eq!(
        p.proposals.ike[0].as_str(),
        "aes256-sha256-prfsha256-modp2048"
    );
    assert_eq!(p.proposals.esp[0].as_str(), "aes256-sha256");

    assert_eq!(
        mapped_to(r, "PayloadContent[2].IKEv2.PayloadCertificateUUID"),
        "auth.client_certificate.pkcs12"
    );
    assert_eq!(
        note(r, "PayloadContent[2].IKEv2.PayloadCertificateUUID"),
        "the PKCS#12 payload PayloadContent[0]"
    );
    assert_eq!(
        mapped_to(r, "PayloadContent[0].PayloadContent"),
        "auth.client_certificate.pkcs12"
    );
    assert!(
        reason(r, "PayloadContent[0].Password")
            .starts_with("the container's password is never stored")
    );
    assert_eq!(
        mapped_to(r, "PayloadContent[1].PayloadContent"),
        "trust.ca[0]"
    );
    assert!(note(r, "PayloadContent[2].IKEv2.CertificateType").starts_with("ECDSA256"));
    assert!(
        reason(r, "PayloadContent[2].IKEv2.PPK")
            .starts_with("Corridor does not implement post-quantum preshared keys (RFC 8784)")
    );
    assert!(reason(r, "PayloadContent[2].IKEv2.ExcludeLocalNetworks").contains("routing.exclude"));
    assert!(note(r, "auth.client_certificate").contains("CN=alice"));
    assert_eq!(
        note(r, "proposals.esp"),
        "from IKESecurityAssociationParameters, which Apple's devices use for the Child SA when ChildSecurityAssociationParameters is absent"
    );
    // The local identity came from the file, not from the certificate.
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::Email("alice@example.com".into()))
    );
    assert_every_key_reported("apple-cert.mobileconfig", r);
}

#[test]
fn shared_secret_next_to_an_l2tp_payload() {
    let imported = import("apple-psk.mobileconfig", &no_password());
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(p.auth.method, AuthMethod::Psk);
    assert_eq!(
        p.auth.psk.as_ref().unwrap().expose(),
        "branch-office-shared-secret-2024"
    );
    assert_eq!(
        p.auth.local_identity,
        Some(Identity::Fqdn("branch-7.example.com".into()))
    );
    assert!(p.trust.ca.is_empty() && !p.trust.system_roots);
    assert_eq!(p.proposals.ike[0].as_str(), "aes128gcm16-prfsha256-ecp256");
    assert_eq!(p.proposals.esp[0].as_str(), "aes128gcm16");
    assert_eq!(
        mapped_to(r, "PayloadContent[0].IKEv2.SharedSecret"),
        "auth.psk"
    );
    assert_eq!(
        reason(r, "PayloadContent[1]"),
        "a com.apple.vpn.managed payload of VPNType L2TP (\"Legacy VPN\"): Corridor speaks IKEv2 only"
    );
    assert_every_key_reported("apple-psk.mobileconfig", r);
}

#[test]
fn binary_plist_eap_tls() {
    let imported = import("apple-eap-tls-binary.mobileconfig", &no_password());
    let (p, r) = (&imported.profile, &imported.report);
    // Certificate + ExtendedAuthEnabled: Apple's devices send the certificate in EAP-TLS.
    assert_eq!(p.auth.method, AuthMethod::EapTls);
    assert_eq!(p.auth.eap_identity.as_deref(), Some("alice@example.com"));
    assert!(matches!(
        p.auth.client_certificate,
        Some(ClientCertificate::Pkcs12(Blob::Base64(_)))
    ));
    assert!(imported.secrets.p12_password.is_none());
    assert_eq!(
        note(r, "auth.client_certificate"),
        "PKCS#12 structure is intact; its contents are checked once its password is given"
    );
    assert_eq!(
        p.proposals.ike[0].as_str(),
        "chacha20poly1305-prfsha256-curve25519"
    );
    assert_eq!(p.proposals.esp[0].as_str(), "chacha20poly1305");
    assert!(
        note(r, "PayloadContent[0].IKEv2.AuthenticationMethod")
            .starts_with("eap-tls: EAP with the certificate")
    );
    assert!(
        reason(
            r,
            "PayloadContent[0].IKEv2.ChildSecurityAssociationParameters.DiffieHellmanGroup"
        )
        .contains("EnablePFS is not 1")
    );
    assert!(
        reason(r, "PayloadContent[0].IKEv2.OnDemandRules")
            .starts_with("Corridor connects when asked")
    );
    assert!(reason(r, "PayloadContent[0].IKEv2.TLSMinimumVersion").contains("TLS 1.2 or 1.3"));
    assert_every_key_reported("apple-eap-tls-binary.mobileconfig", r);

    // With the password the container is opened.
    let imported = import("apple-eap-tls-binary.mobileconfig", &with_password());
    assert!(note(&imported.report, "auth.client_certificate").contains("CN=alice"));
}

#[test]
fn minimal_binary_plist_trusts_system_roots() {
    let imported = import("apple-minimal-binary.mobileconfig", &no_password());
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(p.name, "Example Org");
    assert_eq!(p.auth.method, AuthMethod::EapMschapv2);
    assert_eq!(p.auth.eap_identity.as_deref(), Some("bob"));
    assert_eq!(p.auth.local_identity, Some(Identity::Fqdn("bob".into())));
    assert!(p.trust.system_roots);
    assert!(p.proposals.ike.is_empty() && p.proposals.esp.is_empty());
    assert!(
        note(r, "trust.system_roots")
            .starts_with("true: the profile carries no certificate payload")
    );
    assert!(note(r, "proposals").starts_with("Corridor's defaults"));
    assert_every_key_reported("apple-minimal-binary.mobileconfig", r);
}

#[test]
fn cms_signed_profiles_are_verified() {
    let signed = import("apple-eap-signed-rsa.mobileconfig", &no_password());
    let plain = import("apple-eap.mobileconfig", &no_password());
    assert_eq!(signed.profile, plain.profile);
    let check = note(&signed.report, "CMS signature");
    assert!(
        check.starts_with(
            "valid, signed by \"C=CH, O=Example Corp IT, CN=Example Corp Profile Signing\""
        ),
        "{check}"
    );
    assert!(check.contains("the signer's certificate chain is not evaluated"));
    assert!(plain.report.get("CMS signature").is_none());

    // ECDSA P-256 signature over a binary property list.
    let ecdsa = import("apple-psk-signed-ecdsa.mobileconfig", &no_password());
    assert_eq!(
        ecdsa.profile,
        import("apple-psk.mobileconfig", &no_password()).profile
    );
    assert!(note(&ecdsa.report, "CMS signature").starts_with("valid, signed by"));
}

#[test]
fn format_is_detected_from_content() {
    for name in [
        "apple-eap.mobileconfig",
        "apple-eap-tls-binary.mobileconfig",
        "apple-eap-signed-rsa.mobileconfig",
    ] {
        let bytes = std::fs::read(data(&format!("valid/{name}"))).unwrap();
        let imported = import_bytes("downloaded.txt", &bytes, &no_password()).unwrap();
        assert_eq!(imported.report.source, SourceFormat::Mobileconfig, "{name}");
    }
}

#[test]
fn utf16_xml_is_read() {
    let text = std::fs::read_to_string(data("valid/apple-psk.mobileconfig")).unwrap();
    let text = text.replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let imported = import_bytes("utf16.mobileconfig", &bytes, &no_password()).unwrap();
    assert_eq!(imported.profile.auth.method, AuthMethod::Psk);
}

/// Imports `invalid/<name>` and returns the error with the path replaced by `<file>`.
fn error_of(name: &str) -> String {
    let path = data(&format!("invalid/{name}"));
    let err = import_file(&path, &no_password()).unwrap_err();
    let prefix = path.display().to_string();
    let text = err.to_string();
    assert!(text.starts_with(&prefix), "{text}");
    format!("<file>{}", &text[prefix.len()..])
}

#[test]
fn broken_files_fail_with_file_field_and_reason() {
    // The truncated files' sizes change when the test PKI is regenerated.
    let size = std::fs::metadata(data("invalid/truncated.mobileconfig"))
        .unwrap()
        .len();
    assert_eq!(
        error_of("truncated.mobileconfig"),
        format!("<file>: the file is truncated: the property list ends at byte {size}")
    );
    assert!(
        error_of("truncated-binary.mobileconfig")
            .starts_with("<file>: the binary property list is corrupt or truncated at byte "),
    );
    let cases = [
        (
            "remote-address-integer.mobileconfig",
            "<file>: PayloadContent[0].IKEv2.RemoteAddress: expected a string, found an integer",
        ),
        (
            "billion-laughs.mobileconfig",
            "<file>: the XML declares entities (a DOCTYPE with an internal subset or <!ENTITY>); a property list never needs them and their expansion (\"billion laughs\", external entities) is refused",
        ),
        (
            "missing-certificate.mobileconfig",
            "<file>: PayloadContent[2].IKEv2.PayloadCertificateUUID: no payload in this profile has PayloadUUID 9F9F9F9F-0000-4000-8000-000000000001",
        ),
        (
            "wrong-p12-password.mobileconfig",
            "<file>: PayloadContent[0].Password: wrong PKCS#12 password (the container's integrity check failed)",
        ),
        (
            "l2tp-only.mobileconfig",
            "<file>: PayloadContent: no IKEv2 VPN payload (com.apple.vpn.managed with VPNType IKEv2): it has a com.apple.vpn.managed payload of VPNType L2TP (\"Legacy VPN\")",
        ),
        (
            "tampered-signed.mobileconfig",
            "<file>: the CMS signature does not verify: the profile was changed after it was signed",
        ),
        (
            "weak-dh-group.mobileconfig",
            "<file>: PayloadContent[0].IKEv2.IKESecurityAssociationParameters.DiffieHellmanGroup: algorithm 'modp768' is not supported: the 768-bit MODP group is broken; RFC 8247 forbids it (MUST NOT)",
        ),
    ];
    for (name, expected) in cases {
        assert_eq!(error_of(name), expected, "{name}");
    }
}

/// A profile assembled in the test, for errors without a file of their own.
fn profile_with(ikev2: &[(&str, Value)], extra: &[(&str, Value)]) -> Vec<u8> {
    let mut ike: plist::Dictionary = [
        ("RemoteAddress", Value::from("vpn.example.com")),
        ("AuthenticationMethod", Value::from("None")),
        ("ExtendedAuthEnabled", Value::from(1)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in ikev2 {
        ike.insert(k.to_string(), v.clone());
    }
    let mut vpn: plist::Dictionary = [
        ("PayloadType", Value::from("com.apple.vpn.managed")),
        (
            "PayloadUUID",
            Value::from("5A5A5A5A-0000-4000-8000-000000000001"),
        ),
        ("UserDefinedName", Value::from("Test")),
        ("VPNType", Value::from("IKEv2")),
        ("IKEv2", Value::Dictionary(ike)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        vpn.insert(k.to_string(), v.clone());
    }
    let root: plist::Dictionary = [
        ("PayloadType", Value::from("Configuration")),
        ("PayloadContent", Value::Array(vec![Value::Dictionary(vpn)])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut out = Vec::new();
    Value::Dictionary(root).to_writer_xml(&mut out).unwrap();
    out
}

fn error_in(bytes: &[u8]) -> String {
    import_bytes("p.mobileconfig", bytes, &no_password())
        .unwrap_err()
        .to_string()
}

#[test]
fn mapped_values_are_checked_at_their_key() {
    assert_eq!(
        error_in(&profile_with(&[("MTU", Value::from(100))], &[])),
        "p.mobileconfig: PayloadContent[0].IKEv2.MTU: 100 is outside 576..=9000"
    );
    assert_eq!(
        error_in(&profile_with(&[("MTU", Value::from(70000))], &[])),
        "p.mobileconfig: PayloadContent[0].IKEv2.MTU: 70000 is not an MTU"
    );
    assert_eq!(
        error_in(&profile_with(
            &[("ExtendedAuthEnabled", Value::from(2))],
            &[]
        )),
        "p.mobileconfig: PayloadContent[0].IKEv2.ExtendedAuthEnabled: expected 0 or 1, found 2"
    );
    assert_eq!(
        error_in(&profile_with(
            &[("AuthenticationMethod", Value::from("Password"))],
            &[]
        )),
        "p.mobileconfig: PayloadContent[0].IKEv2.AuthenticationMethod: unknown authentication method \"Password\"; expected None, SharedSecret or Certificate"
    );
    assert_eq!(
        error_in(&profile_with(
            &[("AuthenticationMethod", Value::from("SharedSecret"))],
            &[]
        )),
        "p.mobileconfig: PayloadContent[0].IKEv2.AuthenticationMethod: SharedSecret with ExtendedAuthEnabled means the gateway authenticates with the shared secret before EAP; Corridor requires the gateway to authenticate with a certificate when the client uses EAP"
    );
    assert_eq!(
        error_in(&profile_with(
            &[],
            &[(
                "DNS",
                Value::Dictionary(
                    [(
                        "ServerAddresses".to_string(),
                        Value::Array(vec![Value::from("10.0.0.1"), Value::from("dns.local")])
                    )]
                    .into_iter()
                    .collect()
                )
            )]
        )),
        "p.mobileconfig: PayloadContent[0].DNS.ServerAddresses[1]: 'dns.local' is not an IP address"
    );
    assert_eq!(
        error_in(&profile_with(&[("RemoteAddress", Value::from(""))], &[])),
        "p.mobileconfig: PayloadContent[0].IKEv2.RemoteAddress: must not be empty"
    );
    assert_eq!(
        error_in(&profile_with(
            &[(
                "ChildSecurityAssociationParameters",
                Value::Dictionary(
                    [("EncryptionAlgorithm".to_string(), Value::from("AES-512"))]
                        .into_iter()
                        .collect()
                )
            )],
            &[]
        )),
        "p.mobileconfig: PayloadContent[0].IKEv2.ChildSecurityAssociationParameters.EncryptionAlgorithm: unknown encryption algorithm \"AES-512\"; Apple's devices know DES, 3DES, AES-128, AES-256, AES-128-GCM, AES-256-GCM and ChaCha20Poly1305"
    );
    // A certificate method without an identity payload needs one given when importing.
    assert_eq!(
        error_in(&profile_with(
            &[
                ("AuthenticationMethod", Value::from("Certificate")),
                ("ExtendedAuthEnabled", Value::from(0))
            ],
            &[]
        )),
        "p.mobileconfig: IKEv2.PayloadCertificateUUID: method cert needs a client certificate"
    );
}

#[test]
fn dead_peer_detection_rates() {
    // Apple's VPN payload reference: None, Low (30 min), Medium (10 min), High (1 min).
    for (rate, secs) in [("None", 0), ("Low", 1800), ("Medium", 600), ("High", 60)] {
        let bytes = profile_with(
            &[
                ("DeadPeerDetectionRate", Value::from(rate)),
                ("AuthName", Value::from("alice")),
            ],
            &[],
        );
        let imported = import_bytes("p.mobileconfig", &bytes, &no_password()).unwrap();
        assert_eq!(
            imported.profile.transport.liveness_check_secs,
            Some(secs),
            "{rate}"
        );
        let key = "PayloadContent[0].IKEv2.DeadPeerDetectionRate";
        assert_eq!(
            mapped_to(&imported.report, key),
            "transport.liveness_check_secs"
        );
        assert!(note(&imported.report, key).starts_with(rate), "{rate}");
    }
    // Absent: Corridor's own interval, not Apple's Medium.
    let bytes = profile_with(&[("AuthName", Value::from("alice"))], &[]);
    let imported = import_bytes("p.mobileconfig", &bytes, &no_password()).unwrap();
    assert_eq!(imported.profile.transport.liveness_check_secs, None);
    assert_eq!(imported.profile.transport.liveness_check_secs(), 30);

    assert_eq!(
        error_in(&profile_with(
            &[("DeadPeerDetectionRate", Value::from("Often"))],
            &[]
        )),
        "p.mobileconfig: PayloadContent[0].IKEv2.DeadPeerDetectionRate: unknown rate \"Often\"; expected None, Low, Medium or High"
    );
    assert_eq!(
        error_in(&profile_with(
            &[("DeadPeerDetectionRate", Value::from(10))],
            &[]
        )),
        "p.mobileconfig: PayloadContent[0].IKEv2.DeadPeerDetectionRate: expected a string, found an integer"
    );
}

fn sa_lifetime(minutes: i64) -> Value {
    Value::Dictionary(
        [("LifeTimeInMinutes".to_string(), Value::from(minutes))]
            .into_iter()
            .collect(),
    )
}

#[test]
fn sa_lifetimes() {
    let bytes = profile_with(
        &[
            ("IKESecurityAssociationParameters", sa_lifetime(720)),
            ("ChildSecurityAssociationParameters", sa_lifetime(30)),
        ],
        &[],
    );
    let imported = import_bytes("p.mobileconfig", &bytes, &no_password()).unwrap();
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(p.rekey.ike_minutes, Some(720));
    assert_eq!(p.rekey.child_minutes, Some(30));
    assert_eq!(
        mapped_to(
            r,
            "PayloadContent[0].IKEv2.IKESecurityAssociationParameters.LifeTimeInMinutes"
        ),
        "rekey.ike_minutes"
    );
    assert_eq!(
        mapped_to(
            r,
            "PayloadContent[0].IKEv2.ChildSecurityAssociationParameters.LifeTimeInMinutes"
        ),
        "rekey.child_minutes"
    );

    // Apple's devices use the IKE dictionary for the Child SA when there is no Child
    // dictionary; so does the lifetime.
    let bytes = profile_with(
        &[("IKESecurityAssociationParameters", sa_lifetime(90))],
        &[],
    );
    let imported = import_bytes("p.mobileconfig", &bytes, &no_password()).unwrap();
    assert_eq!(imported.profile.rekey.ike_minutes, Some(90));
    assert_eq!(imported.profile.rekey.child_minutes, Some(90));
    assert!(
        note(&imported.report, "rekey.child_minutes")
            .starts_with("from IKESecurityAssociationParameters.LifeTimeInMinutes")
    );

    // No lifetime anywhere: Corridor's defaults, and the profile has no rekey section.
    let bytes = profile_with(&[], &[]);
    let imported = import_bytes("p.mobileconfig", &bytes, &no_password()).unwrap();
    assert!(imported.profile.rekey.is_default());
    assert!(!corridor_profile::to_json(&imported.profile).contains("rekey"));

    for (minutes, dict) in [
        (9, "IKESecurityAssociationParameters"),
        (1441, "ChildSecurityAssociationParameters"),
    ] {
        assert_eq!(
            error_in(&profile_with(&[(dict, sa_lifetime(minutes))], &[])),
            format!(
                "p.mobileconfig: PayloadContent[0].IKEv2.{dict}.LifeTimeInMinutes: {minutes} minutes is outside Apple's range of 10 to 1440 minutes"
            )
        );
    }
}

#[test]
fn failed_imports_leave_the_store_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for entry in std::fs::read_dir(data("invalid")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "mobileconfig") {
            assert!(import_file(&path, &no_password()).is_err());
        }
    }
    assert!(store.list().unwrap().profiles.is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Cheap deterministic fuzzing: every valid sample cut short at many lengths and with
/// single bytes changed imports or fails with an error, never a panic.
#[test]
fn mutated_samples_never_panic() {
    for entry in std::fs::read_dir(data("valid")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "mobileconfig") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let step = (bytes.len() / 97).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let _ = import_bytes("cut", &bytes[..cut], &no_password());
            let mut flipped = bytes.clone();
            flipped[cut] ^= 0x5a;
            let _ = import_bytes("flip", &flipped, &no_password());
        }
    }
}
