//! Which prefixes go into the tunnel and which must stay out, decided from the profile's
//! routing section and what the gateway agreed to (its narrowed TSr), before anything
//! touches the host. A pure function so every rule below has a unit test.
//!
//! The rules, in the order they apply:
//! - Only families with an assigned virtual address can carry traffic.
//! - A TSr covering a whole family means the gateway accepts everything of it.
//! - `split` with `include` prefixes: exactly those, as far as the gateway accepts them;
//!   the rest of an `include` list is reported, not routed (the gateway would drop it:
//!   RFC 7296 §2.9, packets outside the Child SA's selectors have no SA).
//! - `split` without `include`: what the gateway offers; a whole-family TSr there is a
//!   full tunnel for that family, reported as such.
//! - `full`: split default routes for each family the gateway accepts whole; when it
//!   narrowed a family, its TSr prefixes instead, reported.
//! - `block_ipv4` / `block_ipv6`: every destination of that family not routed into the
//!   tunnel is refused (split unreachable routes), except the excluded prefixes, the
//!   gateway and the networks on the host's own links, whose more specific routes win.
//!   A family routed whole into the tunnel needs no block.
//! - `exclude` prefixes always bypass the tunnel, and so does the gateway itself whenever
//!   a tunnel or block route would cover it (otherwise our own ESP packets would loop).

use std::net::IpAddr;

use corridor_model::{IpNet, Routing, TunnelMode};

/// What to install.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RoutePlan {
    /// Families routed whole into the tunnel (split default routes).
    pub full_v4: bool,
    /// See `full_v4`.
    pub full_v6: bool,
    /// Prefixes routed into the tunnel.
    pub tunnel: Vec<IpNet>,
    /// Families whose traffic outside the tunnel is refused.
    pub block_v4: bool,
    /// See `block_v4`.
    pub block_v6: bool,
    /// Prefixes pinned to the route they use now, outside the tunnel.
    pub bypass: Vec<IpNet>,
    /// Plain-language remarks for the user (what was not routed and why).
    pub notes: Vec<String>,
}

/// Plans the routes; `selectors` are the gateway's narrowed TSr as prefixes,
/// `has_v4`/`has_v6` whether an address of that family was assigned.
pub fn plan(
    routing: &Routing,
    selectors: &[IpNet],
    has_v4: bool,
    has_v6: bool,
    gateway: IpAddr,
) -> RoutePlan {
    let mut plan = RoutePlan::default();
    let assigned = |net: &IpNet| if net.is_ipv4() { has_v4 } else { has_v6 };
    let whole_v4 = has_v4 && selectors.iter().any(|n| n.is_ipv4() && n.prefix_len() == 0);
    let whole_v6 = has_v6 && selectors.iter().any(|n| n.is_ipv6() && n.prefix_len() == 0);
    let narrowed: Vec<IpNet> = selectors
        .iter()
        .filter(|n| n.prefix_len() != 0 && assigned(n))
        .copied()
        .collect();

    match routing.mode {
        TunnelMode::Split if !routing.include.is_empty() => {
            for net in &routing.include {
                if !assigned(net) {
                    plan.notes.push(format!(
                        "{net} not routed: the gateway assigned no {} address",
                        if net.is_ipv4() { "IPv4" } else { "IPv6" }
                    ));
                } else if selectors.iter().any(|s| s.contains(net)) {
                    push_unique(&mut plan.tunnel, *net);
                } else {
                    plan.notes
                        .push(format!("{net} not routed: the gateway does not accept it"));
                }
            }
        }
        TunnelMode::Split => {
            plan.full_v4 = whole_v4;
            plan.full_v6 = whole_v6;
            if whole_v4 || whole_v6 {
                plan.notes
                    .push("the gateway offered a full tunnel; routing it as such".to_string());
            }
            for net in narrowed {
                push_unique(&mut plan.tunnel, net);
            }
        }
        TunnelMode::Full => {
            plan.full_v4 = whole_v4;
            plan.full_v6 = whole_v6;
            for net in narrowed {
                let whole = if net.is_ipv4() { whole_v4 } else { whole_v6 };
                if !whole {
                    push_unique(&mut plan.tunnel, net);
                }
            }
            if has_v4 && !whole_v4 && plan.tunnel.iter().any(IpNet::is_ipv4) {
                plan.notes.push(
                    "the gateway narrowed IPv4 to the routes shown; other IPv4 traffic \
                     stays outside the tunnel"
                        .to_string(),
                );
            }
            if has_v6 && !whole_v6 && plan.tunnel.iter().any(IpNet::is_ipv6) {
                plan.notes.push(
                    "the gateway narrowed IPv6 to the routes shown; other IPv6 traffic \
                     stays outside the tunnel"
                        .to_string(),
                );
            }
        }
    }

    plan.block_v4 = routing.block_ipv4 && !plan.full_v4;
    plan.block_v6 = routing.block_ipv6 && !plan.full_v6;
    for net in &routing.exclude {
        push_unique(&mut plan.bypass, *net);
    }
    let gateway_net = IpNet::host(gateway);
    let gateway_tunnelled = match gateway {
        IpAddr::V4(_) => plan.full_v4 || plan.block_v4,
        IpAddr::V6(_) => plan.full_v6 || plan.block_v6,
    } || plan.tunnel.iter().any(|n| n.contains(&gateway_net));
    let gateway_excluded = plan.bypass.iter().any(|n| n.contains(&gateway_net));
    if gateway_tunnelled && !gateway_excluded {
        plan.bypass.insert(0, gateway_net);
    }
    plan
}

