//! What a connection changes on the host once the gateway has answered: the TUN device
//! with the assigned addresses, the routes and the DNS configuration. Every change goes
//! through the journal of [`Platform`], so whatever way the process ends, the next start
//! (or [`Platform::restore`]) puts the host back as it was.

use std::net::IpAddr;
use std::path::PathBuf;

use corridor_model::Profile;
use corridor_platform::{
    DnsBackend, DnsConfig, DnsMode, Family, IpNet, KillSwitch, KillSwitchBackend, Platform, Route,
    Tun, TunConfig, TunDevice, split_default_routes,
};
use corridor_tunnel::session_driver::ConnectionInfo;

use crate::route_plan;

/// How the host side is set up, beyond what the profile and the gateway decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOptions {
    /// The TUN device's name: a wish on macOS, where `utun` takes the next free utun
    /// and the device's real name is [`Tun::name`].
    pub tun_name: String,
    /// Leave DNS alone.
    pub no_dns: bool,
    /// The resolv.conf-format file to rewrite when systemd-resolved is not running.
    pub resolv_conf: PathBuf,
}

impl Default for HostOptions {
    fn default() -> Self {
        Self {
            tun_name: corridor_platform::DEFAULT_TUN_NAME.to_string(),
            no_dns: false,
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
        }
    }
}

/// Why the host could not be set up. Whatever was applied before the failing step is
/// in the journal: [`Platform::restore`] undoes it.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The gateway assigned no address, so there is nothing to send from.
    #[error("the gateway assigned no virtual address")]
    NoAddress,
    /// A step failed on the host.
    #[error("{step}: {source}")]
    Platform {
        /// The step, in words (`cannot add a route`).
        step: &'static str,
        /// What the OS said.
        source: corridor_platform::Error,
    },
}

fn step(step: &'static str) -> impl FnOnce(corridor_platform::Error) -> HostError {
    move |source| HostError::Platform { step, source }
}

/// What [`configure`] set up.
#[derive(Debug)]
pub struct Applied {
    /// The TUN device, with the assigned addresses.
    pub tun: TunDevice,
    /// The addresses on it.
    pub addresses: Vec<IpAddr>,
    /// Prefixes routed into the tunnel (`0.0.0.0/1`... for a full tunnel).
    pub routes: Vec<String>,
    /// DNS servers in use, when DNS was set.
    pub dns_servers: Vec<IpAddr>,
    /// Domains resolved through the tunnel (every name for a full tunnel: `~.`).
    pub dns_domains: Vec<String>,
}

