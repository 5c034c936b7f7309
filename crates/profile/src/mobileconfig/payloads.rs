//! The payloads of a configuration profile besides the VPN: certificates for trust, the
//! client's PKCS#12 identity, and everything else (listed as not mapped).

use corridor_model::{Base64Bytes, CertificateSource, Secret};
use plist::{Dictionary, Value};

use super::tree::Node;
use crate::certs;
use crate::error::{InputError, InputErrorKind};
use crate::pkcs12::{self, Pkcs12Failure};
use crate::report::ImportReport;

/// The payload types holding a certificate without a key.
pub(crate) const CERTIFICATE_TYPES: &[&str] = &[
    "com.apple.security.root",
    "com.apple.security.pem",
    "com.apple.security.pkcs1",
];
/// The payload type of a PKCS#12 identity.
pub(crate) const PKCS12: &str = "com.apple.security.pkcs12";
/// Identities that Apple's devices enrol themselves; Corridor cannot.
const ENROLLED: &[&str] = &["com.apple.security.scep", "com.apple.security.acme"];

/// One entry of `PayloadContent`.
#[derive(Debug)]
pub(crate) struct Payload<'a> {
    pub index: usize,
    pub kind: &'a str,
    pub uuid: Option<&'a str>,
    pub dict: &'a Dictionary,
    pub path: String,
}

impl<'a> Payload<'a> {
    pub(crate) fn node(&'a self, origin: &'a str) -> Node<'a> {
        Node {
            origin,
            dict: self.dict,
            path: &self.path,
        }
    }

    /// A short description for reports and errors: `a com.apple.wifi.managed payload ("Office")`.
    pub(crate) fn describe(&self) -> String {
        let name = match self.dict.get("PayloadDisplayName") {
            Some(Value::String(s)) => format!(" (\"{s}\")"),
            _ => String::new(),
        };
        match (self.kind, self.dict.get("VPNType")) {
            ("com.apple.vpn.managed", Some(Value::String(t))) => {
                format!("a {} payload of VPNType {t}{name}", self.kind)
            }
            _ => format!("a {} payload{name}", self.kind),
        }
    }
}

/// Keys every payload has (Apple's "payload keys"); profile metadata for the installer.
pub(crate) fn metadata_reason(key: &str) -> Option<&'static str> {
    match key {
        "PayloadIdentifier"
        | "PayloadDescription"
        | "PayloadOrganization"
        | "PayloadVersion"
        | "PayloadType"
        | "PayloadDisplayName"
        | "PayloadUUID" => {
            Some("payload metadata for Apple's profile installer; Corridor keeps none")
        }
        _ => None,
    }
}

/// The client identity: a PKCS#12 payload named by `PayloadCertificateUUID`.
#[derive(Debug)]
pub(crate) struct Identity {
    pub container: Vec<u8>,
    pub password: Option<Secret>,
    /// Index of the payload, so that its keys are reported with it.
    pub index: usize,
}

