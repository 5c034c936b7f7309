//! The kill switch ("block outside the tunnel") as a policy value, the same on every
//! OS: what must keep passing while everything else of the blocked families is
//! dropped. Each OS turns it into its own mechanism: unreachable routes on Linux,
//! WFP filters on Windows ([`crate::wfp_rules`]), a pf anchor on macOS
//! ([`crate::pf_rules`]).
//!
//! What always passes, so the tunnel and the physical link keep working:
//! - loopback;
//! - everything on the tunnel interface;
//! - IKE and ESP-in-UDP to and from the gateway on its ports (500 and 4500 unless the
//!   profile says otherwise; RFC 7296 §2.23 and RFC 3948 put both on UDP);
//! - DHCPv4 (client port 68 to server port 67, RFC 2131 §4.1) and DHCPv6 (546 to 547,
//!   RFC 8415 §7.2), so the physical link keeps its lease;
//! - IPv6 router solicitation, router advertisement, neighbour solicitation, neighbour
//!   advertisement and redirect (ICMPv6 types 133-137, RFC 4861 §4), without which an
//!   IPv6 link loses its neighbours and its default router;
//! - the prefixes the profile excludes from the tunnel and, when allowed, the networks
//!   on the host's own links (the printer, the router's page), as Linux's unreachable
//!   routes let them through by being less specific than the on-link routes.

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::types::{Family, IpNet, Route, RouteKind};

/// The ports IKE and ESP-in-UDP use when the profile does not choose others: 500, and
/// 4500 after NAT detection (RFC 7296 §2.23).
pub const IKE_PORTS: [u16; 2] = [500, 4500];
/// DHCPv4 client and server ports (RFC 2131 §4.1).
pub const DHCPV4_PORTS: (u16, u16) = (68, 67);
/// DHCPv6 client and server ports (RFC 8415 §7.2).
pub const DHCPV6_PORTS: (u16, u16) = (546, 547);
/// ICMPv6 router solicitation (133) to redirect (137): the messages of Neighbor
/// Discovery (RFC 4861 §4).
pub const NDP_TYPES: std::ops::RangeInclusive<u8> = 133..=137;
/// The IP protocol numbers the rules name (IANA "Assigned Internet Protocol Numbers").
pub const PROTO_UDP: u8 = 17;
/// ICMPv6 (RFC 4443).
pub const PROTO_ICMPV6: u8 = 58;

/// What the kill switch lets through; everything else of the blocked families is
/// dropped. Build it with [`KillSwitch::new`], then [`KillSwitch::validate`] it (the
/// platform does so before applying).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillSwitch {
    /// The tunnel interface (`corridor0`, `utun5`): all its traffic passes.
    pub tunnel: String,
    /// The gateway's address: IKE and ESP-in-UDP to and from it pass.
    pub gateway: IpAddr,
    /// The gateway's UDP ports ([`IKE_PORTS`] unless the profile chose others).
    pub gateway_ports: Vec<u16>,
    /// Whether IPv4 outside the tunnel is blocked.
    pub block_v4: bool,
    /// Whether IPv6 outside the tunnel is blocked.
    pub block_v6: bool,
    /// Prefixes that may be reached outside the tunnel (the profile's `exclude` list).
    /// Prefixes of a family that is not blocked are ignored: that family passes anyway.
    pub permitted: Vec<IpNet>,
    /// Whether the networks on the host's own links (its on-link routes) pass too; the
    /// platform looks them up when it applies the policy.
    pub allow_lan: bool,
}

impl KillSwitch {
    /// A policy for `tunnel` and `gateway` on the usual ports that blocks nothing yet.
    pub fn new(tunnel: impl Into<String>, gateway: IpAddr) -> Self {
        Self {
            tunnel: tunnel.into(),
            gateway,
            gateway_ports: IKE_PORTS.to_vec(),
            block_v4: false,
            block_v6: false,
            permitted: Vec::new(),
            allow_lan: false,
        }
    }

    /// Whether traffic of `family` outside the tunnel is blocked.
    pub fn blocks(&self, family: Family) -> bool {
        match family {
            Family::V4 => self.block_v4,
            Family::V6 => self.block_v6,
        }
    }

    /// The blocked families, IPv4 first.
    pub fn blocked_families(&self) -> Vec<Family> {
        [Family::V4, Family::V6]
            .into_iter()
            .filter(|f| self.blocks(*f))
            .collect()
    }

    /// The gateway's ports, sorted, without duplicates.
    pub fn ports(&self) -> Vec<u16> {
        let mut ports = self.gateway_ports.clone();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// The permitted prefixes of `family`, host bits cleared, in the order given,
    /// without duplicates.
    pub fn permitted_in(&self, family: Family) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = Vec::new();
        for net in self.permitted.iter().filter(|n| n.family() == family) {
            let net = net.network();
            if !out.contains(&net) {
                out.push(net);
            }
        }
        out
    }

