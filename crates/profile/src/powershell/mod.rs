//! Import of PowerShell scripts that create a VPN connection with `Add-VpnConnection`.
//!
//! IT deploys Windows VPN connections with short scripts: `Add-VpnConnection` with the
//! gateway and authentication, `Set-VpnConnectionIPsecConfiguration` with the
//! cryptography, `Add-VpnConnectionRoute` for split tunnels and
//! `Add-VpnConnectionTriggerDnsConfiguration` for split DNS. The script is tokenized and
//! its commands read in order (see [`parse`]); nothing is ever run. The first
//! `Add-VpnConnection` is the connection imported; commands for other connections, other
//! cmdlets and parameters Corridor has no equivalent for are reported as not mapped.

mod cmdlets;
mod connection;
mod lex;
mod parse;

use std::net::IpAddr;

use corridor_model::{AuthMethod, IpNet, Profile, TunnelMode, Uuid};

use crate::error::{InputError, InputErrorKind};
use crate::import::ImportedSecrets;
use crate::input::Input;
use crate::mapped::Mapped;
use crate::report::{ImportReport, SourceFormat};
use crate::windows::{self, crypto};
use parse::{Arg, Command, Value};

/// The script parameter a Corridor field came from, so that errors found after mapping
/// (by validation or the certificate checks) name what the user has to fix.
pub(crate) fn source_key(field: &str) -> Option<&'static str> {
    const MAP: &[(&str, &str)] = &[
        ("gateway.host", "Add-VpnConnection -ServerAddress"),
        ("auth.method", "Add-VpnConnection -AuthenticationMethod"),
        ("proposals", "Set-VpnConnectionIPsecConfiguration"),
        (
            "routing.include",
            "Add-VpnConnectionRoute -DestinationPrefix",
        ),
        ("routing", "Add-VpnConnection -SplitTunneling"),
        (
            "dns.servers",
            "Add-VpnConnectionTriggerDnsConfiguration -DnsIPAddress",
        ),
        (
            "dns.match_domains",
            "Add-VpnConnectionTriggerDnsConfiguration -DnsSuffix",
        ),
        ("dns.search_domains", "Add-VpnConnection -DnsSuffix"),
        ("name", "Add-VpnConnection -Name"),
    ];
    MAP.iter()
        .find(|(prefix, _)| {
            field == *prefix
                || field
                    .strip_prefix(prefix)
                    .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
        })
        .map(|(_, key)| *key)
}

/// Mapping state.
pub(super) struct Ctx<'o> {
    pub(super) origin: &'o str,
    pub(super) report: ImportReport,
    pub(super) profile: Profile,
    /// Whether an authentication method was given (else Windows' default applies).
    pub(super) method_given: bool,
    pub(super) tunnel_type_given: bool,
}

impl Ctx<'_> {
    /// An error at `Cmdlet -Parameter`, with its line and column.
    pub(super) fn invalid(&self, key: &str, arg: &Arg, reason: impl Into<String>) -> InputError {
        InputError::at_field(self.origin, key, InputErrorKind::Invalid(reason.into()))
            .with_position(arg.line, arg.column)
    }

    /// The argument's value as one string.
    pub(super) fn string(&self, key: &str, arg: &Arg) -> Result<String, InputError> {
        match &arg.value {
            Some(Value::Str(s)) => Ok(s.trim().to_string()),
            Some(Value::Unknown(what)) => {
                Err(self.invalid(key, arg, format!("the value is {what}")))
            }
            Some(_) => Err(self.invalid(key, arg, "expected one string value")),
            None => Err(self.invalid(key, arg, "the parameter has no value")),
        }
    }

    /// The argument's value as a list of strings.
    pub(super) fn strings(&self, key: &str, arg: &Arg) -> Result<Vec<String>, InputError> {
        match &arg.value {
            Some(Value::Unknown(what)) => {
                Err(self.invalid(key, arg, format!("the value is {what}")))
            }
            Some(v) => v
                .strings()
                .ok_or_else(|| self.invalid(key, arg, "expected strings")),
            None => Err(self.invalid(key, arg, "the parameter has no value")),
        }
    }

    /// A switch: present (`-X`, `-X:$true`) or explicitly off (`-X:$false`).
    pub(super) fn switch(&self, key: &str, arg: &Arg) -> Result<bool, InputError> {
        match &arg.value {
            None | Some(Value::Bool(true)) => Ok(true),
            Some(Value::Bool(false)) => Ok(false),
            Some(Value::Str(s)) if s.eq_ignore_ascii_case("true") || s == "1" => Ok(true),
            Some(Value::Str(s)) if s.eq_ignore_ascii_case("false") || s == "0" => Ok(false),
            Some(_) => Err(self.invalid(key, arg, "expected $true or $false")),
        }
    }
}

