//! IKE identities (RFC 7296 §3.5) and the check that a certificate belongs to one.

use std::fmt;
use std::net::IpAddr;

use corridor_wire::IdType;
use corridor_wire::payload::{Id, IdBuilder};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// An identity as sent in IDi or IDr.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// ID_FQDN, e.g. `vpn.example.com`.
    Fqdn(String),
    /// ID_RFC822_ADDR, e.g. `alice@example.com`.
    Email(String),
    /// ID_IPV4_ADDR or ID_IPV6_ADDR.
    Ip(IpAddr),
    /// ID_DER_ASN1_DN: the DER encoding of an X.500 Name.
    Dn(Vec<u8>),
    /// ID_KEY_ID: opaque bytes.
    KeyId(Vec<u8>),
}

impl Identity {
    /// The IDi / IDr payload for this identity.
    pub fn to_builder(&self) -> IdBuilder {
        match self {
            Self::Fqdn(name) => IdBuilder::new(IdType::ID_FQDN, name.as_bytes()),
            Self::Email(addr) => IdBuilder::new(IdType::ID_RFC822_ADDR, addr.as_bytes()),
            Self::Ip(ip) => IdBuilder::ip(*ip),
            Self::Dn(der) => IdBuilder::new(IdType::ID_DER_ASN1_DN, der.clone()),
            Self::KeyId(id) => IdBuilder::new(IdType::ID_KEY_ID, id.clone()),
        }
    }

    /// The identity an ID payload carries, or `None` for a type we do not use.
    pub fn from_payload(id: &Id<'_>) -> Option<Self> {
        Some(match id.id_type() {
            IdType::ID_FQDN => Self::Fqdn(id.text()?.to_string()),
            IdType::ID_RFC822_ADDR => Self::Email(id.text()?.to_string()),
            IdType::ID_IPV4_ADDR | IdType::ID_IPV6_ADDR => Self::Ip(id.ip_addr()?),
            IdType::ID_DER_ASN1_DN => Self::Dn(id.data().to_vec()),
            IdType::ID_KEY_ID => Self::KeyId(id.data().to_vec()),
            _ => return None,
        })
    }

    /// Whether two identities name the same thing (domain names compare without case).
    pub fn same_as(&self, other: &Identity) -> bool {
        match (self, other) {
            (Self::Fqdn(a), Self::Fqdn(b)) | (Self::Email(a), Self::Email(b)) => a
                .trim_end_matches('.')
                .eq_ignore_ascii_case(b.trim_end_matches('.')),
            (Self::Dn(a), Self::Dn(b)) => a == b || dn_text(a) == dn_text(b),
            _ => self == other,
        }
    }
}

fn dn_text(der: &[u8]) -> Option<String> {
    X509Name::from_der(der)
        .ok()
        .map(|(_, name)| name.to_string())
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fqdn(s) | Self::Email(s) => f.write_str(s),
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Dn(der) => match dn_text(der) {
                Some(text) => f.write_str(&text),
                None => f.write_str("(unparsable distinguished name)"),
            },
            Self::KeyId(id) => {
                f.write_str("keyid:")?;
                id.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({self})")
    }
}

/// Whether a DNS name from a certificate covers `wanted` (exact, or a `*.` wildcard for
/// one leftmost label), without case.
fn dns_matches(pattern: &str, wanted: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    let wanted = wanted.trim_end_matches('.');
    if pattern.eq_ignore_ascii_case(wanted) {
        return true;
    }
    match (pattern.strip_prefix("*."), wanted.split_once('.')) {
        (Some(suffix), Some((label, rest))) => {
            !label.is_empty() && !suffix.is_empty() && rest.eq_ignore_ascii_case(suffix)
        }
        _ => false,
    }
}

