//! Import of Windows VPNv2 CSP ProfileXML documents.
//!
//! ProfileXML is the document an MDM (Intune's custom `./Vendor/MSFT/VPNv2/<name>/ProfileXML`
//! setting) or a `New-CimInstance` script hands to the VPNv2 configuration service
//! provider; its elements are those of the CSP's nodes (`NativeProfile/Servers`,
//! `Route/Address`, …). Every element present ends up in the import report: mapped to a
//! Corridor field, or not mapped with the reason. A document carries neither a name nor
//! an id: the name comes from the servers' friendly name or the file name, and the id is
//! derived from the servers and the name, so that importing the same file again is
//! recognised as the same profile.

mod native;
mod network;

use std::path::Path;

use corridor_model::{AuthMethod, Profile, Uuid};
use roxmltree::Node;

use crate::error::{InputError, InputErrorKind};
use crate::import::ImportedSecrets;
use crate::input::Input;
use crate::mapped::Mapped;
use crate::report::{ImportReport, SourceFormat};
use crate::windows::{self, xml};

/// The ProfileXML element a Corridor field came from, so that errors found after mapping
/// (by validation or the certificate checks) name what the user has to fix.
pub(crate) fn source_key(field: &str) -> Option<&'static str> {
    const MAP: &[(&str, &str)] = &[
        ("gateway.host", "NativeProfile.Servers"),
        ("auth.method", "NativeProfile.Authentication"),
        ("proposals", "NativeProfile.CryptographySuite"),
        ("routing.include", "Route"),
        ("routing.exclude", "Route"),
        ("routing", "NativeProfile.RoutingPolicyType"),
        ("dns.servers", "DomainNameInformation.DnsServers"),
        ("dns.match_domains", "DomainNameInformation.DomainName"),
        ("dns.search_domains", "DnsSuffix"),
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

/// Mapping state shared by the element handlers.
pub(super) struct Ctx<'o> {
    pub(super) origin: &'o str,
    pub(super) report: ImportReport,
    pub(super) profile: Profile,
    /// A name found in the document (`ProfileName`, or a server's friendly name).
    pub(super) name: Option<String>,
    /// The servers as written, for the profile id.
    pub(super) servers: String,
}

impl Ctx<'_> {
    /// An error at a field, with the element's position.
    pub(super) fn invalid(
        &self,
        field: &str,
        node: Node<'_, '_>,
        reason: impl Into<String>,
    ) -> InputError {
        let (line, column) = xml::position(node);
        InputError::at_field(self.origin, field, InputErrorKind::Invalid(reason.into()))
            .with_position(line, column)
    }

    /// A boolean element's value.
    pub(super) fn boolean(&self, field: &str, node: Node<'_, '_>) -> Result<bool, InputError> {
        let text = xml::text(node);
        xml::boolean(&text).ok_or_else(|| {
            self.invalid(
                field,
                node,
                format!("\"{text}\" is not a boolean (true or false)"),
            )
        })
    }
}

/// Maps a ProfileXML document (after format detection) to a profile and a report.
pub(crate) fn read(input: &Input) -> Result<Mapped, InputError> {
    let origin = input.origin.as_str();
    let doc = xml::parse(&input.text).map_err(|e| {
        let error = InputError::new(origin, InputErrorKind::Invalid(e.reason));
        match e.position {
            Some((line, column)) => error.with_position(line, column),
            None => error,
        }
    })?;
    let root = doc.root_element();
    if xml::local(&root) != "VPNProfile" {
        return Err(InputError::new(
            origin,
            InputErrorKind::UnknownFormat(format!(
                "the root element is <{}>, not <VPNProfile>",
                xml::local(&root)
            )),
        ));
    }
    let mut ctx = Ctx {
        origin,
        report: ImportReport::new(SourceFormat::ProfileXml),
        // Host and method are set from NativeProfile below.
        profile: Profile::new(Uuid::nil(), "", "", AuthMethod::EapMschapv2),
        name: None,
        servers: String::new(),
    };

    // NativeProfile first: the routing policy decides what the routes mean.
    let Some(native) = xml::child(root, "NativeProfile") else {
        if let Some(plugin) = xml::child(root, "PluginProfile") {
            return Err(ctx.invalid(
                "PluginProfile",
                plugin,
                "a profile for a third-party VPN plug-in app; Corridor reads native IKEv2 profiles (NativeProfile)",
            ));
        }
        return Err(InputError::at_field(
            origin,
            "NativeProfile",
            InputErrorKind::Invalid(
                "required element is missing (the gateway and the protocol are in it)".to_string(),
            ),
        ));
    };
    native::map(&mut ctx, native)?;

    let mut routes = network::Routes::default();
    let mut dns = network::DnsInfo::default();
    for node in xml::elements(root) {
        let key = xml::local(&node);
        match key {
            "NativeProfile" => {}
            "ProfileName" => {
                let name = xml::text(node);
                if !name.is_empty() {
                    ctx.name = Some(name);
                }
                ctx.report.mapped("ProfileName", "name");
            }
            "Route" => network::route(&mut ctx, &mut routes, node)?,
            "DomainNameInformation" => network::domain_info(&mut ctx, &mut dns, node)?,
            "DnsSuffix" => network::dns_suffix(&mut ctx, node)?,
            other => not_mapped(&mut ctx, other, node)?,
        }
    }
    network::finish_dns(&mut ctx, dns);

    let name = ctx
        .name
        .clone()
        .or_else(|| file_stem(input))
        .unwrap_or_else(|| ctx.profile.gateway.host.clone());
    if ctx.name.is_none() {
        ctx.report.derived(
            "name",
            format!("\"{name}\": ProfileXML carries no name (Windows takes it from the MDM setting), so the file name or the server is used"),
        );
    }
    ctx.profile.id = windows::profile_id("profilexml", &ctx.servers, &name);
    ctx.report.derived(
        "id",
        "derived from the servers and the name, so importing the same file again is recognised as the same profile",
    );
    ctx.profile.name = name;
    Ok(Mapped {
        profile: ctx.profile,
        report: ctx.report,
        secrets: ImportedSecrets::default(),
    })
}

