//! The kill switch as Windows Filtering Platform filters, as plain data: which layer,
//! permit or block, weight and conditions. Produced from the policy by a pure function
//! so every filter has a test on every OS; only the conversion to `FWPM_FILTER0` and the
//! calls that add them are Windows code (`wfp.rs`).
//!
//! The filters sit at the ALE authorization layers, where Windows decides whether a
//! socket may connect (`FWPM_LAYER_ALE_AUTH_CONNECT_V4/V6`) and whether a packet may be
//! accepted from a remote host not yet authorized (`FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4/V6`),
//! the layers WFP's documentation names for "permitting or blocking connections"; once a
//! flow is authorized, its later packets are not classified there again.
//!
//! Microsoft, "Filter Arbitration": "Within each sub-layer, filters are ordered by
//! weight. Network traffic is indicated to matching filters from highest weight to
//! lowest weight", and evaluation in a sublayer stops at the first filter returning
//! permit or block. So every permit carries [`PERMIT_WEIGHT`] and the blocks the lowest
//! weight. Across sublayers "'Block' overrides 'Permit'": no other software's (soft)
//! permit can reopen what Corridor's blocks close.

use crate::killswitch::{
    DHCPV4_PORTS, DHCPV6_PORTS, KillSwitch, NDP_TYPES, PROTO_ICMPV6, PROTO_UDP,
};
use crate::types::{Family, IpNet};

/// The weight of every permit: above [`BLOCK_WEIGHT`], so a permit is evaluated first.
/// Microsoft, "Filter Weight Assignment": a weight given as "an FWP_UINT8 in the range
/// [0, 15]" is a weight range identifier, the 4 high-order bits of the real weight.
pub const PERMIT_WEIGHT: u8 = 12;
/// The weight of the blocks: the lowest, evaluated after every permit.
pub const BLOCK_WEIGHT: u8 = 0;

/// An ALE authorization layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WfpLayer {
    /// `FWPM_LAYER_ALE_AUTH_CONNECT_V4`: outgoing connections and first datagrams.
    ConnectV4,
    /// `FWPM_LAYER_ALE_AUTH_CONNECT_V6`.
    ConnectV6,
    /// `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4`: incoming connections and datagrams.
    RecvAcceptV4,
    /// `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6`.
    RecvAcceptV6,
}

impl WfpLayer {
    /// The two layers of `family`: connect, then receive/accept.
    pub fn of(family: Family) -> [WfpLayer; 2] {
        match family {
            Family::V4 => [Self::ConnectV4, Self::RecvAcceptV4],
            Family::V6 => [Self::ConnectV6, Self::RecvAcceptV6],
        }
    }

    /// The address family the layer classifies.
    pub fn family(self) -> Family {
        match self {
            Self::ConnectV4 | Self::RecvAcceptV4 => Family::V4,
            Self::ConnectV6 | Self::RecvAcceptV6 => Family::V6,
        }
    }
}

/// What a filter does with what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WfpAction {
    /// `FWP_ACTION_PERMIT`.
    Permit,
    /// `FWP_ACTION_BLOCK`.
    Block,
}

/// One filter condition. Microsoft's `FWPM_FILTER0` documentation: conditions with
/// different field keys must all match, conditions with the same field key are
/// alternatives ("OR"), which is how one filter names two ports or five ICMP types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WfpCondition {
    /// `FWPM_CONDITION_FLAGS` has `FWP_CONDITION_FLAG_IS_LOOPBACK` set.
    Loopback,
    /// `FWPM_CONDITION_IP_LOCAL_INTERFACE` is this interface (by alias; its LUID is
    /// looked up when the filter is added).
    Interface(String),
    /// `FWPM_CONDITION_IP_REMOTE_ADDRESS` lies in this prefix.
    RemoteAddress(IpNet),
    /// `FWPM_CONDITION_IP_PROTOCOL` is this IP protocol number.
    Protocol(u8),
    /// `FWPM_CONDITION_IP_LOCAL_PORT` is this port.
    LocalPort(u16),
    /// `FWPM_CONDITION_IP_REMOTE_PORT` is this port.
    RemotePort(u16),
    /// `FWPM_CONDITION_ICMP_TYPE` (the same field as the local port) is this type.
    IcmpType(u8),
}

