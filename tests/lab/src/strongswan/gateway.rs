//! The gateway's swanctl.conf for each scenario.
//!
//! One connection, `corridor`, accepting any client on any address, with a pool of
//! virtual IPs, the LAN's DNS server, INTERNAL_DNS_DOMAIN (attribute 25, which swanctl
//! sends as a string when a pool names it by number) and either the LAN subnets (split
//! tunnel) or everything (full tunnel) as the gateway's traffic selectors. The gateway
//! always sends its certificate (some clients send no CERTREQ) and fragments IKE messages.

use std::fmt::Write as _;

use super::{CredFiles, list, quote};
use crate::config::{LabConfig, Scenario};
use crate::credentials::{EAP_IDENTITY, EAP_PASSWORD, PSK};
use crate::pki::Pki;
use crate::plan::{
    CORP_DOMAIN, GATEWAY_FQDN, LAN_HOST_V4, LAN_HOST_V6, LAN_V4, LAN_V6, POOL_V4, POOL_V6,
};

/// The connection and CHILD_SA name on the gateway.
pub const CONNECTION: &str = "corridor";

/// The traffic selectors the gateway offers.
pub(crate) fn local_ts(config: &LabConfig) -> Vec<String> {
    match (config.full_tunnel, config.ipv6) {
        (true, true) => vec!["0.0.0.0/0".into(), "::/0".into()],
        (true, false) => vec!["0.0.0.0/0".into()],
        (false, true) => vec![LAN_V4.to_string(), LAN_V6.to_string()],
        (false, false) => vec![LAN_V4.to_string()],
    }
}

/// The gateway's swanctl.conf and the credential files it needs.
pub(crate) fn config(config: &LabConfig, pki: &Pki) -> (String, CredFiles) {
    let mut creds = CredFiles::default();
    if config.scenario.gateway_uses_certificate() {
        if config.long_chain {
            creds.x509.push(pki.long_gateway_cert());
            creds.private.push(pki.long_gateway_key());
            creds.x509ca.push(pki.long_root_pem());
            creds.x509ca.extend(pki.long_intermediates());
        } else {
            creds.x509.push(pki.gateway_cert());
            creds.private.push(pki.gateway_key());
        }
    }
    // Client certificates are always issued by the lab CA.
    creds.x509ca.push(pki.ca_pem());

    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Gateway of the Corridor lab, scenario {}; generated.",
        config.scenario
    );
    let _ = writeln!(s, "connections {{");
    let _ = writeln!(s, "  {CONNECTION} {{");
    let _ = writeln!(s, "    version = 2");
    let _ = writeln!(s, "    local_addrs = %any");
    let pools = if config.ipv6 { "pool4, pool6" } else { "pool4" };
    let _ = writeln!(s, "    pools = {pools}");
    let _ = writeln!(s, "    proposals = {}", list(&config.ike_proposals));
    let _ = writeln!(s, "    fragmentation = yes");
    let _ = writeln!(s, "    send_cert = always");
    let _ = writeln!(s, "    send_certreq = yes");
    let _ = writeln!(s, "    unique = never");
    if let Some(every) = config.ike_rekey {
        let every = every.as_secs();
        let _ = writeln!(s, "    rekey_time = {every}s");
        let _ = writeln!(s, "    over_time = {}s", grace(every));
        let _ = writeln!(s, "    rand_time = 0s");
    }
    write_local(&mut s, config, pki);
    write_remote(&mut s, config.scenario);
    let _ = writeln!(s, "    children {{");
    let _ = writeln!(s, "      {CONNECTION} {{");
    let _ = writeln!(s, "        local_ts = {}", list(&local_ts(config)));
    let _ = writeln!(s, "        esp_proposals = {}", list(&config.esp_proposals));
    let _ = writeln!(s, "        dpd_action = clear");
    if let Some(every) = config.child_rekey {
        let every = every.as_secs();
        let _ = writeln!(s, "        rekey_time = {every}s");
        let _ = writeln!(s, "        life_time = {}s", every + grace(every));
        let _ = writeln!(s, "        rand_time = 0s");
    }
    let _ = writeln!(s, "      }}");
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "  }}");
    let _ = writeln!(s, "}}");

    let _ = writeln!(s, "pools {{");
    let _ = writeln!(s, "  pool4 {{");
    let _ = writeln!(s, "    addrs = {POOL_V4}");
    let dns = if config.ipv6 {
        format!("{LAN_HOST_V4}, {LAN_HOST_V6}")
    } else {
        LAN_HOST_V4.to_string()
    };
    let _ = writeln!(s, "    dns = {dns}");
    let _ = writeln!(s, "    # INTERNAL_DNS_DOMAIN (RFC 8598)");
    let _ = writeln!(s, "    25 = {CORP_DOMAIN}");
    let _ = writeln!(s, "  }}");
    if config.ipv6 {
        let _ = writeln!(s, "  pool6 {{");
        let _ = writeln!(s, "    addrs = {POOL_V6}");
        let _ = writeln!(s, "  }}");
    }
    let _ = writeln!(s, "}}");

    let _ = writeln!(s, "secrets {{");
    match config.scenario {
        Scenario::EapMschapv2 => {
            let _ = writeln!(s, "  eap-{EAP_IDENTITY} {{");
            let _ = writeln!(s, "    id = {}", quote(EAP_IDENTITY));
            let _ = writeln!(s, "    secret = {}", quote(EAP_PASSWORD));
            let _ = writeln!(s, "  }}");
        }
        Scenario::Psk => {
            let _ = writeln!(s, "  ike-lab {{");
            let _ = writeln!(s, "    secret = {}", quote(PSK));
            let _ = writeln!(s, "  }}");
        }
        Scenario::Cert | Scenario::EapTls => {}
    }
    let _ = writeln!(s, "}}");
    (s, creds)
}

/// How long an SA may outlive its rekey time. strongSwan's default (10 %) rounds to 0 for
/// the short intervals tests use, and an SA that expires while it is being rekeyed is
/// deleted together with its replacement; 10 s is plenty for a rekey in the lab.
fn grace(rekey_secs: u64) -> u64 {
    (rekey_secs / 10).max(10)
}

fn write_local(s: &mut String, config: &LabConfig, pki: &Pki) {
    let _ = writeln!(s, "    local {{");
    if config.scenario.gateway_uses_certificate() {
        let cert = if config.long_chain {
            pki.long_gateway_cert()
        } else {
            pki.gateway_cert()
        };
        let name = cert
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(s, "      auth = pubkey");
        let _ = writeln!(s, "      certs = {name}");
    } else {
        let _ = writeln!(s, "      auth = psk");
    }
    let _ = writeln!(s, "      id = {GATEWAY_FQDN}");
    let _ = writeln!(s, "    }}");
}

fn write_remote(s: &mut String, scenario: Scenario) {
    let _ = writeln!(s, "    remote {{");
    let _ = writeln!(s, "      id = %any");
    match scenario {
        Scenario::EapMschapv2 => {
            let _ = writeln!(s, "      auth = eap-mschapv2");
            let _ = writeln!(s, "      eap_id = %any");
        }
        Scenario::Cert => {
            let _ = writeln!(s, "      auth = pubkey");
        }
        Scenario::EapTls => {
            let _ = writeln!(s, "      auth = eap-tls");
            let _ = writeln!(s, "      eap_id = %any");
        }
        Scenario::Psk => {
            let _ = writeln!(s, "      auth = psk");
        }
    }
    let _ = writeln!(s, "    }}");
}
