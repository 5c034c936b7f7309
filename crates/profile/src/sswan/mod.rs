//! Import of strongSwan `.sswan` profiles.
//!
//! The key set and meaning follow what strongSwan's Android app reads
//! (`VpnProfileImportActivity.parseProfile`), which is the reference implementation of the
//! format; its documentation is strongSwan's "VPN Profile Import for the Android VPN
//! Client". Every key present in the file ends up in the import report: mapped to a
//! Corridor field, or not mapped with the reason.

mod de;

use std::net::IpAddr;

use corridor_model::{
    AuthMethod, Base64Bytes, Blob, CertificateSource, ClientCertificate, Identity, IdentityError,
    IpNet, Profile, TunnelMode, Uuid, proposal,
};
use serde_json::Value;

use crate::certs;
use crate::error::{InputError, InputErrorKind};
use crate::format;
use crate::import::ImportedSecrets;
use crate::input::Input;
use crate::mapped::Mapped;
use crate::report::{ImportReport, SourceFormat};
use de::{Int, KNOWN_KEYS, Sswan, StringList};

/// The profile types strongSwan's apps know, with the method each becomes.
const TYPES: &[(&str, AuthMethod)] = &[
    ("ikev2-eap", AuthMethod::EapMschapv2),
    ("ikev2-cert", AuthMethod::Cert),
    ("ikev2-cert-eap", AuthMethod::CertEap),
    ("ikev2-eap-tls", AuthMethod::EapTls),
    ("ikev2-byod-eap", AuthMethod::EapMschapv2),
];

