//! Client profiles for a running lab, for Corridor to import.
//!
//! - `.sswan`: the JSON format of strongSwan's Android app ("VPN Profile Import"), with
//!   the CA certificate and PKCS#12 bundle embedded as base64. It has no PSK type.
//! - Corridor's own profile format (`docs/profile-format.md`), which covers every scenario
//!   and refers to the lab's files by absolute path.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::config::{ClientCert, LabConfig, Scenario};
use crate::credentials::{EAP_IDENTITY, EAP_TLS_IDENTITY, PSK};
use crate::pki::Pki;
use crate::plan::{GATEWAY_FQDN, GATEWAY_WAN_V4, LAN_V4, LAN_V6};

/// Choices for a generated profile.
#[derive(Clone, Debug)]
pub struct ProfileOptions {
    /// The client certificate for [`Scenario::Cert`].
    pub client_cert: ClientCert,
    /// Where the client sends IKE (default: the gateway's wan IPv4 address).
    pub remote_addr: IpAddr,
    /// The profile's display name (default: `Corridor lab (<scenario>)`).
    pub name: Option<String>,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        Self {
            client_cert: ClientCert::Ecdsa,
            remote_addr: GATEWAY_WAN_V4,
            name: None,
        }
    }
}

fn display_name(config: &LabConfig, opts: &ProfileOptions) -> String {
    opts.name
        .clone()
        .unwrap_or_else(|| format!("Corridor lab ({})", config.scenario))
}

/// The CA that issued the gateway's certificate.
fn gateway_ca(config: &LabConfig, pki: &Pki) -> (PathBuf, PathBuf) {
    if config.long_chain {
        (pki.long_root_pem(), pki.long_root_der())
    } else {
        (pki.ca_pem(), pki.ca_der())
    }
}

fn split_subnets(config: &LabConfig) -> Vec<String> {
    let mut subnets = vec![LAN_V4.to_string()];
    if config.ipv6 {
        subnets.push(LAN_V6.to_string());
    }
    subnets
}

fn read_b64(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(B64.encode(bytes))
}

/// A strongSwan `.sswan` profile for the lab's scenario.
pub(crate) fn sswan(config: &LabConfig, pki: &Pki, opts: &ProfileOptions) -> Result<Value> {
    let (kind, local) = match config.scenario {
        Scenario::EapMschapv2 => ("ikev2-eap", json!({ "eap_id": EAP_IDENTITY })),
        Scenario::Cert => (
            "ikev2-cert",
            json!({ "p12": read_b64(&pki.client_p12(opts.client_cert))? }),
        ),
        Scenario::EapTls => (
            "ikev2-eap-tls",
            json!({ "p12": read_b64(&pki.eap_tls_p12())? }),
        ),
        Scenario::Psk => {
            bail!("the .sswan format has no pre-shared key type; use the Corridor profile")
        }
    };
    let (_, ca_der) = gateway_ca(config, pki);
    let mut profile = json!({
        "uuid": uuid::Uuid::new_v4().to_string(),
        "name": display_name(config, opts),
        "type": kind,
        "remote": {
            "addr": opts.remote_addr.to_string(),
            "id": GATEWAY_FQDN,
            "cert": read_b64(&ca_der)?,
        },
        "local": local,
        "ike-proposal": config.ike_proposals.first().cloned().unwrap_or_default(),
        "esp-proposal": config.esp_proposals.first().cloned().unwrap_or_default(),
    });
    if !config.full_tunnel {
        profile["split-tunneling"] = json!({ "subnets": split_subnets(config) });
    }
    Ok(profile)
}

/// A Corridor profile (format version 1) for the lab's scenario.
pub(crate) fn corridor(config: &LabConfig, pki: &Pki, opts: &ProfileOptions) -> Result<Value> {
    let p12_file = |path: PathBuf| json!({ "pkcs12": { "file": path.display().to_string() } });
    let auth = match config.scenario {
        Scenario::EapMschapv2 => json!({ "method": "eap-mschapv2", "eap_identity": EAP_IDENTITY }),
        Scenario::Cert => json!({
            "method": "cert",
            "client_certificate": p12_file(pki.client_p12(opts.client_cert)),
        }),
        Scenario::EapTls => json!({
            "method": "eap-tls",
            "eap_identity": EAP_TLS_IDENTITY,
            "client_certificate": p12_file(pki.eap_tls_p12()),
        }),
        Scenario::Psk => json!({ "method": "psk", "psk": PSK }),
    };
    let mut profile = json!({
        "format": "corridor-profile",
        "version": 1,
        "id": uuid::Uuid::new_v4().to_string(),
        "name": display_name(config, opts),
        "gateway": {
            "host": opts.remote_addr.to_string(),
            "identity": { "fqdn": GATEWAY_FQDN },
        },
        "auth": auth,
        "proposals": { "ike": config.ike_proposals, "esp": config.esp_proposals },
    });
    if config.scenario.gateway_uses_certificate() {
        let (ca_pem, _) = gateway_ca(config, pki);
        profile["trust"] = json!({ "ca": [ { "file": ca_pem.display().to_string() } ] });
    }
    profile["routing"] = if config.full_tunnel {
        json!({ "mode": "full" })
    } else {
        json!({ "mode": "split", "include": split_subnets(config) })
    };
    Ok(profile)
}

/// Writes `profile` as pretty JSON to `path`.
pub(crate) fn write(path: &Path, profile: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(profile).context("encoding a profile")?;
    fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
