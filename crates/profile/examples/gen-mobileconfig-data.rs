//! Writes the Apple `.mobileconfig` samples under `tests/data/profiles/{valid,invalid}/`.
//!
//! ```text
//! cargo run -p corridor-profile --example gen-mobileconfig-data
//! ```
//!
//! The profiles are shaped like those Apple Configurator and MDM servers write: a
//! `Configuration` with a `com.apple.vpn.managed` IKEv2 payload, certificate payloads and
//! the odd unrelated payload. They embed the test PKI of `tests/data/profiles/pki`
//! (made by the `gen-test-data` example), so run that first when the PKI changes. Signed
//! samples need the `openssl` command: a throwaway signing certificate is made for each
//! run and the profile is signed with `openssl cms -sign -nodetach -outform DER`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use plist::{Dictionary, Value};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CA_UUID: &str = "6C7A2F0E-3B1D-4E55-9A8B-0F1E2D3C4B01";
const P12_UUID: &str = "6C7A2F0E-3B1D-4E55-9A8B-0F1E2D3C4B02";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/profiles")
}

fn dict(pairs: Vec<(&str, Value)>) -> Value {
    Value::Dictionary(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Dictionary>(),
    )
}

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn i(n: i64) -> Value {
    Value::Integer(n.into())
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|t| s(t)).collect())
}

/// The keys every payload carries.
fn payload(kind: &str, id: &str, uuid: &str, name: &str, mut rest: Vec<(&str, Value)>) -> Value {
    let mut pairs = vec![
        ("PayloadType", s(kind)),
        ("PayloadIdentifier", s(id)),
        ("PayloadUUID", s(uuid)),
        ("PayloadVersion", i(1)),
        ("PayloadDisplayName", s(name)),
    ];
    pairs.append(&mut rest);
    dict(pairs)
}

fn profile(name: &str, uuid: &str, content: Vec<Value>) -> Value {
    dict(vec![
        ("PayloadContent", Value::Array(content)),
        ("PayloadDisplayName", s(name)),
        ("PayloadIdentifier", s("com.example.corp.vpn")),
        ("PayloadOrganization", s("Example Corp IT")),
        (
            "PayloadDescription",
            s("Remote access to the Example Corp network"),
        ),
        ("PayloadRemovalDisallowed", Value::Boolean(false)),
        ("PayloadType", s("Configuration")),
        ("PayloadUUID", s(uuid)),
        ("PayloadVersion", i(1)),
    ])
}

fn root_ca(pki: &Path) -> Result<Value> {
    Ok(payload(
        "com.apple.security.root",
        "com.example.corp.vpn.ca",
        CA_UUID,
        "Corridor Test CA",
        vec![
            ("PayloadCertificateFileName", s("ca.cer")),
            ("PayloadContent", Value::Data(fs::read(pki.join("ca.der"))?)),
        ],
    ))
}

fn pkcs12(pki: &Path, password: Option<&str>) -> Result<Value> {
    let mut rest = vec![
        ("PayloadCertificateFileName", s("alice.p12")),
        (
            "PayloadContent",
            Value::Data(fs::read(pki.join("client.p12"))?),
        ),
    ];
    if let Some(pw) = password {
        rest.push(("Password", s(pw)));
    }
    Ok(payload(
        "com.apple.security.pkcs12",
        "com.example.corp.vpn.identity",
        P12_UUID,
        "alice",
        rest,
    ))
}

fn vpn(uuid: &str, name: &str, ikev2: Vec<(&str, Value)>, extra: Vec<(&str, Value)>) -> Value {
    let mut rest = vec![
        ("UserDefinedName", s(name)),
        ("VPNType", s("IKEv2")),
        ("IKEv2", dict(ikev2)),
    ];
    rest.extend(extra);
    payload(
        "com.apple.vpn.managed",
        "com.example.corp.vpn.ikev2",
        uuid,
        "VPN",
        rest,
    )
}

fn sa(enc: &str, integ: &str, group: i64, minutes: i64) -> Value {
    dict(vec![
        ("EncryptionAlgorithm", s(enc)),
        ("IntegrityAlgorithm", s(integ)),
        ("DiffieHellmanGroup", i(group)),
        ("LifeTimeInMinutes", i(minutes)),
    ])
}

