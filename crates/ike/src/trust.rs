//! Which gateway certificates we trust: X.509 path validation with rustls-webpki against
//! the profile's CA certificates, and the CERTREQ payload naming those CAs.

use std::fmt;

use corridor_wire::payload::{CertReqBuilder, SHA1_LEN};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{ExtendedKeyUsageValidator, KeyPurposeId, KeyPurposeIdIter};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Error;

/// id-kp-serverAuth (1.3.6.1.5.5.7.3.1), DER contents of the OID.
const EKU_SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
/// id-kp-ipsecIKE (1.3.6.1.5.5.7.3.17), RFC 4945 §5.1.3.12.
const EKU_IPSEC_IKE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x11];
/// anyExtendedKeyUsage (2.5.29.37.0).
const EKU_ANY: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// Gateway certificates are accepted with serverAuth (what most deployments issue,
/// strongSwan's documentation included), ipsecIKE (RFC 4945 §5.1.3.12), anyExtendedKeyUsage,
/// or no EKU extension at all.
///
/// RFC 4945 §5.1.3.12 lets IKE accept certificates without the extension and names
/// ipsecIKE for those that restrict the key's purpose; serverAuth is what real gateway
/// certificates carry.
struct GatewayEku;

impl ExtendedKeyUsageValidator for GatewayEku {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut present = Vec::new();
        for id in iter {
            let id = id?;
            if [EKU_SERVER_AUTH, EKU_IPSEC_IKE, EKU_ANY]
                .iter()
                .any(|oid| KeyPurposeId::new(oid) == id)
            {
                return Ok(());
            }
            present.push(id.to_decoded_oid());
        }
        if present.is_empty() {
            Ok(())
        } else {
            Err(webpki::Error::RequiredEkuNotFoundContext(
                webpki::RequiredEkuNotFoundContext {
                    required: webpki::KeyUsage::server_auth(),
                    present,
                },
            ))
        }
    }
}

/// The CA certificates gateway certificates must chain to.
#[derive(Clone)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    /// SHA-1 of each CA's SubjectPublicKeyInfo, for CERTREQ.
    spki_hashes: Vec<[u8; SHA1_LEN]>,
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustStore({} CAs)", self.anchors.len())
    }
}

impl TrustStore {
    /// A store of the given DER CA certificates.
    pub fn new(ca_certificates: &[Vec<u8>]) -> Result<Self, Error> {
        let mut anchors = Vec::new();
        let mut spki_hashes = Vec::new();
        for (i, der) in ca_certificates.iter().enumerate() {
            let cert = CertificateDer::from(der.as_slice());
            let anchor = webpki::anchor_from_trusted_cert(&cert).map_err(|e| {
                Error::LocalConfig(format!("CA certificate {} is unusable: {e}", i + 1))
            })?;
            anchors.push(anchor.to_owned());
            let (_, parsed) = X509Certificate::from_der(der).map_err(|e| {
                Error::LocalConfig(format!("CA certificate {} cannot be parsed: {e}", i + 1))
            })?;
            spki_hashes.push(crate::nat::sha1(&[parsed.public_key().raw]));
        }
        Ok(Self {
            anchors,
            spki_hashes,
        })
    }

    /// Whether the store holds no CA (then no certificate can be trusted).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The CERTREQ naming our CAs.
    ///
    /// RFC 7296 §3.7: "the Certification Authority value is a concatenated list of SHA-1
    /// hashes of the public keys of trusted Certification Authorities (CAs). Each is
    /// encoded as the SHA-1 hash of the Subject Public Key Info element".
    pub(crate) fn certreq(&self) -> CertReqBuilder {
        CertReqBuilder::x509(self.spki_hashes.iter())
    }

    /// Validates `end_entity` with `intermediates` (as the gateway sent them) up to one
    /// of our CAs at time `now`. Returns why not, in words.
    pub(crate) fn verify(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: UnixTime,
    ) -> Result<(), String> {
        if self.anchors.is_empty() {
            return Err("the profile trusts no CA certificate".into());
        }
        let ee_der = CertificateDer::from(end_entity);
        let ee = webpki::EndEntityCert::try_from(&ee_der)
            .map_err(|e| format!("the certificate cannot be parsed ({e})"))?;
        let intermediates: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            &intermediates,
            now,
            GatewayEku,
            None,
            None,
        )
        .map(|_| ())
        .map_err(describe_webpki_error)
    }
}

fn describe_webpki_error(e: webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => "it is not issued by a CA the profile trusts".into(),
        E::CertExpired { .. } => "it has expired".into(),
        E::CertNotValidYet { .. } => "it is not valid yet (check the clock)".into(),
        E::RequiredEkuNotFoundContext(_) => {
            "its extended key usage allows neither serverAuth nor ipsecIKE".into()
        }
        E::InvalidSignatureForPublicKey => {
            "a signature in its chain does not verify (a CA of the same name as a trusted one, with another key?)".into()
        }
        E::CaUsedAsEndEntity => "it is a CA certificate, not a gateway certificate".into(),
        other => format!("path validation failed ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn now() -> UnixTime {
        UnixTime::since_unix_epoch(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap(),
        )
    }

    fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert, rcgen::Issuer::new(params, key))
    }

    fn leaf(
        issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
        eku: Vec<rcgen::ExtendedKeyUsagePurpose>,
    ) -> rcgen::Certificate {
        let mut params =
            rcgen::CertificateParams::new(vec!["vpn.example.com".to_string()]).unwrap();
        params.extended_key_usages = eku;
        let key = rcgen::KeyPair::generate().unwrap();
        params.signed_by(&key, issuer).unwrap()
    }

    #[test]
    fn chain_and_eku_policy() {
        let (ca_cert, issuer) = ca("Test CA");
        let store = TrustStore::new(&[ca_cert.der().to_vec()]).unwrap();
        use rcgen::ExtendedKeyUsagePurpose as P;
        for eku in [
            vec![],
            vec![P::ServerAuth],
            vec![P::Other(vec![1, 3, 6, 1, 5, 5, 7, 3, 17])],
        ] {
            let cert = leaf(&issuer, eku.clone());
            assert_eq!(store.verify(cert.der(), &[], now()), Ok(()), "{eku:?}");
        }
        let client_only = leaf(&issuer, vec![P::ClientAuth]);
        assert!(
            store
                .verify(client_only.der(), &[], now())
                .unwrap_err()
                .contains("serverAuth")
        );
        let (_, other_issuer) = ca("Other CA");
        let stranger = leaf(&other_issuer, vec![]);
        assert_eq!(
            store.verify(stranger.der(), &[], now()).unwrap_err(),
            "it is not issued by a CA the profile trusts"
        );
        // A look-alike CA with the same name but another key.
        let (_, impostor) = ca("Test CA");
        assert_eq!(
            store
                .verify(leaf(&impostor, vec![]).der(), &[], now())
                .unwrap_err(),
            "a signature in its chain does not verify (a CA of the same name as a trusted one, with another key?)"
        );
        // rcgen's default validity starts in 1975.
        let early = UnixTime::since_unix_epoch(Duration::from_secs(0));
        assert_eq!(
            store
                .verify(leaf(&issuer, vec![]).der(), &[], early)
                .unwrap_err(),
            "it is not valid yet (check the clock)"
        );
        assert_eq!(store.certreq().authorities.len(), 20);
    }
}