/// The arguments of a command with their full parameter names; positional values get
/// the name of their position.
fn named(command: &Command, cmdlet: &str) -> Vec<(Option<&'static str>, String, Arg)> {
    let (_, positional) = cmdlets::parameters(cmdlet);
    let mut position = 0;
    let mut out = Vec::new();
    for arg in &command.args {
        match &arg.name {
            Some(written) => {
                out.push((
                    cmdlets::resolve(cmdlet, written),
                    written.clone(),
                    arg.clone(),
                ));
            }
            None => {
                let name = positional.get(position).copied();
                position += 1;
                out.push((name, format!("(argument {position})"), arg.clone()));
            }
        }
    }
    out
}

/// Maps a PowerShell script (after format detection) to a profile and a report.
pub(crate) fn read(input: &Input) -> Result<Mapped, InputError> {
    let origin = input.origin.as_str();
    let syntax = |e: lex::LexError| {
        InputError::new(origin, InputErrorKind::Invalid(e.reason)).with_position(e.line, e.column)
    };
    let tokens = lex::tokenize(&input.text).map_err(syntax)?;
    let commands = parse::commands(&tokens).map_err(syntax)?;
    let Some(first) = commands
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case("Add-VpnConnection"))
    else {
        return Err(InputError::new(
            origin,
            InputErrorKind::Invalid(
                "the script never runs Add-VpnConnection (it is only mentioned, e.g. in a comment)"
                    .to_string(),
            ),
        ));
    };
    let mut ctx = Ctx {
        origin,
        report: ImportReport::new(SourceFormat::PowerShell),
        profile: Profile::new(Uuid::nil(), "", "", AuthMethod::EapMschapv2),
        method_given: false,
        tunnel_type_given: false,
    };
    let add = &commands[first];
    connection::add(&mut ctx, add)?;
    let name = ctx.profile.name.clone();
    let mut routes: Vec<(Arg, String)> = Vec::new();

    for (index, command) in commands.iter().enumerate() {
        if index == first {
            continue;
        }
        let Some(cmdlet) = cmdlets::canonical(&command.name) else {
            ctx.report.not_mapped(
                &format!("{} (line {})", command.name, command.line),
                cmdlets::other_command(&command.name),
            );
            continue;
        };
        let args = named(command, cmdlet);
        let target_param = if cmdlet.ends_with("-VpnConnection") {
            "Name"
        } else {
            "ConnectionName"
        };
        let target = args
            .iter()
            .find(|(n, _, _)| *n == Some(target_param))
            .and_then(|(_, _, a)| a.value.as_ref().and_then(Value::as_str).map(str::to_string));
        if cmdlet == "Add-VpnConnection" {
            ctx.report.not_mapped(
                &format!("Add-VpnConnection (line {})", command.line),
                format!(
                    "a further connection \"{}\"; Corridor imports the first one (\"{name}\")",
                    target.unwrap_or_default()
                ),
            );
            continue;
        }
        if target
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case(&name))
        {
            ctx.report.not_mapped(
                &format!("{cmdlet} (line {})", command.line),
                format!(
                    "for another connection \"{}\"; Corridor imports \"{name}\"",
                    target.unwrap_or_default()
                ),
            );
            continue;
        }
        match cmdlet {
            "Set-VpnConnection" => connection::set(&mut ctx, command)?,
            "Set-VpnConnectionIPsecConfiguration" => ipsec(&mut ctx, command)?,
            "Add-VpnConnectionRoute" => {
                for (param, written, arg) in args {
                    let key = format!("{cmdlet} -{}", param.unwrap_or(&written));
                    match param {
                        Some("ConnectionName") => {}
                        Some("DestinationPrefix") => routes.push((arg, key)),
                        Some("RouteMetric") => ctx
                            .report
                            .not_mapped(&key, "Corridor sets the tunnel's route metrics itself"),
                        _ => other_param(&mut ctx, &key, param),
                    }
                }
            }
            _ => trigger_dns(&mut ctx, cmdlet, command)?,
        }
    }
    apply_routes(&mut ctx, routes)?;
    if !ctx.tunnel_type_given {
        ctx.report.derived(
            "transport",
            "IKEv2: -TunnelType is absent (Windows would try several protocols, Automatic); Corridor speaks IKEv2 only",
        );
    }
    if !ctx.method_given {
        ctx.report.derived(
            "auth.method",
            "eap-mschapv2, Windows' default for IKEv2 when -AuthenticationMethod is absent",
        );
    }
    if ctx.profile.proposals.ike.is_empty() {
        ctx.report.derived(
            "proposals",
            "Corridor's default proposals: the script sets no Set-VpnConnectionIPsecConfiguration (Windows would offer its built-in defaults, including 3DES, SHA-1 and DH group 2)",
        );
    }
    ctx.profile.id = windows::profile_id("powershell", &ctx.profile.gateway.host, &name);
    ctx.report.derived(
        "id",
        "derived from the server and the name, so importing the same script again is recognised as the same profile",
    );
    Ok(Mapped {
        profile: ctx.profile,
        report: ctx.report,
        secrets: ImportedSecrets::default(),
    })
}

