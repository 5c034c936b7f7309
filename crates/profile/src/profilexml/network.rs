//! `Route`, `DomainNameInformation` and `DnsSuffix`: what goes through the tunnel and
//! which names its DNS servers resolve.

use std::net::IpAddr;

use corridor_model::{IpNet, TunnelMode};
use roxmltree::Node;

use super::Ctx;
use crate::error::InputError;
use crate::windows::xml;

const UNKNOWN: &str = "unknown element; not part of the VPNv2 ProfileXML schema Corridor knows";

/// How many `Route` elements were read.
#[derive(Default)]
pub(super) struct Routes {
    count: usize,
}

/// `Route`: `Address`, `PrefixSize`, `ExclusionRoute`, `Metric`.
pub(super) fn route(
    ctx: &mut Ctx<'_>,
    routes: &mut Routes,
    node: Node<'_, '_>,
) -> Result<(), InputError> {
    let key = format!("Route[{}]", routes.count);
    routes.count += 1;
    let address_node = xml::child(node, "Address").ok_or_else(|| {
        ctx.invalid(
            &format!("{key}.Address"),
            node,
            "required element is missing",
        )
    })?;
    let address_text = xml::text(address_node);
    let address: IpAddr = address_text.parse().map_err(|_| {
        ctx.invalid(
            &format!("{key}.Address"),
            address_node,
            format!("\"{address_text}\" is not an IP address"),
        )
    })?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match xml::child(node, "PrefixSize") {
        Some(p) => {
            let text = xml::text(p);
            text.parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    ctx.invalid(
                        &format!("{key}.PrefixSize"),
                        p,
                        format!("\"{text}\" is not a prefix length (0-{max})"),
                    )
                })?
        }
        None => {
            return Err(ctx.invalid(
                &format!("{key}.PrefixSize"),
                node,
                "required element is missing",
            ));
        }
    };
    let exclusion = match xml::child(node, "ExclusionRoute") {
        Some(e) => ctx.boolean(&format!("{key}.ExclusionRoute"), e)?,
        None => false,
    };
    let net = IpNet::new_truncating(address, prefix)
        .map_err(|e| ctx.invalid(&format!("{key}.PrefixSize"), node, e.to_string()))?;
    let mut note = net.to_string();
    if net.addr() != address {
        note.push_str(&format!(" (host bits of {address} cleared)"));
    }
    let routing = &mut ctx.profile.routing;
    if exclusion {
        routing.exclude.push(net);
        let to = format!("routing.exclude[{}]", routing.exclude.len() - 1);
        ctx.report.mapped_with(&key, &to, note);
    } else if routing.mode == TunnelMode::Full {
        ctx.report.not_mapped(
            &key,
            format!("{note}: ForceTunnel sends all traffic through the tunnel already"),
        );
    } else {
        routing.include.push(net);
        let to = format!("routing.include[{}]", routing.include.len() - 1);
        ctx.report.mapped_with(&key, &to, note);
    }
    for child in xml::elements(node) {
        let name = xml::local(&child);
        match name {
            "Address" | "PrefixSize" | "ExclusionRoute" => {}
            "Metric" => ctx.report.not_mapped(
                &format!("{key}.Metric"),
                "Corridor sets the tunnel's route metrics itself",
            ),
            _ => ctx.report.not_mapped(&format!("{key}.{name}"), UNKNOWN),
        }
    }
    Ok(())
}

/// What the `DomainNameInformation` elements said, combined.
#[derive(Default)]
pub(super) struct DnsInfo {
    count: usize,
    /// A `DomainName` of `.`: all names go to the tunnel's DNS servers.
    all_names: bool,
}

/// `DomainNameInformation`: `DomainName` (`.corp.example.com` for a suffix, a name
/// without the leading dot for one host, `.` for all names), `DnsServers` (comma
/// separated), and Windows-only settings.
pub(super) fn domain_info(
    ctx: &mut Ctx<'_>,
    info: &mut DnsInfo,
    node: Node<'_, '_>,
) -> Result<(), InputError> {
    let key = format!("DomainNameInformation[{}]", info.count);
    info.count += 1;
    for child in xml::elements(node) {
        let name = xml::local(&child);
        let field = format!("{key}.{name}");
        match name {
            "DomainName" => {
                let text = xml::text(child);
                if text == "." {
                    info.all_names = true;
                    ctx.report.mapped_with(
                        &field,
                        "dns.match_domains",
                        "\".\": all names are resolved through the tunnel (no match domains)",
                    );
                    continue;
                }
                let domain = text.strip_prefix('.').unwrap_or(&text).to_string();
                if domain.is_empty() || domain.contains(char::is_whitespace) {
                    return Err(ctx.invalid(
                        &field,
                        child,
                        format!("\"{text}\" is not a domain name"),
                    ));
                }
                let note = if text.starts_with('.') {
                    format!("{domain} and every name under it")
                } else {
                    format!(
                        "{domain}: Windows matches this one name only, Corridor also the names under it"
                    )
                };
                let list = &mut ctx.profile.dns.match_domains;
                if !list.contains(&domain) {
                    list.push(domain);
                }
                ctx.report.mapped_with(&field, "dns.match_domains", note);
            }
            "DnsServers" => {
                let text = xml::text(child);
                for item in text
                    .split([',', ';'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    let ip: IpAddr = item.parse().map_err(|_| {
                        ctx.invalid(&field, child, format!("\"{item}\" is not an IP address"))
                    })?;
                    if !ctx.profile.dns.servers.contains(&ip) {
                        ctx.profile.dns.servers.push(ip);
                    }
                }
                ctx.report.mapped_with(
                    &field,
                    "dns.servers",
                    "Corridor uses one list of DNS servers for all match domains",
                );
            }
            "WebProxyServers" => ctx.report.not_mapped(
                &field,
                "Corridor does not set an HTTP proxy while connected",
            ),
            "AutoTrigger" => ctx.report.not_mapped(
                &field,
                "starting the tunnel when such a name is looked up is not supported",
            ),
            "Persistent" => ctx.report.not_mapped(
                &field,
                "Corridor's DNS settings last only while the tunnel is up",
            ),
            "DomainNameType" => ctx
                .report
                .checked(&field, "implied by the leading dot of DomainName"),
            _ => ctx.report.not_mapped(&field, UNKNOWN),
        }
    }
    Ok(())
}

/// After all `DomainNameInformation`: a `.` entry means all names, so there are no
/// match domains.
pub(super) fn finish_dns(ctx: &mut Ctx<'_>, info: DnsInfo) {
    if info.all_names && !ctx.profile.dns.match_domains.is_empty() {
        ctx.profile.dns.match_domains.clear();
        ctx.report.derived(
            "dns.match_domains",
            "empty: a DomainName of \".\" sends all names to the tunnel's DNS servers, which includes the other domains",
        );
    }
}

/// `DnsSuffix`: comma-separated suffixes for single-label names.
pub(super) fn dns_suffix(ctx: &mut Ctx<'_>, node: Node<'_, '_>) -> Result<(), InputError> {
    let text = xml::text(node);
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let domain = item.strip_prefix('.').unwrap_or(item).to_string();
        if !ctx.profile.dns.search_domains.contains(&domain) {
            ctx.profile.dns.search_domains.push(domain);
        }
    }
    ctx.report.mapped("DnsSuffix", "dns.search_domains");
    Ok(())
}
