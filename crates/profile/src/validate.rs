//! Rules that relate a profile's fields to each other, checked after parsing.
//!
//! Every profile passes here before it is stored, whatever format it came from, and
//! anything that receives a profile over IPC should call [`validate`] too. The checks are
//! pure (no file access): embedded certificates and containers are decoded here, files a
//! profile refers to are checked at import.

use std::net::IpAddr;

use corridor_model::{
    AuthMethod, Blob, CertificateSource, ClientCertificate, FORMAT_VERSION, Profile, TunnelMode,
    is_valid_hostname,
};

use crate::certs;
use crate::error::{InputError, InputErrorKind};
use crate::pkcs12;

/// The longest profile name accepted; names appear in menus and notifications.
pub const MAX_NAME_CHARS: usize = 100;
/// The MTU range for a tunnel carrying only IPv4 (RFC 791: every host must accept 576).
pub const MTU_IPV4: std::ops::RangeInclusive<u16> = 576..=9000;
/// The minimum MTU of a link carrying IPv6 (RFC 8200 §5).
pub const MTU_IPV6_MIN: u16 = 1280;
/// The accepted NAT keepalive interval in seconds.
pub const NAT_KEEPALIVE_SECS: std::ops::RangeInclusive<u16> = 5..=3600;
/// The accepted liveness check interval in seconds, besides `0` (off). Below ten
/// seconds the checks would be mostly noise (each is retransmitted for six seconds
/// before the gateway counts as gone); above an hour a dead gateway would go unnoticed
/// for most of a working session. Apple's slowest rate, every 30 minutes, fits.
pub const LIVENESS_CHECK_SECS: std::ops::RangeInclusive<u32> = 10..=3600;
/// The accepted SA lifetimes in minutes, for the IKE SA and the Child SA alike: Apple's
/// documented range for `LifeTimeInMinutes` (10 to 1440), so that every profile IT
/// made for Apple's devices imports. Shorter would rekey constantly; longer keeps keys
/// in use for more than a day.
pub const REKEY_MINUTES: std::ops::RangeInclusive<u32> = 10..=1440;

