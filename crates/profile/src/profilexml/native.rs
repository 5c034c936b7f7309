//! `NativeProfile`: the gateway, the protocol, the authentication, the cryptography and
//! the routing policy.

use corridor_model::{AuthMethod, TunnelMode};
use roxmltree::Node;

use super::Ctx;
use crate::error::InputError;
use crate::windows::crypto::{self, Setting};
use crate::windows::{eap, xml};

pub(super) fn map(ctx: &mut Ctx<'_>, native: Node<'_, '_>) -> Result<(), InputError> {
    let Some(servers) = xml::child(native, "Servers") else {
        return Err(ctx.invalid(
            "NativeProfile.Servers",
            native,
            "required element is missing (the VPN gateway's host name or address)",
        ));
    };
    if xml::child(native, "Authentication").is_none() {
        return Err(ctx.invalid(
            "NativeProfile.Authentication",
            native,
            "required element is missing (UserMethod or MachineMethod)",
        ));
    }
    let mut saw_protocol = false;
    let mut saw_routing = false;
    let mut saw_crypto = false;
    for node in xml::elements(native) {
        let name = xml::local(&node);
        let key = format!("NativeProfile.{name}");
        match name {
            "Servers" => self::servers(ctx, servers)?,
            "NativeProtocolType" => {
                saw_protocol = true;
                protocol(ctx, &key, node)?;
            }
            "Authentication" => authentication(ctx, node)?,
            "CryptographySuite" => {
                saw_crypto = true;
                cryptography(ctx, node)?;
            }
            "RoutingPolicyType" => {
                saw_routing = true;
                let text = xml::text(node);
                ctx.profile.routing.mode = match text.to_ascii_lowercase().as_str() {
                    "splittunnel" => TunnelMode::Split,
                    "forcetunnel" => TunnelMode::Full,
                    _ => {
                        return Err(ctx.invalid(
                            &key,
                            node,
                            format!("unknown value \"{text}\"; expected SplitTunnel or ForceTunnel"),
                        ));
                    }
                };
                ctx.report.mapped_with(
                    &key,
                    "routing.mode",
                    match ctx.profile.routing.mode {
                        TunnelMode::Split => "split",
                        TunnelMode::Full => "full",
                    },
                );
            }
            "DisableClassBasedDefaultRoute" => {
                if ctx.boolean(&key, node)? {
                    ctx.report.checked(
                        &key,
                        "true: Corridor adds no route for the class of the tunnel address either",
                    );
                } else {
                    ctx.report.not_mapped(
                        &key,
                        "false: Windows would add a route for the class of the assigned address (e.g. 10.0.0.0/8); Corridor routes only what Route lists",
                    );
                }
            }
            "L2tpPsk" => ctx.report.not_mapped(&key, "only used by L2TP"),
            "DisableIKEv2Fragmentation" => ctx.report.not_mapped(
                &key,
                "Corridor decides IKEv2 fragmentation (RFC 7383) from what the gateway announces",
            ),
            "PlumbIKEv2TSAsRoutes" => ctx.report.not_mapped(
                &key,
                "Corridor routes what the profile lists (routing.include), not the gateway's traffic selectors",
            ),
            _ => ctx.report.not_mapped(
                &key,
                "unknown element; not part of the VPNv2 ProfileXML schema Corridor knows",
            ),
        }
    }
    if !saw_protocol {
        ctx.report.derived(
            "transport",
            "IKEv2: NativeProtocolType is absent (Windows would try several protocols); Corridor speaks IKEv2 only",
        );
    }
    if !saw_routing {
        ctx.report.derived(
            "routing.mode",
            "full, Windows' default when RoutingPolicyType is absent (ForceTunnel)",
        );
    }
    if !saw_crypto {
        ctx.report.derived(
            "proposals",
            "Corridor's default proposals: CryptographySuite is absent (Windows would offer its built-in defaults, including 3DES, SHA-1 and DH group 2)",
        );
    }
    Ok(())
}

