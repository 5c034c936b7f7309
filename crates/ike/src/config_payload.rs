//! The Configuration payload: what we ask the gateway for (CFG_REQUEST) and what it
//! assigned (CFG_REPLY), RFC 7296 §2.19 and §3.15, split DNS per RFC 8598.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use corridor_wire::ConfigAttributeType as A;
use corridor_wire::payload::{Config, ConfigBuilder};
use corridor_wire::{ConfigType, limits};

/// Which configuration attributes to request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigRequest {
    /// INTERNAL_IP4_ADDRESS (and INTERNAL_IP4_DNS when `dns` is set).
    pub ipv4: bool,
    /// INTERNAL_IP6_ADDRESS (and INTERNAL_IP6_DNS when `dns` is set).
    pub ipv6: bool,
    /// DNS servers of each requested family.
    pub dns: bool,
    /// INTERNAL_DNS_DOMAIN (RFC 8598): the domains the DNS servers are for.
    pub dns_domains: bool,
}

impl Default for ConfigRequest {
    fn default() -> Self {
        Self {
            ipv4: true,
            ipv6: true,
            dns: true,
            dns_domains: true,
        }
    }
}

impl ConfigRequest {
    /// Whether anything is requested at all (no CP payload otherwise).
    pub fn is_empty(&self) -> bool {
        !self.ipv4 && !self.ipv6
    }

    /// The CFG_REQUEST payload.
    ///
    /// RFC 7296 §2.19 and §3.15.1: a CFG_REQUEST lists the attributes we want with empty
    /// values, and the responder fills them in its CFG_REPLY.
    pub(crate) fn builder(&self) -> ConfigBuilder {
        let mut types = Vec::new();
        if self.ipv4 {
            types.push(A::INTERNAL_IP4_ADDRESS);
            if self.dns {
                types.push(A::INTERNAL_IP4_DNS);
            }
        }
        if self.ipv6 {
            types.push(A::INTERNAL_IP6_ADDRESS);
            if self.dns {
                types.push(A::INTERNAL_IP6_DNS);
            }
        }
        // RFC 8598 §3.1: an empty INTERNAL_DNS_DOMAIN asks the gateway which domains
        // its DNS servers are for (split DNS).
        if self.dns_domains && self.dns {
            types.push(A::INTERNAL_DNS_DOMAIN);
        }
        ConfigBuilder::request(types)
    }
}

/// An IPv4 network: address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    /// Address.
    pub addr: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
}

/// An IPv6 network: address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Net {
    /// Address.
    pub addr: Ipv6Addr,
    /// Prefix length.
    pub prefix: u8,
}

/// What the gateway assigned in its CFG_REPLY.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignedConfig {
    /// INTERNAL_IP4_ADDRESS values (with the netmask's prefix when one was sent).
    pub ipv4: Vec<Ipv4Net>,
    /// INTERNAL_IP6_ADDRESS values.
    pub ipv6: Vec<Ipv6Net>,
    /// INTERNAL_IP4_DNS and INTERNAL_IP6_DNS, in the order received.
    pub dns: Vec<IpAddr>,
    /// INTERNAL_DNS_DOMAIN values (RFC 8598), lower-cased, trailing dot removed.
    pub dns_domains: Vec<String>,
    /// INTERNAL_IP4_SUBNET: networks the gateway protects (informational).
    pub ipv4_subnets: Vec<Ipv4Net>,
    /// INTERNAL_IP6_SUBNET.
    pub ipv6_subnets: Vec<Ipv6Net>,
}

fn mask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(mask);
    // A netmask is ones followed by zeros.
    (bits.leading_ones() + bits.trailing_zeros() == 32).then(|| bits.leading_ones() as u8)
}

