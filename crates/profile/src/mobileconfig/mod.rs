//! Import of Apple configuration profiles (`.mobileconfig`) with an IKEv2 VPN payload.
//!
//! A profile is a property list (XML or binary), possibly inside a CMS signature. Its
//! `PayloadContent` lists payloads; the first `com.apple.vpn.managed` payload with
//! `VPNType` `IKEv2` becomes the Corridor profile, the PKCS#12 payload its
//! `PayloadCertificateUUID` names becomes the client certificate, and certificate
//! payloads (`com.apple.security.root`, `.pem`, `.pkcs1`) become trusted CAs. Every key
//! present ends up in the report: mapped, checked, or not mapped with the reason.
//!
//! - [`tree`]: safe property-list parsing and typed access with key paths.
//! - [`cms`]: signed profiles; the signature is verified.
//! - [`vpn`]: the VPN payload, key by key.
//! - [`proposals`]: the SA parameter dictionaries as proposals.
//! - [`payloads`]: certificate and PKCS#12 payloads, and the rest.

mod cms;
mod payloads;
mod proposals;
mod tree;
mod vpn;

use corridor_model::{Blob, ClientCertificate, Profile};
use plist::Value;

use crate::error::{InputError, InputErrorKind};
use crate::import::ImportedSecrets;
use crate::input::Input;
use crate::mapped::Mapped;
use crate::report::{ImportReport, SourceFormat};
use crate::validate::validate;
use payloads::{CERTIFICATE_TYPES, Payload};
use tree::Node;

/// The payload type of VPN settings.
const VPN_PAYLOAD: &str = "com.apple.vpn.managed";

/// Corridor fields and the VPN-payload key (relative to the payload) they come from.
const SOURCE_KEYS: &[(&str, &str)] = &[
    ("auth.client_certificate", "IKEv2.PayloadCertificateUUID"),
    ("auth.local_identity", "IKEv2.LocalIdentifier"),
    ("auth.eap_identity", "IKEv2.AuthName"),
    ("auth.psk", "IKEv2.SharedSecret"),
    ("auth.rsa_pss", "IKEv2.CertificateType"),
    ("auth.method", "IKEv2.AuthenticationMethod"),
    ("gateway.host", "IKEv2.RemoteAddress"),
    ("gateway.identity", "IKEv2.RemoteIdentifier"),
    ("transport.mtu", "IKEv2.MTU"),
    ("transport.nat_keepalive_secs", "IKEv2.NATKeepAliveInterval"),
    (
        "transport.liveness_check_secs",
        "IKEv2.DeadPeerDetectionRate",
    ),
    (
        "rekey.ike_minutes",
        "IKEv2.IKESecurityAssociationParameters.LifeTimeInMinutes",
    ),
    (
        "rekey.child_minutes",
        "IKEv2.ChildSecurityAssociationParameters.LifeTimeInMinutes",
    ),
    ("proposals.ike", "IKEv2.IKESecurityAssociationParameters"),
    ("proposals.esp", "IKEv2.ChildSecurityAssociationParameters"),
    ("dns.servers", "DNS.ServerAddresses"),
    ("dns.search_domains", "DNS.SearchDomains"),
    ("dns.match_domains", "DNS.SupplementalMatchDomains"),
    ("name", "UserDefinedName"),
    ("id", "PayloadUUID"),
];

/// Splits `field` into a matching table entry and the rest (`[2]`, `.der`).
fn lookup(field: &str) -> Option<(&'static str, &str)> {
    SOURCE_KEYS.iter().find_map(|(prefix, key)| {
        let rest = field.strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')).then_some((*key, rest))
    })
}

/// The source key a Corridor field came from, relative to the VPN payload
/// (`IKEv2.RemoteAddress`), for errors found after mapping. Errors found while mapping
/// carry the full path (`PayloadContent[1].IKEv2.RemoteAddress`).
pub(crate) fn source_key(field: &str) -> Option<&'static str> {
    if field.starts_with("trust") {
        return Some("PayloadContent");
    }
    lookup(field).map(|(key, _)| key)
}

