//! The Corridor profile: everything needed to connect to one gateway.
//!
//! These are plain data: deserializing checks types and the syntax of each value (an
//! address is an address, a proposal is a valid proposal); rules that relate fields to
//! each other (a certificate method needs a certificate, the MTU must suit IPv6) live in
//! `corridor-profile`'s validation, which every profile passes before it is stored or used.
//! Doc comments here become the descriptions in `docs/profile.schema.json`.

use std::net::IpAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::bytes::{Base64Bytes, Secret};
use crate::identity::Identity;
use crate::managed::Managed;
use crate::net::IpNet;
use crate::proposal::{EspProposal, IkeProposal};

/// The value of `format` in every Corridor profile.
pub const FORMAT_NAME: &str = "corridor-profile";
/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The IKE port (RFC 7296 §2); 4500 is used after NAT detection or when forced.
pub const DEFAULT_PORT: u16 = 500;
/// The NAT keepalive interval strongSwan uses by default.
pub const DEFAULT_NAT_KEEPALIVE_SECS: u16 = 20;
/// How long the gateway may stay silent before Corridor checks that it is alive, when
/// the profile sets no `transport.liveness_check_secs`.
pub const DEFAULT_LIVENESS_CHECK_SECS: u32 = 30;
/// How long an IKE SA lives before Corridor rekeys it, when the profile sets no
/// `rekey.ike_minutes`.
pub const DEFAULT_IKE_REKEY_MINUTES: u32 = 240;
/// How long a Child SA lives before Corridor rekeys it, when the profile sets no
/// `rekey.child_minutes`.
pub const DEFAULT_CHILD_REKEY_MINUTES: u32 = 60;

fn yes() -> bool {
    true
}

fn default_port() -> u16 {
    DEFAULT_PORT
}

fn default_nat_keepalive() -> u16 {
    DEFAULT_NAT_KEEPALIVE_SECS
}

/// The `format` marker: always `"corridor-profile"`, so that a Corridor profile is
/// recognised by its content whatever the file is called.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub enum FormatName {
    /// The only value.
    #[default]
    #[serde(rename = "corridor-profile")]
    CorridorProfile,
}

/// A Corridor VPN profile (format version 1).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a profile object")]
#[schemars(title = "Corridor profile")]
pub struct Profile {
    /// Always `"corridor-profile"`.
    pub format: FormatName,
    /// The format version; this is version 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// A stable unique id (a UUID). Importing a profile with the id of a stored one
    /// replaces it only when asked to.
    pub id: Uuid,
    /// The name shown to the user; unique among stored profiles (ignoring case).
    pub name: String,
    /// Where to connect and who the gateway must prove to be.
    pub gateway: Gateway,
    /// How the gateway's certificate is checked.
    #[serde(default)]
    pub trust: Trust,
    /// How this client authenticates.
    pub auth: Auth,
    /// Algorithm proposals; empty lists mean Corridor's defaults.
    #[serde(default)]
    pub proposals: Proposals,
    /// Which traffic goes through the tunnel.
    #[serde(default)]
    pub routing: Routing,
    /// DNS settings while connected; empty means "use what the gateway assigns".
    #[serde(default)]
    pub dns: Dns,
    /// Transport details: MTU, NAT traversal, IP version, liveness checks.
    #[serde(default)]
    pub transport: Transport,
    /// When the IKE SA and the Child SA are rekeyed; absent means Corridor's defaults.
    #[serde(default, skip_serializing_if = "Rekey::is_default")]
    pub rekey: Rekey,
    /// Field locks, for a profile IT installs in the managed directory. They apply only
    /// there: a user's own profile is theirs to change, so this section locks nothing in
    /// it. Absent in a managed profile: everything but `name` and `auth.eap_identity`
    /// is locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<Managed>,
    /// Who signed the file this profile was imported from, as Corridor verified it
    /// against the computer's trusted keys. Recorded by the import only: a file cannot
    /// claim it (it is dropped from imported files and restored backups), and an edit
    /// of a field IT controls (anything but `name` and `auth.eap_identity`) removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<SignedBy>,
}

