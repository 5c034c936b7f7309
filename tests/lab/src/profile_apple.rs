//! Apple configuration profiles (`.mobileconfig`) for a running lab, as IT would hand
//! them to Mac and iPhone users: an XML property list with a `com.apple.vpn.managed`
//! IKEv2 payload, the gateway's CA as a `com.apple.security.root` payload and, for
//! [`Scenario::Cert`], the client's PKCS#12 bundle as a `com.apple.security.pkcs12`
//! payload (with its password, as Apple Configurator stores it).
//!
//! Apple's IKEv2 payload has no list of routes: the traffic selectors the gateway
//! narrows to decide them, so a split-tunnel lab needs nothing more. The SA parameters
//! are the lab's default proposals in Apple's terms (AES-256-GCM, SHA2-384, group 20).

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::config::Scenario;
use crate::credentials::{EAP_IDENTITY, ECDSA_CLIENT_IDENTITY, P12_PASSWORD, RSA_CLIENT_IDENTITY};
use crate::lab::Lab;
use crate::plan::GATEWAY_FQDN;
use crate::profile::ProfileOptions;

/// The UUID of the VPN payload: the id of the imported Corridor profile.
pub const VPN_PAYLOAD_UUID: &str = "C0771D0A-0000-4000-8000-00000000A001";
const CA_UUID: &str = "C0771D0A-0000-4000-8000-00000000A002";
const P12_UUID: &str = "C0771D0A-0000-4000-8000-00000000A003";

