//! What `corridor up` changes on the host once the gateway has answered: the TUN
//! device with the assigned addresses, the routes and the DNS configuration. Every
//! change goes through the journal of [`Platform`].

use std::net::IpAddr;

use anyhow::anyhow;
use corridor_model::{Profile, TunnelMode};
use corridor_platform::{DnsConfig, Family, IpNet, Platform, Route, TunConfig};
use corridor_tunnel::session_driver::ConnectionInfo;

use crate::Failure;
use crate::args::UpArgs;
use crate::up::{out, system};

/// Creates the TUN device with the assigned addresses, installs the routes and the DNS
/// file, and prints what was done.
pub(crate) async fn configure(
    platform: &mut Platform,
    profile: &Profile,
    args: &UpArgs,
    gateway: IpAddr,
    info: &ConnectionInfo,
) -> Result<corridor_platform::TunDevice, Failure> {
    let mut addresses = Vec::new();
    for net in &info.assigned.ipv4 {
        addresses.push(IpNet::host(IpAddr::V4(net.addr)));
    }
    for net in &info.assigned.ipv6 {
        addresses.push(IpNet::host(IpAddr::V6(net.addr)));
    }
    if addresses.is_empty() {
        return Err(Failure::Conflict(anyhow!(
            "the gateway assigned no virtual address"
        )));
    }
    let mtu = u16::try_from(info.inner_mtu).unwrap_or(u16::MAX);
    let tun = platform
        .create_tun(&TunConfig {
            name: args.tun_name.clone(),
            mtu,
            addresses: addresses.clone(),
        })
        .await
        .map_err(system("cannot create the TUN device"))?;
    let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    out(&format!(
        "  address  {} on {} (MTU {mtu})",
        list.join(", "),
        args.tun_name
    ));

    // A TSr covering a whole family means a full tunnel for it: split default routes
    // plus a pinned route to the gateway. Anything narrower is routed as it stands.
    let mut full = Vec::new();
    let mut routes = Vec::new();
    for range in &info.routes {
        let Some(nets) = corridor_model::IpNet::from_range(range.start, range.end) else {
            continue;
        };
        for net in nets {
            let family = Family::of(net.addr());
            if net.prefix_len() == 0 {
                if !full.contains(&family) {
                    full.push(family);
                }
            } else {
                let dest = IpNet::new(net.addr(), net.prefix_len())
                    .map_err(system("bad traffic selector"))?;
                routes.push(dest);
            }
        }
    }
    // Only families with an address can carry traffic.
    full.retain(|f| addresses.iter().any(|a| a.family() == *f));
    if profile.routing.mode == TunnelMode::Split && !full.is_empty() {
        out("  note     the gateway offered a full tunnel; routing it as such");
    }
    for dest in &routes {
        if addresses.iter().all(|a| a.family() != dest.family()) {
            continue;
        }
        platform
            .add_route(Route::via_device(*dest, args.tun_name.clone()))
            .await
            .map_err(system("cannot add a route"))?;
        out(&format!("  route    {dest} via {}", args.tun_name));
    }
    if !full.is_empty() {
        let added = platform
            .full_tunnel(&args.tun_name, gateway, &full)
            .await
            .map_err(system("cannot route all traffic into the tunnel"))?;
        for route in added {
            let via = route
                .gateway
                .map(|g| format!("via {g} "))
                .unwrap_or_default();
            out(&format!(
                "  route    {} {via}dev {}",
                route.destination,
                route.device.as_deref().unwrap_or("?")
            ));
        }
    }

    let servers = if profile.dns.servers.is_empty() {
        info.assigned.dns.clone()
    } else {
        profile.dns.servers.clone()
    };
    let mut search_domains = info.assigned.dns_domains.clone();
    for d in &profile.dns.search_domains {
        if !search_domains.contains(d) {
            search_domains.push(d.clone());
        }
    }
    if args.no_dns {
        out("  dns      left alone (--no-dns)");
    } else if servers.is_empty() {
        out("  dns      none assigned; left alone");
    } else {
        let dns = DnsConfig {
            servers,
            search_domains,
        };
        platform
            .replace_resolv_conf(&args.resolv_conf, &dns)
            .map_err(system("cannot write the DNS configuration"))?;
        let servers: Vec<String> = dns.servers.iter().map(ToString::to_string).collect();
        out(&format!(
            "  dns      {} (search {}) in {}",
            servers.join(", "),
            if dns.search_domains.is_empty() {
                "-".to_string()
            } else {
                dns.search_domains.join(" ")
            },
            args.resolv_conf.display()
        ));
    }
    out(&format!(
        "  suite    IKE {}; ESP {} on UDP {}",
        info.ike_suite, info.esp_suite, info.remote_port
    ));
    Ok(tun)
}
