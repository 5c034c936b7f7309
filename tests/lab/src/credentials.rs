//! The lab's fixed test credentials. They protect nothing outside a lab.

/// The EAP identity (username) of the EAP-MSCHAPv2 user.
pub const EAP_IDENTITY: &str = "alice";
/// The EAP-MSCHAPv2 user's password.
pub const EAP_PASSWORD: &str = "corridor-lab-password";
/// The IKE identity the strongSwan client uses in the EAP-MSCHAPv2 and PSK scenarios.
pub const CLIENT_IKE_IDENTITY: &str = "alice@corp.example";
/// The pre-shared key of the PSK scenario (any client identity is accepted).
pub const PSK: &str = "corridor-lab-preshared-key-0123456789";
/// The password of every PKCS#12 bundle the lab writes.
pub const P12_PASSWORD: &str = "corridor-lab";
/// The identity (SAN e-mail) of the ECDSA P-256 client certificate.
pub const ECDSA_CLIENT_IDENTITY: &str = "alice@corp.example";
/// The identity (SAN e-mail) of the RSA-3072 client certificate.
pub const RSA_CLIENT_IDENTITY: &str = "bob@corp.example";
/// A second identity (SAN DNS) in the RSA-3072 client certificate.
pub const RSA_CLIENT_DNS: &str = "bob-laptop.corp.example";
/// The identity (SAN e-mail) of the EAP-TLS client certificate; also its EAP identity.
pub const EAP_TLS_IDENTITY: &str = "carol@corp.example";

/// Everything a client needs to log in to the lab's gateway, in one place.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// EAP username (EAP-MSCHAPv2).
    pub eap_identity: &'static str,
    /// EAP password (EAP-MSCHAPv2).
    pub eap_password: &'static str,
    /// Pre-shared key (PSK scenario).
    pub psk: &'static str,
    /// Password of the PKCS#12 bundles.
    pub p12_password: &'static str,
    /// Identity of the ECDSA client certificate.
    pub ecdsa_identity: &'static str,
    /// Identity of the RSA client certificate.
    pub rsa_identity: &'static str,
    /// Identity of the EAP-TLS client certificate.
    pub eap_tls_identity: &'static str,
}

/// The lab's credentials.
pub fn credentials() -> Credentials {
    Credentials {
        eap_identity: EAP_IDENTITY,
        eap_password: EAP_PASSWORD,
        psk: PSK,
        p12_password: P12_PASSWORD,
        ecdsa_identity: ECDSA_CLIENT_IDENTITY,
        rsa_identity: RSA_CLIENT_IDENTITY,
        eap_tls_identity: EAP_TLS_IDENTITY,
    }
}