/// Maps a `.mobileconfig` (after format detection) to a profile and a report.
pub(crate) fn read(input: &Input) -> Result<Mapped, InputError> {
    let origin = input.origin.as_str();
    let mut report = ImportReport::new(SourceFormat::Mobileconfig);
    let signed;
    let bytes: &[u8] = if input.binary && !input.bytes.starts_with(b"bplist") {
        signed = cms::open(&input.bytes)
            .map_err(|reason| InputError::new(origin, InputErrorKind::Invalid(reason)))?;
        report.checked(
            "CMS signature",
            format!(
                "valid, signed by {}; the signer's certificate chain is not evaluated (Corridor's own signed profiles are how a profile's origin is trusted)",
                signed.signer
            ),
        );
        signed
            .content
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(&signed.content)
    } else if input.binary {
        &input.bytes
    } else {
        input.text.as_bytes()
    };
    let root = tree::parse(origin, bytes)?;
    let Value::Dictionary(root) = &root else {
        return Err(InputError::new(
            origin,
            InputErrorKind::Invalid(format!(
                "the property list holds {}, expected a dictionary (a configuration profile)",
                tree::kind_of(&root)
            )),
        ));
    };
    let top = Node {
        origin,
        dict: root,
        path: "",
    };
    match top.string("PayloadType")? {
        Some("Configuration") => {}
        Some(other) => {
            return Err(top.error(
                "PayloadType",
                format!("expected \"Configuration\" (a configuration profile), found \"{other}\""),
            ));
        }
        None => return Err(top.error("PayloadType", "required key is missing")),
    }
    let items = top
        .array("PayloadContent")?
        .ok_or_else(|| top.error("PayloadContent", "required key is missing"))?;
    let payloads = list_payloads(&top, items)?;

    let is_ikev2 = |p: &Payload<'_>| {
        p.kind == VPN_PAYLOAD
            && matches!(p.dict.get("VPNType"), Some(Value::String(t)) if t == "IKEv2")
    };
    let Some(vpn_payload) = payloads.iter().find(|p| is_ikev2(p)) else {
        let found: Vec<String> = payloads.iter().map(Payload::describe).collect();
        let found = if found.is_empty() {
            "it has no payloads".to_string()
        } else {
            format!("it has {}", found.join(", "))
        };
        return Err(top.error(
            "PayloadContent",
            format!("no IKEv2 VPN payload ({VPN_PAYLOAD} with VPNType IKEv2): {found}"),
        ));
    };
    let vpn = vpn::map(origin, vpn_payload, &payloads, &report)?;
    let mut profile = vpn.profile;

    report_top_level(&top, &mut report);
    let mut ca_paths = Vec::new();
    for payload in &payloads {
        if payload.index == vpn_payload.index {
            report.entries.extend(vpn.report.entries.iter().cloned());
        } else if vpn.identity.as_ref().map(|i| i.index) == Some(payload.index) {
            payloads::report_identity(&payload.node(origin), &mut report);
        } else if CERTIFICATE_TYPES.contains(&payload.kind) {
            let ca = payloads::trusted_certificate(payload, origin, ca_paths.len(), &mut report)?;
            profile.trust.ca.push(ca);
            ca_paths.push(payload.path.clone());
        } else if payload.kind == VPN_PAYLOAD && !is_ikev2(payload) {
            report.not_mapped(
                &payload.path,
                format!("{}: Corridor speaks IKEv2 only", payload.describe()),
            );
        } else {
            report.not_mapped(&payload.path, payloads::unrelated_reason(payload));
        }
    }
    if profile.trust.ca.is_empty() && profile.auth.method != corridor_model::AuthMethod::Psk {
        profile.trust.system_roots = true;
        report.derived(
            "trust.system_roots",
            "true: the profile carries no certificate payload, and Apple's devices then trust their system's CA certificates",
        );
    }

    let renamer = Renamer {
        vpn_path: &vpn_payload.path,
        ca_paths: &ca_paths,
        identity_path: vpn
            .identity
            .as_ref()
            .map(|i| format!("PayloadContent[{}]", i.index)),
    };
    prevalidate(origin, &profile).map_err(|e| renamer.rename(e))?;

    Ok(Mapped {
        profile,
        report,
        secrets: ImportedSecrets {
            eap_password: vpn.eap_password,
            p12_password: vpn.identity.and_then(|i| i.password),
        },
    })
}

