//! The macOS DNS settings as SystemConfiguration dynamic-store dictionaries, kept free
//! of CoreFoundation so that what is written (and what is put back) is tested on every
//! OS. `macos_dns.rs` converts these values to property lists and talks to configd.
//!
//! configd builds the resolver configuration (`scutil --dns`) from the `DNS` entities
//! of the services in the dynamic store (see `man 8 configd` and
//! `SCSchemaDefinitions.h`); this is what openconnect's vpnc-script and Tunnelblick
//! write on macOS:
//!
//! - split DNS: a service of our own, `State:/Network/Service/corridor-<ifname>/DNS`,
//!   whose `SupplementalMatchDomains` make configd add a supplemental resolver per
//!   domain, asked only for names under it;
//! - full tunnel: the primary service's own `DNS` entity (the primary service is the
//!   one `State:/Network/Global/IPv4` names in `PrimaryService`), whose servers answer
//!   every other name. Its dictionary is saved first and put back afterwards.
//!
//! Each dictionary we write carries [`OWNER_KEY`] (configd ignores keys it does not
//! know), so a restore only undoes a value that is still ours: if DHCP renewed the
//! lease and rewrote the primary service's DNS in the meantime, that newer value stays.

use serde_json::{Map, Value};

use crate::dns::{DnsConfig, DnsMode, normalized_search_domains};
use crate::error::{Error, Result};

/// The global IPv4 state, naming the primary service (`kSCDynamicStoreDomainState` +
/// `kSCCompNetwork` + `kSCCompGlobal` + `kSCEntNetIPv4`).
pub(crate) const GLOBAL_IPV4_KEY: &str = "State:/Network/Global/IPv4";
/// The global IPv6 state, naming the primary service on a host without IPv4.
pub(crate) const GLOBAL_IPV6_KEY: &str = "State:/Network/Global/IPv6";
/// `kSCDynamicStorePropNetPrimaryService`.
pub(crate) const PRIMARY_SERVICE: &str = "PrimaryService";
/// `kSCPropNetDNSServerAddresses`: the name servers, an array of address strings.
pub(crate) const SERVER_ADDRESSES: &str = "ServerAddresses";
/// `kSCPropNetDNSSearchDomains`: the search list, an array of names.
pub(crate) const SEARCH_DOMAINS: &str = "SearchDomains";
/// `kSCPropNetDNSSupplementalMatchDomains`: names (and their subdomains) to send to
/// this service's servers.
pub(crate) const SUPPLEMENTAL_MATCH_DOMAINS: &str = "SupplementalMatchDomains";
/// `kSCPropNetDNSSupplementalMatchDomainsNoSearch`: 1 keeps the match domains out of
/// the search list (routing only).
pub(crate) const SUPPLEMENTAL_NO_SEARCH: &str = "SupplementalMatchDomainsNoSearch";
/// Our mark on every dictionary we write: the tunnel interface it belongs to.
pub(crate) const OWNER_KEY: &str = "CorridorInterface";

/// The key of the DNS entity of service `service_id`.
pub(crate) fn service_dns_key(service_id: &str) -> Result<String> {
    let ok = !service_id.is_empty()
        && service_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !ok {
        return Err(Error::Invalid {
            what: "network service ID",
            detail: format!("{service_id:?}"),
        });
    }
    Ok(format!("State:/Network/Service/{service_id}/DNS"))
}

/// The key of our own service for the tunnel on `ifname` (split DNS).
pub(crate) fn tunnel_dns_key(ifname: &str) -> Result<String> {
    service_dns_key(&format!("corridor-{ifname}"))
}

/// The primary service's ID from the value of [`GLOBAL_IPV4_KEY`].
pub(crate) fn primary_service(global_ipv4: &Value) -> Option<&str> {
    global_ipv4.get(PRIMARY_SERVICE)?.as_str()
}

/// Where the settings go and what is written there.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// Whether our own service's key is written (split DNS), or the primary service's
    /// (every name through the tunnel).
    pub(crate) split: bool,
    /// The dictionary to write.
    pub(crate) dictionary: Value,
}

