//! From a stored [`Profile`] to the [`IkeConfig`] the initiator runs with.
//!
//! Every field of the profile that matters to IKE is mapped here, and nowhere else, so
//! that the command line, the service and the tests connect with exactly the same
//! settings. Secrets the profile does not hold (the EAP password, the PKCS#12 password)
//! come in as [`ConnectSecrets`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use corridor_crypto::{DhGroup, EncrAlgorithm, IntegAlgorithm, PrfAlgorithm, SecretBytes};
use corridor_eap::{Credentials, EapConfig, Password};
use corridor_ike::{
    ConfigRequest, EspProposal, Identity, IkeConfig, IkeProposal, LocalAuth, TrafficSelectors,
    TrustStore,
};
use corridor_model::proposal::{Encryption, EncryptionAlgorithm, Esn, Integrity, KeyExchange, Prf};
use corridor_model::{AuthMethod, Profile, Secret, TunnelMode};
use corridor_wire::payload::IpRange;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Secrets asked for at connection time, never stored in a profile.
#[derive(Debug, Clone, Default)]
pub struct ConnectSecrets {
    /// The EAP-MSCHAPv2 password.
    pub eap_password: Option<Secret>,
    /// The password of the profile's PKCS#12 client certificate.
    pub p12_password: Option<Secret>,
}