fn list_payloads<'a>(top: &Node<'a>, items: &'a [Value]) -> Result<Vec<Payload<'a>>, InputError> {
    let mut payloads = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("PayloadContent[{index}]");
        let Value::Dictionary(dict) = item else {
            return Err(top.error(
                &path,
                format!("expected a dictionary, found {}", tree::kind_of(item)),
            ));
        };
        // Typed reads through a node borrowing `path` would tie the results to it; read
        // the values directly and let the node only describe errors.
        let node = Node {
            origin: top.origin,
            dict,
            path: &path,
        };
        node.required_string("PayloadType")?;
        node.string("PayloadUUID")?;
        let text = |key: &str| match dict.get(key) {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        let kind = text("PayloadType").unwrap_or_default();
        let uuid = text("PayloadUUID");
        payloads.push(Payload {
            index,
            kind,
            uuid,
            dict,
            path,
        });
    }
    Ok(payloads)
}

/// The profile-level keys besides `PayloadContent`.
fn report_top_level(top: &Node<'_>, report: &mut ImportReport) {
    for (key, value) in top.dict.iter() {
        match key.as_str() {
            "PayloadContent" => {}
            "PayloadType" => report.checked(key, "Configuration"),
            "PayloadVersion" => match value {
                Value::Integer(n) => report.checked(key, format!("{n}")),
                other => report.not_mapped(
                    key,
                    format!("{} instead of an integer; Apple's devices ignore it", tree::kind_of(other)),
                ),
            },
            "PayloadDisplayName" | "PayloadDescription" | "PayloadIdentifier"
            | "PayloadOrganization" | "PayloadUUID" | "PayloadDate" => report.not_mapped(
                key,
                "profile metadata for Apple's installer; the VPN payload's UserDefinedName and PayloadUUID name and identify the Corridor profile",
            ),
            "PayloadRemovalDisallowed" | "RemovalDate" | "DurationUntilRemoval"
            | "PayloadExpirationDate" | "HasRemovalPasscode" | "ConsentText" | "PayloadScope"
            | "TargetDeviceType" | "IsEncrypted" => report.not_mapped(
                key,
                "installation rules of Apple's devices; IT locks Corridor profiles by installing them as managed profiles",
            ),
            _ => report.not_mapped(
                key,
                "not a key of Apple's configuration profiles; Apple's devices ignore it too",
            ),
        }
    }
}

/// Validates the mapped profile now, so that problems are reported at the full key path.
/// A certificate method without a PKCS#12 payload may still get its certificate from
/// the import's options, which are checked later.
fn prevalidate(origin: &str, profile: &Profile) -> Result<(), InputError> {
    if profile.auth.method.uses_certificate() && profile.auth.client_certificate.is_none() {
        let mut probe = profile.clone();
        probe.auth.client_certificate = Some(ClientCertificate::Pkcs12(Blob::File(
            "given-when-importing.p12".into(),
        )));
        return validate(origin, &probe);
    }
    validate(origin, profile)
}

/// Renames Corridor fields in errors to full source key paths.
struct Renamer<'a> {
    vpn_path: &'a str,
    ca_paths: &'a [String],
    identity_path: Option<String>,
}

impl Renamer<'_> {
    fn rename(&self, e: InputError) -> InputError {
        let Some(field) = e.field() else { return e };
        if let Some(rest) = field.strip_prefix("trust.ca[")
            && let Some((n, _)) = rest.split_once(']')
            && let Some(path) = n.parse::<usize>().ok().and_then(|n| self.ca_paths.get(n))
        {
            let key = format!("{path}.PayloadContent");
            return e.with_field(&key);
        }
        if field.starts_with("auth.client_certificate.pkcs12")
            && let Some(path) = &self.identity_path
        {
            let key = format!("{path}.PayloadContent");
            return e.with_field(&key);
        }
        match lookup(field) {
            Some((key, rest)) => {
                let key = format!("{}.{key}{rest}", self.vpn_path);
                e.with_field(&key)
            }
            None => e,
        }
    }
}