/// What to write for `config` in `mode` on the tunnel `ifname`.
///
/// A split configuration without domains would give configd a supplemental resolver
/// that matches no name, so the servers would never be asked; such a configuration
/// takes over every name instead, as systemd-resolved makes a link without routing
/// domains a default route on Linux.
pub(crate) fn plan(config: &DnsConfig, mode: DnsMode, ifname: &str) -> Result<Plan> {
    if config.servers.is_empty() {
        return Err(Error::Invalid {
            what: "DNS configuration",
            detail: "no name servers".into(),
        });
    }
    let domains = normalized_search_domains(config)?;
    let split = !mode.is_full_tunnel() && !domains.is_empty();
    let strings = |items: Vec<String>| Value::Array(items.into_iter().map(Value::String).collect());
    let mut dict = Map::new();
    dict.insert(
        SERVER_ADDRESSES.into(),
        strings(config.servers.iter().map(ToString::to_string).collect()),
    );
    if split {
        dict.insert(SUPPLEMENTAL_MATCH_DOMAINS.into(), strings(domains.clone()));
    }
    if mode == DnsMode::SplitRoutingOnly && split {
        dict.insert(SUPPLEMENTAL_NO_SEARCH.into(), Value::from(1));
    } else if !domains.is_empty() {
        dict.insert(SEARCH_DOMAINS.into(), strings(domains));
    }
    dict.insert(OWNER_KEY.into(), Value::String(ifname.to_string()));
    Ok(Plan {
        split,
        dictionary: Value::Object(dict),
    })
}

/// Whether `current` (a key's value now) is a dictionary we wrote.
pub(crate) fn is_ours(current: &Value) -> bool {
    current.get(OWNER_KEY).is_some_and(Value::is_string)
}

/// What a restore does with a key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Undo<'a> {
    /// Leave it: the key is gone, or holds a value someone else wrote since ours
    /// (fresher than what we saved, or not ours to touch).
    Nothing,
    /// Put the saved original back.
    Write(&'a Value),
    /// Remove the key: it did not exist before ours.
    Remove,
}