/// Why a profile cannot be turned into an IKE configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A certificate, key or file the profile refers to is unusable.
    #[error(transparent)]
    Profile(#[from] corridor_profile::InputError),
    /// A proposal names an algorithm Corridor does not implement.
    #[error(
        "the {kind} proposal \"{proposal}\" uses {transform}, which Corridor does not implement"
    )]
    UnsupportedTransform {
        /// "IKE" or "ESP".
        kind: &'static str,
        /// The proposal as written in the profile.
        proposal: String,
        /// The transform, in IANA's name.
        transform: String,
    },
    /// The profile's authentication method is not implemented yet.
    #[error("authentication method {0} is not supported yet")]
    UnsupportedMethod(&'static str),
    /// Something the method needs is missing.
    #[error("{0}")]
    Missing(String),
    /// A setting is unusable as written.
    #[error("{0}")]
    Invalid(String),
    /// The IKE layer refused the result.
    #[error(transparent)]
    Ike(#[from] corridor_ike::Error),
}

/// The IKE configuration for `profile`.
///
/// Local identity defaults (the profile's `auth.local_identity` wins when set):
/// EAP methods send the EAP identity (an e-mail identity when it contains `@`, else an
/// FQDN identity, as strongSwan reads such strings); `cert` sends the certificate's
/// subject DN; `psk` sends the client's IP address, which is only known once a route to
/// the gateway is chosen, so the result then carries the unspecified address
/// ([`PSK_IDENTITY_FROM_LOCAL_ADDRESS`]) and the driver fills it in.
pub fn ike_config(profile: &Profile, secrets: &ConnectSecrets) -> Result<IkeConfig, ConfigError> {
    let ca = corridor_profile::trusted_ca_certificates(profile)?;
    let trust = TrustStore::new(&ca)?;
    let remote_identity = gateway_identity(profile)?;
    let explicit_local = profile
        .auth
        .local_identity
        .as_ref()
        .map(identity)
        .transpose()?;
    let method = profile.auth.method;
    let (local_identity, auth) = match method {
        AuthMethod::Psk => {
            let psk = profile.auth.psk.as_ref().ok_or_else(|| {
                ConfigError::Missing("the profile has no pre-shared key (auth.psk)".into())
            })?;
            let id = explicit_local.unwrap_or(PSK_IDENTITY_FROM_LOCAL_ADDRESS);
            (
                id,
                LocalAuth::Psk(SecretBytes::from_slice(psk.expose().as_bytes())),
            )
        }
        AuthMethod::Cert => {
            let (key, chain) = credential(profile, secrets)?;
            let id = match explicit_local {
                Some(id) => id,
                None => Identity::Dn(subject_dn(&chain[0])?),
            };
            let key = corridor_crypto::SigningKey::from_der(&key).map_err(|e| {
                ConfigError::Invalid(format!("the client certificate's private key: {e}"))
            })?;
            (
                id,
                LocalAuth::Certificate {
                    key: Arc::new(key),
                    chain,
                },
            )
        }
        AuthMethod::EapMschapv2 => {
            let user = eap_identity(profile)?;
            let password = secrets.eap_password.as_ref().ok_or_else(|| {
                ConfigError::Missing("EAP-MSCHAPv2 needs the user's password".into())
            })?;
            let id = explicit_local.unwrap_or_else(|| identity_for_user(&user));
            let creds = Credentials::MsChapV2 {
                username: user.clone(),
                password: Password::new(password.expose()),
            };
            (id, LocalAuth::Eap(EapConfig::new(user, creds)))
        }
        AuthMethod::EapTls => {
            let (key, chain) = credential(profile, secrets)?;
            let user = match &profile.auth.eap_identity {
                Some(u) => u.clone(),
                None => match &explicit_local {
                    Some(id) => id.to_string(),
                    None => certificate_email(&chain[0]).ok_or_else(|| {
                        ConfigError::Missing(
                            "EAP-TLS needs an EAP identity (auth.eap_identity); the client \
                             certificate has no e-mail address to use instead"
                                .into(),
                        )
                    })?,
                },
            };
            let id = explicit_local.unwrap_or_else(|| identity_for_user(&user));
            let config = tls_config(&ca, chain, key)?;
            let creds = Credentials::Tls {
                config,
                server_name: tls_server_name(profile)?,
            };
            (id, LocalAuth::Eap(EapConfig::new(user, creds)))
        }
        AuthMethod::CertEap => return Err(ConfigError::UnsupportedMethod("cert+eap")),
    };

    let ike_proposals = if profile.proposals.ike.is_empty() {
        default_ike_proposals()
    } else {
        profile
            .proposals
            .ike
            .iter()
            .map(ike_proposal)
            .collect::<Result<_, _>>()?
    };
    let esp_proposals = if profile.proposals.esp.is_empty() {
        default_esp_proposals()
    } else {
        let mut unique: Vec<EspProposal> = Vec::new();
        for p in &profile.proposals.esp {
            // "aes256gcm16" and "aes256gcm16-ecp384" differ only in the PFS group,
            // which the first Child SA does not use: offer them once.
            let mapped = esp_proposal(p)?;
            if !unique.contains(&mapped) {
                unique.push(mapped);
            }
        }
        unique
    };

    let mut config = IkeConfig::new(
        local_identity,
        remote_identity,
        auth,
        trust,
        ike_proposals,
        esp_proposals,
    );
    config.rekey_pfs_groups = pfs_groups(profile)?;
    config.traffic_selectors = traffic_selectors(profile)?;
    config.config_request = config_request(profile);
    config.force_udp_encapsulation = profile.transport.force_udp_encapsulation;
    if let Some(mtu) = profile.transport.mtu {
        config.fragment_size = fragment_size(mtu);
    }
    apply_liveness(&mut config, profile.transport.liveness_check_secs());
    config.validate()?;
    Ok(config)
}

/// The profile's liveness check interval (RFC 7296 §2.4). `0` turns the checks off
/// altogether, also the early check after traffic went out unanswered: a profile that
/// says "no liveness checks" (Apple's `DeadPeerDetectionRate` `None`) gets none.
fn apply_liveness(config: &mut IkeConfig, secs: u32) {
    config.dpd_interval = Duration::from_secs(u64::from(secs));
    if secs == 0 {
        config.dpd_on_one_way_traffic = Duration::ZERO;
    }
}

/// The key exchange methods the profile's ESP proposals name, for perfect forward
/// secrecy on Child SA rekeys (RFC 7296 §1.3.1: a CREATE_CHILD_SA request "MAY"
/// carry a KE payload for stronger guarantees), in the profile's order of preference;
/// `none` among them adds nothing (PFS optional).
fn pfs_groups(profile: &Profile) -> Result<Vec<DhGroup>, ConfigError> {
    let mut groups = Vec::new();
    for p in &profile.proposals.esp {
        for k in &p.key_exchange {
            if *k == KeyExchange::None {
                continue;
            }
            let g = group(p.as_str(), *k)?;
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    Ok(groups)
}

/// The placeholder local identity of PSK profiles without `auth.local_identity`: the
/// driver replaces it with the local address it connects from.
pub const PSK_IDENTITY_FROM_LOCAL_ADDRESS: Identity =
    Identity::Ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED));

/// The largest IKE message for a path MTU: the MTU less an IPv6 header (40) and a UDP
/// header (8), so that it fits whichever family carries it; never below the 576 bytes
/// RFC 7383 §2.5.1 treats as the floor.
pub fn fragment_size(mtu: u16) -> usize {
    usize::from(mtu).saturating_sub(48).max(576)
}

/// IKE proposals used when the profile has none: AEAD first, then CBC with SHA-2.
pub fn default_ike_proposals() -> Vec<IkeProposal> {
    let groups = vec![
        DhGroup::Ecp384,
        DhGroup::Ecp256,
        DhGroup::Curve25519,
        DhGroup::Modp3072,
    ];
    vec![
        IkeProposal {
            encryption: vec![
                EncrAlgorithm::AesGcm16 { key_bits: 256 },
                EncrAlgorithm::AesGcm16 { key_bits: 128 },
                EncrAlgorithm::ChaCha20Poly1305,
            ],
            prf: vec![PrfAlgorithm::HmacSha384, PrfAlgorithm::HmacSha256],
            integrity: vec![],
            groups: groups.clone(),
        },
        IkeProposal {
            encryption: vec![
                EncrAlgorithm::AesCbc { key_bits: 256 },
                EncrAlgorithm::AesCbc { key_bits: 128 },
            ],
            prf: vec![PrfAlgorithm::HmacSha384, PrfAlgorithm::HmacSha256],
            integrity: vec![
                IntegAlgorithm::HmacSha384_192,
                IntegAlgorithm::HmacSha256_128,
            ],
            groups,
        },
    ]
}

/// ESP proposals used when the profile has none.
pub fn default_esp_proposals() -> Vec<EspProposal> {
    vec![
        EspProposal {
            encryption: vec![
                EncrAlgorithm::AesGcm16 { key_bits: 256 },
                EncrAlgorithm::AesGcm16 { key_bits: 128 },
                EncrAlgorithm::ChaCha20Poly1305,
            ],
            integrity: vec![],
            esn: vec![false],
        },
        EspProposal {
            encryption: vec![
                EncrAlgorithm::AesCbc { key_bits: 256 },
                EncrAlgorithm::AesCbc { key_bits: 128 },
            ],
            integrity: vec![
                IntegAlgorithm::HmacSha384_192,
                IntegAlgorithm::HmacSha256_128,
            ],
            esn: vec![false],
        },
    ]
}

fn unsupported(kind: &'static str, proposal: &str, transform: String) -> ConfigError {
    ConfigError::UnsupportedTransform {
        kind,
        proposal: proposal.to_string(),
        transform,
    }
}

fn encryption(
    kind: &'static str,
    text: &str,
    e: &Encryption,
) -> Result<EncrAlgorithm, ConfigError> {
    // strongSwan's "aes" and "aes128gcm16" without a length mean 128 bits.
    let bits = e.key_bits.unwrap_or(128);
    let name = || match e.key_bits {
        Some(b) => format!("{} with a {b}-bit key", e.algorithm),
        None => e.algorithm.to_string(),
    };
    match (e.algorithm, bits) {
        (EncryptionAlgorithm::AesGcm16, 128 | 256) => {
            Ok(EncrAlgorithm::AesGcm16 { key_bits: bits })
        }
        (EncryptionAlgorithm::AesCbc, 128 | 256) => Ok(EncrAlgorithm::AesCbc { key_bits: bits }),
        (EncryptionAlgorithm::Chacha20Poly1305, _) => Ok(EncrAlgorithm::ChaCha20Poly1305),
        _ => Err(unsupported(kind, text, name())),
    }
}

fn prf(text: &str, p: Prf) -> Result<PrfAlgorithm, ConfigError> {
    match p {
        Prf::HmacSha1 => Ok(PrfAlgorithm::HmacSha1),
        Prf::HmacSha2_256 => Ok(PrfAlgorithm::HmacSha256),
        Prf::HmacSha2_384 => Ok(PrfAlgorithm::HmacSha384),
        Prf::HmacSha2_512 => Ok(PrfAlgorithm::HmacSha512),
        other => Err(unsupported("IKE", text, other.to_string())),
    }
}

fn integrity(kind: &'static str, text: &str, i: Integrity) -> Result<IntegAlgorithm, ConfigError> {
    match i {
        Integrity::HmacSha1_96 => Ok(IntegAlgorithm::HmacSha1_96),
        Integrity::HmacSha2_256_128 => Ok(IntegAlgorithm::HmacSha256_128),
        Integrity::HmacSha2_384_192 => Ok(IntegAlgorithm::HmacSha384_192),
        Integrity::HmacSha2_512_256 => Ok(IntegAlgorithm::HmacSha512_256),
        other => Err(unsupported(kind, text, other.to_string())),
    }
}

fn group(text: &str, k: KeyExchange) -> Result<DhGroup, ConfigError> {
    match k {
        KeyExchange::Modp2048 => Ok(DhGroup::Modp2048),
        KeyExchange::Modp3072 => Ok(DhGroup::Modp3072),
        KeyExchange::Modp4096 => Ok(DhGroup::Modp4096),
        KeyExchange::Ecp256 => Ok(DhGroup::Ecp256),
        KeyExchange::Ecp384 => Ok(DhGroup::Ecp384),
        KeyExchange::Ecp521 => Ok(DhGroup::Ecp521),
        KeyExchange::Curve25519 => Ok(DhGroup::Curve25519),
        other => Err(unsupported("IKE", text, other.to_string())),
    }
}

/// Maps one parsed IKE proposal; a transform Corridor cannot do fails the whole profile
/// rather than being dropped silently, so the gateway admin sees why.
pub fn ike_proposal(p: &corridor_model::IkeProposal) -> Result<IkeProposal, ConfigError> {
    let text = p.as_str();
    if p.additional_key_exchanges
        .iter()
        .any(|a| !a.methods.is_empty())
    {
        return Err(unsupported(
            "IKE",
            text,
            "additional key exchanges (RFC 9370)".into(),
        ));
    }
    Ok(IkeProposal {
        encryption: p
            .encryption
            .iter()
            .map(|e| encryption("IKE", text, e))
            .collect::<Result<_, _>>()?,
        prf: p
            .prf
            .iter()
            .map(|x| prf(text, *x))
            .collect::<Result<_, _>>()?,
        integrity: p
            .integrity
            .iter()
            .map(|i| integrity("IKE", text, *i))
            .collect::<Result<_, _>>()?,
        groups: p
            .key_exchange
            .iter()
            .map(|k| group(text, *k))
            .collect::<Result<_, _>>()?,
    })
}

/// Maps one parsed ESP proposal. Key exchange methods in it only matter for rekeying
/// with PFS, which the first Child SA (created inside IKE_AUTH) never uses (RFC 7296
/// §1.2), so they are not checked here.
pub fn esp_proposal(p: &corridor_model::EspProposal) -> Result<EspProposal, ConfigError> {
    let text = p.as_str();
    Ok(EspProposal {
        encryption: p
            .encryption
            .iter()
            .map(|e| encryption("ESP", text, e))
            .collect::<Result<_, _>>()?,
        integrity: p
            .integrity
            .iter()
            .map(|i| integrity("ESP", text, *i))
            .collect::<Result<_, _>>()?,
        esn: p.esn.iter().map(|e| *e == Esn::Yes).collect(),
    })
}

/// Converts a profile identity to the IKE layer's.
pub fn identity(id: &corridor_model::Identity) -> Result<Identity, ConfigError> {
    use corridor_model::Identity as M;
    Ok(match id {
        M::Fqdn(s) => Identity::Fqdn(s.clone()),
        M::Email(s) => Identity::Email(s.clone()),
        M::Ipv4(a) => Identity::Ip(IpAddr::V4(*a)),
        M::Ipv6(a) => Identity::Ip(IpAddr::V6(*a)),
        M::KeyId(bytes) => Identity::KeyId(bytes.0.clone()),
        M::Dn(text) => Identity::Dn(crate::dn::encode(text).map_err(|why| {
            ConfigError::Invalid(format!("the distinguished name \"{text}\": {why}"))
        })?),
    })
}

/// The identity the gateway must prove: the profile's, else the one `host` stands for.
fn gateway_identity(profile: &Profile) -> Result<Option<Identity>, ConfigError> {
    if let Some(id) = &profile.gateway.identity {
        return identity(id).map(Some);
    }
    let host = profile.gateway.host.trim_end_matches('.');
    Ok(Some(match host.parse::<IpAddr>() {
        Ok(ip) => Identity::Ip(ip),
        Err(_) => Identity::Fqdn(host.to_string()),
    }))
}

fn identity_for_user(user: &str) -> Identity {
    if user.contains('@') {
        Identity::Email(user.to_string())
    } else {
        Identity::Fqdn(user.to_string())
    }
}

fn eap_identity(profile: &Profile) -> Result<String, ConfigError> {
    profile
        .auth
        .eap_identity
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ConfigError::Missing("the profile has no EAP identity (auth.eap_identity)".into())
        })
}

