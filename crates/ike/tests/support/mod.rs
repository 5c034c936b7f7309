//! Shared test support: the responder, the simulated link, and configuration helpers.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod mschapv2;
pub mod responder;
pub mod sim;

use std::net::Ipv4Addr;

use corridor_crypto::{
    DhGroup, EncrAlgorithm, IntegAlgorithm, PrfAlgorithm, SecretBytes, SigningKey,
};
use corridor_eap::{Credentials, EapConfig, Password};
use corridor_ike::{EspProposal, Identity, IkeConfig, IkeProposal, LocalAuth, TrustStore};
use corridor_wire::payload::IpRange;

use responder::{Responder, ResponderAuth, ResponderConfig};

/// The four suites of the brief, in strongSwan notation and typed.
pub fn suite(name: &str) -> IkeProposal {
    let (encryption, integrity, prf, groups) = match name {
        "aes256gcm16-prfsha384-ecp384" => (
            vec![EncrAlgorithm::AesGcm16 { key_bits: 256 }],
            vec![],
            vec![PrfAlgorithm::HmacSha384],
            vec![DhGroup::Ecp384],
        ),
        "aes128-sha256-modp2048" => (
            vec![EncrAlgorithm::AesCbc { key_bits: 128 }],
            vec![IntegAlgorithm::HmacSha256_128],
            vec![PrfAlgorithm::HmacSha256],
            vec![DhGroup::Modp2048],
        ),
        "chacha20poly1305-prfsha256-curve25519" => (
            vec![EncrAlgorithm::ChaCha20Poly1305],
            vec![],
            vec![PrfAlgorithm::HmacSha256],
            vec![DhGroup::Curve25519],
        ),
        "aes256-sha384-modp3072" => (
            vec![EncrAlgorithm::AesCbc { key_bits: 256 }],
            vec![IntegAlgorithm::HmacSha384_192],
            vec![PrfAlgorithm::HmacSha384],
            vec![DhGroup::Modp3072],
        ),
        "aes256gcm16-prfsha512-ecp521" => (
            vec![EncrAlgorithm::AesGcm16 { key_bits: 256 }],
            vec![],
            vec![PrfAlgorithm::HmacSha512],
            vec![DhGroup::Ecp521],
        ),
        other => panic!("unknown suite {other}"),
    };
    IkeProposal {
        encryption,
        prf,
        integrity,
        groups,
    }
}

pub fn esp_gcm() -> EspProposal {
    EspProposal {
        encryption: vec![EncrAlgorithm::AesGcm16 { key_bits: 256 }],
        integrity: vec![],
        esn: vec![false],
    }
}

pub fn esp_cbc() -> EspProposal {
    EspProposal {
        encryption: vec![EncrAlgorithm::AesCbc { key_bits: 128 }],
        integrity: vec![IntegAlgorithm::HmacSha256_128],
        esn: vec![false],
    }
}

pub const PSK: &[u8] = b"correct horse battery staple";

pub fn gateway_id() -> Identity {
    Identity::Fqdn("vpn.example.com".into())
}

pub fn psk_config(ike: Vec<IkeProposal>) -> IkeConfig {
    IkeConfig::new(
        Identity::Email("alice@example.com".into()),
        Some(gateway_id()),
        LocalAuth::Psk(SecretBytes::from_slice(PSK)),
        TrustStore::new(&[]).unwrap(),
        ike,
        vec![esp_gcm(), esp_cbc()],
    )
}

pub fn responder_config(ike: Vec<IkeProposal>, auth: ResponderAuth) -> ResponderConfig {
    ResponderConfig {
        ike,
        esp: vec![esp_gcm(), esp_cbc()],
        preferred_group: None,
        require_cookie: false,
        identity: gateway_id(),
        auth,
        fragment_size: None,
        assigned_ipv4: Ipv4Addr::new(198, 19, 10, 1),
        dns: Ipv4Addr::new(198, 19, 0, 53),
        domains: vec!["corp.test".into()],
        remote_ts: IpRange::addresses(
            "198.19.0.0".parse().unwrap(),
            "198.19.255.255".parse().unwrap(),
        ),
        address: sim::GATEWAY.parse().unwrap(),
        sees_initiator_at: sim::LOCAL.parse().unwrap(),
        strict_idr: false,
    }
}

pub fn psk_responder(ike: Vec<IkeProposal>, seed: u64) -> Responder {
    Responder::new(
        responder_config(ike, ResponderAuth::Psk(PSK.to_vec())),
        seed,
    )
}

/// A test PKI: CA and a gateway certificate for `names`.
pub struct Pki {
    pub ca_der: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
    pub key: SigningKey,
}

fn keygen(alg: &'static rcgen::SignatureAlgorithm) -> rcgen::KeyPair {
    if alg == &rcgen::PKCS_RSA_SHA256 {
        rcgen::KeyPair::generate_rsa_for(alg, rcgen::RsaKeySize::_4096).unwrap()
    } else {
        rcgen::KeyPair::generate_for(alg).unwrap()
    }
}

/// `alg` is `PKCS_ECDSA_P256_SHA256` or `PKCS_RSA_SHA256` (RSA-4096 keys).
pub fn pki(names: &[&str], alg: &'static rcgen::SignatureAlgorithm, intermediates: usize) -> Pki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Corridor Test CA");
    let ca_key = keygen(alg);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let mut issuer = rcgen::Issuer::new(ca_params, ca_key);
    let mut chain_rev = Vec::new();
    for i in 0..intermediates {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, format!("Intermediate {i}"));
        let k = keygen(alg);
        let c = p.signed_by(&k, &issuer).unwrap();
        chain_rev.push(c.der().to_vec());
        issuer = rcgen::Issuer::new(p, k);
    }
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0]);
    let key = keygen(alg);
    let leaf = params.signed_by(&key, &issuer).unwrap();
    let mut chain = vec![leaf.der().to_vec()];
    chain.extend(chain_rev.into_iter().rev());
    Pki {
        ca_der: ca_cert.der().to_vec(),
        chain,
        key: SigningKey::from_der(&key.serialize_der()).unwrap(),
    }
}

pub fn eap_config(ike: Vec<IkeProposal>, ca: &[u8], user: &str, password: &str) -> IkeConfig {
    IkeConfig::new(
        Identity::Email(user.into()),
        Some(gateway_id()),
        LocalAuth::Eap(EapConfig::new(
            user,
            Credentials::MsChapV2 {
                username: user.into(),
                password: Password::new(password),
            },
        )),
        TrustStore::new(&[ca.to_vec()]).unwrap(),
        ike,
        vec![esp_gcm()],
    )
}

pub fn eap_responder(ike: Vec<IkeProposal>, pki: Pki, seed: u64) -> Responder {
    Responder::new(
        responder_config(
            ike,
            ResponderAuth::Eap {
                key: pki.key,
                chain: pki.chain,
                users: vec![("alice@example.com".into(), "s3cret!".into())],
            },
        ),
        seed,
    )
}

/// All of IPv4.
pub fn any_range() -> Vec<IpRange> {
    vec![IpRange::addresses(
        "0.0.0.0".parse().unwrap(),
        "255.255.255.255".parse().unwrap(),
    )]
}