/// EAP-MSCHAPv2 with split DNS and proposals, a root CA and a Wi-Fi payload.
fn eap(pki: &Path) -> Result<Value> {
    let ikev2 = vec![
        ("RemoteAddress", s("vpn.example.com")),
        ("RemoteIdentifier", s("vpn.example.com")),
        ("LocalIdentifier", s("alice@example.com")),
        ("AuthenticationMethod", s("None")),
        ("ExtendedAuthEnabled", i(1)),
        ("AuthName", s("alice")),
        ("AuthPassword", s("s3cret-password")),
        ("ServerCertificateIssuerCommonName", s("Corridor Test CA")),
        ("ServerCertificateCommonName", s("vpn.example.com")),
        ("DeadPeerDetectionRate", s("Medium")),
        ("DisableMOBIKE", i(0)),
        ("DisableRedirect", i(1)),
        ("EnablePFS", i(1)),
        ("UseConfigurationAttributeInternalIPSubnet", i(0)),
        ("NATKeepAliveOffloadEnable", i(1)),
        ("NATKeepAliveInterval", i(30)),
        ("MTU", i(1400)),
        ("OnDemandEnabled", i(0)),
        (
            "IKESecurityAssociationParameters",
            sa("AES-256-GCM", "SHA2-384", 20, 1440),
        ),
        (
            "ChildSecurityAssociationParameters",
            sa("AES-256-GCM", "SHA2-384", 20, 480),
        ),
    ];
    let extra = vec![
        (
            "DNS",
            dict(vec![
                ("ServerAddresses", strings(&["10.0.0.53", "2001:db8::53"])),
                ("DomainName", s("corp.example.com")),
                ("SearchDomains", strings(&["corp.example.com"])),
                (
                    "SupplementalMatchDomains",
                    strings(&["corp.example.com", "example.net"]),
                ),
                ("SupplementalMatchDomainsNoSearch", i(1)),
            ]),
        ),
        ("Proxies", dict(vec![("HTTPEnable", i(0))])),
    ];
    Ok(profile(
        "Example Corp VPN",
        "0B5E6F1A-2C3D-4E5F-8091-A2B3C4D5E600",
        vec![
            vpn(
                "0B5E6F1A-2C3D-4E5F-8091-A2B3C4D5E601",
                "Example Corp (EAP)",
                ikev2,
                extra,
            ),
            root_ca(pki)?,
            payload(
                "com.apple.wifi.managed",
                "com.example.corp.wifi",
                "0B5E6F1A-2C3D-4E5F-8091-A2B3C4D5E602",
                "Office Wi-Fi",
                vec![("SSID_STR", s("Office")), ("EncryptionType", s("WPA2"))],
            ),
        ],
    ))
}

/// Certificate authentication, full tunnel, with the identity's password and a PEM CA.
fn cert(pki: &Path) -> Result<Value> {
    let ikev2 = vec![
        ("RemoteAddress", s("198.51.100.7")),
        ("RemoteIdentifier", s("vpn.example.com")),
        ("LocalIdentifier", s("alice@example.com")),
        ("AuthenticationMethod", s("Certificate")),
        ("ExtendedAuthEnabled", i(0)),
        ("CertificateType", s("ECDSA256")),
        ("PayloadCertificateUUID", s(P12_UUID)),
        ("EnableCertificateRevocationCheck", i(1)),
        ("IncludeAllNetworks", i(1)),
        ("ExcludeLocalNetworks", i(1)),
        ("ExcludeAPNs", i(1)),
        (
            "PPK",
            Value::Data(b"0123456789abcdef0123456789abcdef".to_vec()),
        ),
        ("PPKIdentifier", s("corp-ppk-1")),
        ("PPKMandatory", i(0)),
        (
            "IKESecurityAssociationParameters",
            sa("AES-256", "SHA2-256", 14, 1440),
        ),
    ];
    let pem = fs::read(pki.join("ca.pem"))?;
    Ok(profile(
        "Example Corp VPN (certificate)",
        "1C6F7A2B-3D4E-4F50-8192-B3C4D5E6F700",
        vec![
            pkcs12(pki, Some("corridor-test"))?,
            payload(
                "com.apple.security.pem",
                "com.example.corp.vpn.ca-pem",
                CA_UUID,
                "Corridor Test CA",
                vec![("PayloadContent", Value::Data(pem))],
            ),
            vpn(
                "1C6F7A2B-3D4E-4F50-8192-B3C4D5E6F701",
                "Example Corp (certificate)",
                ikev2,
                vec![],
            ),
        ],
    ))
}