/// The client's private key (DER) and certificate chain.
fn credential(
    profile: &Profile,
    secrets: &ConnectSecrets,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), ConfigError> {
    let cred = corridor_profile::client_credential(profile, secrets.p12_password.as_ref())?
        .ok_or_else(|| {
            ConfigError::Missing(format!(
                "{} needs a client certificate (auth.client_certificate)",
                profile.auth.method.as_str()
            ))
        })?;
    if cred.chain.is_empty() {
        return Err(ConfigError::Missing(
            "the client certificate file holds no certificate".into(),
        ));
    }
    Ok((cred.private_key_der().to_vec(), cred.chain.clone()))
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, ConfigError> {
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|e| ConfigError::Invalid(format!("the client certificate cannot be parsed: {e}")))
}

/// The DER subject Name of a certificate, for an ID_DER_ASN1_DN identity.
fn subject_dn(der: &[u8]) -> Result<Vec<u8>, ConfigError> {
    Ok(parse_cert(der)?.subject().as_raw().to_vec())
}

fn certificate_email(der: &[u8]) -> Option<String> {
    let cert = parse_cert(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|n| match n {
        x509_parser::extensions::GeneralName::RFC822Name(e) => Some((*e).to_string()),
        _ => None,
    })
}

/// The TLS client configuration for EAP-TLS: the profile's CAs as the only roots, our
/// certificate and key for client authentication.
fn tls_config(
    ca: &[Vec<u8>],
    chain: Vec<Vec<u8>>,
    key: Vec<u8>,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    for (i, der) in ca.iter().enumerate() {
        roots.add(CertificateDer::from(der.clone())).map_err(|e| {
            ConfigError::Invalid(format!("CA certificate {} for EAP-TLS: {e}", i + 1))
        })?;
    }
    let key = PrivateKeyDer::try_from(key)
        .map_err(|e| ConfigError::Invalid(format!("the client certificate's private key: {e}")))?;
    let chain = chain.into_iter().map(CertificateDer::from).collect();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Invalid(format!("TLS setup for EAP-TLS: {e}")))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| ConfigError::Invalid(format!("the client certificate for EAP-TLS: {e}")))?;
    Ok(Arc::new(config))
}

