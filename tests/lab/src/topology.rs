//! Builds a lab's namespaces and links (see [`crate::plan`] for the layout).
//!
//! Every veth is created inside a lab namespace with its peer moved straight into
//! another (`ip -n A link add X type veth peer name Y netns B`), so no interface ever
//! appears in the host's namespace, and interface names (at most 15 characters) only
//! need to be unique within one lab namespace.

use std::net::IpAddr;

use anyhow::{Context, Result};

use crate::cmd::{self, nft_script};
use crate::naming::Host;
use crate::netns;
use crate::plan::{
    self, CLIENT_HOME_V4, CLIENT_HOME_V6, CLIENT_WAN_V4, CLIENT_WAN_V6, GATEWAY_LAN_V4,
    GATEWAY_LAN_V6, GATEWAY_WAN_V4, GATEWAY_WAN_V6, HOME_V4, HOME_V6, LAN_HOST_V4, LAN_HOST_V6,
    LAN_V4, LAN_V6, OUTSIDE_V4, OUTSIDE_V6, POOL_V4, POOL_V6, Prefix, RELAY_V4, RELAY_V6,
    ROUTER_HOME_V4, ROUTER_HOME_V6, ROUTER_WAN_V4, ROUTER_WAN_V6, WAN_V4, WAN_V6,
};

/// The bridge in the wan namespace.
pub const WAN_BRIDGE: &str = "br0";
/// The wan bridge port towards the client (or the NAT router): where impairment applies.
pub const EDGE_PORT: &str = "edge";
/// The wan bridge port towards the gateway.
pub const GATEWAY_PORT: &str = "gw";
/// The wan bridge port towards the outside host.
pub const OUTSIDE_PORT: &str = "out";
/// The gateway's and the NAT router's interface on the wan.
pub const WAN_IF: &str = "wan0";
/// The gateway's interface on the LAN.
pub const LAN_IF: &str = "lan0";
/// The NAT router's interface on the home segment.
pub const HOME_IF: &str = "home0";
/// The only interface of the client, the LAN host and the outside host.
pub const HOST_IF: &str = "eth0";

/// The hosts of a lab with or without the NAT router.
pub fn hosts(nat: bool) -> Vec<Host> {
    Host::ALL
        .into_iter()
        .filter(|h| nat || *h != Host::Router)
        .collect()
}

/// The address of `host` on the segment a client reaches it over, if it has one.
pub fn address(host: Host, nat: bool, v6: bool) -> Option<IpAddr> {
    let (a4, a6) = match host {
        Host::Client if nat => (CLIENT_HOME_V4, CLIENT_HOME_V6),
        Host::Client => (CLIENT_WAN_V4, CLIENT_WAN_V6),
        Host::Router if nat => (ROUTER_WAN_V4, ROUTER_WAN_V6),
        Host::Router => return None,
        Host::Wan => (RELAY_V4, RELAY_V6),
        Host::Gateway => (GATEWAY_WAN_V4, GATEWAY_WAN_V6),
        Host::Lan => (LAN_HOST_V4, LAN_HOST_V6),
        Host::Outside => (OUTSIDE_V4, OUTSIDE_V6),
    };
    Some(if v6 { a6 } else { a4 })
}

