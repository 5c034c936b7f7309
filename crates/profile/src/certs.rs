//! Certificates and private keys in PEM or DER.
//!
//! PEM is decoded with rustls-pki-types' `PemObject` (the maintained successor of
//! rustls-pemfile); certificates are then parsed with x509-parser so that garbage that
//! merely looks like base64 is rejected at import, not at the first connection, and so the
//! report can show whose certificate it is.

use std::net::IpAddr;

use corridor_model::Identity;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What the report and the identity defaults need to know about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertInfo {
    /// The subject DN in strongSwan's text form (`C=CH, O=Example, CN=alice`).
    pub subject: String,
    /// Subject alternative names usable as IKE identities, in certificate order.
    pub san_identities: Vec<Identity>,
    /// Whether the certificate is a CA certificate.
    pub is_ca: bool,
    /// The end of the validity period, as printed by x509-parser.
    pub not_after: String,
}

impl CertInfo {
    /// A one-line description for the report: subject, SANs, CA flag, expiry.
    pub(crate) fn summary(&self) -> String {
        let mut s = format!("\"{}\"", self.subject);
        if !self.san_identities.is_empty() {
            let sans: Vec<String> = self
                .san_identities
                .iter()
                .map(ToString::to_string)
                .collect();
            s.push_str(&format!(", SAN {}", sans.join(" ")));
        }
        if self.is_ca {
            s.push_str(", CA");
        }
        s.push_str(&format!(", valid until {}", self.not_after));
        s
    }

    /// The identity a client certificate stands for by default: its subject DN, as
    /// strongSwan uses, or its first usable SAN when the subject is empty or cannot be
    /// written as text.
    pub(crate) fn default_identity(&self) -> Option<Identity> {
        let dn = Identity::Dn(self.subject.clone());
        if !self.subject.is_empty() && dn.check().is_ok() {
            return Some(dn);
        }
        self.san_identities.first().cloned()
    }
}

/// Turns a pki-types PEM error into words (its own `Display` prints byte arrays).
fn pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "PEM section is not terminated (no \"-----END {}-----\" line); the text may be truncated",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => {
            format!("malformed PEM line \"{}\"", String::from_utf8_lossy(line))
        }
        pem::Error::Base64Decode(e) => format!("invalid base64 inside PEM: {e}"),
        pem::Error::NoItemsFound => "no PEM section of the expected type".to_string(),
        other => other.to_string(),
    }
}

/// Whether the data looks like PEM rather than DER.
pub(crate) fn is_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Decodes one or more certificates from PEM text or a single DER certificate, and
/// describes each. Fails on anything that is not a well-formed X.509 certificate.
pub(crate) fn read_certificates(data: &[u8]) -> Result<Vec<CertInfo>, String> {
    let ders = certificate_ders(data)?;
    ders.iter().map(|der| describe(der.as_ref())).collect()
}

/// The DER certificates in PEM text (every CERTIFICATE section) or one DER certificate.
pub(crate) fn certificate_ders(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let ders: Vec<CertificateDer<'static>> = if is_pem(data) {
        let mut out = Vec::new();
        for item in CertificateDer::pem_slice_iter(data) {
            out.push(item.map_err(|e| pem_error(&e))?);
        }
        if out.is_empty() {
            return Err("the PEM text holds no CERTIFICATE section".to_string());
        }
        out
    } else {
        vec![CertificateDer::from(data.to_vec())]
    };
    Ok(ders)
}

/// Parses one DER certificate.
pub(crate) fn describe(der: &[u8]) -> Result<CertInfo, String> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate ({e})"))?;
    if !rest.is_empty() {
        return Err(format!(
            "{} unexpected bytes after the certificate",
            rest.len()
        ));
    }
    let mut san_identities = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            let id = match name {
                GeneralName::DNSName(n) => Some(Identity::Fqdn((*n).to_string())),
                GeneralName::RFC822Name(e) => Some(Identity::Email((*e).to_string())),
                GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| match ip {
                    IpAddr::V4(a) => Identity::Ipv4(a),
                    IpAddr::V6(a) => Identity::Ipv6(a),
                }),
                _ => None,
            };
            san_identities.extend(id.filter(|i| i.check().is_ok()));
        }
    }
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        san_identities,
        is_ca: cert.is_ca(),
        not_after: cert.validity().not_after.to_string(),
    })
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Checks that PEM text holds a private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub(crate) fn check_private_key(data: &[u8]) -> Result<&'static str, String> {
    if !is_pem(data) {
        return Err("not a PEM private key (no \"-----BEGIN\" line)".to_string());
    }
    if data.windows(19).any(|w| w == b"ENCRYPTED PRIVATE K") {
        return Err("encrypted PEM private keys are not supported; use a PKCS#12 file".to_string());
    }
    match PrivateKeyDer::from_pem_slice(data) {
        Ok(PrivateKeyDer::Pkcs8(_)) => Ok("PKCS#8 private key"),
        Ok(PrivateKeyDer::Pkcs1(_)) => Ok("PKCS#1 RSA private key"),
        Ok(PrivateKeyDer::Sec1(_)) => Ok("SEC1 EC private key"),
        Ok(_) => Ok("private key"),
        Err(pem::Error::NoItemsFound) => {
            Err("the PEM text holds no PRIVATE KEY section".to_string())
        }
        Err(e) => Err(pem_error(&e)),
    }
}
