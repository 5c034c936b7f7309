//! `Add-VpnConnection` and `Set-VpnConnection`: the connection's own parameters.

use corridor_model::{AuthMethod, TunnelMode};

use super::parse::{Arg, Command, Value};
use super::{Ctx, named, other_param};
use crate::error::{InputError, InputErrorKind};
use crate::windows::{eap, xml};

/// Parameters Corridor has no equivalent for, with the reason.
const DROPPED: &[(&str, &str)] = &[
    (
        "EncryptionLevel",
        "IKEv2 always encrypts; the algorithms come from Set-VpnConnectionIPsecConfiguration",
    ),
    (
        "RememberCredential",
        "a profile never holds credentials; Corridor asks for the password or reads it from the OS keychain",
    ),
    (
        "UseWinlogonCredential",
        "Corridor asks for the password or reads it from the OS keychain",
    ),
    (
        "IdleDisconnectSeconds",
        "Corridor keeps the tunnel up until it is disconnected",
    ),
    (
        "ServerList",
        "Corridor connects to one gateway (-ServerAddress)",
    ),
    (
        "MachineCertificateIssuerFilter",
        "Windows' filter for choosing a certificate from its store; give the certificate with --client-cert FILE.p12",
    ),
    (
        "MachineCertificateEKUFilter",
        "Windows' filter for choosing a certificate from its store; give the certificate with --client-cert FILE.p12",
    ),
    ("L2tpPsk", "only used by L2TP"),
    (
        "PlugInApplicationID",
        "third-party VPN plug-ins are not supported",
    ),
    (
        "CustomConfiguration",
        "third-party VPN plug-ins are not supported",
    ),
    (
        "ThirdPartyVpn",
        "third-party VPN plug-ins are not supported",
    ),
];

/// The first `Add-VpnConnection`: the connection imported.
pub(super) fn add(ctx: &mut Ctx<'_>, command: &Command) -> Result<(), InputError> {
    let args = named(command, "Add-VpnConnection");
    let missing = |param: &str| {
        InputError::at_field(
            ctx.origin,
            format!("Add-VpnConnection -{param}"),
            InputErrorKind::Invalid("required parameter is missing".to_string()),
        )
        .with_position(command.line, command.column)
    };
    if !args.iter().any(|(n, _, _)| *n == Some("Name")) {
        return Err(missing("Name"));
    }
    if !args.iter().any(|(n, _, _)| *n == Some("ServerAddress")) {
        return Err(missing("ServerAddress"));
    }
    apply(ctx, "Add-VpnConnection", &args)
}

/// `Set-VpnConnection` for the imported connection: changes on top of it.
pub(super) fn set(ctx: &mut Ctx<'_>, command: &Command) -> Result<(), InputError> {
    let args = named(command, "Set-VpnConnection");
    apply(ctx, "Set-VpnConnection", &args)
}