/// The verified signer of an imported profile.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with signer and fingerprint"
)]
pub struct SignedBy {
    /// The trusted signer's name in the policy when the profile was imported.
    pub signer: String,
    /// The SHA-256 fingerprint of the signing key (`SHA256:` and base64).
    pub fingerprint: String,
}

impl Profile {
    /// Whether connecting needs the password of a PKCS#12 client certificate (it is
    /// never stored in the profile: asked for, or kept in the user's keychain).
    pub fn needs_pkcs12_password(&self) -> bool {
        self.auth.method.uses_certificate()
            && matches!(
                self.auth.client_certificate,
                Some(ClientCertificate::Pkcs12(_))
            )
    }

    /// A profile with the given essentials and every other setting at its default.
    pub fn new(
        id: Uuid,
        name: impl Into<String>,
        host: impl Into<String>,
        method: AuthMethod,
    ) -> Self {
        Profile {
            format: FormatName::CorridorProfile,
            version: FORMAT_VERSION,
            id,
            name: name.into(),
            gateway: Gateway {
                host: host.into(),
                port: DEFAULT_PORT,
                identity: None,
            },
            trust: Trust::default(),
            auth: Auth::new(method),
            proposals: Proposals::default(),
            routing: Routing::default(),
            dns: Dns::default(),
            transport: Transport::default(),
            rekey: Rekey::default(),
            managed: None,
            signed_by: None,
        }
    }
}

/// The VPN gateway.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with the gateway's host, port and identity"
)]
pub struct Gateway {
    /// Host name or IP address of the gateway.
    pub host: String,
    /// UDP port for IKE.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The identity the gateway must authenticate as (IDr). When absent, the gateway must
    /// prove the identity `host` stands for: an FQDN for a name, an IP identity for an
    /// address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

/// How the gateway's certificate is verified.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object with the trust settings")]
pub struct Trust {
    /// CA certificates that may issue the gateway's certificate, or the gateway's own
    /// certificate to pin it.
    #[serde(default)]
    pub ca: Vec<CertificateSource>,
    /// Also trust the operating system's root certificates. Off by default: a profile
    /// from IT should name its CA, so that any public CA cannot vouch for a fake gateway.
    #[serde(default)]
    pub system_roots: bool,
    /// Send certificate requests (CERTREQ) naming the trusted CAs, which tells the gateway
    /// which certificate to send (RFC 7296 §3.7).
    #[serde(default = "yes")]
    pub certificate_requests: bool,
    /// Revocation checking of the gateway's certificate.
    #[serde(default)]
    pub revocation: Revocation,
}

impl Default for Trust {
    fn default() -> Self {
        Trust {
            ca: Vec::new(),
            system_roots: false,
            certificate_requests: true,
            revocation: Revocation::default(),
        }
    }
}

/// Revocation checks, as in strongSwan's clients.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object with crl, ocsp and strict")]
pub struct Revocation {
    /// Fetch CRLs from the certificates' distribution points.
    #[serde(default = "yes")]
    pub crl: bool,
    /// Query OCSP responders named in the certificates.
    #[serde(default = "yes")]
    pub ocsp: bool,
    /// Fail when the revocation status cannot be determined (rather than only when the
    /// certificate is known to be revoked).
    #[serde(default)]
    pub strict: bool,
}

impl Default for Revocation {
    fn default() -> Self {
        Revocation {
            crl: true,
            ocsp: true,
            strict: false,
        }
    }
}

/// A certificate, embedded or referenced.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateSource {
    /// PEM text (`-----BEGIN CERTIFICATE-----` …); may hold several certificates.
    Pem(String),
    /// A DER certificate as base64.
    Der(Base64Bytes),
    /// A file holding PEM or DER. A relative path is resolved against the directory of
    /// the profile file when it is imported, and stored absolute.
    File(PathBuf),
}

/// Binary data, embedded or referenced.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Blob {
    /// The data as base64.
    Base64(Base64Bytes),
    /// A file holding the data; relative paths are resolved as for certificates.
    File(PathBuf),
}