/// What to do with a key whose value is `current`, holding `original` before we wrote
/// it. A key that has vanished stays so: its service went away (the network changed),
/// and writing the original back would bring back DNS settings of a service that no
/// longer exists.
pub(crate) fn undo<'a>(current: Option<&Value>, original: Option<&'a Value>) -> Undo<'a> {
    match (current, original) {
        (None, _) => Undo::Nothing,
        (Some(current), _) if !is_ours(current) => Undo::Nothing,
        (Some(_), Some(original)) => Undo::Write(original),
        (Some(_), None) => Undo::Remove,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::journal::Change;

    fn config(domains: &[&str]) -> DnsConfig {
        DnsConfig {
            servers: vec![
                "198.19.0.10".parse().unwrap(),
                "fd00:19::10".parse().unwrap(),
            ],
            search_domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn split_publishes_supplemental_match_domains() {
        let plan = plan(
            &config(&["Corp.Example.", "lab.example", "corp.example"]),
            DnsMode::Split,
            "utun4",
        )
        .unwrap();
        assert!(plan.split);
        assert_eq!(
            plan.dictionary,
            serde_json::json!({
                "ServerAddresses": ["198.19.0.10", "fd00:19::10"],
                "SupplementalMatchDomains": ["corp.example", "lab.example"],
                "SearchDomains": ["corp.example", "lab.example"],
                "CorridorInterface": "utun4",
            })
        );
        assert!(is_ours(&plan.dictionary));
    }

    #[test]
    fn routing_only_keeps_domains_out_of_the_search_list() {
        let plan = plan(
            &config(&["corp.example"]),
            DnsMode::SplitRoutingOnly,
            "utun4",
        )
        .unwrap();
        assert!(plan.split);
        assert_eq!(
            plan.dictionary,
            serde_json::json!({
                "ServerAddresses": ["198.19.0.10", "fd00:19::10"],
                "SupplementalMatchDomains": ["corp.example"],
                "SupplementalMatchDomainsNoSearch": 1,
                "CorridorInterface": "utun4",
            })
        );
    }

    #[test]
    fn full_tunnel_takes_every_name() {
        let plan = plan(&config(&["corp.example"]), DnsMode::FullTunnel, "utun4").unwrap();
        assert!(!plan.split);
        assert_eq!(
            plan.dictionary,
            serde_json::json!({
                "ServerAddresses": ["198.19.0.10", "fd00:19::10"],
                "SearchDomains": ["corp.example"],
                "CorridorInterface": "utun4",
            })
        );
        // Split without a domain would match nothing: it takes every name instead.
        let plan = super::plan(&config(&[]), DnsMode::Split, "utun4").unwrap();
        assert!(!plan.split);
        assert_eq!(
            plan.dictionary,
            serde_json::json!({
                "ServerAddresses": ["198.19.0.10", "fd00:19::10"],
                "CorridorInterface": "utun4",
            })
        );
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(plan(&DnsConfig::default(), DnsMode::Split, "utun4").is_err());
        assert!(plan(&config(&["bad domain"]), DnsMode::Split, "utun4").is_err());
        assert!(plan(&config(&["."]), DnsMode::Split, "utun4").is_err());
        assert!(service_dns_key("a/b").is_err());
        assert!(service_dns_key("").is_err());
    }

    #[test]
    fn keys() {
        assert_eq!(
            tunnel_dns_key("utun4").unwrap(),
            "State:/Network/Service/corridor-utun4/DNS"
        );
        let global = serde_json::json!({
            "PrimaryInterface": "en0",
            "PrimaryService": "6A1C0E0B-4B5E-4E7A-9C1E-0D1B6C2B9F01",
            "Router": "192.168.1.1",
        });
        let id = primary_service(&global).unwrap();
        assert_eq!(
            service_dns_key(id).unwrap(),
            "State:/Network/Service/6A1C0E0B-4B5E-4E7A-9C1E-0D1B6C2B9F01/DNS"
        );
        assert_eq!(primary_service(&serde_json::json!({})), None);
    }

    #[test]
    fn undo_only_what_is_still_ours() {
        let ours = plan(&config(&[]), DnsMode::FullTunnel, "utun4")
            .unwrap()
            .dictionary;
        let dhcp = serde_json::json!({"ServerAddresses": ["192.168.1.1"]});
        let renewed = serde_json::json!({"ServerAddresses": ["192.168.1.2"]});
        assert_eq!(undo(Some(&ours), Some(&dhcp)), Undo::Write(&dhcp));
        assert_eq!(undo(Some(&ours), None), Undo::Remove);
        assert_eq!(undo(Some(&renewed), Some(&dhcp)), Undo::Nothing);
        assert_eq!(undo(None, Some(&dhcp)), Undo::Nothing);
        assert_eq!(undo(None, None), Undo::Nothing);
    }

    #[test]
    fn original_survives_the_journal() {
        // What DHCP leaves on a primary service, with a number and a nested value.
        let original = serde_json::json!({
            "ServerAddresses": ["192.168.1.1", "fe80::1"],
            "DomainName": "home.example",
            "SearchDomains": ["home.example"],
            "SearchOrder": 200,
            "__CONFIGURATION_ID__": {"Source": "DHCP", "Weight": 1.5, "Flag": true},
        });
        for original in [Some(original), None] {
            let change = Change::DynamicStoreKey {
                key: service_dns_key("ABC-1").unwrap(),
                original,
            };
            let line = serde_json::to_string(&change).unwrap();
            assert!(line.starts_with(r#"{"change":"dynamic_store_key","key":"#));
            let back: Change = serde_json::from_str(&line).unwrap();
            assert_eq!(back, change);
        }
        assert!(!is_ours(
            &serde_json::json!({"ServerAddresses": ["192.168.1.1"]})
        ));
    }
}
