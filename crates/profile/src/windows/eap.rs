//! The EAP configuration of a Windows VPN connection: an `EapHostConfig` document
//! (ProfileXML's `Authentication/Eap/Configuration`, PowerShell's
//! `-EapConfigXmlStream`).
//!
//! Only the EAP method decides anything in Corridor: the `EapMethod/Type` number (IANA
//! "Extensible Authentication Protocol (EAP) Registry", Method Types). The rest
//! describes how Windows finds certificates in its own stores; each such setting is
//! reported as not mapped, with the Corridor way of doing the same.

use corridor_model::AuthMethod;
use roxmltree::Node;

use super::xml;

/// EAP-TLS (RFC 5216).
pub(crate) const EAP_TLS: u32 = 13;
/// EAP-TTLS (RFC 5281).
pub(crate) const EAP_TTLS: u32 = 21;
/// PEAP (Microsoft's Protected EAP).
pub(crate) const EAP_PEAP: u32 = 25;
/// EAP-MSCHAPv2.
pub(crate) const EAP_MSCHAPV2: u32 = 26;

/// What an `EapHostConfig` says.
#[derive(Debug)]
pub(crate) struct EapConfig {
    /// The EAP method type.
    pub method_type: u32,
    /// Settings found in the method's configuration (path below the configuration, and
    /// why it is not mapped), in document order.
    pub dropped: Vec<(String, String)>,
}

/// Reads an `EapHostConfig` element (or a document whose root is one).
pub(crate) fn read(root: Node<'_, '_>) -> Result<EapConfig, String> {
    let host = if xml::local(&root) == "EapHostConfig" {
        Some(root)
    } else {
        root.descendants()
            .find(|n| n.is_element() && xml::local(n) == "EapHostConfig")
    };
    let Some(host) = host else {
        return Err("expected an <EapHostConfig> document".to_string());
    };
    let type_node = xml::child(host, "EapMethod")
        .and_then(|m| xml::child(m, "Type"))
        .ok_or_else(|| "EapHostConfig has no EapMethod/Type".to_string())?;
    let type_text = xml::text(type_node);
    let method_type: u32 = type_text
        .parse()
        .map_err(|_| format!("EapMethod/Type \"{type_text}\" is not an EAP method number"))?;
    let mut dropped = Vec::new();
    for node in host.descendants().filter(Node::is_element) {
        let reason = match xml::local(&node) {
            "TrustedRootCA" => {
                "a certificate thumbprint in Windows' certificate store; give the CA file with --ca"
            }
            "ServerNames" => {
                "the names Windows accepts on the EAP server's certificate; Corridor checks the gateway's certificate against its host name (gateway.identity)"
            }
            "DisableUserPromptForServerValidation" => {
                "Corridor never asks whether to trust an unknown server"
            }
            "CertificateStore" | "SimpleCertSelection" | "CAHashList" | "EKUMapping" => {
                "Windows picks the client certificate from its store; give it with --client-cert FILE.p12"
            }
            "UseWinLogonCredentials" => {
                "Corridor asks for the password or reads it from the OS keychain"
            }
            "EnableQuarantineChecks" | "PerformServerValidation" | "AcceptServerName" => {
                "a Windows-only option of the EAP method"
            }
            _ => continue,
        };
        dropped.push((xml::local(&node).to_string(), reason.to_string()));
    }
    Ok(EapConfig {
        method_type,
        dropped,
    })
}

/// The Corridor method for an EAP method type.
pub(crate) fn method(method_type: u32) -> Result<AuthMethod, String> {
    match method_type {
        EAP_MSCHAPV2 => Ok(AuthMethod::EapMschapv2),
        EAP_TLS => Ok(AuthMethod::EapTls),
        EAP_PEAP => Err(
            "EAP type 25 (PEAP) is not supported; Corridor supports EAP-MSCHAPv2 (26) and EAP-TLS (13) directly inside IKEv2"
                .to_string(),
        ),
        EAP_TTLS => Err(
            "EAP type 21 (EAP-TTLS) is not supported; Corridor supports EAP-MSCHAPv2 (26) and EAP-TLS (13)"
                .to_string(),
        ),
        other => Err(format!(
            "EAP type {other} is not supported; Corridor supports EAP-MSCHAPv2 (26) and EAP-TLS (13)"
        )),
    }
}

/// A readable name for the method, for the report.
pub(crate) fn describe(method_type: u32) -> String {
    match method_type {
        EAP_MSCHAPV2 => "EAP type 26 (EAP-MSCHAPv2)".to_string(),
        EAP_TLS => "EAP type 13 (EAP-TLS)".to_string(),
        other => format!("EAP type {other}"),
    }
}
