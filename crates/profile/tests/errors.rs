//! Bad input: every malformed or hostile file is one error naming the file, the field and
//! the reason — never a panic, never a write.

mod common;

use std::io::Write as _;

use common::{canonical, data, no_password, with_password};
use corridor_profile::model::Secret;
use corridor_profile::{ImportOptions, InputErrorKind, import_bytes, import_file};

/// Imports `invalid/<name>` and returns the error text with the file's path replaced by
/// `<file>`.
fn error_of(name: &str, options: &ImportOptions) -> String {
    let path = data(&format!("invalid/{name}"));
    let err = import_file(&path, options).unwrap_err();
    let text = err.to_string();
    let prefix = path.display().to_string();
    assert!(text.starts_with(&prefix), "{text}");
    assert_eq!(err.origin(), prefix);
    format!("<file>{}", &text[prefix.len()..])
}

#[test]
fn type_errors_name_the_field_and_position() {
    assert_eq!(
        error_of("port-wrong-type.json", &no_password()),
        "<file>:6:55: gateway.port: invalid type: string \"500\", expected u16"
    );
    assert_eq!(
        error_of("wrong-types.sswan", &no_password()),
        "<file>:5:64: remote.port: invalid value: string \"four thousand\", expected a whole number"
    );
    assert_eq!(
        error_of("unknown-field.json", &no_password()),
        "<file>:6:48: gateway.prot: unknown field `prot`, expected one of `host`, `port`, `identity`"
    );
    assert_eq!(
        error_of("prefix-too-long.json", &no_password()),
        "<file>:8:71: routing.include[1]: invalid prefix '10.1.0.0/33': prefix length 33 is larger than 32, the size of an IPv4 address"
    );
    assert_eq!(
        error_of("bad-proposal.json", &no_password()),
        "<file>:8:78: proposals.ike[1]: algorithm 'modp768' is not supported: the 768-bit MODP group is broken; RFC 8247 forbids it (MUST NOT)"
    );
}

#[test]
fn field_paths_and_kinds_are_available_separately() {
    let err = import_file(&data("invalid/port-wrong-type.json"), &no_password()).unwrap_err();
    assert_eq!(err.field(), Some("gateway.port"));
    assert_eq!(err.position(), Some((6, 55)));
    assert_eq!(err.reason(), "invalid type: string \"500\", expected u16");
    assert!(matches!(err.kind(), InputErrorKind::Invalid(_)));
}

#[test]
fn validation_errors() {
    assert_eq!(
        error_of("port-zero.json", &no_password()),
        "<file>: gateway.port: must be between 1 and 65535, not 0"
    );
    assert_eq!(
        error_of("empty-host.json", &no_password()),
        "<file>: gateway.host: must not be empty"
    );
    assert_eq!(
        error_of("eap-tls-without-cert.json", &no_password()),
        "<file>: auth.client_certificate: method eap-tls needs a client certificate"
    );
    assert_eq!(
        error_of("mtu-too-small.json", &no_password()),
        "<file>: transport.mtu: 1000 is below 1280, the minimum for IPv6 (RFC 8200 §5); this tunnel carries IPv6 because routing.mode is full"
    );
    assert_eq!(
        error_of("version-2.json", &no_password()),
        "<file>: version: format version 2 is not supported; this version of Corridor reads version 1"
    );
}

#[test]
fn sswan_errors_name_the_sswan_key() {
    assert_eq!(
        error_of("unknown-type.sswan", &no_password()),
        "<file>: type: unknown profile type \"ikev2-psk\"; expected one of ikev2-eap, ikev2-cert, ikev2-cert-eap, ikev2-eap-tls, ikev2-byod-eap"
    );
    assert_eq!(
        error_of("bad-base64.sswan", &no_password()),
        "<file>: remote.cert: invalid base64: Invalid symbol 36, offset 4."
    );
    assert_eq!(
        error_of("missing-remote.sswan", &no_password()),
        "<file>: remote: required key is missing"
    );
    assert_eq!(
        error_of("weak-proposal.sswan", &no_password()),
        "<file>: ike-proposal: algorithm 'md5' is not supported: HMAC-MD5 is broken; RFC 8247 and RFC 8221 forbid it (MUST NOT)"
    );
    assert_eq!(
        error_of("bad-subnet.sswan", &no_password()),
        "<file>: split-tunneling.subnets: '10.1.0.0/40': prefix length 40 is larger than 32, the size of an IPv4 address"
    );
}

