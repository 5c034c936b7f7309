//! DNS through systemd-resolved: the tunnel's servers and domains are set on the
//! tunnel link only, over resolved's D-Bus API (`org.freedesktop.resolve1.Manager`
//! on the system bus, see `org.freedesktop.resolve1(5)`), so split DNS works and the
//! host's own configuration is never rewritten. Undo is one `RevertLink` call, and
//! resolved forgets a link's settings by itself when the link disappears.
//!
//! The system bus address comes from `DBUS_SYSTEM_BUS_ADDRESS` when it is set (the
//! D-Bus convention), else the well-known socket; [`Resolved::detect`] also takes an
//! explicit address for hosts and tests with a private bus.
//!
//! Routing, as `systemd-resolved.service(8)` describes it: a query goes to the links
//! whose routing domains match it best (longest suffix); only when none matches does
//! it go to the links with DefaultRoute=yes. A search domain is also a routing domain;
//! `~name` is routing-only; `~.` matches every name, so it wins over any link that
//! has no matching domain.

use std::net::IpAddr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use crate::dns::{DnsConfig, DnsMode, normalized_search_domains};
use crate::error::{Error, Result};

/// resolved's well-known bus name.
pub const SERVICE: &str = "org.freedesktop.resolve1";
const PATH: &str = "/org/freedesktop/resolve1";
const MANAGER: &str = "org.freedesktop.resolve1.Manager";
const LINK: &str = "org.freedesktop.resolve1.Link";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
/// resolved's answer for an interface index it does not know (a link that is gone).
const NO_SUCH_LINK: &str = "org.freedesktop.resolve1.NoSuchLink";
/// `AF_INET` and `AF_INET6` as resolved's address arrays carry them.
const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;
/// A bus that accepts the connection but never answers must fail the call, not hang it.
const BUS_TIMEOUT: Duration = Duration::from_secs(10);

/// What resolved is asked to set on the tunnel link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSettings {
    /// Name servers, in preference order.
    pub servers: Vec<IpAddr>,
    /// Domains as `(name, routing_only)`, the form of `SetLinkDomains`; `(".", true)`
    /// is the catch-all routing domain `~.`.
    pub domains: Vec<(String, bool)>,
    /// Whether the link takes queries that match no routing domain of any link.
    pub default_route: bool,
}

impl LinkSettings {
    /// The settings for `config` in `mode`:
    ///
    /// - [`DnsMode::FullTunnel`]: `~.` plus the domains as search domains, and
    ///   DefaultRoute=yes: every query goes to the tunnel's servers.
    /// - [`DnsMode::Split`] / [`DnsMode::SplitRoutingOnly`] with domains: the domains
    ///   (as search domains, or as `~domain`), and DefaultRoute=no, so only names under
    ///   them go to the tunnel's servers.
    /// - Split without any domain: DefaultRoute=yes, which is what resolved gives a
    ///   link with DNS servers anyway. The tunnel's servers then join the other
    ///   default-route links for every query (the first answer wins), since there is
    ///   no domain to route on.
    ///
    /// resolved keeps one entry per name, so a domain is sent either as a search
    /// domain (which also routes) or as routing-only, never both.
    pub fn new(config: &DnsConfig, mode: DnsMode) -> Result<Self> {
        if config.servers.is_empty() {
            return Err(Error::Invalid {
                what: "DNS configuration",
                detail: "no name servers".into(),
            });
        }
        let mut domains: Vec<(String, bool)> = Vec::new();
        if mode.is_full_tunnel() {
            domains.push((".".into(), true));
        }
        let routing_only = mode == DnsMode::SplitRoutingOnly;
        domains.extend(
            normalized_search_domains(config)?
                .into_iter()
                .map(|name| (name, routing_only)),
        );
        let default_route = mode.is_full_tunnel() || config.search_domains.is_empty();
        Ok(Self {
            servers: config.servers.clone(),
            domains,
            default_route,
        })
    }
}

/// A link's DNS settings as resolved reports them (its `org.freedesktop.resolve1.Link`
/// properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// `DNS`: the link's name servers.
    pub servers: Vec<IpAddr>,
    /// `Domains`: `(name, routing_only)`.
    pub domains: Vec<(String, bool)>,
    /// `DefaultRoute`.
    pub default_route: bool,
    /// `DNSOverTLS`: "yes", "opportunistic", "no" or "" (unset).
    pub dns_over_tls: String,
}