/// `Servers`: `host`, `host;FriendlyName`, `FriendlyName=host`, several separated by
/// commas or semicolons. The first server is the gateway; the others are reported.
fn servers(ctx: &mut Ctx<'_>, node: Node<'_, '_>) -> Result<(), InputError> {
    const KEY: &str = "NativeProfile.Servers";
    let text = xml::text(node);
    ctx.servers = text.clone();
    let mut hosts = Vec::new();
    let mut friendly = None;
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if let Some((name, host)) = entry.split_once('=') {
            friendly.get_or_insert_with(|| name.trim().to_string());
            hosts.push(host.trim().to_string());
            continue;
        }
        for (i, part) in entry.split(';').map(str::trim).enumerate() {
            if part.is_empty() {
                continue;
            }
            let looks_like_host = part.contains('.') || part.contains(':');
            if i == 0 || looks_like_host {
                hosts.push(part.to_string());
            } else {
                friendly.get_or_insert_with(|| part.to_string());
            }
        }
    }
    let Some(first) = hosts.first().cloned() else {
        return Err(ctx.invalid(KEY, node, "no server is given"));
    };
    ctx.profile.gateway.host = first;
    match hosts.len() {
        1 => ctx.report.mapped(KEY, "gateway.host"),
        _ => {
            ctx.report
                .mapped_with(KEY, "gateway.host", "the first server");
            ctx.report.not_mapped(
                &format!("{KEY}[1..]"),
                format!(
                    "Corridor connects to one gateway; not used: {}",
                    hosts[1..].join(", ")
                ),
            );
        }
    }
    if let Some(name) = friendly.filter(|n| !n.is_empty()) {
        ctx.report
            .mapped_with(&format!("{KEY} (friendly name)"), "name", name.clone());
        ctx.name.get_or_insert(name);
    }
    Ok(())
}

fn protocol(ctx: &mut Ctx<'_>, key: &str, node: Node<'_, '_>) -> Result<(), InputError> {
    let text = xml::text(node);
    match text.to_ascii_lowercase().as_str() {
        "ikev2" => ctx
            .report
            .checked(key, "IKEv2, the protocol Corridor speaks"),
        "automatic" => ctx.report.not_mapped(
            key,
            "Automatic: Windows would try several protocols; Corridor uses IKEv2 only",
        ),
        "pptp" | "l2tp" | "sstp" | "protocollist" => {
            return Err(ctx.invalid(
                key,
                node,
                format!("{text} is not supported; Corridor is an IKEv2 client (NativeProtocolType IKEv2)"),
            ));
        }
        _ => {
            return Err(ctx.invalid(
                key,
                node,
                format!("unknown value \"{text}\"; expected IKEv2 (or Automatic)"),
            ));
        }
    }
    Ok(())
}