/// The client's certificate and private key.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientCertificate {
    /// A PKCS#12 (PFX) container with the certificate, its key and optionally its chain.
    /// Its password is never stored in the profile: it is asked for, or kept in the OS
    /// keychain.
    Pkcs12(Blob),
    /// A PEM certificate and a PEM private key file.
    Pem(PemCredential),
}

/// A certificate and a private key in PEM files.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with certificate and private_key_file"
)]
pub struct PemCredential {
    /// The client certificate, optionally followed by intermediate CA certificates.
    pub certificate: CertificateSource,
    /// A file with the private key (PKCS#8, PKCS#1 or SEC1 PEM). Only a file reference: an
    /// unencrypted key must not travel inside a profile that is copied, shown and sent
    /// between processes.
    pub private_key_file: PathBuf,
}

/// How the client authenticates to the gateway.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// Username and password with EAP-MSCHAPv2 (RFC 7296 §2.16).
    EapMschapv2,
    /// A client certificate inside EAP-TLS (RFC 5216).
    EapTls,
    /// A client certificate with IKEv2 signature authentication.
    Cert,
    /// A pre-shared key.
    Psk,
    /// A certificate first, then username and password with EAP-MSCHAPv2 in a second
    /// authentication round (RFC 4739).
    #[serde(rename = "cert+eap")]
    CertEap,
}

impl AuthMethod {
    /// Whether this method needs a client certificate.
    pub fn uses_certificate(self) -> bool {
        matches!(
            self,
            AuthMethod::EapTls | AuthMethod::Cert | AuthMethod::CertEap
        )
    }

    /// Whether this method asks for a username and password.
    pub fn uses_password(self) -> bool {
        matches!(self, AuthMethod::EapMschapv2 | AuthMethod::CertEap)
    }

    /// The name used in the profile format.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::EapMschapv2 => "eap-mschapv2",
            AuthMethod::EapTls => "eap-tls",
            AuthMethod::Cert => "cert",
            AuthMethod::Psk => "psk",
            AuthMethod::CertEap => "cert+eap",
        }
    }
}

/// Client authentication.
///
/// Secrets stance: a profile never holds a password (EAP or PKCS#12); those are typed by
/// the user or kept in the OS keychain. The one exception is `psk`, because a pre-shared
/// key is the same for everyone using the profile and IT distributes it with the profile.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with the authentication method and its settings"
)]
pub struct Auth {
    /// The authentication method.
    pub method: AuthMethod,
    /// The client's IKE identity (IDi). Defaults to the certificate's subject DN for
    /// certificate methods, to the EAP identity for EAP methods, and to the client's IP
    /// address for PSK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_identity: Option<Identity>,
    /// The EAP identity (the username) for EAP methods; asked for when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eap_identity: Option<String>,
    /// The client certificate and key for `cert`, `eap-tls` and `cert+eap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<ClientCertificate>,
    /// The pre-shared key for `psk`; asked for (or read from the keychain) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psk: Option<Secret>,
    /// Sign with RSASSA-PSS (RFC 7427) when the client key is an RSA key.
    #[serde(default)]
    pub rsa_pss: bool,
}

impl Auth {
    /// Authentication with the given method and nothing else set.
    pub fn new(method: AuthMethod) -> Self {
        Auth {
            method,
            local_identity: None,
            eap_identity: None,
            client_certificate: None,
            psk: None,
            rsa_pss: false,
        }
    }
}

/// Algorithm proposals in strongSwan notation, most preferred first.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with ike and esp proposal lists"
)]
pub struct Proposals {
    /// IKE SA proposals; empty means Corridor's defaults.
    #[serde(default)]
    pub ike: Vec<IkeProposal>,
    /// ESP (Child SA) proposals; empty means Corridor's defaults.
    #[serde(default)]
    pub esp: Vec<EspProposal>,
}

/// Whether all traffic or only some goes through the tunnel.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TunnelMode {
    /// Request all IPv4 and IPv6 traffic (0.0.0.0/0 and ::/0); the gateway may narrow it.
    #[default]
    Full,
    /// Only the `include` prefixes go through the tunnel.
    Split,
}