/// Creates the namespaces and wiring of lab `lab`. Each namespace is pushed onto `created`
/// as soon as it exists, so the caller can tear down whatever was made if a later step fails.
pub(crate) fn build(lab: &str, nat: bool, created: &mut Vec<String>) -> Result<()> {
    for host in hosts(nat) {
        let ns = host.netns(lab);
        netns::create(&ns)?;
        created.push(ns);
    }
    let ns = |h: Host| h.netns(lab);
    let wan = ns(Host::Wan);
    let gw = ns(Host::Gateway);

    // The wan bridge; its own address is where the relay listens.
    cmd::ip(&["-n", &wan, "link", "add", WAN_BRIDGE, "type", "bridge"])?;
    addresses(&wan, WAN_BRIDGE, &[(RELAY_V4, WAN_V4), (RELAY_V6, WAN_V6)])?;

    // Gateway: wan leg on the bridge, inside leg to the LAN host.
    wan_port(&wan, GATEWAY_PORT, &gw, WAN_IF)?;
    addresses(
        &gw,
        WAN_IF,
        &[(GATEWAY_WAN_V4, WAN_V4), (GATEWAY_WAN_V6, WAN_V6)],
    )?;
    veth(&gw, LAN_IF, &ns(Host::Lan), HOST_IF)?;
    addresses(
        &gw,
        LAN_IF,
        &[(GATEWAY_LAN_V4, LAN_V4), (GATEWAY_LAN_V6, LAN_V6)],
    )?;
    forwarding(&gw)?;
    masquerade(&gw, &format!(
        "oifname \"{WAN_IF}\" ip saddr {POOL_V4} masquerade\n    oifname \"{WAN_IF}\" ip6 saddr {POOL_V6} masquerade"
    ))
    .context("setting up the gateway's masquerade for full-tunnel clients")?;

    // LAN host: everything it does not know goes to the gateway.
    let lan = ns(Host::Lan);
    addresses(
        &lan,
        HOST_IF,
        &[(LAN_HOST_V4, LAN_V4), (LAN_HOST_V6, LAN_V6)],
    )?;
    default_routes(&lan, GATEWAY_LAN_V4, GATEWAY_LAN_V6)?;

    // Outside host: only its wan segment.
    let outside = ns(Host::Outside);
    wan_port(&wan, OUTSIDE_PORT, &outside, HOST_IF)?;
    addresses(
        &outside,
        HOST_IF,
        &[(OUTSIDE_V4, WAN_V4), (OUTSIDE_V6, WAN_V6)],
    )?;

    let client = ns(Host::Client);
    if nat {
        let router = ns(Host::Router);
        wan_port(&wan, EDGE_PORT, &router, WAN_IF)?;
        addresses(
            &router,
            WAN_IF,
            &[(ROUTER_WAN_V4, WAN_V4), (ROUTER_WAN_V6, WAN_V6)],
        )?;
        veth(&router, HOME_IF, &client, HOST_IF)?;
        addresses(
            &router,
            HOME_IF,
            &[(ROUTER_HOME_V4, HOME_V4), (ROUTER_HOME_V6, HOME_V6)],
        )?;
        forwarding(&router)?;
        masquerade(&router, &format!("oifname \"{WAN_IF}\" masquerade"))
            .context("setting up the NAT router")?;
        addresses(
            &client,
            HOST_IF,
            &[(CLIENT_HOME_V4, HOME_V4), (CLIENT_HOME_V6, HOME_V6)],
        )?;
        default_routes(&client, ROUTER_HOME_V4, ROUTER_HOME_V6)?;
    } else {
        wan_port(&wan, EDGE_PORT, &client, HOST_IF)?;
        addresses(
            &client,
            HOST_IF,
            &[(CLIENT_WAN_V4, WAN_V4), (CLIENT_WAN_V6, WAN_V6)],
        )?;
    }
    Ok(())
}

/// A veth pair from `a` (named `a_if`) to `b` (named `b_if`), both ends up.
fn veth(a: &str, a_if: &str, b: &str, b_if: &str) -> Result<()> {
    cmd::ip(&[
        "-n", a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b,
    ])
    .with_context(|| format!("linking {a}/{a_if} to {b}/{b_if}"))?;
    cmd::ip(&["-n", a, "link", "set", a_if, "up"])?;
    cmd::ip(&["-n", b, "link", "set", b_if, "up"])?;
    Ok(())
}

/// A veth from a new port of the wan bridge to `peer_if` in `peer`.
fn wan_port(wan: &str, port: &str, peer: &str, peer_if: &str) -> Result<()> {
    veth(wan, port, peer, peer_if)?;
    cmd::ip(&["-n", wan, "link", "set", port, "master", WAN_BRIDGE])?;
    Ok(())
}

/// Adds addresses to an interface and brings it up. IPv6 addresses skip duplicate address
/// detection, which would otherwise keep them unusable for a second or two.
fn addresses(ns: &str, dev: &str, addrs: &[(IpAddr, Prefix)]) -> Result<()> {
    for (addr, segment) in addrs {
        let cidr = plan::cidr(*addr, *segment);
        let mut args = vec!["-n", ns, "addr", "add", &cidr, "dev", dev];
        if addr.is_ipv6() {
            args.push("nodad");
        }
        cmd::ip(&args).with_context(|| format!("adding {cidr} to {ns}/{dev}"))?;
    }
    cmd::ip(&["-n", ns, "link", "set", dev, "up"])?;
    Ok(())
}

fn default_routes(ns: &str, v4: IpAddr, v6: IpAddr) -> Result<()> {
    cmd::ip(&["-n", ns, "route", "add", "default", "via", &v4.to_string()])?;
    cmd::ip(&[
        "-n",
        ns,
        "-6",
        "route",
        "add",
        "default",
        "via",
        &v6.to_string(),
    ])?;
    Ok(())
}

fn forwarding(ns: &str) -> Result<()> {
    netns::sysctl(
        ns,
        &[
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv6.conf.all.forwarding", "1"),
        ],
    )
}

/// Source NAT on the way out, with the given rules in a postrouting chain.
fn masquerade(ns: &str, rules: &str) -> Result<()> {
    nft_script(
        ns,
        &format!(
            "table inet lab_nat {{\n  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    {rules}\n  }}\n}}\n"
        ),
    )
}
