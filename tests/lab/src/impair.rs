//! Path impairment with nftables, for a kernel without netem.
//!
//! The rules live in the wan namespace, on the bridge port towards the client (or NAT
//! router), so they act on everything the client exchanges with the gateway, the relay
//! and the outside host, whatever the lab's shape:
//!
//! - `up` (netdev ingress of the edge port): traffic from the client;
//! - `down` (netdev egress of the edge port): traffic to the client;
//! - `down_dup` (netdev ingress of the gateway port): duplicates of gateway traffic to the
//!   client. Duplicating at the edge port's egress would duplicate the duplicates.
//!
//! Loss is `numgen random mod 1000 < N drop`; duplication is the `dup to "port"` statement,
//! which sends a copy straight out of the other bridge port (so only gateway traffic is
//! duplicated); size limits compare the IP total length (IPv6: payload length + 40).
//! ARP is never dropped so that neighbour resolution keeps working.
//!
//! The whole table is replaced in one nft transaction, so settings can change while
//! traffic flows.

use std::fmt::Write as _;
use std::net::IpAddr;

use anyhow::{Result, bail};

use crate::cmd::nft_script;
use crate::plan::{GATEWAY_WAN_V4, GATEWAY_WAN_V6};
use crate::topology::{EDGE_PORT, GATEWAY_PORT};

/// The nftables table holding the impairment rules.
pub const TABLE: &str = "lab_impair";

/// Impairment of the path between the client and the wan, in both directions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impairment {
    /// Packets dropped per thousand, in each direction.
    pub loss_permille: u16,
    /// Packets between client and gateway duplicated per thousand, in each direction.
    pub duplicate_permille: u16,
    /// Drop IP packets longer than this many bytes (total length), in each direction.
    pub max_packet_size: Option<u16>,
}

impl Impairment {
    /// No impairment.
    pub fn none() -> Self {
        Self::default()
    }

    /// Random loss of `permille` packets per thousand.
    pub fn loss(permille: u16) -> Self {
        Self {
            loss_permille: permille,
            ..Self::default()
        }
    }

    /// Duplicates of `permille` packets per thousand.
    pub fn duplicate(permille: u16) -> Self {
        Self {
            duplicate_permille: permille,
            ..Self::default()
        }
    }

    /// Drops packets larger than `bytes`: a path MTU black hole.
    pub fn max_size(bytes: u16) -> Self {
        Self {
            max_packet_size: Some(bytes),
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        if self.loss_permille > 1000 || self.duplicate_permille > 1000 {
            bail!("impairment rates are per thousand (0-1000): {self:?}");
        }
        if self.max_packet_size.is_some_and(|s| s < 68) {
            bail!("a maximum packet size below 68 bytes would break IPv4 itself");
        }
        Ok(())
    }

    /// The nft script that replaces the table with these rules. `edge_addrs` are the
    /// client-side addresses on the wan (client or NAT router) that duplicates go to.
    pub(crate) fn script(&self, edge_addrs: &[IpAddr]) -> Result<String> {
        self.validate()?;
        let mut drops = String::new();
        if let Some(max) = self.max_packet_size {
            let _ = writeln!(drops, "    ip length > {max} drop");
            let _ = writeln!(drops, "    ip6 length > {} drop", max.saturating_sub(40));
        }
        if self.loss_permille > 0 {
            let _ = writeln!(
                drops,
                "    meta protocol {{ ip, ip6 }} {}drop",
                chance(self.loss_permille)
            );
        }
        let mut up_dup = String::new();
        let mut down_dup = String::new();
        if self.duplicate_permille > 0 {
            let n = chance(self.duplicate_permille);
            for (family, gw) in [("ip", GATEWAY_WAN_V4), ("ip6", GATEWAY_WAN_V6)] {
                let _ = writeln!(
                    up_dup,
                    "    {family} daddr {gw} {n}dup to \"{GATEWAY_PORT}\""
                );
            }
            for addr in edge_addrs {
                let family = if addr.is_ipv4() { "ip" } else { "ip6" };
                let _ = writeln!(
                    down_dup,
                    "    {family} daddr {addr} {n}dup to \"{EDGE_PORT}\""
                );
            }
        }
        let mut s = String::new();
        // Declaring then deleting makes the script work whether or not the table exists.
        let _ = writeln!(s, "table netdev {TABLE}");
        let _ = writeln!(s, "delete table netdev {TABLE}");
        let _ = writeln!(s, "table netdev {TABLE} {{");
        let _ = writeln!(s, "  chain up {{");
        let _ = writeln!(
            s,
            "    type filter hook ingress device \"{EDGE_PORT}\" priority 0; policy accept;"
        );
        s.push_str(&drops);
        s.push_str(&up_dup);
        let _ = writeln!(s, "  }}");
        let _ = writeln!(s, "  chain down {{");
        let _ = writeln!(
            s,
            "    type filter hook egress device \"{EDGE_PORT}\" priority 0; policy accept;"
        );
        s.push_str(&drops);
        let _ = writeln!(s, "  }}");
        let _ = writeln!(s, "  chain down_dup {{");
        let _ = writeln!(
            s,
            "    type filter hook ingress device \"{GATEWAY_PORT}\" priority 0; policy accept;"
        );
        s.push_str(&down_dup);
        let _ = writeln!(s, "  }}");
        let _ = writeln!(s, "}}");
        Ok(s)
    }
}

/// The nft condition that matches `permille` packets per thousand at random (nothing to
/// add for every packet: `numgen` only yields 0-999).
fn chance(permille: u16) -> String {
    if permille >= 1000 {
        String::new()
    } else {
        format!("numgen random mod 1000 < {permille} ")
    }
}

/// Replaces the impairment rules in the wan namespace `wan_ns`.
pub(crate) fn apply(wan_ns: &str, impairment: &Impairment, edge_addrs: &[IpAddr]) -> Result<()> {
    nft_script(wan_ns, &impairment.script(edge_addrs)?)
}

/// Removes the impairment rules (nothing happens if there are none).
pub(crate) fn clear(wan_ns: &str) -> Result<()> {
    nft_script(
        wan_ns,
        &format!("table netdev {TABLE}\ndelete table netdev {TABLE}\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_has_every_requested_rule() {
        let imp = Impairment {
            loss_permille: 50,
            duplicate_permille: 10,
            max_packet_size: Some(1200),
        };
        let edge: IpAddr = "198.18.0.100".parse().unwrap();
        let s = imp.script(&[edge]).unwrap();
        assert!(s.contains("numgen random mod 1000 < 50 drop"));
        assert!(s.contains("ip length > 1200 drop"));
        assert!(s.contains("ip6 length > 1160 drop"));
        assert!(s.contains("ip daddr 198.18.0.1 numgen random mod 1000 < 10 dup to \"gw\""));
        assert!(s.contains("ip daddr 198.18.0.100 numgen random mod 1000 < 10 dup to \"edge\""));
    }

    #[test]
    fn rates_are_checked() {
        assert!(Impairment::loss(1001).script(&[]).is_err());
        assert!(Impairment::max_size(20).script(&[]).is_err());
        assert!(Impairment::none().script(&[]).is_ok());
        let all = Impairment::loss(1000).script(&[]).unwrap();
        assert!(all.contains("meta protocol { ip, ip6 } drop"), "{all}");
    }
}