/// A parameter that is no VPN setting, or not one of the cmdlet's.
pub(super) fn other_param(ctx: &mut Ctx<'_>, key: &str, param: Option<&str>) {
    match param {
        Some(p) if cmdlets::OPTIONS.contains(&p) => {
            ctx.report
                .checked(key, "a PowerShell option, no VPN setting");
        }
        Some("AllUserConnection") => ctx.report.not_mapped(
            key,
            "Corridor stores profiles per user; a profile for every user is a managed profile",
        ),
        _ => ctx.report.not_mapped(
            key,
            "not a parameter of this cmdlet that Corridor reads (PowerShell may refuse it too)",
        ),
    }
}

/// `Set-VpnConnectionIPsecConfiguration`: the six cryptography settings.
fn ipsec(ctx: &mut Ctx<'_>, command: &Command) -> Result<(), InputError> {
    const CMDLET: &str = "Set-VpnConnectionIPsecConfiguration";
    let args = named(command, CMDLET);
    if args.iter().any(|(n, _, _)| *n == Some("RevertToDefault")) {
        ctx.profile.proposals = Default::default();
        ctx.report.mapped_with(
            &format!("{CMDLET} -RevertToDefault"),
            "proposals",
            "Corridor's defaults",
        );
        return Ok(());
    }
    let find = |s: crypto::Setting| {
        args.iter()
            .find(|(n, _, _)| n.is_some_and(|n| n.eq_ignore_ascii_case(s.name())))
            .map(|(_, _, a)| a)
    };
    let mut values = Vec::new();
    for setting in crypto::Setting::ALL {
        if let Some(arg) = find(setting) {
            let key = format!("{CMDLET} -{}", setting.name());
            values.push((setting, ctx.string(&key, arg)?));
        }
    }
    let built = crypto::suite(|s| values.iter().find(|(v, _)| *v == s).map(|(_, t)| t.clone()))
        .map_err(|e| match e.setting {
            Some(s) => {
                let key = format!("{CMDLET} -{}", s.name());
                match find(s) {
                    Some(arg) => ctx.invalid(&key, arg, e.reason),
                    None => {
                        InputError::at_field(ctx.origin, key, InputErrorKind::Invalid(e.reason))
                            .with_position(command.line, command.column)
                    }
                }
            }
            None => InputError::at_field(ctx.origin, CMDLET, InputErrorKind::Invalid(e.reason))
                .with_position(command.line, command.column),
        })?;
    let (ike, esp) = (
        built.ike.as_str().to_string(),
        built.esp.as_str().to_string(),
    );
    ctx.profile.proposals.ike = vec![built.ike];
    ctx.profile.proposals.esp = vec![built.esp];
    for (param, written, _) in &args {
        let key = format!("{CMDLET} -{}", param.unwrap_or(written));
        match param.and_then(crypto::Setting::from_name) {
            Some(
                crypto::Setting::EncryptionMethod
                | crypto::Setting::IntegrityCheckMethod
                | crypto::Setting::DhGroup,
            ) => {
                ctx.report
                    .mapped_with(&key, "proposals.ike[0]", ike.clone());
            }
            Some(_) => ctx
                .report
                .mapped_with(&key, "proposals.esp[0]", esp.clone()),
            None if *param == Some("ConnectionName") => {}
            None => other_param(ctx, &key, *param),
        }
    }
    Ok(())
}

