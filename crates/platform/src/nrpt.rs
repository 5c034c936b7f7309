//! Windows split DNS: Name Resolution Policy Table rules, as registry keys.
//!
//! An NRPT rule sends the queries for a namespace (`.corp.example`: the domain and
//! every name under it; `.`: every name) to chosen servers, whatever the interfaces'
//! own DNS settings say. That is how the tunnel's INTERNAL_DNS_DOMAIN list (RFC 8598)
//! becomes split DNS on Windows, and how a full tunnel keeps every query inside it.
//! A rule is a key under [`NRPT_KEY`] with the values `Add-DnsClientNrptRule` writes
//! (Version 2, Name, GenericDNSServers, ConfigOptions 8: "use these servers").
//!
//! This module only builds the rules; `windows.rs` writes and deletes the keys. Plain
//! data, so it is tested on every OS.

use std::net::IpAddr;

use crate::dns::{DnsConfig, DnsMode, check_domain};
use crate::error::{Error, Result};

/// Where the DNS client reads local NRPT rules (HKEY_LOCAL_MACHINE). Rules pushed by
/// group policy live under the policy key instead and, when present, take precedence;
/// docs/platforms.md notes this.
pub const NRPT_KEY: &str = r"SYSTEM\CurrentControlSet\Services\Dnscache\Parameters\DnsPolicyConfig";

/// `ConfigOptions` of a rule whose only setting is its DNS servers
/// (`NRPT_CONFIG_GENERIC_DNS_SERVERS` in the DNS client's policy format).
pub const CONFIG_GENERIC_DNS_SERVERS: u32 = 0x8;

/// The rule format version the DNS client expects.
pub const RULE_VERSION: u32 = 2;

/// One rule: a registry key name under [`NRPT_KEY`] and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NrptRule {
    /// The key's name: `{Corridor-<interface>}`, unique per tunnel interface, so a
    /// crashed run's rule is found (and replaced or removed) by the next one.
    pub key: String,
    /// `Name` (REG_MULTI_SZ): the namespaces, `.corp.example` or `.`.
    pub names: Vec<String>,
    /// `GenericDNSServers` (REG_SZ): the servers, separated by `;`.
    pub servers: String,
    /// `Comment` (REG_SZ): shown by `Get-DnsClientNrptRule`.
    pub comment: String,
}

/// The NRPT rule for the tunnel on `interface`, or `None` when there is nothing to
/// steer: no servers, or a split tunnel without domains (then the interface's own DNS
/// settings, with its low metric, are all there is).
///
/// # Errors
/// A domain that is not a DNS name (it would otherwise end up in the registry).
pub fn rule_for(interface: &str, config: &DnsConfig, mode: DnsMode) -> Result<Option<NrptRule>> {
    if config.servers.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = if mode.is_full_tunnel() {
        vec![".".to_string()]
    } else {
        let mut names = Vec::new();
        for domain in &config.search_domains {
            check_domain(domain)?;
            let name = format!(".{}", domain.trim_matches('.').to_ascii_lowercase());
            if name != "." && !names.contains(&name) {
                names.push(name);
            }
        }
        names
    };
    if names.is_empty() {
        return Ok(None);
    }
    if !interface
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::Invalid {
            what: "interface name",
            detail: format!("{interface:?} cannot name a registry key"),
        });
    }
    let servers: Vec<String> = config.servers.iter().map(IpAddr::to_string).collect();
    Ok(Some(NrptRule {
        key: format!("{{Corridor-{interface}}}"),
        names,
        servers: servers.join(";"),
        comment: format!("Corridor VPN: DNS through the tunnel on {interface}"),
    }))
}

/// `names` as REG_MULTI_SZ data: UTF-16 strings, each NUL-terminated, and a final NUL.
pub fn multi_sz(names: &[String]) -> Vec<u16> {
    let mut data: Vec<u16> = Vec::new();
    for name in names {
        data.extend(name.encode_utf16());
        data.push(0);
    }
    data.push(0);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(servers: &[&str], domains: &[&str]) -> DnsConfig {
        DnsConfig {
            servers: servers.iter().map(|s| s.parse().unwrap()).collect(),
            search_domains: domains.iter().map(|d| (*d).to_string()).collect(),
        }
    }

    #[test]
    fn split_dns_sends_the_pushed_domains_to_the_tunnel_servers() {
        let rule = rule_for(
            "corridor0",
            &config(
                &["198.18.2.53", "fd00::53"],
                &["corp.example", "Lab.Corp.Example."],
            ),
            DnsMode::Split,
        )
        .unwrap()
        .unwrap();
        assert_eq!(rule.key, "{Corridor-corridor0}");
        assert_eq!(rule.names, [".corp.example", ".lab.corp.example"]);
        assert_eq!(rule.servers, "198.18.2.53;fd00::53");
    }

    #[test]
    fn a_full_tunnel_sends_every_name() {
        let rule = rule_for(
            "corridor0",
            &config(&["198.18.2.53"], &["corp.example"]),
            DnsMode::FullTunnel,
        )
        .unwrap()
        .unwrap();
        assert_eq!(rule.names, ["."]);
    }

    #[test]
    fn nothing_to_steer_is_no_rule() {
        assert_eq!(
            rule_for(
                "corridor0",
                &config(&[], &["corp.example"]),
                DnsMode::FullTunnel
            )
            .unwrap(),
            None
        );
        assert_eq!(
            rule_for("corridor0", &config(&["198.18.2.53"], &[]), DnsMode::Split).unwrap(),
            None
        );
        assert_eq!(
            rule_for(
                "corridor0",
                &config(&["198.18.2.53"], &["."]),
                DnsMode::Split
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn hostile_domains_and_names_never_reach_the_registry() {
        let err = rule_for(
            "corridor0",
            &config(&["198.18.2.53"], &["corp.example\0x"]),
            DnsMode::Split,
        )
        .unwrap_err();
        assert!(err.to_string().contains("search domain"), "{err}");
        let err = rule_for(
            r"a\..\b",
            &config(&["198.18.2.53"], &["corp.example"]),
            DnsMode::Split,
        )
        .unwrap_err();
        assert!(err.to_string().contains("registry key"), "{err}");
    }

    #[test]
    fn multi_strings_end_with_two_nuls() {
        let data = multi_sz(&[".a".into(), ".b".into()]);
        assert_eq!(String::from_utf16(&data).unwrap(), ".a\0.b\0\0");
    }
}