/// The `.sswan` key a Corridor field came from, so that errors found after mapping (by
/// validation or the certificate checks) name the key the user has to fix.
pub(crate) fn source_key(field: &str) -> Option<&'static str> {
    const MAP: &[(&str, &str)] = &[
        ("auth.client_certificate", "local.p12"),
        ("auth.local_identity", "local.id"),
        ("auth.eap_identity", "local.eap_id"),
        ("auth.rsa_pss", "local.rsa-pss"),
        ("trust", "remote.cert"),
        ("gateway.host", "remote.addr"),
        ("gateway.port", "remote.port"),
        ("gateway.identity", "remote.id"),
        ("transport.mtu", "mtu"),
        ("transport.nat_keepalive_secs", "nat-keepalive"),
        ("routing.include", "split-tunneling.subnets"),
        ("routing.exclude", "split-tunneling.excluded"),
        ("dns.servers", "dns-servers"),
        ("name", "name"),
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

/// Maps a `.sswan` file (after format detection) to a profile and a report.
pub(crate) fn read(input: &Input, value: &Value) -> Result<Mapped, InputError> {
    let raw: Sswan = format::typed(input)?;
    let origin = input.origin.as_str();
    let invalid = |key: &str, reason: String| {
        InputError::at_field(origin, key, InputErrorKind::Invalid(reason))
    };
    let missing = |key: &str| invalid(key, "required key is missing".to_string());
    let mut report = ImportReport::new(SourceFormat::Sswan);

    let uuid_text = raw.uuid.ok_or_else(|| missing("uuid"))?;
    let id = Uuid::parse_str(uuid_text.trim())
        .map_err(|_| invalid("uuid", format!("'{uuid_text}' is not a UUID")))?;
    report.mapped("uuid", "id");

    let name = raw.name.ok_or_else(|| missing("name"))?;
    report.mapped("name", "name");

    let kind = raw.kind.ok_or_else(|| missing("type"))?;
    let Some(&(_, method)) = TYPES.iter().find(|(t, _)| *t == kind) else {
        let known: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
        return Err(invalid(
            "type",
            format!(
                "unknown profile type \"{kind}\"; expected one of {}",
                known.join(", ")
            ),
        ));
    };
    match kind.as_str() {
        "ikev2-eap" => report.mapped_with(
            "type",
            "auth.method",
            "eap-mschapv2; strongSwan's app accepts whichever password-based EAP method the gateway asks for, Corridor uses EAP-MSCHAPv2",
        ),
        "ikev2-byod-eap" => report.mapped_with(
            "type",
            "auth.method",
            "eap-mschapv2; the BYOD health checks (TNC) of strongSwan's Android app are not supported",
        ),
        _ => report.mapped_with("type", "auth.method", method.as_str()),
    }
    let uses_password = method.uses_password();
    let uses_certificate = method.uses_certificate();

    let remote = raw.remote.ok_or_else(|| missing("remote"))?;
    let addr = remote.addr.ok_or_else(|| missing("remote.addr"))?;
    let mut profile = Profile::new(id, name, addr.trim(), method);
    report.mapped("remote.addr", "gateway.host");

    if let Some(Int(port)) = remote.port {
        profile.gateway.port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                invalid(
                    "remote.port",
                    format!("{port} is not a port number (1-65535)"),
                )
            })?;
        report.mapped("remote.port", "gateway.port");
    }
    if let Some(text) = remote.id {
        match Identity::parse_strongswan(&text) {
            Ok(id) => {
                profile.gateway.identity = Some(id);
                report.mapped("remote.id", "gateway.identity");
            }
            Err(IdentityError::Wildcard(_)) => report.not_mapped(
                "remote.id",
                format!(
                    "'{text}' would accept any identity the CA vouches for; Corridor requires the gateway to prove the identity of remote.addr instead"
                ),
            ),
            Err(e) => return Err(invalid("remote.id", e.to_string())),
        }
    }
    match remote.cert {
        Some(b64) => {
            let data = Base64Bytes::decode(&b64)
                .map_err(|e| invalid("remote.cert", format!("invalid base64: {e}")))?;
            certs::read_certificates(data.as_slice()).map_err(|reason| {
                InputError::at_field(origin, "remote.cert", InputErrorKind::Certificate(reason))
            })?;
            let source = if certs::is_pem(data.as_slice()) {
                let text = String::from_utf8(data.0)
                    .map_err(|_| invalid("remote.cert", "PEM text is not UTF-8".to_string()))?;
                CertificateSource::Pem(text)
            } else {
                CertificateSource::Der(data)
            };
            profile.trust.ca.push(source);
            report.mapped("remote.cert", "trust.ca[0]");
        }
        None => {
            profile.trust.system_roots = true;
            report.derived(
                "trust.system_roots",
                "true, because remote.cert is absent and strongSwan's apps then trust the system's CA certificates",
            );
        }
    }
    if let Some(b) = remote.certreq {
        profile.trust.certificate_requests = b.0;
        report.mapped("remote.certreq", "trust.certificate_requests");
    }
    if let Some(rev) = remote.revocation {
        if let Some(b) = rev.crl {
            profile.trust.revocation.crl = b.0;
            report.mapped("remote.revocation.crl", "trust.revocation.crl");
        }
        if let Some(b) = rev.ocsp {
            profile.trust.revocation.ocsp = b.0;
            report.mapped("remote.revocation.ocsp", "trust.revocation.ocsp");
        }
        if let Some(b) = rev.strict {
            profile.trust.revocation.strict = b.0;
            report.mapped("remote.revocation.strict", "trust.revocation.strict");
        }
    }

    let mut eap_password = None;
    if let Some(local) = raw.local {
        if let Some(text) = local.id {
            let id = Identity::parse_strongswan(&text)
                .map_err(|e| invalid("local.id", e.to_string()))?;
            profile.auth.local_identity = Some(id);
            report.mapped("local.id", "auth.local_identity");
        }
        let ignored =
            |what: &str| format!("type {kind} uses no {what}; strongSwan's app ignores it too");
        if let Some(eap_id) = local.eap_id {
            if uses_password {
                profile.auth.eap_identity = Some(eap_id);
                report.mapped("local.eap_id", "auth.eap_identity");
            } else {
                report.not_mapped("local.eap_id", ignored("username"));
            }
        }
        if let Some(secret) = local.shared_secret {
            if uses_password {
                eap_password = Some(secret);
                report.not_mapped(
                    "local.shared_secret",
                    "passwords are never stored in a profile; it is handed over for the OS keychain, delete the file after importing",
                );
            } else {
                report.not_mapped("local.shared_secret", ignored("password"));
            }
        }
        if let Some(b64) = local.p12 {
            if uses_certificate {
                let data = Base64Bytes::decode(&b64)
                    .map_err(|e| invalid("local.p12", format!("invalid base64: {e}")))?;
                profile.auth.client_certificate =
                    Some(ClientCertificate::Pkcs12(Blob::Base64(data)));
                report.mapped("local.p12", "auth.client_certificate.pkcs12");
            } else {
                report.not_mapped("local.p12", ignored("client certificate"));
            }
        }
        if let Some(b) = local.rsa_pss {
            if uses_certificate {
                profile.auth.rsa_pss = b.0;
                report.mapped("local.rsa-pss", "auth.rsa_pss");
            } else {
                report.not_mapped("local.rsa-pss", ignored("client certificate"));
            }
        }
    }

    if let Some(text) = raw.ike_proposal.filter(|t| !t.trim().is_empty()) {
        profile.proposals.ike =
            proposal::parse_list(&text).map_err(|e| invalid("ike-proposal", e.to_string()))?;
        report.mapped("ike-proposal", "proposals.ike");
    }
    if let Some(text) = raw.esp_proposal.filter(|t| !t.trim().is_empty()) {
        profile.proposals.esp =
            proposal::parse_list(&text).map_err(|e| invalid("esp-proposal", e.to_string()))?;
        report.mapped("esp-proposal", "proposals.esp");
    }
    if let Some(StringList(items)) = raw.dns_servers {
        for item in &items {
            let ip: IpAddr = item
                .parse()
                .map_err(|_| invalid("dns-servers", format!("'{item}' is not an IP address")))?;
            profile.dns.servers.push(ip);
        }
        report.mapped("dns-servers", "dns.servers");
    }
    if let Some(Int(mtu)) = raw.mtu {
        let mtu = u16::try_from(mtu).map_err(|_| invalid("mtu", format!("{mtu} is not an MTU")))?;
        profile.transport.mtu = Some(mtu);
        report.mapped("mtu", "transport.mtu");
    }
    if let Some(Int(secs)) = raw.nat_keepalive {
        profile.transport.nat_keepalive_secs = u16::try_from(secs).map_err(|_| {
            invalid(
                "nat-keepalive",
                format!("{secs} is not a number of seconds"),
            )
        })?;
        report.mapped("nat-keepalive", "transport.nat_keepalive_secs");
    }
    if let Some(b) = raw.ipv6_transport {
        profile.transport.ipv6_transport = b.0;
        report.mapped("ipv6-transport", "transport.ipv6_transport");
    }

    if let Some(proxy) = raw.proxy {
        let why = "Corridor does not set an HTTP proxy for apps while connected (an Android VpnService feature)";
        for (key, present) in [
            ("proxy.host", proxy.host.is_some()),
            ("proxy.port", proxy.port.is_some()),
            ("proxy.exclusions", proxy.exclusions.is_some()),
        ] {
            if present {
                report.not_mapped(key, why);
            }
        }
    }

    if let Some(split) = raw.split_tunneling {
        if let Some(StringList(items)) = split.subnets {
            let (nets, note) =
                subnets(&items).map_err(|r| invalid("split-tunneling.subnets", r))?;
            if !nets.is_empty() {
                profile.routing.mode = TunnelMode::Split;
                profile.routing.include = nets;
            }
            match note {
                Some(n) => report.mapped_with("split-tunneling.subnets", "routing.include", n),
                None => report.mapped_with(
                    "split-tunneling.subnets",
                    "routing.include",
                    "routing.mode is split",
                ),
            }
        }
        if let Some(StringList(items)) = split.excluded {
            let (nets, note) =
                subnets(&items).map_err(|r| invalid("split-tunneling.excluded", r))?;
            profile.routing.exclude = nets;
            match note {
                Some(n) => report.mapped_with("split-tunneling.excluded", "routing.exclude", n),
                None => report.mapped("split-tunneling.excluded", "routing.exclude"),
            }
        }
        if let Some(b) = split.block_ipv4 {
            profile.routing.block_ipv4 = b.0;
            report.mapped("split-tunneling.block-ipv4", "routing.block_ipv4");
        }
        if let Some(b) = split.block_ipv6 {
            profile.routing.block_ipv6 = b.0;
            report.mapped("split-tunneling.block-ipv6", "routing.block_ipv6");
        }
    }

    let per_app = "per-app VPN (which apps use the tunnel) is an Android feature; Corridor routes by destination";
    if raw.apps.is_some() {
        report.not_mapped("apps", per_app);
    }
    if raw.excluded_apps.is_some() {
        report.not_mapped("excluded-apps", per_app);
    }

    for key in unknown_keys(value) {
        report.not_mapped(&key, "unknown key; strongSwan's apps ignore it too");
    }
    Ok(Mapped {
        profile,
        report,
        // `local.shared_secret`: the EAP password, which is not kept in the profile.
        secrets: ImportedSecrets {
            eap_password,
            ..ImportedSecrets::default()
        },
    })
}