fn push_unique(list: &mut Vec<IpNet>, net: IpNet) {
    if !list.contains(&net) {
        list.push(net);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn routing(mode: TunnelMode, include: &[&str], exclude: &[&str]) -> Routing {
        Routing {
            mode,
            include: include.iter().map(|s| net(s)).collect(),
            exclude: exclude.iter().map(|s| net(s)).collect(),
            ..Routing::default()
        }
    }

    const GW: &str = "198.18.0.1";

    fn gw() -> IpAddr {
        GW.parse().unwrap()
    }

    #[test]
    fn split_without_include_routes_what_the_gateway_offers() {
        let p = plan(
            &routing(TunnelMode::Split, &[], &[]),
            &[net("198.19.0.0/24"), net("fd00:19::/64")],
            true,
            false,
            gw(),
        );
        assert_eq!(p.tunnel, vec![net("198.19.0.0/24")]);
        assert!(!p.full_v4 && !p.full_v6);
        assert!(p.bypass.is_empty());
    }

    #[test]
    fn split_include_is_limited_to_what_the_gateway_accepts() {
        let p = plan(
            &routing(
                TunnelMode::Split,
                &["198.19.0.0/25", "10.0.0.0/8", "fd00:1::/64"],
                &[],
            ),
            &[net("198.19.0.0/24")],
            true,
            false,
            gw(),
        );
        assert_eq!(p.tunnel, vec![net("198.19.0.0/25")]);
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
        assert!(p.notes[0].contains("10.0.0.0/8"));
        assert!(p.notes[1].contains("no IPv6 address"));
    }

    #[test]
    fn split_include_under_a_full_selector_stays_split() {
        let p = plan(
            &routing(TunnelMode::Split, &["198.19.0.0/24"], &[]),
            &[net("0.0.0.0/0")],
            true,
            false,
            gw(),
        );
        assert!(!p.full_v4);
        assert_eq!(p.tunnel, vec![net("198.19.0.0/24")]);
    }

    #[test]
    fn full_tunnel_pins_the_gateway_and_keeps_excludes_out() {
        let p = plan(
            &routing(TunnelMode::Full, &[], &["192.0.2.0/24"]),
            &[net("0.0.0.0/0"), net("::/0")],
            true,
            true,
            gw(),
        );
        assert!(p.full_v4 && p.full_v6);
        assert!(p.tunnel.is_empty());
        assert_eq!(p.bypass, vec![net("198.18.0.1/32"), net("192.0.2.0/24")]);
    }

    #[test]
    fn full_tunnel_of_one_family_only() {
        let p = plan(
            &routing(TunnelMode::Full, &[], &[]),
            &[net("0.0.0.0/0"), net("::/0")],
            true,
            false,
            gw(),
        );
        assert!(p.full_v4 && !p.full_v6);
    }

    #[test]
    fn full_mode_narrowed_by_the_gateway_routes_the_narrowed_prefixes() {
        let p = plan(
            &routing(TunnelMode::Full, &[], &[]),
            &[net("198.19.0.0/24")],
            true,
            false,
            gw(),
        );
        assert!(!p.full_v4);
        assert_eq!(p.tunnel, vec![net("198.19.0.0/24")]);
        assert!(p.notes[0].contains("narrowed IPv4"));
        assert!(p.bypass.is_empty(), "the gateway is outside the tunnel");
    }

    #[test]
    fn a_split_route_covering_the_gateway_pins_it() {
        let p = plan(
            &routing(TunnelMode::Split, &["198.18.0.0/15"], &[]),
            &[net("198.18.0.0/15")],
            true,
            false,
            gw(),
        );
        assert_eq!(p.bypass, vec![net("198.18.0.1/32")]);
    }

    #[test]
    fn blocking_a_family_pins_the_gateway_unless_that_family_is_tunnelled_whole() {
        let mut r = routing(TunnelMode::Split, &[], &[]);
        r.block_ipv4 = true;
        r.block_ipv6 = true;
        let p = plan(&r, &[net("198.19.0.0/24")], true, false, gw());
        assert!(p.block_v4 && p.block_v6);
        assert_eq!(p.tunnel, vec![net("198.19.0.0/24")]);
        assert_eq!(p.bypass, vec![net("198.18.0.1/32")]);

        r.mode = TunnelMode::Full;
        let p = plan(&r, &[net("0.0.0.0/0")], true, false, gw());
        assert!(p.full_v4 && !p.block_v4 && p.block_v6);
    }

    #[test]
    fn an_exclude_covering_the_gateway_is_enough() {
        let p = plan(
            &routing(TunnelMode::Full, &[], &["198.18.0.0/24"]),
            &[net("0.0.0.0/0")],
            true,
            false,
            gw(),
        );
        assert_eq!(p.bypass, vec![net("198.18.0.0/24")]);
    }
}