/// Resolves `PayloadCertificateUUID` (at `field`) to a PKCS#12 payload and checks it:
/// with the payload's `Password` the container is opened, so a wrong password or a
/// damaged container is reported at the payload's key.
pub(crate) fn identity(
    origin: &str,
    field: &str,
    uuid: &str,
    payloads: &[Payload<'_>],
) -> Result<Option<Identity>, InputError> {
    let invalid =
        |f: &str, reason: String| InputError::at_field(origin, f, InputErrorKind::Invalid(reason));
    let Some(payload) = payloads.iter().find(|p| p.uuid == Some(uuid)) else {
        return Err(invalid(
            field,
            format!("no payload in this profile has PayloadUUID {uuid}"),
        ));
    };
    if ENROLLED.contains(&payload.kind) {
        return Ok(None);
    }
    if payload.kind != PKCS12 {
        return Err(invalid(
            field,
            format!(
                "refers to {} ({}), which holds no private key; the client identity must be a {PKCS12} payload",
                payload.describe(),
                payload.path
            ),
        ));
    }
    let node = payload.node(origin);
    let data = node
        .data("PayloadContent")?
        .ok_or_else(|| node.error("PayloadContent", "required key is missing"))?;
    let password = node.string("Password")?.map(Secret::new);
    let content_key = node.key("PayloadContent");
    match &password {
        None => pkcs12::check_structure(data).map_err(|r| {
            InputError::at_field(origin, &content_key, InputErrorKind::Pkcs12Malformed(r))
        })?,
        Some(pw) => match pkcs12::open(data, pw.expose()) {
            Ok(_) => {}
            Err(Pkcs12Failure::Malformed(r)) => {
                return Err(InputError::at_field(
                    origin,
                    &content_key,
                    InputErrorKind::Pkcs12Malformed(r),
                ));
            }
            Err(Pkcs12Failure::WrongPassword) => {
                return Err(InputError::at_field(
                    origin,
                    node.key("Password"),
                    InputErrorKind::Pkcs12WrongPassword,
                ));
            }
        },
    }
    Ok(Some(Identity {
        container: data.to_vec(),
        password,
        index: payload.index,
    }))
}

/// Reports the keys of the PKCS#12 payload used as the client identity.
pub(crate) fn report_identity(node: &Node<'_>, report: &mut ImportReport) {
    for (key, _) in node.dict.iter() {
        let path = node.key(key);
        match key.as_str() {
            "PayloadContent" => report.mapped(&path, "auth.client_certificate.pkcs12"),
            "Password" => report.not_mapped(
                &path,
                "the container's password is never stored in a profile; it opened the container for this import and is handed over for the OS keychain",
            ),
            "PayloadCertificateFileName" => {
                report.not_mapped(&path, "a file name shown by Apple's installer")
            }
            "AllowAllAppsAccess" | "KeyIsExtractable" => report.not_mapped(
                &path,
                "keychain access rules of Apple's devices; Corridor keeps the container in the profile",
            ),
            other => report.not_mapped(
                &path,
                metadata_reason(other).unwrap_or("not a key of Apple's PKCS#12 payload"),
            ),
        }
    }
}

/// A certificate payload: its certificate becomes a trusted CA. Returns the source.
pub(crate) fn trusted_certificate(
    payload: &Payload<'_>,
    origin: &str,
    ca_index: usize,
    report: &mut ImportReport,
) -> Result<CertificateSource, InputError> {
    let node = payload.node(origin);
    let data = node
        .data("PayloadContent")?
        .ok_or_else(|| node.error("PayloadContent", "required key is missing"))?;
    let infos = certs::read_certificates(data).map_err(|r| {
        InputError::at_field(
            origin,
            node.key("PayloadContent"),
            InputErrorKind::Certificate(r),
        )
    })?;
    let source = if certs::is_pem(data) {
        match String::from_utf8(data.to_vec()) {
            Ok(text) => CertificateSource::Pem(text),
            Err(_) => {
                return Err(node.error("PayloadContent", "PEM text is not UTF-8"));
            }
        }
    } else {
        CertificateSource::Der(Base64Bytes(data.to_vec()))
    };
    let summary: Vec<String> = infos.iter().map(certs::CertInfo::summary).collect();
    for (key, _) in node.dict.iter() {
        let path = node.key(key);
        match key.as_str() {
            "PayloadContent" => {
                report.mapped_with(&path, &format!("trust.ca[{ca_index}]"), summary.join("; "))
            }
            "PayloadCertificateFileName" => {
                report.not_mapped(&path, "a file name shown by Apple's installer")
            }
            other => report.not_mapped(
                &path,
                metadata_reason(other).unwrap_or("not a key of Apple's certificate payloads"),
            ),
        }
    }
    Ok(source)
}

/// Why a payload that is neither the VPN nor one of its certificates is not imported.
pub(crate) fn unrelated_reason(payload: &Payload<'_>) -> String {
    if payload.kind == PKCS12 {
        return "a PKCS#12 identity that the IKEv2 payload does not refer to (PayloadCertificateUUID)".to_string();
    }
    if ENROLLED.contains(&payload.kind) {
        return format!(
            "{}: the device enrols this identity itself; Corridor cannot, give the identity as a PKCS#12 file when importing",
            payload.describe()
        );
    }
    if payload.kind == "com.apple.vpn.managed" || payload.kind == "com.apple.vpn.managed.applayer" {
        return format!(
            "{}: one Corridor profile is one IKEv2 connection; only the first IKEv2 VPN payload is imported",
            payload.describe()
        );
    }
    format!("{}: not VPN settings", payload.describe())
}
