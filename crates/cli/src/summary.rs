//! Human-readable views of profiles: short enough to read at a glance, complete enough
//! that a help-desk call can go through them line by line. Secrets never appear.

use std::fmt::Write as _;
use std::path::Path;

use corridor_model::{Blob, CertificateSource, ClientCertificate, Profile, TunnelMode};
use corridor_profile::Listing;

/// One line per stored profile, then one per damaged file.
pub(crate) fn listing(listing: &Listing) -> String {
    let mut out = String::new();
    if listing.profiles.is_empty() && listing.problems.is_empty() {
        out.push_str("no profiles; add one with `corridor profile import FILE`\n");
        return out;
    }
    let name_width = listing
        .profiles
        .iter()
        .map(|s| s.profile.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("NAME".len());
    if !listing.profiles.is_empty() {
        let _ = writeln!(
            out,
            "{:<36}  {:<name_width$}  {:<12}  GATEWAY  POSTURE",
            "ID", "NAME", "AUTH"
        );
    }
    for stored in &listing.profiles {
        let p = &stored.profile;
        let _ = writeln!(
            out,
            "{:<36}  {:<name_width$}  {:<12}  {}  {}",
            p.id.to_string(),
            p.name,
            p.auth.method.as_str(),
            p.gateway.host,
            corridor_profile::assess(p)
        );
    }
    for problem in &listing.problems {
        let _ = writeln!(out, "damaged: {problem}");
    }
    out
}

/// The settings of one profile, a line each.
pub(crate) fn profile(p: &Profile, path: &Path) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: String| {
        let _ = writeln!(out, "{key:<20} {value}");
    };
    line("name", p.name.clone());
    line("id", p.id.to_string());
    line("file", path.display().to_string());
    line(
        "gateway",
        format!("{} port {}", p.gateway.host, p.gateway.port),
    );
    line(
        "gateway identity",
        p.gateway
            .identity
            .as_ref()
            .map_or_else(|| "(the gateway address)".to_string(), ToString::to_string),
    );
    let mut trust: Vec<String> = p.trust.ca.iter().map(certificate_source).collect();
    if p.trust.system_roots {
        trust.push("system roots".to_string());
    }
    line(
        "trusted CAs",
        if trust.is_empty() {
            "(none)".to_string()
        } else {
            trust.join(", ")
        },
    );
    line("auth", p.auth.method.as_str().to_string());
    if let Some(id) = &p.auth.local_identity {
        line("local identity", id.to_string());
    }
    if let Some(eap) = &p.auth.eap_identity {
        line("eap identity", eap.clone());
    }
    if let Some(cert) = &p.auth.client_certificate {
        line("client certificate", client_certificate(cert));
    }
    if p.auth.psk.is_some() {
        line("pre-shared key", "***".to_string());
    }
    line(
        "ike proposals",
        join_or(&p.proposals.ike, "(Corridor defaults)"),
    );
    line(
        "esp proposals",
        join_or(&p.proposals.esp, "(Corridor defaults)"),
    );
    line("posture", corridor_profile::assess(p).to_string());
    let tunnel = match p.routing.mode {
        TunnelMode::Full => "full (all traffic)".to_string(),
        TunnelMode::Split => format!("split: {}", join_or(&p.routing.include, "(none)")),
    };
    line("tunnel", tunnel);
    if !p.routing.exclude.is_empty() {
        line("excluded", join_or(&p.routing.exclude, ""));
    }
    line("dns servers", join_or(&p.dns.servers, "(from the gateway)"));
    if !p.dns.search_domains.is_empty() {
        line("dns search", p.dns.search_domains.join(", "));
    }
    if !p.dns.match_domains.is_empty() {
        line("dns domains", p.dns.match_domains.join(", "));
    }
    line(
        "mtu",
        p.transport
            .mtu
            .map_or_else(|| "automatic".to_string(), |m| m.to_string()),
    );
    line(
        "nat keepalive",
        format!("{} s", p.transport.nat_keepalive_secs),
    );
    // Shown only when the profile sets them, so profiles without them read as before.
    match p.transport.liveness_check_secs {
        Some(0) => line("liveness", "off".to_string()),
        Some(secs) => line("liveness", format!("checked after {secs} s of silence")),
        None => {}
    }
    if !p.rekey.is_default() {
        line(
            "rekey",
            format!(
                "IKE SA every {} min, Child SA every {} min",
                p.rekey.ike_minutes(),
                p.rekey.child_minutes()
            ),
        );
    }
    out
}

fn join_or<T: ToString>(items: &[T], empty: &str) -> String {
    if items.is_empty() {
        empty.to_string()
    } else {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn certificate_source(source: &CertificateSource) -> String {
    match source {
        CertificateSource::Pem(_) => "embedded PEM".to_string(),
        CertificateSource::Der(_) => "embedded DER".to_string(),
        CertificateSource::File(path) => path.display().to_string(),
    }
}

fn client_certificate(cert: &ClientCertificate) -> String {
    match cert {
        ClientCertificate::Pkcs12(Blob::Base64(_)) => "embedded PKCS#12".to_string(),
        ClientCertificate::Pkcs12(Blob::File(path)) => format!("PKCS#12 {}", path.display()),
        ClientCertificate::Pem(pem) => format!(
            "{} with key {}",
            certificate_source(&pem.certificate),
            pem.private_key_file.display()
        ),
    }
}