/// The name the gateway's TLS certificate must carry: the gateway identity when it is a
/// name or an address, else the host.
fn tls_server_name(profile: &Profile) -> Result<ServerName<'static>, ConfigError> {
    use corridor_model::Identity as M;
    let text = match &profile.gateway.identity {
        Some(M::Fqdn(name)) => name.clone(),
        Some(M::Ipv4(a)) => a.to_string(),
        Some(M::Ipv6(a)) => a.to_string(),
        _ => profile.gateway.host.clone(),
    };
    ServerName::try_from(text.trim_end_matches('.').to_string()).map_err(|e| {
        ConfigError::Invalid(format!(
            "\"{text}\" cannot be checked against the gateway's TLS certificate: {e}"
        ))
    })
}

/// Traffic selectors from the routing settings. Our side is always "any" (the gateway
/// narrows it to the address it assigns, RFC 7296 §2.9); the gateway's side is
/// everything for a full tunnel and the included prefixes for a split tunnel.
fn traffic_selectors(profile: &Profile) -> Result<TrafficSelectors, ConfigError> {
    let routing = &profile.routing;
    match routing.mode {
        TunnelMode::Full => Ok(TrafficSelectors::full_tunnel()),
        TunnelMode::Split => {
            if routing.include.is_empty() {
                return Err(ConfigError::Invalid(
                    "a split tunnel needs at least one prefix in routing.include".into(),
                ));
            }
            let remote = routing
                .include
                .iter()
                .map(|net| range(net.addr(), net.prefix_len()))
                .collect();
            Ok(TrafficSelectors {
                local: corridor_ike::traffic_selectors::any(),
                remote,
            })
        }
    }
}

/// The address range of a prefix.
fn range(addr: IpAddr, prefix: u8) -> IpRange {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            IpRange::addresses(
                IpAddr::V4(Ipv4Addr::from(bits & !host)),
                IpAddr::V4(Ipv4Addr::from(bits | host)),
            )
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            IpRange::addresses(
                IpAddr::V6(Ipv6Addr::from(bits & !host)),
                IpAddr::V6(Ipv6Addr::from(bits | host)),
            )
        }
    }
}

/// IPv4 always; IPv6 when IPv6 traffic may use the tunnel (a full tunnel, or an IPv6
/// prefix in a split tunnel); DNS servers and split-DNS domains always.
fn config_request(profile: &Profile) -> ConfigRequest {
    let routing = &profile.routing;
    let ipv6 = match routing.mode {
        TunnelMode::Full => true,
        TunnelMode::Split => routing.include.iter().any(|n| n.is_ipv6()),
    };
    ConfigRequest {
        ipv4: true,
        ipv6,
        dns: true,
        dns_domains: true,
    }
}

#[cfg(test)]
#[path = "profile_config_tests.rs"]
mod tests;