    /// Checks that the policy can be applied as meant: it blocks something, the tunnel
    /// name is one the rules can carry verbatim, the gateway is a unicast address on
    /// real ports, and no permitted prefix opens a whole family.
    pub fn validate(&self) -> Result<()> {
        let invalid = |what: &'static str, detail: String| Err(Error::Invalid { what, detail });
        if !self.block_v4 && !self.block_v6 {
            return invalid(
                "kill switch",
                "it blocks neither IPv4 nor IPv6; there is nothing to apply".into(),
            );
        }
        // Interface names reach pf rule text and WFP lookups as they are: letters,
        // digits, '-', '_' and '.' only, so no name can change a rule's meaning.
        let tunnel_ok = !self.tunnel.is_empty()
            && self.tunnel.len() <= 15
            && self
                .tunnel
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !tunnel_ok {
            return invalid(
                "kill switch tunnel interface",
                format!("{:?} (1-15 letters, digits, '-', '_' or '.')", self.tunnel),
            );
        }
        let gateway = self.gateway;
        let unusable = gateway.is_unspecified()
            || gateway.is_loopback()
            || gateway.is_multicast()
            || matches!(gateway, IpAddr::V4(v4) if v4.is_broadcast());
        if unusable {
            return invalid(
                "kill switch gateway",
                format!("{gateway} is not a unicast address of a remote host"),
            );
        }
        if self.gateway_ports.is_empty() {
            return invalid(
                "kill switch gateway ports",
                format!("none given for {gateway}"),
            );
        }
        if self.gateway_ports.contains(&0) {
            return invalid(
                "kill switch gateway ports",
                format!("port 0 for {gateway} is not a port packets can use"),
            );
        }
        if let Some(all) = self
            .permitted
            .iter()
            .find(|n| n.prefix() == 0 && self.blocks(n.family()))
        {
            return invalid(
                "kill switch permitted prefix",
                format!(
                    "{all} would let all {} pass outside the tunnel; turn the block off instead",
                    all.family().name()
                ),
            );
        }
        Ok(())
    }
}

/// The networks on the host's own links among `routes` (a routing table as
/// [`crate::NetworkOs::list_routes`] reads it): forwarding routes without a next hop on
/// an interface other than `tunnel`, default routes left out. These are what
/// [`KillSwitch::allow_lan`] lets through.
pub fn on_link_networks(routes: &[Route], tunnel: &str) -> Vec<IpNet> {
    let mut out: Vec<IpNet> = Vec::new();
    for route in routes {
        let on_link = route.kind == RouteKind::Unicast
            && route.gateway.is_none()
            && route.destination.prefix() > 0
            && route.device.as_deref().is_some_and(|d| d != tunnel);
        let net = route.destination.network();
        if on_link && !out.contains(&net) {
            out.push(net);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn policy() -> KillSwitch {
        let mut p = KillSwitch::new("corridor0", "203.0.113.7".parse().unwrap());
        p.block_v4 = true;
        p
    }

    fn rejected(p: &KillSwitch) -> String {
        match p.validate() {
            Err(e @ Error::Invalid { .. }) => e.to_string(),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn a_plain_policy_is_valid() {
        let mut p = policy();
        p.permitted.push(net("192.168.1.0/24"));
        p.permitted.push(net("::/0")); // IPv6 is not blocked: ignored
        assert!(p.validate().is_ok());
        assert_eq!(p.blocked_families(), vec![Family::V4]);
    }

    #[test]
    fn a_policy_blocking_nothing_is_refused() {
        let mut p = policy();
        p.block_v4 = false;
        assert!(rejected(&p).contains("blocks neither"));
    }

    #[test]
    fn tunnel_names_that_could_change_a_rule_are_refused() {
        for bad in ["", "utun0 }", "a#b", "corridor\"0", "0123456789abcdef"] {
            let mut p = policy();
            p.tunnel = bad.to_string();
            assert!(rejected(&p).contains("tunnel interface"), "{bad:?}");
        }
        let mut p = policy();
        p.tunnel = "utun5".into();
        assert!(p.validate().is_ok());
    }

    #[test]
    fn the_gateway_must_be_a_remote_unicast_host_on_real_ports() {
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "::1",
        ] {
            let mut p = policy();
            p.gateway = bad.parse().unwrap();
            assert!(rejected(&p).contains("gateway"), "{bad}");
        }
        let mut p = policy();
        p.gateway_ports.clear();
        assert!(rejected(&p).contains("none given"));
        p.gateway_ports = vec![500, 0];
        assert!(rejected(&p).contains("port 0"));
    }

    #[test]
    fn permitting_a_whole_blocked_family_is_refused() {
        let mut p = policy();
        p.permitted.push(net("0.0.0.0/0"));
        assert!(rejected(&p).contains("all IPv4"));
    }

    #[test]
    fn permitted_prefixes_are_normalised_per_family() {
        let mut p = policy();
        p.permitted = vec![
            net("192.168.1.77/24"),
            net("192.168.1.0/24"),
            net("fd00:1::5/64"),
            net("10.0.0.0/8"),
        ];
        assert_eq!(
            p.permitted_in(Family::V4),
            vec![net("192.168.1.0/24"), net("10.0.0.0/8")]
        );
        assert_eq!(p.permitted_in(Family::V6), vec![net("fd00:1::/64")]);
    }

    #[test]
    fn ports_are_sorted_and_unique() {
        let mut p = policy();
        p.gateway_ports = vec![4500, 500, 4500];
        assert_eq!(p.ports(), vec![500, 4500]);
    }

    #[test]
    fn on_link_networks_skip_the_tunnel_gateways_and_defaults() {
        let mut via = Route::via_device(net("0.0.0.0/0"), "Ethernet");
        via.gateway = Some("192.168.1.1".parse().unwrap());
        let routes = vec![
            via,
            Route::via_device(net("192.168.1.0/24"), "Ethernet"),
            Route::via_device(net("192.168.1.0/24"), "Wi-Fi"),
            Route::via_device(net("fe80::/64"), "Ethernet"),
            Route::via_device(net("0.0.0.0/1"), "corridor0"),
            Route::unreachable(net("128.0.0.0/1")),
        ];
        assert_eq!(
            on_link_networks(&routes, "corridor0"),
            vec![net("192.168.1.0/24"), net("fe80::/64")]
        );
    }
}
