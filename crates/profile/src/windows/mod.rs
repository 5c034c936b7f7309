//! What Windows' two VPN configuration formats share: the IPsec cryptography constants
//! (`CryptographySuite` in ProfileXML, `Set-VpnConnectionIPsecConfiguration` in
//! PowerShell), the EAP configuration (an `EapHostConfig` XML document in both), and a
//! safe XML parser for them.

pub(crate) mod crypto;
pub(crate) mod eap;
pub(crate) mod xml;

/// Why the gateway's CA is not in the file: Windows checks the gateway's certificate
/// against the machine's certificate store, which a profile cannot carry.
pub(crate) const SYSTEM_ROOTS_NOTE: &str = "true: Windows checks the gateway's certificate against the machine's certificate store, which this file cannot carry; give the CA with --ca FILE to trust only it";

/// The deterministic id of a profile imported from a Windows format, so that importing
/// the same file again is recognised as the same profile (a UUID version 5 over the
/// format, the servers and the name).
pub(crate) fn profile_id(format: &str, servers: &str, name: &str) -> corridor_model::Uuid {
    let text = format!("corridor-import:{format}:{servers}:{name}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, text.as_bytes())
}
