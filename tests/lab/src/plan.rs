//! The lab's address plan: one fixed layout, the same in every lab instance.
//!
//! Every lab lives in its own network namespaces, so all instances can use the same
//! addresses at once without seeing each other. The addresses come only from the
//! benchmarking range 198.18.0.0/15 (RFC 2544) and from unique-local IPv6 fd00::/8, which
//! never route anywhere outside the namespaces the lab creates. The IPv6 layout mirrors
//! the IPv4 one: `198.18.X.0/24` is `fd00:18:X::/64`, `198.19.X.0/24` is `fd00:19:X::/64`.
//!
//! ```text
//!                        wan 198.18.0.0/24, fd00:18::/64 (bridge br0 in the `wan` ns)
//!  client .100 ─────────┬──────────────────────────────┬────────────────────┐
//!   (or, with NAT:      │ relay .2 (br0, `lab relay`)  │                    │
//!   client .100 ── home ── router .50)                 │                    │
//!   home 198.18.2.0/24  │                          gateway .1          outside .200
//!   router .1           │                              │ strongSwan        HTTP
//!                                                      │
//!                                  corporate LAN 198.19.0.0/24, fd00:19::/64
//!                                      gateway .1 ── lan host .10
//!                                                    dnsmasq, HTTP :80, iperf3 :5201
//!  virtual IP pools: 198.19.100.0/24, fd00:19:100::/120
//! ```
//!
//! | segment | IPv4 | IPv6 | who |
//! |---|---|---|---|
//! | wan | 198.18.0.0/24 | fd00:18::/64 | gateway `.1`/`::1`, relay `.2`/`::2`, NAT router outside `.50`/`::50`, client `.100`/`::100` (without NAT), outside host `.200`/`::200` |
//! | home (behind NAT) | 198.18.2.0/24 | fd00:18:2::/64 | router `.1`/`::1`, client `.100`/`::100` |
//! | corporate LAN | 198.19.0.0/24 | fd00:19::/64 | gateway `.1`/`::1`, LAN host `.10`/`::10` |
//! | virtual IP pool | 198.19.100.0/24 | fd00:19:100::/120 | handed out by the gateway |
//!
//! Routing: the client has only its connected segment (and, behind NAT, a default route to
//! the router); the router knows only the wan and home segments. Nothing outside the
//! gateway has a route to the LAN or the pool, so the LAN is reachable from the client
//! only through a tunnel. The LAN host's default route points at the gateway, which
//! forwards between the tunnel and the LAN and masquerades tunnel traffic leaving on the
//! wan (full-tunnel clients reaching the outside host).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address prefix such as `198.19.0.0/24`, printed in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The network address.
    pub addr: IpAddr,
    /// The prefix length in bits.
    pub len: u8,
}

impl Prefix {
    const fn v4(a: [u8; 4], len: u8) -> Self {
        Self {
            addr: IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
            len,
        }
    }

    const fn v6(segments: [u16; 8], len: u8) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        Self {
            addr: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
            len,
        }
    }

    /// Whether `addr` lies inside this prefix.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// An interface address: the host's address together with its segment's prefix length.
pub(crate) fn cidr(addr: IpAddr, segment: Prefix) -> String {
    format!("{addr}/{}", segment.len)
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

const fn v6(a: u16, b: u16, c: u16, h: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(a, b, c, 0, 0, 0, 0, h))
}

/// The wan segment shared by the client (or NAT router), the gateway and the outside host.
pub const WAN_V4: Prefix = Prefix::v4([198, 18, 0, 0], 24);
/// IPv6 twin of [`WAN_V4`].
pub const WAN_V6: Prefix = Prefix::v6([0xfd00, 0x18, 0, 0, 0, 0, 0, 0], 64);
/// The home segment between the client and the NAT router.
pub const HOME_V4: Prefix = Prefix::v4([198, 18, 2, 0], 24);
/// IPv6 twin of [`HOME_V4`].
pub const HOME_V6: Prefix = Prefix::v6([0xfd00, 0x18, 2, 0, 0, 0, 0, 0], 64);
/// The corporate LAN behind the gateway.
pub const LAN_V4: Prefix = Prefix::v4([198, 19, 0, 0], 24);
/// IPv6 twin of [`LAN_V4`].
pub const LAN_V6: Prefix = Prefix::v6([0xfd00, 0x19, 0, 0, 0, 0, 0, 0], 64);
/// The gateway's virtual IPv4 pool.
pub const POOL_V4: Prefix = Prefix::v4([198, 19, 100, 0], 24);
/// The gateway's virtual IPv6 pool.
pub const POOL_V6: Prefix = Prefix::v6([0xfd00, 0x19, 0x100, 0, 0, 0, 0, 0], 120);