/// A shared secret, next to an L2TP payload that is left out.
fn psk() -> Value {
    let ikev2 = vec![
        ("RemoteAddress", s("vpn.example.com")),
        ("RemoteIdentifier", s("vpn.example.com")),
        ("LocalIdentifier", s("branch-7.example.com")),
        ("AuthenticationMethod", s("SharedSecret")),
        ("SharedSecret", s("branch-office-shared-secret-2024")),
        (
            "IKESecurityAssociationParameters",
            sa("AES-128-GCM", "SHA2-256", 19, 1440),
        ),
        ("DeadPeerDetectionRate", s("High")),
    ];
    let l2tp = payload(
        "com.apple.vpn.managed",
        "com.example.corp.vpn.l2tp",
        "2D7A8B3C-4E5F-4061-92A3-C4D5E6F70802",
        "Legacy VPN",
        vec![
            ("UserDefinedName", s("Example Corp (L2TP)")),
            ("VPNType", s("L2TP")),
            (
                "PPP",
                dict(vec![
                    ("AuthName", s("alice")),
                    ("CommRemoteAddress", s("l2tp.example.com")),
                ]),
            ),
        ],
    );
    profile(
        "Example Corp branch VPN",
        "2D7A8B3C-4E5F-4061-92A3-C4D5E6F70800",
        vec![
            vpn(
                "2D7A8B3C-4E5F-4061-92A3-C4D5E6F70801",
                "Example Corp branch (PSK)",
                ikev2,
                vec![],
            ),
            l2tp,
        ],
    )
}

/// EAP-TLS: a certificate with extended authentication; the container's password is
/// not in the profile.
fn eap_tls(pki: &Path) -> Result<Value> {
    let ikev2 = vec![
        ("RemoteAddress", s("vpn.example.com")),
        ("RemoteIdentifier", s("vpn.example.com")),
        ("LocalIdentifier", s("alice@example.com")),
        ("AuthenticationMethod", s("Certificate")),
        ("ExtendedAuthEnabled", i(1)),
        ("AuthName", s("alice@example.com")),
        ("PayloadCertificateUUID", s(P12_UUID)),
        ("TLSMinimumVersion", s("1.2")),
        ("OnDemandEnabled", i(1)),
        (
            "OnDemandRules",
            Value::Array(vec![dict(vec![
                ("Action", s("Connect")),
                ("InterfaceTypeMatch", s("WiFi")),
            ])]),
        ),
        (
            "ChildSecurityAssociationParameters",
            sa("ChaCha20Poly1305", "SHA2-256", 31, 60),
        ),
        (
            "IKESecurityAssociationParameters",
            sa("ChaCha20Poly1305", "SHA2-256", 31, 1440),
        ),
    ];
    Ok(profile(
        "Example Corp VPN (EAP-TLS)",
        "3E8B9C4D-5F60-4172-A3B4-D5E6F7081900",
        vec![
            vpn(
                "3E8B9C4D-5F60-4172-A3B4-D5E6F7081901",
                "Example Corp (EAP-TLS)",
                ikev2,
                vec![],
            ),
            pkcs12(pki, None)?,
            root_ca(pki)?,
        ],
    ))
}

/// The smallest EAP profile Apple's devices accept: no CA (system roots), no proposals.
fn minimal_eap() -> Value {
    let ikev2 = vec![
        ("RemoteAddress", s("vpn.example.org")),
        ("RemoteIdentifier", s("vpn.example.org")),
        ("LocalIdentifier", s("bob")),
        ("AuthenticationMethod", s("None")),
        ("ExtendedAuthEnabled", Value::Boolean(true)),
        ("AuthName", s("bob")),
    ];
    profile(
        "Example Org VPN",
        "4F9CAD5E-6071-4283-B4C5-E6F708192A00",
        vec![vpn(
            "4F9CAD5E-6071-4283-B4C5-E6F708192A01",
            "Example Org",
            ikev2,
            vec![],
        )],
    )
}

fn xml(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    value.to_writer_xml(&mut out)?;
    out.push(b'\n');
    Ok(out)
}

fn binary(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    value.to_writer_binary(&mut out)?;
    Ok(out)
}

/// Signs `content` with a new signing certificate (`openssl req` key options); returns
/// the DER `ContentInfo`.
fn sign(content: &[u8], newkey: &[&str], work: &Path) -> Result<Vec<u8>> {
    let key = work.join("signer.key");
    let cert = work.join("signer.pem");
    let input = work.join("content");
    let output = work.join("signed.der");
    fs::write(&input, content)?;
    let mut req = Command::new("openssl");
    req.args(["req", "-x509", "-nodes", "-days", "3650"])
        .args(newkey)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-subj",
            "/C=CH/O=Example Corp IT/CN=Example Corp Profile Signing",
        ]);
    run(&mut req)?;
    let mut cms = Command::new("openssl");
    cms.args(["cms", "-sign", "-nodetach", "-binary", "-md", "sha256"])
        .args(["-outform", "DER", "-in"])
        .arg(&input)
        .arg("-signer")
        .arg(&cert)
        .arg("-inkey")
        .arg(&key)
        .arg("-out")
        .arg(&output);
    run(&mut cms)?;
    Ok(fs::read(&output)?)
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{cmd:?} failed: {err}").into());
    }
    Ok(())
}

