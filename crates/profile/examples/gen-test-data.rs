//! Regenerates the sample profiles and test PKI under `tests/data/profiles/`.
//!
//! ```text
//! cargo run -p corridor-profile --example gen-test-data
//! ```
//!
//! Makes a test CA and a client certificate with rcgen, packs the client key into PKCS#12
//! containers with p12-keystore (modern AES-256/PBKDF2 and legacy 3DES), and, when the
//! `openssl` command is available, also with OpenSSL 3 (default and `-legacy`) to prove
//! interoperability. Then writes the valid and invalid sample profiles that embed them.
//! Keys are random, so every run changes the binary files; the subjects, names and ids
//! the tests check stay the same. The 50 MB file is not here: the tests make it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

/// The password of every test PKCS#12 container.
const P12_PASSWORD: &str = "corridor-test";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "CH");
    dn.push(DnType::OrganizationName, "Corridor Test");
    dn.push(DnType::CommonName, cn);
    dn
}

struct Pki {
    ca_pem: String,
    ca_der: Vec<u8>,
    p12: Vec<u8>,
}

fn make_pki(dir: &Path) -> Result<Pki> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name = dn("Corridor Test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let client_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = dn("alice");
    params.subject_alt_names = vec![SanType::Rfc822Name("alice@example.com".try_into()?)];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let client = params.signed_by(&client_key, &ca)?;

    let ca_der = ca.der().to_vec();
    let ca_pem = ca.pem();
    fs::write(dir.join("ca.pem"), &ca_pem)?;
    fs::write(dir.join("ca.der"), &ca_der)?;
    fs::write(dir.join("client.pem"), client.pem())?;
    fs::write(dir.join("client.key"), client_key.serialize_pem())?;
    fs::write(
        dir.join("not-a-key.pem"),
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n",
    )?;

    let chain = PrivateKeyChain::new(
        b"alice".as_slice(),
        PrivateKey::from_der(&client_key.serialize_der())?,
        [
            Certificate::from_der(client.der())?,
            Certificate::from_der(&ca_der)?,
        ],
    );
    let mut store = KeyStore::new();
    store.add_entry("alice", KeyStoreEntry::PrivateKeyChain(chain));
    let p12 = store.writer(P12_PASSWORD).write()?;
    fs::write(dir.join("client.p12"), &p12)?;
    let legacy = store
        .writer(P12_PASSWORD)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .encryption_iterations(2048)
        .mac_iterations(2048)
        .write()?;
    fs::write(dir.join("client-3des.p12"), &legacy)?;
    fs::write(dir.join("truncated.p12"), &p12[..p12.len() / 2])?;

    openssl_p12(dir, "client-openssl3.p12", &[]);
    openssl_p12(dir, "client-openssl-legacy.p12", &["-legacy"]);
    Ok(Pki {
        ca_pem,
        ca_der,
        p12,
    })
}

/// Packs the client key with the `openssl` command, if there is one.
fn openssl_p12(dir: &Path, out: &str, extra: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args([
            "pkcs12",
            "-export",
            "-in",
            "client.pem",
            "-inkey",
            "client.key",
        ])
        .args(["-certfile", "ca.pem", "-name", "alice", "-out", out])
        .args(["-passout", &format!("pass:{P12_PASSWORD}")])
        .args(extra)
        .status();
    match status {
        Ok(s) if s.success() => println!("wrote pki/{out} with openssl"),
        _ => println!("skipped pki/{out}: the openssl command failed or is missing"),
    }
}