/// Whether `name` is a plausible DNS name (letters, digits, hyphens, dots; no empty
/// label; at most 253 bytes). Anything else is dropped rather than handed to the
/// resolver configuration.
fn plausible_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl AssignedConfig {
    /// Reads a CFG_REPLY. Attributes of other types, empty values and values that are
    /// not what their type says are skipped with a debug log: an odd attribute should
    /// not cost the whole tunnel.
    pub(crate) fn from_reply(cp: &Config<'_>) -> Result<Self, String> {
        if cp.cfg_type() != ConfigType::CFG_REPLY {
            return Err(format!(
                "the gateway answered our CFG_REQUEST with {}",
                cp.cfg_type()
            ));
        }
        let mut out = Self::default();
        let mut netmask = None;
        let cap = limits::MAX_CONFIG_ATTRIBUTES;
        for a in cp.attributes().iter().take(cap) {
            match a.attribute_type() {
                A::INTERNAL_IP4_ADDRESS => {
                    if let Some(addr) = a.ipv4().filter(|a| !a.is_unspecified()) {
                        out.ipv4.push(Ipv4Net { addr, prefix: 32 });
                    }
                }
                A::INTERNAL_IP4_NETMASK => netmask = a.ipv4().and_then(mask_prefix),
                A::INTERNAL_IP6_ADDRESS => {
                    if let Some((addr, prefix)) = a.ipv6_prefix().filter(|(_, p)| *p <= 128) {
                        out.ipv6.push(Ipv6Net { addr, prefix });
                    }
                }
                A::INTERNAL_IP4_DNS => out.dns.extend(a.ipv4().map(IpAddr::V4)),
                A::INTERNAL_IP6_DNS => out.dns.extend(a.ipv6().map(IpAddr::V6)),
                A::INTERNAL_DNS_DOMAIN => match a.text() {
                    Some(name) => {
                        let name = name.trim_end_matches('.').to_ascii_lowercase();
                        if plausible_domain(&name) {
                            if !out.dns_domains.contains(&name) {
                                out.dns_domains.push(name);
                            }
                        } else {
                            tracing::debug!(
                                "ignoring an INTERNAL_DNS_DOMAIN that is not a DNS name"
                            );
                        }
                    }
                    None => tracing::debug!("ignoring a non-UTF-8 INTERNAL_DNS_DOMAIN"),
                },
                A::INTERNAL_IP4_SUBNET => {
                    if let Some((addr, mask)) = a.ipv4_subnet()
                        && let Some(prefix) = mask_prefix(mask)
                    {
                        out.ipv4_subnets.push(Ipv4Net { addr, prefix });
                    }
                }
                A::INTERNAL_IP6_SUBNET => {
                    if let Some((addr, prefix)) = a.ipv6_prefix().filter(|(_, p)| *p <= 128) {
                        out.ipv6_subnets.push(Ipv6Net { addr, prefix });
                    }
                }
                other => tracing::debug!(attribute = %other, "ignoring configuration attribute"),
            }
        }
        if let Some(prefix) = netmask {
            for net in &mut out.ipv4 {
                net.prefix = prefix;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lists_what_is_asked() {
        let b = ConfigRequest::default().builder();
        let types: Vec<_> = b.attributes.iter().map(|a| a.attribute_type).collect();
        assert_eq!(
            types,
            [
                A::INTERNAL_IP4_ADDRESS,
                A::INTERNAL_IP4_DNS,
                A::INTERNAL_IP6_ADDRESS,
                A::INTERNAL_IP6_DNS,
                A::INTERNAL_DNS_DOMAIN
            ]
        );
    }

    #[test]
    fn reply_parsing() {
        let mut reply = vec![2, 0, 0, 0];
        reply.extend_from_slice(&[0, 1, 0, 4, 198, 19, 10, 1]);
        reply.extend_from_slice(&[0, 2, 0, 4, 255, 255, 255, 0]);
        reply.extend_from_slice(&[0, 3, 0, 4, 198, 19, 0, 53]);
        reply.extend_from_slice(&[0, 25, 0, 10]);
        reply.extend_from_slice(b"Corp.Test.");
        reply.extend_from_slice(&[0, 25, 0, 5]);
        reply.extend_from_slice(b"a b.c");
        reply.extend_from_slice(&[0, 13, 0, 8, 198, 19, 0, 0, 255, 255, 0, 0]);
        let cp = Config::parse(&reply).unwrap();
        let a = AssignedConfig::from_reply(&cp).unwrap();
        assert_eq!(
            a.ipv4,
            [Ipv4Net {
                addr: Ipv4Addr::new(198, 19, 10, 1),
                prefix: 24
            }]
        );
        assert_eq!(a.dns, [IpAddr::V4(Ipv4Addr::new(198, 19, 0, 53))]);
        assert_eq!(a.dns_domains, ["corp.test"]);
        assert_eq!(a.ipv4_subnets[0].prefix, 16);
        let mut req = reply.clone();
        req[0] = 1;
        assert!(AssignedConfig::from_reply(&Config::parse(&req).unwrap()).is_err());
    }
}