/// Changes one byte inside the signed content.
fn tamper(der: &[u8], needle: &[u8]) -> Result<Vec<u8>> {
    let at = der
        .windows(needle.len())
        .position(|w| w == needle)
        .ok_or("content not found in the signed profile")?;
    let mut out = der.to_vec();
    out[at] ^= 0x01;
    Ok(out)
}

fn payload_mut(profile: &mut Value, index: usize) -> Option<&mut Dictionary> {
    match profile.as_dictionary_mut()?.get_mut("PayloadContent")? {
        Value::Array(items) => items.get_mut(index)?.as_dictionary_mut(),
        _ => None,
    }
}

fn set_ikev2(profile: &mut Value, index: usize, key: &str, value: Value) {
    if let Some(ikev2) = payload_mut(profile, index)
        .and_then(|p| p.get_mut("IKEv2"))
        .and_then(Value::as_dictionary_mut)
    {
        ikev2.insert(key.to_string(), value);
    }
}

fn main() -> Result<()> {
    let dir = data_dir();
    let pki = dir.join("pki");
    let valid = dir.join("valid");
    let invalid = dir.join("invalid");
    let work = tempfile::tempdir()?;

    let eap = eap(&pki)?;
    let cert = cert(&pki)?;
    let psk = psk();
    let eap_tls = eap_tls(&pki)?;
    let minimal = minimal_eap();
    let eap_xml = xml(&eap)?;
    fs::write(valid.join("apple-eap.mobileconfig"), &eap_xml)?;
    fs::write(valid.join("apple-cert.mobileconfig"), xml(&cert)?)?;
    fs::write(valid.join("apple-psk.mobileconfig"), xml(&psk)?)?;
    let tls_bin = binary(&eap_tls)?;
    fs::write(valid.join("apple-eap-tls-binary.mobileconfig"), &tls_bin)?;
    fs::write(
        valid.join("apple-minimal-binary.mobileconfig"),
        binary(&minimal)?,
    )?;
    let rsa_signed = sign(&eap_xml, &["-newkey", "rsa:2048"], work.path())?;
    fs::write(valid.join("apple-eap-signed-rsa.mobileconfig"), &rsa_signed)?;
    let ec_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let ec_signed = sign(&binary(&psk)?, &ec_key, work.path())?;
    fs::write(
        valid.join("apple-psk-signed-ecdsa.mobileconfig"),
        &ec_signed,
    )?;

    // Broken files.
    fs::write(
        invalid.join("truncated.mobileconfig"),
        &eap_xml[..eap_xml.len() / 2],
    )?;
    fs::write(
        invalid.join("truncated-binary.mobileconfig"),
        &tls_bin[..tls_bin.len() * 3 / 5],
    )?;
    let mut wrong = minimal_eap();
    set_ikev2(&mut wrong, 0, "RemoteAddress", i(443));
    fs::write(
        invalid.join("remote-address-integer.mobileconfig"),
        xml(&wrong)?,
    )?;
    let mut weak = minimal_eap();
    let weak_sa = sa("AES-256", "SHA2-256", 1, 1440);
    set_ikev2(&mut weak, 0, "IKESecurityAssociationParameters", weak_sa);
    fs::write(invalid.join("weak-dh-group.mobileconfig"), xml(&weak)?)?;
    let mut missing = cert.clone();
    let absent = s("9F9F9F9F-0000-4000-8000-000000000001");
    set_ikev2(&mut missing, 2, "PayloadCertificateUUID", absent);
    fs::write(
        invalid.join("missing-certificate.mobileconfig"),
        xml(&missing)?,
    )?;
    let mut bad_password = cert.clone();
    if let Some(p12) = payload_mut(&mut bad_password, 0) {
        p12.insert("Password".into(), s("not-the-password"));
    }
    fs::write(
        invalid.join("wrong-p12-password.mobileconfig"),
        xml(&bad_password)?,
    )?;
    let mut l2tp_only = psk.clone();
    if let Some(Value::Array(items)) = l2tp_only
        .as_dictionary_mut()
        .and_then(|d| d.get_mut("PayloadContent"))
    {
        items.remove(0);
    }
    fs::write(invalid.join("l2tp-only.mobileconfig"), xml(&l2tp_only)?)?;
    fs::write(
        invalid.join("tampered-signed.mobileconfig"),
        tamper(&rsa_signed, b"Example Corp (EAP)")?,
    )?;
    fs::write(invalid.join("billion-laughs.mobileconfig"), BILLION_LAUGHS)?;
    Ok(())
}

/// The classic entity expansion attack, in a property list.
const BILLION_LAUGHS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<plist version="1.0">
<dict>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadDisplayName</key>
	<string>&lol9;</string>
</dict>
</plist>
"#;