fn ip_from_san(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// The names a certificate is for: subjectAltName entries and the subject DN.
#[derive(Debug)]
pub(crate) struct CertificateNames {
    dns: Vec<String>,
    email: Vec<String>,
    ip: Vec<IpAddr>,
    subject_der: Vec<u8>,
    subject_text: String,
}

impl CertificateNames {
    /// Reads the names of a DER certificate.
    pub(crate) fn parse(der: &[u8]) -> Result<Self, String> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| format!("the certificate cannot be parsed: {e}"))?;
        let mut names = Self {
            dns: Vec::new(),
            email: Vec::new(),
            ip: Vec::new(),
            subject_der: cert.subject().as_raw().to_vec(),
            subject_text: cert.subject().to_string(),
        };
        let san = cert
            .subject_alternative_name()
            .map_err(|e| format!("the subjectAltName extension is malformed: {e}"))?;
        for name in san.iter().flat_map(|s| s.value.general_names.iter()) {
            match name {
                GeneralName::DNSName(d) => names.dns.push((*d).to_string()),
                GeneralName::RFC822Name(e) => names.email.push((*e).to_string()),
                GeneralName::IPAddress(b) => names.ip.extend(ip_from_san(b)),
                _ => {}
            }
        }
        Ok(names)
    }

    /// Whether the certificate is for `identity`.
    ///
    /// RFC 4945 §3.1 (PKI profile for IKE): an FQDN, e-mail or IP identity is matched
    /// against the subjectAltName entries of the same kind; a DN identity against the
    /// subject.
    pub(crate) fn matches(&self, identity: &Identity) -> bool {
        match identity {
            Identity::Fqdn(name) => self.dns.iter().any(|d| dns_matches(d, name)),
            Identity::Email(addr) => self.email.iter().any(|e| e.eq_ignore_ascii_case(addr)),
            Identity::Ip(ip) => self.ip.contains(ip),
            Identity::Dn(der) => {
                *der == self.subject_der || dn_text(der).is_some_and(|t| t == self.subject_text)
            }
            Identity::KeyId(_) => false,
        }
    }

    /// What the certificate is for, for error messages: its first DNS name, else its
    /// first IP address, else its subject.
    pub(crate) fn describe(&self) -> String {
        if let Some(d) = self.dns.first() {
            return d.clone();
        }
        if let Some(ip) = self.ip.first() {
            return ip.to_string();
        }
        if let Some(e) = self.email.first() {
            return e.clone();
        }
        self.subject_text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(dns_matches("vpn.example.com", "VPN.example.com."));
        assert!(dns_matches("*.example.com", "vpn.example.com"));
        assert!(!dns_matches("*.example.com", "a.vpn.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(!dns_matches("vpn.example.com", "vpn.example.org"));
    }

    #[test]
    fn certificate_names() {
        let mut params = rcgen::CertificateParams::new(vec![
            "vpn.example.com".to_string(),
            "198.18.0.1".to_string(),
        ])
        .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "gateway");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let names = CertificateNames::parse(cert.der()).unwrap();
        assert!(names.matches(&Identity::Fqdn("vpn.example.com".into())));
        assert!(names.matches(&Identity::Ip("198.18.0.1".parse().unwrap())));
        assert!(!names.matches(&Identity::Fqdn("vpn.example.org".into())));
        assert_eq!(names.describe(), "vpn.example.com");
        let dn = Identity::Dn(names.subject_der.clone());
        assert!(names.matches(&dn));
        assert_eq!(dn.to_string(), "CN=gateway");
    }

    #[test]
    fn identity_round_trip() {
        for id in [
            Identity::Fqdn("vpn.example.com".into()),
            Identity::Email("alice@example.com".into()),
            Identity::Ip("fd00::1".parse().unwrap()),
            Identity::KeyId(vec![1, 2]),
        ] {
            let body = id.to_builder().body();
            let parsed = Id::parse(corridor_wire::PayloadType::IDI, &body).unwrap();
            assert_eq!(Identity::from_payload(&parsed).unwrap(), id);
        }
        assert!(
            Identity::Fqdn("VPN.example.com".into())
                .same_as(&Identity::Fqdn("vpn.example.com.".into()))
        );
    }
}
