//! OS-neutral values: prefixes, routes, TUN configuration.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The kernel's main routing table (Linux `RT_TABLE_MAIN`).
pub const MAIN_TABLE: u32 = 254;

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// Family of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    /// Human name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        }
    }
}

/// An address with a prefix length (`198.19.100.2/32`), validated on construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "(IpAddr, u8)", into = "(IpAddr, u8)")]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Builds a prefix; rejects a length beyond 32 (IPv4) or 128 (IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self> {
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > max {
            return Err(Error::Invalid {
                what: "prefix length",
                detail: format!("{addr}/{prefix} exceeds {max}"),
            });
        }
        Ok(Self { addr, prefix })
    }

    /// A single-host prefix (/32 or /128).
    pub fn host(addr: IpAddr) -> Self {
        let prefix = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        Self { addr, prefix }
    }

    /// The address part.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Address family.
    pub fn family(&self) -> Family {
        Family::of(self.addr)
    }

    /// The same prefix with the host bits cleared (`192.168.1.7/24` → `192.168.1.0/24`),
    /// the form firewall rules name a network by.
    pub fn network(&self) -> IpNet {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        IpNet {
            addr,
            prefix: self.prefix,
        }
    }

    /// Whether `addr` lies inside this prefix (host bits of `self` are ignored).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl TryFrom<(IpAddr, u8)> for IpNet {
    type Error = Error;
    fn try_from((addr, prefix): (IpAddr, u8)) -> Result<Self> {
        Self::new(addr, prefix)
    }
}

/// `198.19.0.0/24`, `fd00:19::/64`; a bare address is a host prefix.
impl std::str::FromStr for IpNet {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::Invalid {
            what: "prefix",
            detail: format!("{s:?} (expected address/length)"),
        };
        match s.split_once('/') {
            Some((addr, prefix)) => Self::new(
                addr.parse().map_err(|_| bad())?,
                prefix.parse().map_err(|_| bad())?,
            ),
            None => Ok(Self::host(s.parse().map_err(|_| bad())?)),
        }
    }
}

impl From<IpNet> for (IpAddr, u8) {
    fn from(n: IpNet) -> Self {
        (n.addr, n.prefix)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One route. Devices are named, not indexed, so a journal entry still means the
/// same thing after a restart (indexes are reassigned when a device is recreated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination prefix.
    pub destination: IpNet,
    /// Output device, if any.
    pub device: Option<String>,
    /// Next hop, if any.
    pub gateway: Option<IpAddr>,
    /// Routing table; `None` means the main table.
    pub table: Option<u32>,
    /// Route metric (Linux "priority"); `None` leaves the kernel default.
    pub metric: Option<u32>,
    /// Forward, or refuse.
    #[serde(default)]
    pub kind: RouteKind,
}

/// What a route does with the packets it matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// Forward them (out of `device`, via `gateway`).
    #[default]
    Unicast,
    /// Refuse them with "network unreachable": how traffic that must not leave outside
    /// the tunnel is stopped without a firewall.
    Unreachable,
}

impl Route {
    /// A route for `destination` out of `device`, main table, default metric.
    pub fn via_device(destination: IpNet, device: impl Into<String>) -> Self {
        Self {
            destination,
            device: Some(device.into()),
            gateway: None,
            table: None,
            metric: None,
            kind: RouteKind::Unicast,
        }
    }

    /// A route refusing everything to `destination` (main table, no device).
    pub fn unreachable(destination: IpNet) -> Self {
        Self {
            destination,
            device: None,
            gateway: None,
            table: None,
            metric: None,
            kind: RouteKind::Unreachable,
        }
    }

    /// The table this route lives in.
    pub fn table_or_main(&self) -> u32 {
        self.table.unwrap_or(MAIN_TABLE)
    }
}

/// How to create the TUN interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunConfig {
    /// Interface name (at most 15 bytes on Linux), e.g. `corridor0`.
    pub name: String,
    /// Link MTU.
    pub mtu: u16,
    /// Addresses assigned to the interface (the IKEv2 configuration-payload addresses).
    pub addresses: Vec<IpNet>,
}

/// What the created TUN device can do beyond plain IP packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TunCapabilities {
    /// The device was opened with a virtio-net header (`IFF_VNET_HDR`) and TCP
    /// segmentation offload: the host hands over TCP super-packets, which
    /// [`Tun::recv_batch`](crate::Tun::recv_batch) splits into MTU-sized packets, and
    /// [`Tun::send_batch`](crate::Tun::send_batch) coalesces consecutive TCP segments
    /// of one flow (GRO) before writing. `false` when the kernel refused: every read
    /// and write is then one plain IP packet.
    pub offload: bool,
    /// UDP segmentation offload (USO, Linux 6.2) is on as well, so UDP datagrams are
    /// split and coalesced like TCP segments.
    pub udp_offload: bool,
}