/// A sample file: where it goes and its text, with `{ca_der}`, `{ca_pem_b64}`, `{ca_pem}`,
/// `{p12}` and `{p12_truncated}` replaced.
const SAMPLES: &[(&str, &str)] = &[
    // .sswan, one of each type.
    (
        "valid/eap.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001",
  "name": "Corp VPN (EAP)",
  "type": "ikev2-eap",
  "remote": {
    "addr": "vpn.example.com",
    "port": 4500,
    "id": "vpn.example.com",
    "cert": "{ca_der}"
  },
  "local": {
    "eap_id": "alice",
    "shared_secret": "s3cret-password"
  },
  "ike-proposal": "aes256gcm16-prfsha384-ecp384",
  "esp-proposal": "aes256gcm16-ecp384",
  "dns-servers": "10.0.0.53 2001:db8::53",
  "mtu": 1400,
  "nat-keepalive": 25
}
"#,
    ),
    (
        "valid/cert.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0002",
  "name": "Corp VPN (certificate)",
  "type": "ikev2-cert",
  "remote": {
    "addr": "192.0.2.10",
    "id": "@vpn.example.com",
    "cert": "{ca_pem_b64}",
    "certreq": false
  },
  "local": {
    "p12": "{p12}",
    "rsa-pss": true,
    "eap_id": "ignored"
  },
  "dns-servers": ["10.0.0.53", "10.0.1.53"],
  "ike-proposal": "aes128-sha256-modp2048,aes256-sha384-modp3072",
  "esp-proposal": "aes128-sha256-esn"
}
"#,
    ),
    (
        "valid/cert-eap.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0003",
  "name": "Corp VPN (certificate + EAP)",
  "type": "ikev2-cert-eap",
  "remote": { "addr": "vpn.example.com", "cert": "{ca_der}" },
  "local": { "id": "alice@example.com", "eap_id": "alice", "p12": "{p12}" }
}
"#,
    ),
    (
        "valid/eap-tls.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0004",
  "name": "Corp VPN (EAP-TLS)",
  "type": "ikev2-eap-tls",
  "remote": { "addr": "vpn.example.com", "cert": "{ca_der}" },
  "local": { "p12": "{p12}" },
  "ike-proposal": "chacha20poly1305-prfsha256-curve25519",
  "esp-proposal": "chacha20poly1305"
}
"#,
    ),
    (
        "valid/byod-eap.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0005",
  "name": "Corp VPN (BYOD)",
  "type": "ikev2-byod-eap",
  "remote": { "addr": "vpn.example.com" },
  "local": { "eap_id": "bob" }
}
"#,
    ),
    (
        "valid/split-proxy-apps.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0006",
  "name": "Branch office",
  "type": "ikev2-eap",
  "remote": {
    "addr": "branch.example.com",
    "cert": "{ca_der}",
    "certreq": "true",
    "revocation": { "crl": false, "ocsp": true, "strict": true }
  },
  "local": { "eap_id": "carol", "id": "carol@example.com" },
  "split-tunneling": {
    "subnets": ["10.0.0.0/8", "192.168.1.10 - 192.168.1.20", "2001:db8::/32"],
    "excluded": "10.99.0.1/16 192.168.1.15",
    "block-ipv4": true,
    "block-ipv6": "false"
  },
  "proxy": { "host": "proxy.example.com", "port": 3128, "exclusions": ["intranet.example.com"] },
  "apps": ["com.example.mail"],
  "excluded-apps": "com.example.game",
  "ipv6-transport": true,
  "favourite-colour": "blue"
}
"#,
    ),
    // Corridor profiles, one per authentication method.
    (
        "valid/corridor-eap-mschapv2.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c000001",
  "name": "HQ (password)",
  "gateway": {
    "host": "vpn.example.com",
    "identity": { "fqdn": "vpn.example.com" }
  },
  "trust": { "ca": [ { "file": "../pki/ca.pem" } ] },
  "auth": { "method": "eap-mschapv2", "eap_identity": "alice" },
  "proposals": {
    "ike": ["aes256gcm16-prfsha384-ecp384", "aes256-sha384-modp3072"],
    "esp": ["aes256gcm16", "aes256-sha256-modp3072-esn"]
  },
  "routing": { "mode": "split", "include": ["10.0.0.0/8", "2001:db8::/32"], "exclude": ["10.9.0.0/16"] },
  "dns": { "servers": ["10.0.0.53"], "search_domains": ["corp.example.com"], "match_domains": ["corp.example.com", "example.net"] },
  "transport": { "mtu": 1400, "nat_keepalive_secs": 30, "force_udp_encapsulation": true }
}
"#,
    ),
    (
        "valid/corridor-eap-tls.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c000002",
  "name": "HQ (EAP-TLS)",
  "gateway": { "host": "vpn.example.com" },
  "trust": { "ca": [ { "der": "{ca_der}" } ] },
  "auth": { "method": "eap-tls", "client_certificate": { "pkcs12": { "base64": "{p12}" } } }
}
"#,
    ),
    (
        "valid/corridor-cert.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c000003",
  "name": "HQ (certificate)",
  "gateway": { "host": "2001:db8::10", "port": 4500, "identity": { "dn": "C=CH, O=Corridor Test, CN=gateway" } },
  "trust": { "ca": [ { "pem": "{ca_pem}" } ], "revocation": { "strict": true } },
  "auth": {
    "method": "cert",
    "local_identity": { "email": "alice@example.com" },
    "client_certificate": { "pem": { "certificate": { "file": "../pki/client.pem" }, "private_key_file": "../pki/client.key" } },
    "rsa_pss": true
  },
  "transport": { "ipv6_transport": true }
}
"#,
    ),
    (
        "valid/corridor-psk.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c000004",
  "name": "Lab (PSK)",
  "gateway": { "host": "198.18.0.1", "identity": { "ipv4": "198.18.0.1" } },
  "auth": { "method": "psk", "local_identity": { "key_id": "0a0b0c" }, "psk": "lab-shared-key" }
}
"#,
    ),
    (
        "valid/corridor-cert-eap.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c000005",
  "name": "HQ (certificate + EAP)",
  "gateway": { "host": "vpn.example.com" },
  "trust": { "system_roots": true },
  "auth": { "method": "cert+eap", "eap_identity": "alice", "client_certificate": { "pkcs12": { "file": "../pki/client.p12" } } }
}
"#,
    ),
    // Invalid inputs; tests/errors.rs checks the exact message for each.
    (
        "invalid/port-wrong-type.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a1",
  "name": "Bad port",
  "gateway": { "host": "vpn.example.com", "port": "500" },
  "auth": { "method": "psk" }
}
"#,
    ),
    (
        "invalid/port-zero.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a2",
  "name": "Port zero",
  "gateway": { "host": "vpn.example.com", "port": 0 },
  "auth": { "method": "psk" }
}
"#,
    ),
    (
        "invalid/empty-host.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a3",
  "name": "No host",
  "gateway": { "host": "" },
  "auth": { "method": "psk" }
}
"#,
    ),
    (
        "invalid/prefix-too-long.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a4",
  "name": "Bad prefix",
  "gateway": { "host": "vpn.example.com" },
  "auth": { "method": "psk" },
  "routing": { "mode": "split", "include": ["10.0.0.0/8", "10.1.0.0/33"] }
}
"#,
    ),
    (
        "invalid/eap-tls-without-cert.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a5",
  "name": "No certificate",
  "gateway": { "host": "vpn.example.com" },
  "trust": { "system_roots": true },
  "auth": { "method": "eap-tls" }
}
"#,
    ),
    (
        "invalid/mtu-too-small.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a6",
  "name": "Small MTU",
  "gateway": { "host": "vpn.example.com" },
  "auth": { "method": "psk" },
  "transport": { "mtu": 1000 }
}
"#,
    ),
    (
        "invalid/unknown-field.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a7",
  "name": "Typo",
  "gateway": { "host": "vpn.example.com", "prot": 500 },
  "auth": { "method": "psk" }
}
"#,
    ),
    (
        "invalid/version-2.json",
        r#"{
  "format": "corridor-profile",
  "version": 2,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a8",
  "name": "From the future"
}
"#,
    ),
    (
        "invalid/bad-proposal.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a9",
  "name": "Weak",
  "gateway": { "host": "vpn.example.com" },
  "auth": { "method": "psk" },
  "proposals": { "ike": ["aes256gcm16-prfsha384-ecp384", "aes128-sha1-modp768"] }
}
"#,
    ),
    (
        "invalid/truncated-p12-file.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000aa",
  "name": "Truncated container",
  "gateway": { "host": "vpn.example.com" },
  "trust": { "system_roots": true },
  "auth": { "method": "cert", "client_certificate": { "pkcs12": { "file": "../pki/truncated.p12" } } }
}
"#,
    ),
    (
        "invalid/bad-key-file.json",
        r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000ab",
  "name": "Broken key",
  "gateway": { "host": "vpn.example.com" },
  "trust": { "system_roots": true },
  "auth": { "method": "cert", "client_certificate": { "pem": { "certificate": { "file": "../pki/client.pem" }, "private_key_file": "../pki/not-a-key.pem" } } }
}
"#,
    ),
    (
        "invalid/unknown-type.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b00a1",
  "name": "PSK is not a .sswan type",
  "type": "ikev2-psk",
  "remote": { "addr": "vpn.example.com" }
}
"#,
    ),
    (
        "invalid/bad-base64.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b00a2",
  "name": "Bad certificate",
  "type": "ikev2-eap",
  "remote": { "addr": "vpn.example.com", "cert": "MIIB$not-base64" }
}
"#,
    ),
    (
        "invalid/truncated-p12.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b00a3",
  "name": "Truncated container",
  "type": "ikev2-cert",
  "remote": { "addr": "vpn.example.com" },
  "local": { "p12": "{p12_truncated}" }
}
"#,
    ),
    (
        "invalid/wrong-types.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b00a4",
  "name": "Wrong types",
  "type": "ikev2-eap",
  "remote": { "addr": "vpn.example.com", "port": "four thousand" }
}
"#,
    ),
    (
        "invalid/missing-remote.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b00a5",
  "name": "No gateway",
  "type": "ikev2-eap"
}
"#,
    ),
    (
        "invalid/weak-proposal.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b00a6",
  "name": "Weak proposal",
  "type": "ikev2-eap",
  "remote": { "addr": "vpn.example.com" },
  "ike-proposal": "3des-md5-modp1024"
}
"#,
    ),
    (
        "invalid/bad-subnet.sswan",
        r#"{
  "uuid": "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b00a7",
  "name": "Bad subnet",
  "type": "ikev2-eap",
  "remote": { "addr": "vpn.example.com" },
  "split-tunneling": { "subnets": "10.0.0.0/8 10.1.0.0/40" }
}
"#,
    ),
    (
        "invalid/syntax-error.sswan",
        "{\n  \"uuid\": \"d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b00a8\",\n  \"name\": \"Cut off\",\n  \"type\": \"ikev2-eap\",\n  \"remote\": { \"addr\": \"vpn.example",
    ),
    ("invalid/not-a-profile.json", "{ \"hello\": \"world\" }\n"),
    ("invalid/empty.sswan", ""),
];