fn apply(
    ctx: &mut Ctx<'_>,
    cmdlet: &str,
    args: &[(Option<&'static str>, String, Arg)],
) -> Result<(), InputError> {
    // The EAP configuration decides the method when -AuthenticationMethod is Eap.
    let eap_arg = args
        .iter()
        .find(|(n, _, _)| *n == Some("EapConfigXmlStream"))
        .map(|(_, _, a)| a);
    for (param, written, arg) in args {
        let key = format!("{cmdlet} -{}", param.unwrap_or(written));
        match *param {
            Some("Name") => {
                let name = ctx.string(&key, arg)?;
                if cmdlet == "Add-VpnConnection" {
                    ctx.profile.name = name;
                    ctx.report.mapped(&key, "name");
                }
            }
            Some("ServerAddress") => {
                let host = ctx.string(&key, arg)?;
                if host.is_empty() {
                    return Err(ctx.invalid(&key, arg, "the server address is empty"));
                }
                ctx.profile.gateway.host = host;
                ctx.report.mapped(&key, "gateway.host");
            }
            Some("TunnelType") => {
                ctx.tunnel_type_given = true;
                let text = ctx.string(&key, arg)?;
                match text.to_ascii_lowercase().as_str() {
                    "ikev2" => ctx
                        .report
                        .checked(&key, "Ikev2, the protocol Corridor speaks"),
                    "automatic" => ctx.report.not_mapped(
                        &key,
                        "Automatic: Windows would try several protocols; Corridor uses IKEv2 only",
                    ),
                    "pptp" | "l2tp" | "sstp" => {
                        return Err(ctx.invalid(
                            &key,
                            arg,
                            format!("{text} is not supported; Corridor is an IKEv2 client (-TunnelType Ikev2)"),
                        ));
                    }
                    _ => {
                        return Err(ctx.invalid(
                            &key,
                            arg,
                            format!("unknown value \"{text}\"; expected Ikev2 (or Automatic)"),
                        ));
                    }
                }
            }
            Some("AuthenticationMethod") => {
                ctx.method_given = true;
                let values = ctx.strings(&key, arg)?;
                let first = values.first().cloned().unwrap_or_default();
                let method = match first.to_ascii_lowercase().as_str() {
                    "eap" => match eap_arg {
                        Some(eap) => {
                            eap_method(ctx, &format!("{cmdlet} -EapConfigXmlStream"), eap)?
                        }
                        None => AuthMethod::EapMschapv2,
                    },
                    "mschapv2" => AuthMethod::EapMschapv2,
                    "machinecertificate" => AuthMethod::Cert,
                    "pap" | "chap" => {
                        return Err(ctx.invalid(
                            &key,
                            arg,
                            format!("{first} is not supported with IKEv2; use Eap, MSChapv2 or MachineCertificate"),
                        ));
                    }
                    _ => {
                        return Err(ctx.invalid(
                            &key,
                            arg,
                            format!("unknown value \"{first}\"; expected Eap, MSChapv2 or MachineCertificate"),
                        ));
                    }
                };
                ctx.profile.auth = corridor_model::Auth::new(method);
                let mut note = method.as_str().to_string();
                if first.eq_ignore_ascii_case("eap") && eap_arg.is_none() {
                    note.push_str(" (Windows' default EAP configuration is EAP-MSCHAPv2)");
                }
                if values.len() > 1 {
                    note.push_str(&format!("; the first of {}", values.join(", ")));
                }
                ctx.report.mapped_with(&key, "auth.method", note);
            }
            Some("EapConfigXmlStream") => {
                let uses_eap = args.iter().any(|(n, _, a)| {
                    *n == Some("AuthenticationMethod")
                        && a.value
                            .as_ref()
                            .and_then(Value::strings)
                            .and_then(|v| v.first().cloned())
                            .is_some_and(|m| m.eq_ignore_ascii_case("eap"))
                });
                if uses_eap {
                    let method = eap_method(ctx, &key, arg)?;
                    ctx.report.mapped_with(&key, "auth.method", method.as_str());
                } else {
                    ctx.report.not_mapped(
                        &key,
                        "-AuthenticationMethod is not Eap, so Windows ignores it too",
                    );
                }
            }
            Some("SplitTunneling") => {
                let on = ctx.switch(&key, arg)?;
                ctx.profile.routing.mode = if on {
                    TunnelMode::Split
                } else {
                    TunnelMode::Full
                };
                ctx.report
                    .mapped_with(&key, "routing.mode", if on { "split" } else { "full" });
            }
            Some("DnsSuffix") => {
                let text = ctx.string(&key, arg)?;
                let domain = text.strip_prefix('.').unwrap_or(&text).to_string();
                if !domain.is_empty() {
                    ctx.profile.dns.search_domains = vec![domain];
                }
                ctx.report.mapped(&key, "dns.search_domains");
            }
            Some(p) => match DROPPED.iter().find(|(k, _)| *k == p) {
                Some((_, reason)) => ctx.report.not_mapped(&key, *reason),
                None => other_param(ctx, &key, Some(p)),
            },
            None => other_param(ctx, &key, None),
        }
    }
    Ok(())
}

/// The method an `-EapConfigXmlStream` value configures: `New-EapConfiguration`'s
/// output, or EapHostConfig XML text (a here-string or a string variable).
fn eap_method(ctx: &mut Ctx<'_>, key: &str, arg: &Arg) -> Result<AuthMethod, InputError> {
    let method_type = match &arg.value {
        Some(Value::EapConfig(t)) => *t,
        Some(Value::Str(text)) => {
            let doc = xml::parse(text).map_err(|e| {
                ctx.invalid(key, arg, format!("the EAP configuration: {}", e.reason))
            })?;
            let config = eap::read(doc.root_element()).map_err(|r| ctx.invalid(key, arg, r))?;
            for (setting, reason) in &config.dropped {
                ctx.report
                    .not_mapped(&format!("{key} {setting}"), reason.clone());
            }
            config.method_type
        }
        Some(Value::Unknown(what)) => {
            return Err(ctx.invalid(key, arg, format!("the value is {what}")));
        }
        _ => {
            return Err(ctx.invalid(
                key,
                arg,
                "expected an EAP configuration (New-EapConfiguration or EapHostConfig XML)",
            ));
        }
    };
    eap::method(method_type).map_err(|r| ctx.invalid(key, arg, r))
}