/// A connection to systemd-resolved on the system bus.
#[derive(Debug, Clone)]
pub struct Resolved {
    conn: zbus::Connection,
}

fn bus_err(op: impl Into<String>) -> impl FnOnce(zbus::Error) -> Error {
    let op = op.into();
    move |e| Error::Resolved {
        op,
        detail: e.to_string(),
    }
}

fn is_method_error(e: &Error, name: &str) -> bool {
    matches!(e, Error::Resolved { detail, .. } if detail.starts_with(name))
}

impl Resolved {
    /// Connects to the system bus (`address`, else `DBUS_SYSTEM_BUS_ADDRESS`, else the
    /// well-known socket) and returns `None` when there is no bus to connect to or
    /// nothing owns `org.freedesktop.resolve1` on it: resolved is not running, so DNS
    /// has to be configured some other way.
    pub async fn detect(address: Option<&str>) -> Result<Option<Self>> {
        let builder = match address {
            Some(a) => zbus::connection::Builder::address(a),
            None => zbus::connection::Builder::system(),
        };
        let connect = async { builder?.method_timeout(BUS_TIMEOUT).build().await };
        let conn = match tokio::time::timeout(BUS_TIMEOUT, connect).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "no system bus; systemd-resolved not in use");
                return Ok(None);
            }
            Err(_) => {
                tracing::warn!("the system bus did not answer; systemd-resolved not in use");
                return Ok(None);
            }
        };
        let (owned,): (bool,) = call(
            &conn,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            &(SERVICE,),
        )
        .await?;
        Ok(owned.then_some(Self { conn }))
    }

    /// Sets `settings` on link `ifindex`: servers (`SetLinkDNS`), domains
    /// (`SetLinkDomains`), `SetLinkDefaultRoute`, and DNS-over-TLS off
    /// (`SetLinkDNSOverTLS "no"`: the gateway's servers are plain DNS inside the tunnel,
    /// and a global opportunistic setting would only delay the first queries).
    pub async fn apply(&self, ifindex: u32, settings: &LinkSettings) -> Result<()> {
        let index = link_arg(ifindex)?;
        let servers: Vec<(i32, Vec<u8>)> = settings
            .servers
            .iter()
            .map(|a| match a {
                IpAddr::V4(v4) => (AF_INET, v4.octets().to_vec()),
                IpAddr::V6(v6) => (AF_INET6, v6.octets().to_vec()),
            })
            .collect();
        self.manager("SetLinkDNS", ifindex, &(index, servers))
            .await?;
        self.manager("SetLinkDomains", ifindex, &(index, &settings.domains))
            .await?;
        self.manager(
            "SetLinkDefaultRoute",
            ifindex,
            &(index, settings.default_route),
        )
        .await?;
        self.manager("SetLinkDNSOverTLS", ifindex, &(index, "no"))
            .await
    }

    /// Drops everything set on link `ifindex` (`RevertLink`). `Ok(false)` if resolved
    /// does not know the link (it is gone, and its settings with it).
    pub async fn revert(&self, ifindex: u32) -> Result<bool> {
        let index = link_arg(ifindex)?;
        match self.manager("RevertLink", ifindex, &(index,)).await {
            Ok(()) => Ok(true),
            Err(e) if is_method_error(&e, NO_SUCH_LINK) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The DNS settings resolved holds for link `ifindex`.
    pub async fn link_state(&self, ifindex: u32) -> Result<LinkState> {
        let index = link_arg(ifindex)?;
        let (path,): (OwnedObjectPath,) =
            call(&self.conn, SERVICE, PATH, MANAGER, "GetLink", &(index,)).await?;
        let raw_servers: Vec<(i32, Vec<u8>)> = self.property(&path, "DNS").await?;
        let mut servers = Vec::new();
        for (family, bytes) in raw_servers {
            servers.push(decode_addr(family, &bytes)?);
        }
        Ok(LinkState {
            servers,
            domains: self.property(&path, "Domains").await?,
            default_route: self.property(&path, "DefaultRoute").await?,
            dns_over_tls: self.property(&path, "DNSOverTLS").await?,
        })
    }

    async fn manager<B>(&self, method: &str, ifindex: u32, body: &B) -> Result<()>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.conn
            .call_method(Some(SERVICE), PATH, Some(MANAGER), method, body)
            .await
            .map(drop)
            .map_err(bus_err(format!("{method} on link {ifindex}")))
    }

    async fn property<T>(&self, path: &OwnedObjectPath, name: &str) -> Result<T>
    where
        T: TryFrom<OwnedValue>,
        T::Error: std::fmt::Display,
    {
        let (value,): (OwnedValue,) = call(
            &self.conn,
            SERVICE,
            path.as_str(),
            PROPERTIES,
            "Get",
            &(LINK, name),
        )
        .await?;
        T::try_from(value).map_err(|e| Error::Resolved {
            op: format!("read link property {name}"),
            detail: e.to_string(),
        })
    }
}