/// Creates the TUN device with the assigned addresses, installs the routes and DNS, and
/// tells `say` what was done, one line per change (the lines `corridor up` prints).
pub async fn configure(
    platform: &mut Platform,
    profile: &Profile,
    options: &HostOptions,
    gateway: IpAddr,
    info: &ConnectionInfo,
    say: &mut (dyn FnMut(&str) + Send),
) -> Result<Applied, HostError> {
    let args = options;
    let mut out = |line: &str| say(line);
    let mut routes = Vec::new();
    let mut addresses = Vec::new();
    for net in &info.assigned.ipv4 {
        addresses.push(IpNet::host(IpAddr::V4(net.addr)));
    }
    for net in &info.assigned.ipv6 {
        addresses.push(IpNet::host(IpAddr::V6(net.addr)));
    }
    if addresses.is_empty() {
        return Err(HostError::NoAddress);
    }
    let mtu = u16::try_from(info.inner_mtu).unwrap_or(u16::MAX);
    let tun = platform
        .create_tun(&TunConfig {
            name: args.tun_name.clone(),
            mtu,
            addresses: addresses.clone(),
        })
        .await
        .map_err(step("cannot create the TUN device"))?;
    // The OS may have named the device itself (macOS: the next free utun); routes and
    // DNS go on the device that exists.
    let device = tun.name().to_string();
    let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    out(&format!(
        "  address  {} on {device} (MTU {mtu})",
        list.join(", "),
    ));

    let selectors: Vec<corridor_model::IpNet> = info
        .routes
        .iter()
        .filter_map(|range| corridor_model::IpNet::from_range(range.start, range.end))
        .flatten()
        .collect();
    let has = |family| addresses.iter().any(|a| a.family() == family);
    let plan = route_plan::plan(
        &profile.routing,
        &selectors,
        has(Family::V4),
        has(Family::V6),
        gateway,
    );
    let device = device.as_str();
    // Bypasses first: the gateway's pin must be in place before a route covering it.
    for net in &plan.bypass {
        let dest = platform_net(net)?;
        let pinned = platform
            .bypass(dest, device)
            .await
            .map_err(step("cannot keep a prefix out of the tunnel"))?;
        match pinned {
            Some(route) => out(&format!(
                "  route    {} {}",
                route.destination,
                describe(&route)
            )),
            None => out(&format!(
                "  route    {dest} stays as it is (outside the tunnel)"
            )),
        }
    }
    for net in &plan.tunnel {
        let dest = platform_net(net)?;
        platform
            .add_route(Route::via_device(dest, device))
            .await
            .map_err(step("cannot add a route"))?;
        out(&format!("  route    {dest} via {device}"));
        routes.push(dest.to_string());
    }
    for (family, on) in [(Family::V4, plan.full_v4), (Family::V6, plan.full_v6)] {
        if !on {
            continue;
        }
        for route in split_default_routes(device, family) {
            platform
                .add_route(route.clone())
                .await
                .map_err(step("cannot route all traffic into the tunnel"))?;
            out(&format!("  route    {} via {device}", route.destination));
            routes.push(route.destination.to_string());
        }
    }
    if plan.block_v4 || plan.block_v6 {
        let policy = kill_switch(profile, device, gateway, info, &plan)?;
        let backend = platform
            .block_outside_tunnel(&policy)
            .await
            .map_err(step("cannot block traffic outside the tunnel"))?;
        match backend {
            KillSwitchBackend::UnreachableRoutes { routes } => {
                for block in routes {
                    out(&format!(
                        "  route    unreachable {} (blocked outside the tunnel)",
                        block.destination
                    ));
                }
            }
            KillSwitchBackend::Wfp { .. } => {
                for family in policy.blocked_families() {
                    out(&format!(
                        "  block    {} outside the tunnel (WFP)",
                        family.name()
                    ));
                }
            }
            KillSwitchBackend::Pf { anchor } => {
                for family in policy.blocked_families() {
                    out(&format!(
                        "  block    {} outside the tunnel (pf anchor {anchor})",
                        family.name()
                    ));
                }
            }
        }
    }
    for note in &plan.notes {
        out(&format!("  note     {note}"));
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
    let mut dns_servers = Vec::new();
    let mut dns_domains = Vec::new();
    if args.no_dns {
        out("  dns      left alone (--no-dns)");
    } else if servers.is_empty() {
        out("  dns      none assigned; left alone");
    } else {
        let dns = DnsConfig {
            servers,
            search_domains,
        };
        // With everything in the tunnel, every query belongs there too; otherwise only
        // the tunnel's domains (which also complete single-label names).
        let mode = if plan.full_v4 || plan.full_v6 {
            DnsMode::FullTunnel
        } else {
            DnsMode::Split
        };
        let backend = platform
            .apply_dns(device, &dns, mode, &args.resolv_conf)
            .await
            .map_err(step("cannot set up DNS"))?;
        dns_servers.clone_from(&dns.servers);
        // macOS sends every name to the tunnel when a split configuration has no
        // domain (a supplemental resolver without one would match nothing).
        let every_name = mode.is_full_tunnel()
            || matches!(backend, DnsBackend::DynamicStore { split: false, .. });
        dns_domains = if every_name {
            vec!["~.".to_string()]
        } else {
            dns.search_domains.clone()
        };
        let servers: Vec<String> = dns.servers.iter().map(ToString::to_string).collect();
        let domains = if dns.search_domains.is_empty() {
            "-".to_string()
        } else {
            dns.search_domains.join(" ")
        };
        match backend {
            DnsBackend::Resolved { .. } => out(&format!(
                "  dns      {} for {} on {device} (systemd-resolved{})",
                servers.join(", "),
                if mode.is_full_tunnel() {
                    "every name"
                } else {
                    domains.as_str()
                },
                if mode.is_full_tunnel() { "" } else { ", split" },
            )),
            DnsBackend::ResolvConf { path } => out(&format!(
                "  dns      {} (search {domains}) in {}",
                servers.join(", "),
                path.display()
            )),
            DnsBackend::DynamicStore { key, split } => out(&format!(
                "  dns      {} for {} on {device} (SystemConfiguration {key}{})",
                servers.join(", "),
                if split {
                    domains.as_str()
                } else {
                    "every name"
                },
                if split { ", split" } else { "" },
            )),
            DnsBackend::Windows {
                interface,
                namespaces,
            } => out(&format!(
                "  dns      {} for {} on {interface} (NRPT{})",
                servers.join(", "),
                if mode.is_full_tunnel() {
                    "every name"
                } else {
                    domains.as_str()
                },
                if namespaces.is_empty() {
                    ": no rule, interface servers only".to_string()
                } else {
                    format!(" {}", namespaces.join(" "))
                },
            )),
        }
    }
    out(&format!(
        "  suite    IKE {}; ESP {} on UDP {}",
        info.ike_suite, info.esp_suite, info.remote_port
    ));
    Ok(Applied {
        tun,
        addresses: addresses.iter().map(IpNet::addr).collect(),
        routes,
        dns_servers,
        dns_domains,
    })
}

/// The kill switch for `plan`'s blocked families: the tunnel device, the gateway on
/// the profile's IKE port, 4500 (NAT traversal, RFC 7296 §2.23) and the port in use,
/// the profile's excluded prefixes, and the networks on the host's own links (which
/// Linux's unreachable routes let through as well).
fn kill_switch(
    profile: &Profile,
    device: &str,
    gateway: IpAddr,
    info: &ConnectionInfo,
    plan: &route_plan::RoutePlan,
) -> Result<KillSwitch, HostError> {
    let mut policy = KillSwitch::new(device, gateway);
    policy.block_v4 = plan.block_v4;
    policy.block_v6 = plan.block_v6;
    policy.gateway_ports = [profile.gateway.port, 4500, info.remote_port]
        .into_iter()
        .filter(|port| *port != 0)
        .collect();
    policy.permitted = profile
        .routing
        .exclude
        .iter()
        .map(platform_net)
        .collect::<Result<_, _>>()?;
    policy.allow_lan = true;
    Ok(policy)
}

fn platform_net(net: &corridor_model::IpNet) -> Result<IpNet, HostError> {
    IpNet::new(net.addr(), net.prefix_len()).map_err(step("bad prefix"))
}

/// `via 198.18.0.254 dev eth0`, `dev eth0`.
fn describe(route: &Route) -> String {
    let via = route
        .gateway
        .map(|g| format!("via {g} "))
        .unwrap_or_default();
    format!("{via}dev {}", route.device.as_deref().unwrap_or("?"))
}
