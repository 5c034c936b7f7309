//! Makes the test PKI with rcgen (keys from aws-lc-rs) and writes it into a directory.
//!
//! Two hierarchies:
//! - the lab CA (ECDSA P-256) issuing the gateway certificate, the ECDSA and RSA-3072
//!   client certificates and the EAP-TLS client certificate;
//! - the long chain: an RSA-4096 root, two RSA-4096 intermediates and an RSA-4096 gateway
//!   certificate. Three RSA-4096 certificates plus a 512-byte signature make IKE_AUTH far
//!   larger than any path MTU, so it only works with IKE fragmentation (RFC 7383).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use p12_keystore::{Certificate as P12Cert, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PKCS_RSA_SHA256, RsaKeySize, SanType, date_time_ymd,
};

use super::files;
use crate::credentials::{
    EAP_TLS_IDENTITY, ECDSA_CLIENT_IDENTITY, P12_PASSWORD, RSA_CLIENT_DNS, RSA_CLIENT_IDENTITY,
};
use crate::plan::{GATEWAY_FQDN, GATEWAY_WAN_V4, GATEWAY_WAN_V6};

/// id-kp-ipsecIKE (RFC 4945 §5.1.3.12): "this certificate may be used for IKE".
const EKU_IPSEC_IKE: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 17];

/// Writes the whole PKI into `dir`, which must exist and be empty.
pub(super) fn generate(dir: &Path) -> Result<()> {
    let ca = make_ca(
        "Corridor Lab Root CA",
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
    )?;
    write(dir, files::CA_PEM, ca.pem())?;
    write(dir, files::CA_DER, ca.der())?;
    write(dir, files::CA_KEY, ca.key().serialize_pem())?;

    let gw_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let gw = gateway_params()?.signed_by(&gw_key, &ca)?;
    write(dir, files::GATEWAY_PEM, gw.pem())?;
    write(dir, files::GATEWAY_KEY, gw_key.serialize_pem())?;

    let clients = [
        (
            files::ECDSA_CLIENT,
            "alice",
            ECDSA_CLIENT_IDENTITY,
            None,
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
        ),
        (
            files::RSA_CLIENT,
            "bob",
            RSA_CLIENT_IDENTITY,
            Some(RSA_CLIENT_DNS),
            KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_3072)?,
        ),
        (
            files::EAP_TLS_CLIENT,
            "carol",
            EAP_TLS_IDENTITY,
            None,
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
        ),
    ];
    for (stem, cn, email, dns, key) in clients {
        let cert = client_params(cn, email, dns)?.signed_by(&key, &ca)?;
        write(dir, &format!("{stem}.pem"), cert.pem())?;
        write(dir, &format!("{stem}.key"), key.serialize_pem())?;
        let p12 = pkcs12(cn, &key, cert.der(), &[ca.der().as_ref()])?;
        write(dir, &format!("{stem}.p12"), p12)?;
    }

    let rsa4096 = || KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_4096);
    let root = make_ca("Corridor Lab Long Chain Root CA", rsa4096()?)?;
    let int1 = make_intermediate("Corridor Lab Intermediate CA 1", rsa4096()?, &root)?;
    let int2 = make_intermediate("Corridor Lab Intermediate CA 2", rsa4096()?, &int1)?;
    let long_key = rsa4096()?;
    let long_gw = gateway_params()?.signed_by(&long_key, &int2)?;
    write(dir, files::LONG_ROOT_PEM, root.pem())?;
    write(dir, files::LONG_ROOT_DER, root.der())?;
    write(dir, files::LONG_INT1_PEM, int1.pem())?;
    write(dir, files::LONG_INT2_PEM, int2.pem())?;
    write(dir, files::LONG_GATEWAY_PEM, long_gw.pem())?;
    write(dir, files::LONG_GATEWAY_KEY, long_key.serialize_pem())?;
    Ok(())
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> Result<()> {
    let path = dir.join(name);
    fs::write(&path, data).with_context(|| format!("writing {}", path.display()))
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "CH");
    dn.push(DnType::OrganizationName, "Corridor Lab");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Parameters every lab certificate shares: a fixed, generous validity (the PKI is cached
/// on disk for a long time) and an authority key identifier for chain building.
fn base_params(cn: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = dn(cn);
    params.not_before = date_time_ymd(2024, 1, 1);
    params.not_after = date_time_ymd(2099, 12, 31);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn ca_params(cn: &str) -> Result<CertificateParams> {
    let mut params = base_params(cn)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn make_ca(cn: &str, key: KeyPair) -> Result<CertifiedIssuer<'static, KeyPair>> {
    let mut params = ca_params(cn)?;
    params.use_authority_key_identifier_extension = false;
    Ok(CertifiedIssuer::self_signed(params, key)?)
}

fn make_intermediate(
    cn: &str,
    key: KeyPair,
    parent: &Issuer<'_, KeyPair>,
) -> Result<CertifiedIssuer<'static, KeyPair>> {
    Ok(CertifiedIssuer::signed_by(ca_params(cn)?, key, parent)?)
}

/// The gateway: `vpn.corp.example` as CN and DNS SAN, its wan addresses as IP SANs, and the
/// EKUs Windows and macOS clients look for (serverAuth, ipsecIKE).
fn gateway_params() -> Result<CertificateParams> {
    let mut params = base_params(GATEWAY_FQDN)?;
    params.subject_alt_names = vec![
        SanType::DnsName(GATEWAY_FQDN.try_into()?),
        SanType::IpAddress(GATEWAY_WAN_V4),
        SanType::IpAddress(GATEWAY_WAN_V6),
    ];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::Other(EKU_IPSEC_IKE.to_vec()),
    ];
    Ok(params)
}

fn client_params(cn: &str, email: &str, dns: Option<&str>) -> Result<CertificateParams> {
    let mut params = base_params(cn)?;
    params.subject_alt_names = vec![SanType::Rfc822Name(email.try_into()?)];
    if let Some(dns) = dns {
        params
            .subject_alt_names
            .push(SanType::DnsName(dns.try_into()?));
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    Ok(params)
}

/// A PKCS#12 bundle (PBES2/AES-256, as OpenSSL 3 writes by default) with the key, the
/// certificate and its issuers.
fn pkcs12(alias: &str, key: &KeyPair, cert: &[u8], issuers: &[&[u8]]) -> Result<Vec<u8>> {
    let mut certs = vec![P12Cert::from_der(cert).context("re-reading a certificate")?];
    for issuer in issuers {
        certs.push(P12Cert::from_der(issuer).context("re-reading a CA certificate")?);
    }
    let key = PrivateKey::from_der(&key.serialize_der()).context("re-reading a private key")?;
    let chain = PrivateKeyChain::new(alias.as_bytes(), key, certs);
    let mut store = KeyStore::new();
    store.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(P12_PASSWORD)
        .write()
        .with_context(|| format!("writing the PKCS#12 bundle of {alias}"))
}