/// A value in a property list.
enum Item {
    Str(String),
    Int(i64),
    Data(Vec<u8>),
    Dict(Vec<(&'static str, Item)>),
    Array(Vec<Item>),
}

fn s(text: &str) -> Item {
    Item::Str(text.to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn write_item(out: &mut String, item: &Item, indent: usize) {
    let pad = "\t".repeat(indent);
    match item {
        Item::Str(t) => {
            let _ = writeln!(out, "{pad}<string>{}</string>", escape(t));
        }
        Item::Int(n) => {
            let _ = writeln!(out, "{pad}<integer>{n}</integer>");
        }
        Item::Data(bytes) => {
            let _ = writeln!(out, "{pad}<data>{}</data>", B64.encode(bytes));
        }
        Item::Dict(pairs) => {
            let _ = writeln!(out, "{pad}<dict>");
            for (key, value) in pairs {
                let _ = writeln!(out, "{pad}\t<key>{}</key>", escape(key));
                write_item(out, value, indent + 1);
            }
            let _ = writeln!(out, "{pad}</dict>");
        }
        Item::Array(items) => {
            let _ = writeln!(out, "{pad}<array>");
            for value in items {
                write_item(out, value, indent + 1);
            }
            let _ = writeln!(out, "{pad}</array>");
        }
    }
}

fn sa_parameters() -> Item {
    Item::Dict(vec![
        ("EncryptionAlgorithm", s("AES-256-GCM")),
        ("IntegrityAlgorithm", s("SHA2-384")),
        ("DiffieHellmanGroup", Item::Int(20)),
        ("LifeTimeInMinutes", Item::Int(60)),
    ])
}

/// The `.mobileconfig` (XML) for the lab's scenario: [`Scenario::EapMschapv2`] (the
/// password is left for the user to type) or [`Scenario::Cert`].
pub fn mobileconfig(lab: &Lab, opts: &ProfileOptions) -> Result<String> {
    let config = lab.config();
    let pki = lab.pki();
    let (ca_file, ca_name) = if config.long_chain {
        (pki.long_root_der(), "Corridor Lab Long Chain Root CA")
    } else {
        (pki.ca_der(), "Corridor Lab Root CA")
    };
    let ca = fs::read(&ca_file).with_context(|| format!("reading {}", ca_file.display()))?;
    let mut ikev2 = vec![
        ("RemoteAddress", s(&opts.remote_addr.to_string())),
        ("RemoteIdentifier", s(GATEWAY_FQDN)),
        ("ServerCertificateIssuerCommonName", s(ca_name)),
        ("IKESecurityAssociationParameters", sa_parameters()),
        ("ChildSecurityAssociationParameters", sa_parameters()),
        ("EnablePFS", Item::Int(0)),
        ("DeadPeerDetectionRate", s("Medium")),
        ("DisableMOBIKE", Item::Int(0)),
    ];
    let mut payloads = Vec::new();
    match config.scenario {
        Scenario::EapMschapv2 => ikev2.extend([
            ("LocalIdentifier", s(EAP_IDENTITY)),
            ("AuthenticationMethod", s("None")),
            ("ExtendedAuthEnabled", Item::Int(1)),
            ("AuthName", s(EAP_IDENTITY)),
        ]),
        Scenario::Cert => {
            let identity = match opts.client_cert {
                crate::config::ClientCert::Ecdsa => ECDSA_CLIENT_IDENTITY,
                crate::config::ClientCert::Rsa => RSA_CLIENT_IDENTITY,
            };
            ikev2.extend([
                ("LocalIdentifier", s(identity)),
                ("AuthenticationMethod", s("Certificate")),
                ("ExtendedAuthEnabled", Item::Int(0)),
                ("PayloadCertificateUUID", s(P12_UUID)),
            ]);
            let p12_file = pki.client_p12(opts.client_cert);
            let p12 =
                fs::read(&p12_file).with_context(|| format!("reading {}", p12_file.display()))?;
            payloads.push(Item::Dict(vec![
                ("PayloadType", s("com.apple.security.pkcs12")),
                ("PayloadIdentifier", s("example.corp.lab.identity")),
                ("PayloadUUID", s(P12_UUID)),
                ("PayloadVersion", Item::Int(1)),
                ("PayloadDisplayName", s(identity)),
                ("PayloadCertificateFileName", s("client.p12")),
                ("Password", s(P12_PASSWORD)),
                ("PayloadContent", Item::Data(p12)),
            ]));
        }
        other => bail!("no .mobileconfig for the {other} scenario (EAP-MSCHAPv2 and Cert only)"),
    }
    if config.full_tunnel {
        ikev2.push(("IncludeAllNetworks", Item::Int(1)));
    }
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| format!("Corridor lab ({})", config.scenario));
    payloads.insert(
        0,
        Item::Dict(vec![
            ("PayloadType", s("com.apple.vpn.managed")),
            ("PayloadIdentifier", s("example.corp.lab.vpn")),
            ("PayloadUUID", s(VPN_PAYLOAD_UUID)),
            ("PayloadVersion", Item::Int(1)),
            ("PayloadDisplayName", s("VPN")),
            ("UserDefinedName", s(&name)),
            ("VPNType", s("IKEv2")),
            ("IKEv2", Item::Dict(ikev2)),
        ]),
    );
    payloads.push(Item::Dict(vec![
        ("PayloadType", s("com.apple.security.root")),
        ("PayloadIdentifier", s("example.corp.lab.ca")),
        ("PayloadUUID", s(CA_UUID)),
        ("PayloadVersion", Item::Int(1)),
        ("PayloadDisplayName", s(ca_name)),
        ("PayloadContent", Item::Data(ca)),
    ]));
    let root = Item::Dict(vec![
        ("PayloadContent", Item::Array(payloads)),
        ("PayloadDisplayName", s(&name)),
        ("PayloadIdentifier", s("example.corp.lab")),
        ("PayloadOrganization", s("Corridor lab")),
        ("PayloadType", s("Configuration")),
        ("PayloadUUID", s("C0771D0A-0000-4000-8000-00000000A000")),
        ("PayloadVersion", Item::Int(1)),
    ]);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n",
    );
    write_item(&mut out, &root, 0);
    out.push_str("</plist>\n");
    Ok(out)
}

/// Writes the default `.mobileconfig` to `<lab dir>/lab.mobileconfig` and returns its
/// path.
pub fn write_mobileconfig(lab: &Lab) -> Result<PathBuf> {
    let path = lab.dir().join("lab.mobileconfig");
    let text = mobileconfig(lab, &ProfileOptions::default())?;
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