/// `Add-VpnConnectionTriggerDnsConfiguration`: names under `-DnsSuffix` are resolved by
/// `-DnsIPAddress` through the tunnel (split DNS).
fn trigger_dns(ctx: &mut Ctx<'_>, cmdlet: &str, command: &Command) -> Result<(), InputError> {
    for (param, written, arg) in named(command, cmdlet) {
        let key = format!("{cmdlet} -{}", param.unwrap_or(&written));
        match param {
            Some("ConnectionName") => {}
            Some("DnsSuffix") => {
                let text = ctx.string(&key, &arg)?;
                let domain = text.strip_prefix('.').unwrap_or(&text).to_string();
                if domain.is_empty() {
                    ctx.report.mapped_with(
                        &key,
                        "dns.match_domains",
                        "\".\": all names (no match domains)",
                    );
                    continue;
                }
                if !ctx.profile.dns.match_domains.contains(&domain) {
                    ctx.profile.dns.match_domains.push(domain.clone());
                }
                ctx.report.mapped_with(
                    &key,
                    "dns.match_domains",
                    format!("{domain} and every name under it"),
                );
            }
            Some("DnsIPAddress") => {
                for item in ctx.strings(&key, &arg)? {
                    let ip: IpAddr = item.parse().map_err(|_| {
                        ctx.invalid(&key, &arg, format!("\"{item}\" is not an IP address"))
                    })?;
                    if !ctx.profile.dns.servers.contains(&ip) {
                        ctx.profile.dns.servers.push(ip);
                    }
                }
                ctx.report.mapped_with(
                    &key,
                    "dns.servers",
                    "Corridor uses one list of DNS servers for all match domains",
                );
            }
            Some("DnsSuffixSearchList") => {
                for item in ctx.strings(&key, &arg)? {
                    let domain = item.strip_prefix('.').unwrap_or(&item).to_string();
                    if !ctx.profile.dns.search_domains.contains(&domain) {
                        ctx.profile.dns.search_domains.push(domain);
                    }
                }
                ctx.report.mapped(&key, "dns.search_domains");
            }
            _ => other_param(ctx, &key, param),
        }
    }
    Ok(())
}

/// The routes of all `Add-VpnConnectionRoute` commands, once the routing mode is known.
fn apply_routes(ctx: &mut Ctx<'_>, routes: Vec<(Arg, String)>) -> Result<(), InputError> {
    for (arg, key) in routes {
        for item in ctx.strings(&key, &arg)? {
            let net = IpNet::parse_truncating(&item)
                .map_err(|e| ctx.invalid(&key, &arg, format!("\"{item}\": {e}")))?;
            if ctx.profile.routing.mode == TunnelMode::Full {
                ctx.report.not_mapped(
                    &key,
                    format!(
                        "{net}: without -SplitTunneling all traffic goes through the tunnel already"
                    ),
                );
                continue;
            }
            if let Some(i) = ctx.profile.routing.include.iter().position(|n| *n == net) {
                ctx.report.checked(
                    &key,
                    format!("{net} is routed through the tunnel already (routing.include[{i}])"),
                );
                continue;
            }
            ctx.profile.routing.include.push(net);
            let to = format!("routing.include[{}]", ctx.profile.routing.include.len() - 1);
            ctx.report.mapped_with(&key, &to, net.to_string());
        }
    }
    Ok(())
}