#[test]
fn truncated_pkcs12_is_rejected_with_or_without_password() {
    // The container's size changes when the test data is regenerated; its 4-byte DER
    // header (SEQUENCE with a two-byte length) does not.
    let full = std::fs::read(data("pki/client.p12")).unwrap().len();
    let reason = format!(
        "PKCS#12 data is truncated: the PFX needs {} bytes but only {} remain",
        full - 4,
        full / 2 - 4
    );
    for options in [no_password(), with_password()] {
        assert_eq!(
            error_of("truncated-p12.sswan", &options),
            format!("<file>: local.p12: {reason}")
        );
        let p12 = canonical("pki/truncated.p12");
        assert_eq!(
            error_of("truncated-p12-file.json", &options),
            format!(
                "<file>: auth.client_certificate.pkcs12.file: {}: {reason}",
                p12.display()
            )
        );
    }
}

#[test]
fn wrong_pkcs12_password() {
    let options = ImportOptions {
        p12_password: Some(Secret::new("wrong")),
        ..ImportOptions::default()
    };
    let path = data("valid/cert.sswan");
    let err = import_file(&path, &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: local.p12: wrong PKCS#12 password (the container's integrity check failed)",
            path.display()
        )
    );
    assert!(matches!(err.kind(), InputErrorKind::Pkcs12WrongPassword));

    let path = data("valid/corridor-cert-eap.json");
    let err = import_file(&path, &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: auth.client_certificate.pkcs12.file: wrong PKCS#12 password (the container's integrity check failed)",
            path.display()
        )
    );
}

#[test]
fn broken_referenced_files() {
    let key = canonical("pki/not-a-key.pem");
    assert_eq!(
        error_of("bad-key-file.json", &no_password()),
        format!(
            "<file>: auth.client_certificate.pem.private_key_file: {}: PEM section is not terminated (no \"-----END PRIVATE KEY-----\" line); the text may be truncated",
            key.display()
        )
    );
    let text = br#"{"format": "corridor-profile", "version": 1, "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000b1",
        "name": "Missing CA", "gateway": {"host": "vpn.example.com"},
        "trust": {"ca": [{"file": "/nonexistent/ca.pem"}]}, "auth": {"method": "eap-mschapv2"}}"#;
    let err = import_bytes("mem.json", text, &no_password()).unwrap_err();
    // "/nonexistent/ca.pem" is absolute on Unix; on Windows it is made absolute on the
    // current drive. The OS's own words follow.
    let missing = std::path::absolute("/nonexistent/ca.pem").unwrap();
    let why = std::fs::read(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "mem.json: trust.ca[0].file: cannot read {}: {why}",
            missing.display()
        )
    );
    let text = br#"{"format": "corridor-profile", "version": 1, "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000b2",
        "name": "Garbage CA", "gateway": {"host": "vpn.example.com"},
        "trust": {"ca": [{"der": "aGVsbG8="}]}, "auth": {"method": "eap-mschapv2"}}"#;
    let err = import_bytes("mem.json", text, &no_password()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("mem.json: trust.ca[0].der: not an X.509 certificate"),
        "{err}"
    );
}

#[test]
fn hostile_and_broken_files() {
    assert_eq!(
        error_of("empty.sswan", &no_password()),
        "<file>: the file is empty"
    );
    assert_eq!(
        error_of("not-utf8.sswan", &no_password()),
        "<file>: the file is not UTF-8 text (invalid byte at offset 13)"
    );
    assert_eq!(
        error_of("deep.json", &no_password()),
        "<file>:1:43: JSON is nested more than 32 levels deep"
    );
    assert_eq!(
        error_of("syntax-error.sswan", &no_password()),
        "<file>:5:34: not valid JSON: EOF while parsing a string"
    );
    assert_eq!(
        error_of("not-a-profile.json", &no_password()),
        "<file>: neither a Corridor profile (no \"format\": \"corridor-profile\") nor a strongSwan .sswan profile (no \"type\" or \"remote\")"
    );
}

#[test]
fn a_50_mb_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.sswan");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..50 {
        file.write_all(&chunk).unwrap();
    }
    drop(file);
    let err = import_file(&path, &no_password()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the file is 52428800 bytes, more than the 1048576 bytes a profile may have",
            path.display()
        )
    );
    let err = import_bytes("stdin", &vec![b'{'; 2 * 1024 * 1024], &no_password()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stdin: the file is 2097152 bytes, more than the 1048576 bytes a profile may have"
    );
}