/// The file's name without its extension, when the input is a file.
fn file_stem(input: &Input) -> Option<String> {
    input.base_dir.as_ref()?;
    Path::new(&input.origin)
        .file_stem()
        .map(|s| s.to_string_lossy().trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Top-level elements Corridor has no equivalent for, with the reason. `None` for a
/// boolean means the reason applies whatever the value; `Some(false)` means a `false`
/// value is Corridor's behaviour too.
const DROPPED: &[(&str, Option<bool>, &str)] = &[
    (
        "AlwaysOn",
        Some(false),
        "Corridor connects when asked (`corridor up`); it does not start the tunnel at logon or keep it up by itself",
    ),
    (
        "RememberCredentials",
        None,
        "a profile never holds credentials; Corridor asks for the password or reads it from the OS keychain",
    ),
    (
        "TrustedNetworkDetection",
        None,
        "Corridor does not detect trusted networks to stay disconnected there",
    ),
    (
        "DeviceTunnel",
        Some(false),
        "a machine tunnel before user logon is a Windows feature",
    ),
    (
        "RegisterDNS",
        Some(false),
        "Corridor does not register the tunnel address in the corporate DNS",
    ),
    (
        "ByPassForLocal",
        Some(false),
        "the local network is only known when connecting; list it in routing.exclude to keep it off the tunnel",
    ),
    (
        "TrafficFilter",
        None,
        "per-app and per-port traffic filters are not supported; Corridor routes by destination",
    ),
    (
        "AppTrigger",
        None,
        "starting the tunnel when an app starts is not supported",
    ),
    (
        "Proxy",
        None,
        "Corridor does not set an HTTP proxy while connected",
    ),
    (
        "EdpModeId",
        None,
        "Windows Information Protection is a Windows feature",
    ),
    (
        "DeviceCompliance",
        None,
        "Azure AD conditional access is a Windows feature",
    ),
    (
        "APNBinding",
        None,
        "binding to a cellular access point is a Windows feature",
    ),
    (
        "RequireVpnClientAppUI",
        None,
        "a Windows user interface setting",
    ),
    (
        "DisableAdvancedOptionsEditButton",
        None,
        "a Windows user interface setting",
    ),
    (
        "DisableDisconnectButton",
        None,
        "a Windows user interface setting",
    ),
    (
        "IPv4InterfaceMetric",
        None,
        "Corridor sets the tunnel's routes itself",
    ),
    (
        "IPv6InterfaceMetric",
        None,
        "Corridor sets the tunnel's routes itself",
    ),
    (
        "NetworkOutageTime",
        None,
        "Corridor decides itself how long to keep trying after a network outage",
    ),
    (
        "UseRasCredentials",
        None,
        "Windows' credential cache; Corridor asks for the password or reads it from the OS keychain",
    ),
    (
        "DataEncryption",
        None,
        "only used by PPTP and L2TP; IKEv2 always encrypts",
    ),
    (
        "PrivateNetwork",
        None,
        "Windows' firewall profile for the tunnel",
    ),
    (
        "WebAuth",
        None,
        "web authentication is for plug-in profiles",
    ),
    ("PluginProfile", None, "ignored: NativeProfile is used"),
    ("LockDown", None, "a lockdown profile is a Windows feature"),
];

fn not_mapped(ctx: &mut Ctx<'_>, key: &str, node: Node<'_, '_>) -> Result<(), InputError> {
    let Some(&(_, false_is_fine, reason)) = DROPPED.iter().find(|(k, _, _)| *k == key) else {
        ctx.report.not_mapped(
            key,
            "unknown element; not part of the VPNv2 ProfileXML schema Corridor knows",
        );
        return Ok(());
    };
    if false_is_fine.is_some() && !ctx.boolean(key, node)? {
        ctx.report
            .checked(key, "false, which is Corridor's behaviour too");
        return Ok(());
    }
    ctx.report.not_mapped(key, reason);
    Ok(())
}