/// Parses split-tunneling entries: prefixes, single addresses and `from-to` ranges, as
/// the app's `IPRange` accepts them. Host bits are masked and ranges become prefixes, as
/// the app does; the note says when that changed anything.
fn subnets(items: &[String]) -> Result<(Vec<IpNet>, Option<String>), String> {
    let mut out = Vec::new();
    let mut changes = Vec::new();
    for item in items {
        if let Some((from, to)) = item.split_once('-') {
            let (a, b) = match (from.trim().parse::<IpAddr>(), to.trim().parse::<IpAddr>()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => return Err(format!("'{item}' is not an address range")),
            };
            let nets = IpNet::from_range(a, b)
                .ok_or_else(|| format!("'{item}' is not a range (mixed families or reversed)"))?;
            let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
            changes.push(format!("range {item} became {}", shown.join(" ")));
            out.extend(nets);
        } else {
            let net = IpNet::parse_truncating(item).map_err(|e| format!("'{item}': {e}"))?;
            let exact = item.parse::<IpNet>().is_ok();
            if !exact {
                changes.push(format!("{item} became {net}"));
            }
            out.push(net);
        }
    }
    let note = (!changes.is_empty()).then(|| changes.join(", "));
    Ok((out, note))
}

/// Keys in the file that no strongSwan app reads, as dotted paths.
fn unknown_keys(value: &Value) -> Vec<String> {
    fn walk(value: &Value, prefix: &str, out: &mut Vec<String>) {
        let Value::Object(map) = value else { return };
        for (key, child) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if KNOWN_KEYS.contains(&path.as_str()) {
                walk(child, &path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_accept_what_the_app_accepts() {
        let items: Vec<String> = [
            "10.0.0.0/8",
            "192.0.2.7",
            "10.1.2.3/16",
            "2001:db8::1-2001:db8::2",
        ]
        .map(String::from)
        .to_vec();
        let (nets, note) = subnets(&items).unwrap();
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "10.0.0.0/8",
                "192.0.2.7/32",
                "10.1.0.0/16",
                "2001:db8::1/128",
                "2001:db8::2/128"
            ]
        );
        assert_eq!(
            note.unwrap(),
            "10.1.2.3/16 became 10.1.0.0/16, range 2001:db8::1-2001:db8::2 became 2001:db8::1/128 2001:db8::2/128"
        );
        assert_eq!(
            subnets(&["10.0.0.9-10.0.0.1".to_string()]).unwrap_err(),
            "'10.0.0.9-10.0.0.1' is not a range (mixed families or reversed)"
        );
        assert_eq!(
            subnets(&["a-b".to_string()]).unwrap_err(),
            "'a-b' is not an address range"
        );
    }

    #[test]
    fn errors_after_mapping_name_the_sswan_key() {
        assert_eq!(
            source_key("auth.client_certificate.pkcs12.base64"),
            Some("local.p12")
        );
        assert_eq!(source_key("trust.ca[0].der"), Some("remote.cert"));
        assert_eq!(source_key("gateway.port"), Some("remote.port"));
        assert_eq!(
            source_key("routing.include[3]"),
            Some("split-tunneling.subnets")
        );
        assert_eq!(source_key("names"), None);
        assert_eq!(source_key("proposals.ike"), None);
    }

    #[test]
    fn unknown_keys_are_listed_with_their_path() {
        let value: Value = serde_json::from_str(
            r#"{"uuid": "x", "remote": {"addr": "a", "colour": 1, "revocation": {"crl": true, "x": 2}}, "extra": {"a": 1}}"#,
        )
        .unwrap();
        assert_eq!(
            unknown_keys(&value),
            ["extra", "remote.colour", "remote.revocation.x"]
        );
    }
}