/// Checks `profile`; `origin` names it in the error (a file name, or e.g. the profile's
/// name for one received over IPC). Returns the first problem found.
pub fn validate(origin: &str, profile: &Profile) -> Result<(), InputError> {
    let fail = |field: &str, reason: String| {
        Err(InputError::at_field(
            origin,
            field,
            InputErrorKind::Invalid(reason),
        ))
    };
    let material = |field: &str, reason: String| {
        Err(InputError::at_field(
            origin,
            field,
            InputErrorKind::Certificate(reason),
        ))
    };

    if profile.version != FORMAT_VERSION {
        return Err(InputError::at_field(
            origin,
            "version",
            InputErrorKind::UnsupportedVersion {
                found: profile.version.to_string(),
                supported: FORMAT_VERSION,
            },
        ));
    }
    if let Err(reason) = check_name(&profile.name) {
        return fail("name", reason);
    }

    // Gateway.
    let gw = &profile.gateway;
    if let Err(reason) = check_host(&gw.host) {
        return fail("gateway.host", reason);
    }
    if gw.port == 0 {
        return fail(
            "gateway.port",
            "must be between 1 and 65535, not 0".to_string(),
        );
    }
    if let Some(id) = &gw.identity
        && let Err(e) = id.check()
    {
        return fail("gateway.identity", e.to_string());
    }

    // Trust.
    let auth = &profile.auth;
    if auth.method != AuthMethod::Psk && profile.trust.ca.is_empty() && !profile.trust.system_roots
    {
        return fail(
            "trust",
            "no trusted CA: add a certificate to trust.ca or set trust.system_roots to true; \
             otherwise the gateway's certificate cannot be verified"
                .to_string(),
        );
    }
    for (i, ca) in profile.trust.ca.iter().enumerate() {
        if let Some((field, data)) = inline_certificate(ca, &format!("trust.ca[{i}]"))
            && let Err(reason) = certs::read_certificates(&data)
        {
            return material(&field, reason);
        }
    }

    // Authentication.
    let method = auth.method.as_str();
    let uses_eap = matches!(
        auth.method,
        AuthMethod::EapMschapv2 | AuthMethod::EapTls | AuthMethod::CertEap
    );
    match (&auth.client_certificate, auth.method.uses_certificate()) {
        (None, true) => {
            return fail(
                "auth.client_certificate",
                format!("method {method} needs a client certificate"),
            );
        }
        (Some(_), false) => {
            return fail(
                "auth.client_certificate",
                format!("method {method} uses no client certificate; remove it"),
            );
        }
        (Some(cred), true) => check_inline_credential(origin, cred)?,
        (None, false) => {}
    }
    if let Some(psk) = &auth.psk {
        if auth.method != AuthMethod::Psk {
            return fail(
                "auth.psk",
                format!("method {method} uses no pre-shared key; remove it"),
            );
        }
        if psk.is_empty() {
            return fail(
                "auth.psk",
                "must not be empty (leave it out to be asked for it)".to_string(),
            );
        }
    }
    if let Some(eap_id) = &auth.eap_identity {
        if !uses_eap {
            return fail(
                "auth.eap_identity",
                format!("method {method} uses no EAP; remove it"),
            );
        }
        if eap_id.trim().is_empty() || eap_id.chars().any(char::is_control) {
            return fail(
                "auth.eap_identity",
                "must be a non-empty name without control characters".to_string(),
            );
        }
    }
    if let Some(id) = &auth.local_identity
        && let Err(e) = id.check()
    {
        return fail("auth.local_identity", e.to_string());
    }
    if auth.rsa_pss && !auth.method.uses_certificate() {
        return fail(
            "auth.rsa_pss",
            format!("method {method} signs nothing; remove it"),
        );
    }

    // Routing.
    let routing = &profile.routing;
    match routing.mode {
        TunnelMode::Full if !routing.include.is_empty() => {
            return fail(
                "routing.include",
                "is only used with split tunneling; set routing.mode to \"split\" or remove it"
                    .to_string(),
            );
        }
        TunnelMode::Split if routing.include.is_empty() => {
            return fail(
                "routing.include",
                "split tunneling needs at least one prefix to send through the tunnel".to_string(),
            );
        }
        _ => {}
    }

    // DNS.
    for (i, server) in profile.dns.servers.iter().enumerate() {
        if server.is_unspecified() || server.is_multicast() {
            return fail(
                &format!("dns.servers[{i}]"),
                format!("{server} is not a usable DNS server address"),
            );
        }
    }
    for (list, name) in [
        (&profile.dns.search_domains, "dns.search_domains"),
        (&profile.dns.match_domains, "dns.match_domains"),
    ] {
        for (i, domain) in list.iter().enumerate() {
            let bare = domain.strip_prefix('.').unwrap_or(domain);
            if !is_valid_hostname(bare) {
                return fail(
                    &format!("{name}[{i}]"),
                    format!("'{domain}' is not a valid domain name"),
                );
            }
        }
    }

    // Transport.
    let transport = &profile.transport;
    if let Some(mtu) = transport.mtu {
        if !MTU_IPV4.contains(&mtu) {
            return fail(
                "transport.mtu",
                format!("{mtu} is outside {}..={}", MTU_IPV4.start(), MTU_IPV4.end()),
            );
        }
        let ipv6_reason = match routing.mode {
            TunnelMode::Full => Some("routing.mode is full"),
            TunnelMode::Split if routing.include.iter().any(|n| n.is_ipv6()) => {
                Some("routing.include has IPv6 prefixes")
            }
            TunnelMode::Split => None,
        };
        if let Some(why) = ipv6_reason
            && mtu < MTU_IPV6_MIN
        {
            return fail(
                "transport.mtu",
                format!(
                    "{mtu} is below {MTU_IPV6_MIN}, the minimum for IPv6 (RFC 8200 §5); this tunnel carries IPv6 because {why}"
                ),
            );
        }
    }
    if !NAT_KEEPALIVE_SECS.contains(&transport.nat_keepalive_secs) {
        return fail(
            "transport.nat_keepalive_secs",
            format!(
                "{} is outside {}..={} seconds",
                transport.nat_keepalive_secs,
                NAT_KEEPALIVE_SECS.start(),
                NAT_KEEPALIVE_SECS.end()
            ),
        );
    }
    if let Some(secs) = transport.liveness_check_secs
        && secs != 0
        && !LIVENESS_CHECK_SECS.contains(&secs)
    {
        return fail(
            "transport.liveness_check_secs",
            format!(
                "{secs} is outside {}..={} seconds (0 turns liveness checks off)",
                LIVENESS_CHECK_SECS.start(),
                LIVENESS_CHECK_SECS.end()
            ),
        );
    }

    // Rekeying.
    for (field, minutes) in [
        ("rekey.ike_minutes", profile.rekey.ike_minutes),
        ("rekey.child_minutes", profile.rekey.child_minutes),
    ] {
        if let Some(minutes) = minutes
            && !REKEY_MINUTES.contains(&minutes)
        {
            return fail(
                field,
                format!(
                    "{minutes} is outside {}..={} minutes",
                    REKEY_MINUTES.start(),
                    REKEY_MINUTES.end()
                ),
            );
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty".to_string());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".to_string());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("is longer than {MAX_NAME_CHARS} characters"));
    }
    Ok(())
}