/// Which destinations are routed through the tunnel.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object with the routing settings")]
pub struct Routing {
    /// Full or split tunnel.
    #[serde(default)]
    pub mode: TunnelMode,
    /// With `split`: the prefixes to send through the tunnel (IPv4 and IPv6).
    #[serde(default)]
    pub include: Vec<IpNet>,
    /// Prefixes that always bypass the tunnel, e.g. the local printer's network.
    #[serde(default)]
    pub exclude: Vec<IpNet>,
    /// Drop IPv4 traffic that is not sent through the tunnel instead of letting it bypass.
    #[serde(default)]
    pub block_ipv4: bool,
    /// Drop IPv6 traffic that is not sent through the tunnel instead of letting it bypass.
    #[serde(default)]
    pub block_ipv6: bool,
}

/// DNS while connected.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object with the DNS settings")]
pub struct Dns {
    /// DNS servers to use instead of the ones the gateway assigns.
    #[serde(default)]
    pub servers: Vec<IpAddr>,
    /// Domains appended to single-label names (the search list).
    #[serde(default)]
    pub search_domains: Vec<String>,
    /// Split DNS: only names under these domains are resolved through the tunnel's DNS
    /// servers. Empty means all names.
    #[serde(default)]
    pub match_domains: Vec<String>,
}

/// Transport details.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with the transport settings"
)]
pub struct Transport {
    /// MTU of the tunnel interface; absent means Corridor derives it from the path.
    /// 576–9000, and at least 1280 when the tunnel carries IPv6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u16>,
    /// Seconds between NAT keepalives (RFC 3948 §2.3) when behind a NAT; 10–3600.
    #[serde(default = "default_nat_keepalive")]
    pub nat_keepalive_secs: u16,
    /// Always use UDP encapsulation on port 4500, even without a NAT, for networks that
    /// drop plain ESP.
    #[serde(default)]
    pub force_udp_encapsulation: bool,
    /// Allow reaching the gateway over IPv6. Off by default, as in strongSwan's apps.
    #[serde(default)]
    pub ipv6_transport: bool,
    /// Seconds the gateway may stay silent before Corridor checks that it is still there
    /// with an empty INFORMATIONAL request (RFC 7296 §2.4). `0` turns liveness checks off
    /// (a gateway that went away is then noticed only when it answers nothing else);
    /// otherwise 10–3600. Absent: 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_check_secs: Option<u32>,
}

impl Transport {
    /// The liveness check interval in seconds, `0` meaning none.
    pub fn liveness_check_secs(&self) -> u32 {
        self.liveness_check_secs
            .unwrap_or(DEFAULT_LIVENESS_CHECK_SECS)
    }
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            mtu: None,
            nat_keepalive_secs: DEFAULT_NAT_KEEPALIVE_SECS,
            force_udp_encapsulation: false,
            ipv6_transport: false,
            liveness_check_secs: None,
        }
    }
}

/// SA lifetimes: how long keys are used before they are replaced.
///
/// IKEv2 negotiates no lifetimes (RFC 7296 §2.8: "each endpoint [...] is responsible
/// for enforcing its own lifetime policy"); these are the client's side of it. The
/// gateway may rekey earlier, which is always accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with ike_minutes and child_minutes"
)]
pub struct Rekey {
    /// Minutes after which the IKE SA is rekeyed (RFC 7296 §2.18); 10–1440. Absent: 240.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ike_minutes: Option<u32>,
    /// Minutes after which the Child SA (the ESP keys) is rekeyed (RFC 7296 §2.8), less
    /// a random share of up to a tenth so that both ends do not rekey at once; the SA
    /// expires ten minutes later if rekeying keeps failing. 10–1440. Absent: 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_minutes: Option<u32>,
}

impl Rekey {
    /// Whether nothing is set, so the section can be left out of a written profile.
    pub fn is_default(&self) -> bool {
        *self == Rekey::default()
    }

    /// The IKE SA's lifetime in minutes.
    pub fn ike_minutes(&self) -> u32 {
        self.ike_minutes.unwrap_or(DEFAULT_IKE_REKEY_MINUTES)
    }

    /// The Child SA's lifetime in minutes.
    pub fn child_minutes(&self) -> u32 {
        self.child_minutes.unwrap_or(DEFAULT_CHILD_REKEY_MINUTES)
    }
}