/// The gateway's wan address (the one clients connect to).
pub const GATEWAY_WAN_V4: IpAddr = v4(198, 18, 0, 1);
/// The gateway's wan IPv6 address.
pub const GATEWAY_WAN_V6: IpAddr = v6(0xfd00, 0x18, 0, 1);
/// The gateway's leg on the corporate LAN.
pub const GATEWAY_LAN_V4: IpAddr = v4(198, 19, 0, 1);
/// The gateway's IPv6 leg on the corporate LAN.
pub const GATEWAY_LAN_V6: IpAddr = v6(0xfd00, 0x19, 0, 1);
/// The relay's address (the wan bridge itself).
pub const RELAY_V4: IpAddr = v4(198, 18, 0, 2);
/// The relay's IPv6 address.
pub const RELAY_V6: IpAddr = v6(0xfd00, 0x18, 0, 2);
/// The NAT router's outside (wan) address.
pub const ROUTER_WAN_V4: IpAddr = v4(198, 18, 0, 50);
/// The NAT router's outside IPv6 address.
pub const ROUTER_WAN_V6: IpAddr = v6(0xfd00, 0x18, 0, 0x50);
/// The NAT router's inside (home) address, the client's default gateway behind NAT.
pub const ROUTER_HOME_V4: IpAddr = v4(198, 18, 2, 1);
/// The NAT router's inside IPv6 address.
pub const ROUTER_HOME_V6: IpAddr = v6(0xfd00, 0x18, 2, 1);
/// The client's address directly on the wan (no NAT).
pub const CLIENT_WAN_V4: IpAddr = v4(198, 18, 0, 100);
/// The client's IPv6 address directly on the wan.
pub const CLIENT_WAN_V6: IpAddr = v6(0xfd00, 0x18, 0, 0x100);
/// The client's address on the home segment (behind NAT).
pub const CLIENT_HOME_V4: IpAddr = v4(198, 18, 2, 100);
/// The client's IPv6 address on the home segment.
pub const CLIENT_HOME_V6: IpAddr = v6(0xfd00, 0x18, 2, 0x100);
/// The outside host, a plain internet host on the wan.
pub const OUTSIDE_V4: IpAddr = v4(198, 18, 0, 200);
/// The outside host's IPv6 address.
pub const OUTSIDE_V6: IpAddr = v6(0xfd00, 0x18, 0, 0x200);
/// The LAN host: DNS, HTTP and iperf3 server of the corporate network.
pub const LAN_HOST_V4: IpAddr = v4(198, 19, 0, 10);
/// The LAN host's IPv6 address.
pub const LAN_HOST_V6: IpAddr = v6(0xfd00, 0x19, 0, 0x10);

/// The gateway's IKE identity and the name in its certificate.
pub const GATEWAY_FQDN: &str = "vpn.corp.example";
/// The DNS domain of the corporate network, pushed as INTERNAL_DNS_DOMAIN.
pub const CORP_DOMAIN: &str = "corp.example";
/// A name the LAN's DNS server answers with the LAN host's addresses.
pub const INTRANET_FQDN: &str = "intranet.corp.example";
/// TCP port of the HTTP servers on the LAN and outside hosts.
pub const HTTP_PORT: u16 = 80;
/// TCP port of the iperf3 server on the LAN host.
pub const IPERF_PORT: u16 = 5201;
/// The page the LAN host's HTTP server returns for every path.
pub const LAN_PAGE: &str = "corridor lab intranet\n";
/// The page the outside host's HTTP server returns for every path.
pub const OUTSIDE_PAGE: &str = "corridor lab outside\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_contain_their_hosts() {
        assert!(WAN_V4.contains(GATEWAY_WAN_V4));
        assert!(WAN_V6.contains(OUTSIDE_V6));
        assert!(LAN_V4.contains(LAN_HOST_V4));
        assert!(!LAN_V4.contains(POOL_V4.addr));
        assert!(POOL_V6.contains("fd00:19:100::ff".parse().unwrap()));
        assert!(!POOL_V6.contains("fd00:19:100::100".parse().unwrap()));
        assert_eq!(POOL_V6.to_string(), "fd00:19:100::/120");
        assert_eq!(HOME_V4.to_string(), "198.18.2.0/24");
    }
}