fn check_host(host: &str) -> Result<(), String> {
    if host.trim().is_empty() {
        return Err("must not be empty".to_string());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if host.starts_with('[') && host.ends_with(']') {
        return Err(format!(
            "write IPv6 addresses without brackets: {}",
            &host[1..host.len() - 1]
        ));
    }
    if let Some((name, port)) = host.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && is_valid_hostname(name)
    {
        return Err(format!(
            "must not contain a port; put {port} in gateway.port"
        ));
    }
    if !is_valid_hostname(host) {
        return Err(format!("'{host}' is not a valid host name or IP address"));
    }
    Ok(())
}

/// The embedded bytes of a certificate source and the field path they are at.
fn inline_certificate(source: &CertificateSource, path: &str) -> Option<(String, Vec<u8>)> {
    match source {
        CertificateSource::Pem(text) => Some((format!("{path}.pem"), text.as_bytes().to_vec())),
        CertificateSource::Der(der) => Some((format!("{path}.der"), der.0.clone())),
        CertificateSource::File(_) => None,
    }
}

fn check_inline_credential(origin: &str, cred: &ClientCertificate) -> Result<(), InputError> {
    let material = |field: String, reason: String| {
        Err(InputError::at_field(
            origin,
            field,
            InputErrorKind::Certificate(reason),
        ))
    };
    match cred {
        ClientCertificate::Pkcs12(Blob::Base64(data)) => {
            if let Err(reason) = pkcs12::check_structure(data.as_slice()) {
                return Err(InputError::at_field(
                    origin,
                    "auth.client_certificate.pkcs12.base64",
                    InputErrorKind::Pkcs12Malformed(reason),
                ));
            }
        }
        ClientCertificate::Pkcs12(Blob::File(_)) => {}
        ClientCertificate::Pem(pem) => {
            if let Some((field, data)) =
                inline_certificate(&pem.certificate, "auth.client_certificate.pem.certificate")
                && let Err(reason) = certs::read_certificates(&data)
            {
                return material(field, reason);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use corridor_model::{AuthMethod, Identity, Profile, Secret, Uuid};

    use super::*;

    fn base() -> Profile {
        let mut p = Profile::new(
            Uuid::from_u128(1),
            "Test",
            "vpn.example.com",
            AuthMethod::EapMschapv2,
        );
        p.trust.system_roots = true;
        p
    }

    fn err(p: &Profile) -> String {
        validate("t", p).unwrap_err().to_string()
    }

    #[test]
    fn base_is_valid() {
        validate("t", &base()).unwrap();
    }

    #[test]
    fn names_and_hosts() {
        let mut p = base();
        p.name = " ".into();
        assert_eq!(err(&p), "t: name: must not be empty");
        p.name = "a\nb".into();
        assert_eq!(err(&p), "t: name: must not contain control characters");
        p.name = "x".repeat(101);
        assert_eq!(err(&p), "t: name: is longer than 100 characters");
        let mut p = base();
        p.gateway.host = "[2001:db8::1]".into();
        assert_eq!(
            err(&p),
            "t: gateway.host: write IPv6 addresses without brackets: 2001:db8::1"
        );
        p.gateway.host = "vpn.example.com:4500".into();
        assert_eq!(
            err(&p),
            "t: gateway.host: must not contain a port; put 4500 in gateway.port"
        );
        p.gateway.host = "vpn example".into();
        assert_eq!(
            err(&p),
            "t: gateway.host: 'vpn example' is not a valid host name or IP address"
        );
        p.gateway.host = "2001:db8::1".into();
        validate("t", &p).unwrap();
        p.gateway.identity = Some(Identity::Fqdn("bad name".into()));
        assert_eq!(
            err(&p),
            "t: gateway.identity: 'bad name' is not a valid domain name"
        );
    }

    #[test]
    fn trust_is_required_except_for_psk() {
        let mut p = base();
        p.trust.system_roots = false;
        assert!(err(&p).starts_with("t: trust: no trusted CA"));
        p.auth.method = AuthMethod::Psk;
        validate("t", &p).unwrap();
    }

    #[test]
    fn auth_fields_must_fit_the_method() {
        let mut p = base();
        p.auth.psk = Some(Secret::new("k"));
        assert_eq!(
            err(&p),
            "t: auth.psk: method eap-mschapv2 uses no pre-shared key; remove it"
        );
        p.auth.method = AuthMethod::Psk;
        p.auth.psk = Some(Secret::new(""));
        assert_eq!(
            err(&p),
            "t: auth.psk: must not be empty (leave it out to be asked for it)"
        );
        p.auth.psk = None;
        p.auth.eap_identity = Some("alice".into());
        assert_eq!(
            err(&p),
            "t: auth.eap_identity: method psk uses no EAP; remove it"
        );
        p.auth.eap_identity = None;
        p.auth.rsa_pss = true;
        assert_eq!(
            err(&p),
            "t: auth.rsa_pss: method psk signs nothing; remove it"
        );
        let mut p = base();
        p.auth.eap_identity = Some("  ".into());
        assert_eq!(
            err(&p),
            "t: auth.eap_identity: must be a non-empty name without control characters"
        );
        let mut p = base();
        p.auth.method = AuthMethod::Cert;
        assert_eq!(
            err(&p),
            "t: auth.client_certificate: method cert needs a client certificate"
        );
        let mut p = base();
        p.auth.client_certificate = Some(ClientCertificate::Pkcs12(Blob::File("/x.p12".into())));
        assert_eq!(
            err(&p),
            "t: auth.client_certificate: method eap-mschapv2 uses no client certificate; remove it"
        );
    }

    #[test]
    fn routing_dns_transport() {
        let mut p = base();
        p.routing.include = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(err(&p).starts_with("t: routing.include: is only used with split tunneling"));
        p.routing.mode = TunnelMode::Split;
        validate("t", &p).unwrap();
        // An IPv4-only split tunnel may use a small MTU; one that carries IPv6 may not.
        p.transport.mtu = Some(576);
        validate("t", &p).unwrap();
        p.routing.include.push("2001:db8::/32".parse().unwrap());
        assert_eq!(
            err(&p),
            "t: transport.mtu: 576 is below 1280, the minimum for IPv6 (RFC 8200 §5); this tunnel carries IPv6 because routing.include has IPv6 prefixes"
        );
        p.transport.mtu = Some(9001);
        assert_eq!(err(&p), "t: transport.mtu: 9001 is outside 576..=9000");
        p.transport.mtu = None;
        p.routing.include.clear();
        assert_eq!(
            err(&p),
            "t: routing.include: split tunneling needs at least one prefix to send through the tunnel"
        );
        let mut p = base();
        p.dns.servers = vec!["0.0.0.0".parse().unwrap()];
        assert_eq!(
            err(&p),
            "t: dns.servers[0]: 0.0.0.0 is not a usable DNS server address"
        );
        let mut p = base();
        p.dns.match_domains = vec![".corp.example.com".into(), "bad domain".into()];
        assert_eq!(
            err(&p),
            "t: dns.match_domains[1]: 'bad domain' is not a valid domain name"
        );
        let mut p = base();
        p.transport.nat_keepalive_secs = 1;
        assert_eq!(
            err(&p),
            "t: transport.nat_keepalive_secs: 1 is outside 5..=3600 seconds"
        );
    }

    #[test]
    fn liveness_and_rekey() {
        let mut p = base();
        for ok in [0, 10, 60, 1800, 3600] {
            p.transport.liveness_check_secs = Some(ok);
            validate("t", &p).unwrap();
        }
        p.transport.liveness_check_secs = Some(5);
        assert_eq!(
            err(&p),
            "t: transport.liveness_check_secs: 5 is outside 10..=3600 seconds (0 turns liveness checks off)"
        );
        p.transport.liveness_check_secs = Some(86400);
        assert_eq!(
            err(&p),
            "t: transport.liveness_check_secs: 86400 is outside 10..=3600 seconds (0 turns liveness checks off)"
        );

        let mut p = base();
        p.rekey.ike_minutes = Some(10);
        p.rekey.child_minutes = Some(1440);
        validate("t", &p).unwrap();
        p.rekey.ike_minutes = Some(9);
        assert_eq!(
            err(&p),
            "t: rekey.ike_minutes: 9 is outside 10..=1440 minutes"
        );
        p.rekey.ike_minutes = None;
        p.rekey.child_minutes = Some(0);
        assert_eq!(
            err(&p),
            "t: rekey.child_minutes: 0 is outside 10..=1440 minutes"
        );
        p.rekey.child_minutes = Some(1441);
        assert_eq!(
            err(&p),
            "t: rekey.child_minutes: 1441 is outside 10..=1440 minutes"
        );
    }
}