/// One filter of the kill switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WfpFilter {
    /// What it is for, shown by `netsh wfp show filters`.
    pub name: String,
    /// Where it applies.
    pub layer: WfpLayer,
    /// Permit or block.
    pub action: WfpAction,
    /// Its weight within Corridor's sublayer (0-15).
    pub weight: u8,
    /// What it matches (all of them; alternatives for one field); none matches
    /// everything.
    pub conditions: Vec<WfpCondition>,
}

/// The filters that carry out `policy` (which must be valid), the permits first. For
/// each blocked family, at both of its layers: loopback, the tunnel interface, UDP
/// to and from the gateway on its ports, DHCP (DHCPv6 and Neighbor Discovery for
/// IPv6), each permitted prefix, then a block of everything else.
pub fn filters(policy: &KillSwitch) -> Vec<WfpFilter> {
    let mut out = Vec::new();
    for family in policy.blocked_families() {
        for layer in WfpLayer::of(family) {
            let mut permit = |name: String, conditions: Vec<WfpCondition>| {
                out.push(WfpFilter {
                    name,
                    layer,
                    action: WfpAction::Permit,
                    weight: PERMIT_WEIGHT,
                    conditions,
                });
            };
            permit("loopback".into(), vec![WfpCondition::Loopback]);
            permit(
                format!("the tunnel interface {}", policy.tunnel),
                vec![WfpCondition::Interface(policy.tunnel.clone())],
            );
            if Family::of(policy.gateway) == family {
                let mut conditions = vec![
                    WfpCondition::Protocol(PROTO_UDP),
                    WfpCondition::RemoteAddress(IpNet::host(policy.gateway)),
                ];
                conditions.extend(policy.ports().into_iter().map(WfpCondition::RemotePort));
                permit(
                    format!("IKE and ESP with the gateway {}", policy.gateway),
                    conditions,
                );
            }
            let (name, (client, server)) = match family {
                Family::V4 => ("DHCP", DHCPV4_PORTS),
                Family::V6 => ("DHCPv6", DHCPV6_PORTS),
            };
            // The client's port is local in both directions, the server's remote.
            permit(
                name.into(),
                vec![
                    WfpCondition::Protocol(PROTO_UDP),
                    WfpCondition::LocalPort(client),
                    WfpCondition::RemotePort(server),
                ],
            );
            if family == Family::V6 {
                let mut conditions = vec![WfpCondition::Protocol(PROTO_ICMPV6)];
                conditions.extend(NDP_TYPES.map(WfpCondition::IcmpType));
                permit("IPv6 Neighbor Discovery".into(), conditions);
            }
            for net in policy.permitted_in(family) {
                permit(
                    format!("{net} outside the tunnel"),
                    vec![WfpCondition::RemoteAddress(net)],
                );
            }
            out.push(WfpFilter {
                name: format!("block {} outside the tunnel", family.name()),
                layer,
                action: WfpAction::Block,
                weight: BLOCK_WEIGHT,
                conditions: Vec::new(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use WfpCondition as C;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn summary(filters: &[WfpFilter]) -> Vec<(WfpLayer, WfpAction, &str)> {
        filters
            .iter()
            .map(|f| (f.layer, f.action, f.name.as_str()))
            .collect()
    }

    #[test]
    fn ipv4_only() {
        let mut p = KillSwitch::new("corridor0", "203.0.113.7".parse().unwrap());
        p.block_v4 = true;
        p.permitted = vec![net("192.168.1.9/24"), net("fd00::/8")];
        let f = filters(&p);
        use WfpAction::{Block, Permit};
        use WfpLayer::{ConnectV4, RecvAcceptV4};
        let mut expected = Vec::new();
        for layer in [ConnectV4, RecvAcceptV4] {
            expected.extend([
                (layer, Permit, "loopback"),
                (layer, Permit, "the tunnel interface corridor0"),
                (layer, Permit, "IKE and ESP with the gateway 203.0.113.7"),
                (layer, Permit, "DHCP"),
                (layer, Permit, "192.168.1.0/24 outside the tunnel"),
                (layer, Block, "block IPv4 outside the tunnel"),
            ]);
        }
        assert_eq!(summary(&f), expected);
        assert_eq!(
            f[2].conditions,
            vec![
                C::Protocol(17),
                C::RemoteAddress(net("203.0.113.7/32")),
                C::RemotePort(500),
                C::RemotePort(4500),
            ]
        );
        assert_eq!(
            f[3].conditions,
            vec![C::Protocol(17), C::LocalPort(68), C::RemotePort(67)]
        );
        assert_eq!(f[1].conditions, vec![C::Interface("corridor0".into())]);
        assert_eq!(f[0].conditions, vec![C::Loopback]);
        assert!(f[5].conditions.is_empty());
    }

    #[test]
    fn ipv6_with_an_ipv4_gateway_has_no_gateway_permit_but_neighbor_discovery() {
        let mut p = KillSwitch::new("corridor0", "203.0.113.7".parse().unwrap());
        p.block_v6 = true;
        p.gateway_ports = vec![4500];
        let f = filters(&p);
        assert!(f.iter().all(|f| f.layer.family() == Family::V6));
        assert!(!f.iter().any(|f| f.name.contains("gateway")));
        let nd = f
            .iter()
            .find(|f| f.name == "IPv6 Neighbor Discovery")
            .unwrap();
        assert_eq!(
            nd.conditions,
            vec![
                C::Protocol(58),
                C::IcmpType(133),
                C::IcmpType(134),
                C::IcmpType(135),
                C::IcmpType(136),
                C::IcmpType(137),
            ]
        );
        let dhcp = f.iter().find(|f| f.name == "DHCPv6").unwrap();
        assert_eq!(
            dhcp.conditions,
            vec![C::Protocol(17), C::LocalPort(546), C::RemotePort(547)]
        );
        assert_eq!(f.len(), 2 * 5);
    }

    #[test]
    fn both_families_with_an_ipv6_gateway() {
        let mut p = KillSwitch::new("corridor0", "2001:db8::1".parse().unwrap());
        p.block_v4 = true;
        p.block_v6 = true;
        let f = filters(&p);
        let gateway: Vec<WfpLayer> = f
            .iter()
            .filter(|f| f.name.contains("gateway"))
            .map(|f| f.layer)
            .collect();
        assert_eq!(gateway, vec![WfpLayer::ConnectV6, WfpLayer::RecvAcceptV6]);
        let blocks: Vec<WfpLayer> = f
            .iter()
            .filter(|f| f.action == WfpAction::Block)
            .map(|f| f.layer)
            .collect();
        assert_eq!(
            blocks,
            vec![
                WfpLayer::ConnectV4,
                WfpLayer::RecvAcceptV4,
                WfpLayer::ConnectV6,
                WfpLayer::RecvAcceptV6
            ]
        );
    }

    #[test]
    fn every_permit_outweighs_every_block() {
        let mut p = KillSwitch::new("corridor0", "203.0.113.7".parse().unwrap());
        p.block_v4 = true;
        p.block_v6 = true;
        let f = filters(&p);
        let lowest_permit = f
            .iter()
            .filter(|f| f.action == WfpAction::Permit)
            .map(|f| f.weight)
            .min()
            .unwrap();
        let highest_block = f
            .iter()
            .filter(|f| f.action == WfpAction::Block)
            .map(|f| f.weight)
            .max()
            .unwrap();
        assert!(lowest_permit > highest_block);
        assert!(f.iter().all(|f| f.weight <= 15));
        // Addresses always match the layer's family.
        for filter in &f {
            for c in &filter.conditions {
                if let C::RemoteAddress(n) = c {
                    assert_eq!(n.family(), filter.layer.family());
                }
            }
        }
    }
}