fn authentication(ctx: &mut Ctx<'_>, auth: Node<'_, '_>) -> Result<(), InputError> {
    const BASE: &str = "NativeProfile.Authentication";
    let user = xml::child(auth, "UserMethod");
    let machine = xml::child(auth, "MachineMethod");
    let mut eap_type = None;
    let method = if let Some(node) = user {
        let key = format!("{BASE}.UserMethod");
        let text = xml::text(node);
        match text.to_ascii_lowercase().as_str() {
            "eap" => {
                let config = xml::child(auth, "Eap")
                    .and_then(|e| xml::child(e, "Configuration"))
                    .ok_or_else(|| {
                        ctx.invalid(&key, node, "Eap needs Authentication/Eap/Configuration")
                    })?;
                let field = format!("{BASE}.Eap.Configuration");
                let parsed = read_eap(ctx, &field, config)?;
                let method =
                    eap::method(parsed.method_type).map_err(|r| ctx.invalid(&field, config, r))?;
                eap_type = Some(parsed);
                method
            }
            "mschapv2" => AuthMethod::EapMschapv2,
            _ => {
                return Err(ctx.invalid(
                    &key,
                    node,
                    format!("unknown value \"{text}\"; expected Eap or MSChapv2"),
                ));
            }
        }
    } else if let Some(node) = machine {
        let text = xml::text(node);
        if !text.eq_ignore_ascii_case("Certificate") {
            return Err(ctx.invalid(
                &format!("{BASE}.MachineMethod"),
                node,
                format!("unknown value \"{text}\"; expected Certificate"),
            ));
        }
        AuthMethod::Cert
    } else {
        return Err(ctx.invalid(BASE, auth, "neither UserMethod nor MachineMethod is given"));
    };
    ctx.profile.auth = corridor_model::Auth::new(method);
    for node in xml::elements(auth) {
        let name = xml::local(&node);
        let key = format!("{BASE}.{name}");
        match name {
            "UserMethod" => ctx.report.mapped_with(
                &key,
                "auth.method",
                match method {
                    AuthMethod::EapMschapv2 if eap_type.is_none() => {
                        "eap-mschapv2 (Windows' MSChapv2 for IKEv2 is EAP-MSCHAPv2)".to_string()
                    }
                    other => other.as_str().to_string(),
                },
            ),
            "MachineMethod" if user.is_some() => ctx.report.not_mapped(
                &key,
                "the user method is used; a machine (device tunnel) method is a Windows feature",
            ),
            "MachineMethod" => ctx
                .report
                .mapped_with(&key, "auth.method", "cert (IKEv2 certificate authentication)"),
            "Eap" => match &eap_type {
                Some(parsed) => {
                    let config = format!("{key}.Configuration");
                    ctx.report
                        .mapped_with(&config, "auth.method", eap::describe(parsed.method_type));
                    for (setting, reason) in &parsed.dropped {
                        ctx.report.not_mapped(&format!("{config}.{setting}"), reason.clone());
                    }
                }
                None => ctx
                    .report
                    .not_mapped(&key, "UserMethod is not Eap, so Windows ignores it too"),
            },
            "Certificate" => ctx.report.not_mapped(
                &key,
                "Windows' filter for choosing a certificate from its store; give the certificate with --client-cert FILE.p12",
            ),
            _ => ctx.report.not_mapped(
                &key,
                "unknown element; not part of the VPNv2 ProfileXML schema Corridor knows",
            ),
        }
    }
    Ok(())
}

/// The `EapHostConfig` inside `Configuration`: as elements (what Windows writes) or as
/// escaped XML text (what some tools write).
fn read_eap(
    ctx: &Ctx<'_>,
    field: &str,
    config: Node<'_, '_>,
) -> Result<eap::EapConfig, InputError> {
    if let Some(host) = xml::elements(config).next() {
        return eap::read(host).map_err(|r| ctx.invalid(field, host, r));
    }
    let text = xml::text(config);
    let doc = xml::parse(&text).map_err(|e| {
        ctx.invalid(
            field,
            config,
            format!("the EAP configuration: {}", e.reason),
        )
    })?;
    eap::read(doc.root_element()).map_err(|r| ctx.invalid(field, config, r))
}

fn cryptography(ctx: &mut Ctx<'_>, suite: Node<'_, '_>) -> Result<(), InputError> {
    const BASE: &str = "NativeProfile.CryptographySuite";
    let value = |s: Setting| xml::child(suite, s.name()).map(xml::text);
    let built = crypto::suite(value).map_err(|e| match e.setting {
        Some(s) => {
            let node = xml::child(suite, s.name()).unwrap_or(suite);
            ctx.invalid(&format!("{BASE}.{}", s.name()), node, e.reason)
        }
        None => ctx.invalid(BASE, suite, e.reason),
    })?;
    let (ike, esp) = (
        built.ike.as_str().to_string(),
        built.esp.as_str().to_string(),
    );
    ctx.profile.proposals.ike = vec![built.ike];
    ctx.profile.proposals.esp = vec![built.esp];
    for node in xml::elements(suite) {
        let name = xml::local(&node);
        let key = format!("{BASE}.{name}");
        match Setting::from_name(name) {
            Some(Setting::EncryptionMethod | Setting::IntegrityCheckMethod | Setting::DhGroup) => {
                ctx.report
                    .mapped_with(&key, "proposals.ike[0]", ike.clone())
            }
            Some(_) => ctx
                .report
                .mapped_with(&key, "proposals.esp[0]", esp.clone()),
            None => ctx.report.not_mapped(
                &key,
                "unknown element; not part of the VPNv2 ProfileXML schema Corridor knows",
            ),
        }
    }
    Ok(())
}