fn write_samples(root: &Path, pki: &Pki) -> Result<()> {
    let p12_truncated = &pki.p12[..pki.p12.len() / 2];
    let ca_pem_json = pki.ca_pem.replace('\n', "\\n");
    for (path, template) in SAMPLES {
        let text = template
            .replace("{ca_der}", &B64.encode(&pki.ca_der))
            .replace("{ca_pem_b64}", &B64.encode(pki.ca_pem.as_bytes()))
            .replace("{ca_pem}", &ca_pem_json)
            .replace("{p12_truncated}", &B64.encode(p12_truncated))
            .replace("{p12}", &B64.encode(&pki.p12));
        fs::write(root.join(path), text)?;
    }
    // Inputs that are not text at all.
    fs::write(
        root.join("invalid/not-utf8.sswan"),
        b"{\"name\": \"caf\xe9\"}\n",
    )?;
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    fs::write(
        root.join("invalid/deep.json"),
        format!("{{\"format\": {deep}}}\n"),
    )?;
    Ok(())
}

fn main() -> Result<()> {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/profiles");
    for sub in ["pki", "valid", "invalid"] {
        fs::create_dir_all(root.join(sub))?;
    }
    let pki = make_pki(&root.join("pki"))?;
    write_samples(&root, &pki)?;
    println!("wrote test data to {}", root.display());
    Ok(())
}