#[test]
fn deep_nesting_beyond_serde_limits_does_not_overflow() {
    let text = "[".repeat(100_000);
    let err = import_bytes("deep", text.as_bytes(), &no_password()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "deep:1:33: JSON is nested more than 32 levels deep"
    );
}

#[test]
fn other_odd_inputs() {
    let cases: &[(&[u8], &str)] = &[
        (b"   \n\t ", "x: the file is empty"),
        (b"[1, 2]", "x: expected a JSON object with the profile's settings, found an array"),
        (b"\"hello\"", "x: expected a JSON object with the profile's settings, found a string"),
        (b"{\"format\": \"openvpn\"}", "x: format: expected \"corridor-profile\", found \"openvpn\""),
        (b"{\"format\": \"corridor-profile\", \"version\": \"1\"}", "x:1:45: version: invalid type: string \"1\", expected u32"),
        (b"{} trailing", "x:1:4: not valid JSON: trailing characters"),
        // UTF-16 (as Windows tools write it) is decoded; this one is an empty object.
        (
            b"\xff\xfe{\x00}\x00",
            "x: neither a Corridor profile (no \"format\": \"corridor-profile\") nor a strongSwan .sswan profile (no \"type\" or \"remote\")",
        ),
        (b"\xff\xfe{\x00}", "x: the file is UTF-16 text with an odd number of bytes (truncated?)"),
        (
            b"<html><body>VPN</body></html>",
            "x: an XML document whose root element is <html>: expected <plist> (an Apple .mobileconfig) or <VPNProfile> (a Windows ProfileXML)",
        ),
        (
            b"client\nremote vpn.example.com 1194\nproto udp\n",
            "x: not a VPN profile this version reads: expected a Corridor profile (JSON), a strongSwan .sswan file, an Apple .mobileconfig, a Windows ProfileXML or a PowerShell script calling Add-VpnConnection",
        ),
        (b"{\"type\": \"ikev2-eap\", \"remote\": {\"addr\": \"a\"}}", "x: uuid: required key is missing"),
        (
            b"{\"uuid\": \"nope\", \"name\": \"n\", \"type\": \"ikev2-eap\", \"remote\": {\"addr\": \"a\"}}",
            "x: uuid: 'nope' is not a UUID",
        ),
        (
            b"{\"uuid\": \"d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001\", \"name\": \"n\", \"type\": \"ikev2-eap\", \"remote\": \"vpn\"}",
            "x:1:98: remote: invalid type: string \"vpn\", expected the gateway settings object",
        ),
        (
            b"{\"uuid\": \"d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001\", \"name\": \"n\", \"type\": \"ikev2-eap\", \"remote\": {\"addr\": \"vpn.example.com\", \"port\": 70000}}",
            "x: remote.port: 70000 is not a port number (1-65535)",
        ),
        (
            b"{\"uuid\": \"d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001\", \"name\": \"n\", \"type\": \"ikev2-eap\", \"remote\": {\"addr\": \"vpn.example.com:443\"}}",
            "x: remote.addr: must not contain a port; put 443 in gateway.port",
        ),
        (
            b"{\"uuid\": \"d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001\", \"name\": \"n\", \"type\": \"ikev2-eap\", \"remote\": {\"addr\": \"vpn.example.com\"}, \"dns-servers\": [\"10.0.0.1\", 5]}",
            "x:1:151: dns-servers[1]: invalid type: integer `5`, expected a string",
        ),
    ];
    for (bytes, expected) in cases {
        let err = import_bytes("x", bytes, &no_password()).unwrap_err();
        assert_eq!(err.to_string(), *expected);
    }
}

#[test]
fn a_directory_or_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = import_file(dir.path(), &no_password()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: cannot read the file: it is a directory",
            dir.path().display()
        )
    );
    let missing = dir.path().join("nope.sswan");
    let err = import_file(&missing, &no_password()).unwrap_err();
    // The OS's own words: "No such file or directory (os error 2)" on Unix.
    let words = std::fs::read(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: cannot read the file: {words}", missing.display())
    );
}

#[test]
fn fuzz_like_mutations_never_panic() {
    // Truncate and corrupt a real profile at every position: each must give an error or a
    // profile, never a panic.
    let original = std::fs::read(data("valid/split-proxy-apps.sswan")).unwrap();
    for cut in (0..original.len()).step_by(7) {
        let _ = import_bytes("cut", &original[..cut], &no_password());
        let mut flipped = original.clone();
        flipped[cut] ^= 0x20;
        let _ = import_bytes("flipped", &flipped, &no_password());
    }
}