/// The split default routes for a full tunnel on `device`: `0.0.0.0/1` and
/// `128.0.0.0/1` (and `::/1`, `8000::/1` for IPv6).
///
/// Two /1 routes are more specific than any /0 default, so they win without the
/// original default route being touched; when they vanish (device removed) the
/// original default is in force again by itself. Policy routing (fwmark + a rule per
/// family) would also work but needs the ESP/IKE socket marked and two more kinds of
/// state to journal and undo; the split routes need neither and port to every OS.
pub fn split_default_routes(device: &str, family: Family) -> [Route; 2] {
    let (low, high) = match family {
        Family::V4 => (
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V4(Ipv4Addr::new(128, 0, 0, 0)),
        ),
        Family::V6 => (
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::new(0x8000, 0, 0, 0, 0, 0, 0, 0)),
        ),
    };
    [
        Route::via_device(
            IpNet {
                addr: low,
                prefix: 1,
            },
            device,
        ),
        Route::via_device(
            IpNet {
                addr: high,
                prefix: 1,
            },
            device,
        ),
    ]
}

/// Validates an interface name the way Linux does (`IFNAMSIZ` = 16 with the NUL).
pub fn check_ifname(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0);
    if bad {
        return Err(Error::Invalid {
            what: "interface name",
            detail: format!("{name:?} (1-15 bytes, no '/', ':' or whitespace)"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prefix_bounds() {
        assert!(IpNet::new("198.19.100.2".parse().unwrap(), 33).is_err());
        assert!(IpNet::new("fd00::1".parse().unwrap(), 129).is_err());
        assert_eq!(
            IpNet::new("fd00::1".parse().unwrap(), 128)
                .unwrap()
                .to_string(),
            "fd00::1/128"
        );
    }

    #[test]
    fn contains_matches_prefix_bits_only() {
        let net = |s: &str, p| IpNet::new(s.parse().unwrap(), p).unwrap();
        let lan = net("198.19.0.0", 24);
        assert!(lan.contains("198.19.0.10".parse().unwrap()));
        assert!(!lan.contains("198.19.1.10".parse().unwrap()));
        assert!(!lan.contains("fd00::1".parse().unwrap()));
        assert!(net("0.0.0.0", 0).contains("203.0.113.9".parse().unwrap()));
        assert!(net("fd00:19::", 64).contains("fd00:19::42".parse().unwrap()));
        assert!(!net("fd00:19::", 64).contains("fd00:18::42".parse().unwrap()));
        assert!(net("::", 0).contains("fd00:18::42".parse().unwrap()));
        assert!(net("198.18.0.1", 32).contains("198.18.0.1".parse().unwrap()));
    }

    #[test]
    fn network_clears_host_bits() {
        let net = |s: &str, p| IpNet::new(s.parse().unwrap(), p).unwrap();
        assert_eq!(net("192.168.1.77", 24).network(), net("192.168.1.0", 24));
        assert_eq!(net("203.0.113.9", 0).network(), net("0.0.0.0", 0));
        assert_eq!(net("198.18.0.1", 32).network(), net("198.18.0.1", 32));
        assert_eq!(net("fd00:1::5", 64).network(), net("fd00:1::", 64));
        assert_eq!(net("fd00:1::5", 128).network(), net("fd00:1::5", 128));
    }

    #[test]
    fn prefixes_parse_from_text() {
        let n: IpNet = "198.19.0.0/24".parse().unwrap();
        assert_eq!(
            (n.addr().to_string(), n.prefix()),
            ("198.19.0.0".into(), 24)
        );
        assert_eq!("fd00::1".parse::<IpNet>().unwrap().prefix(), 128);
        assert!("198.19.0.0/33".parse::<IpNet>().is_err());
        assert!("corp/24".parse::<IpNet>().is_err());
        assert!("198.19.0.0/x".parse::<IpNet>().is_err());
    }

    #[test]
    fn ipnet_json_rejects_bad_prefix() {
        assert!(serde_json::from_str::<IpNet>(r#"["198.18.0.1",40]"#).is_err());
        let n: IpNet = serde_json::from_str(r#"["198.18.0.1",24]"#).unwrap();
        assert_eq!(n.prefix(), 24);
    }

    #[test]
    fn split_routes_cover_everything() {
        let [a, b] = split_default_routes("corridor0", Family::V4);
        assert_eq!(a.destination.to_string(), "0.0.0.0/1");
        assert_eq!(b.destination.to_string(), "128.0.0.0/1");
        let [a, b] = split_default_routes("corridor0", Family::V6);
        assert_eq!(a.destination.to_string(), "::/1");
        assert_eq!(b.destination.to_string(), "8000::/1");
    }

    #[test]
    fn ifname_rules() {
        assert!(check_ifname("corridor0").is_ok());
        // macOS: "the next free utun".
        assert!(check_ifname("utun").is_ok());
        assert!(check_ifname(crate::DEFAULT_TUN_NAME).is_ok());
        assert!(check_ifname("").is_err());
        assert!(check_ifname("a/b").is_err());
        assert!(check_ifname("0123456789abcdef").is_err());
    }
}