async fn call<B, R>(
    conn: &zbus::Connection,
    dest: &str,
    path: &str,
    iface: &str,
    method: &str,
    body: &B,
) -> Result<R>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
    R: DeserializeOwned + zbus::zvariant::Type,
{
    let op = format!("{iface}.{method}");
    let reply = conn
        .call_method(Some(dest), path, Some(iface), method, body)
        .await
        .map_err(bus_err(op.clone()))?;
    reply.body().deserialize::<R>().map_err(bus_err(op))
}

/// resolved takes interface indexes as D-Bus `int32`.
fn link_arg(ifindex: u32) -> Result<i32> {
    i32::try_from(ifindex).map_err(|_| Error::Invalid {
        what: "interface index",
        detail: ifindex.to_string(),
    })
}

fn decode_addr(family: i32, bytes: &[u8]) -> Result<IpAddr> {
    let bad = || Error::Resolved {
        op: "read link property DNS".into(),
        detail: format!("address family {family} with {} bytes", bytes.len()),
    };
    match family {
        AF_INET => <[u8; 4]>::try_from(bytes)
            .map(IpAddr::from)
            .map_err(|_| bad()),
        AF_INET6 => <[u8; 16]>::try_from(bytes)
            .map(IpAddr::from)
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(domains: &[&str]) -> DnsConfig {
        DnsConfig {
            servers: vec!["198.19.0.53".parse().unwrap()],
            search_domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn doms(list: &[(&str, bool)]) -> Vec<(String, bool)> {
        list.iter().map(|(n, r)| (n.to_string(), *r)).collect()
    }

    #[test]
    fn full_tunnel_routes_everything_and_keeps_search_domains() {
        let s = LinkSettings::new(&config(&["corp.example"]), DnsMode::FullTunnel).unwrap();
        assert_eq!(s.domains, doms(&[(".", true), ("corp.example", false)]));
        assert!(s.default_route);
    }

    #[test]
    fn split_with_domains_is_not_a_default_route() {
        let c = config(&["Corp.Example.", "corp.example", "lab.example"]);
        let s = LinkSettings::new(&c, DnsMode::Split).unwrap();
        assert_eq!(
            s.domains,
            doms(&[("corp.example", false), ("lab.example", false)])
        );
        assert!(!s.default_route);
        let r = LinkSettings::new(&c, DnsMode::SplitRoutingOnly).unwrap();
        assert_eq!(
            r.domains,
            doms(&[("corp.example", true), ("lab.example", true)])
        );
        assert!(!r.default_route);
    }

    #[test]
    fn split_without_domains_stays_a_default_route() {
        let s = LinkSettings::new(&config(&[]), DnsMode::Split).unwrap();
        assert!(s.domains.is_empty());
        assert!(s.default_route);
    }

    #[test]
    fn bad_input_is_named() {
        let err = LinkSettings::new(&config(&["a b"]), DnsMode::Split).unwrap_err();
        assert!(err.to_string().contains("search domain"), "{err}");
        let err = LinkSettings::new(&config(&["."]), DnsMode::Split).unwrap_err();
        assert!(err.to_string().contains("search domain"), "{err}");
        let err = LinkSettings::new(&DnsConfig::default(), DnsMode::Split).unwrap_err();
        assert!(err.to_string().contains("no name servers"), "{err}");
    }

    #[test]
    fn addresses_decode_by_family() {
        assert_eq!(
            decode_addr(AF_INET, &[198, 19, 0, 53]).unwrap(),
            "198.19.0.53".parse::<IpAddr>().unwrap()
        );
        assert!(decode_addr(AF_INET6, &[1, 2, 3, 4]).is_err());
        assert!(decode_addr(7, &[1, 2, 3, 4]).is_err());
    }
}
