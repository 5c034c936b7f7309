//! Signed `.mobileconfig` files: a CMS `SignedData` (RFC 5652) whose encapsulated
//! content is the property list, as Apple Configurator, MDM servers and
//! `openssl smime -sign -nodetach -outform der` write them.
//!
//! The signature is checked so that a profile changed after signing (or damaged on the
//! way) is refused. The signer's certificate chain is not evaluated: Apple's devices show
//! the signer's trust to the person installing the profile, and Corridor's own trust in
//! signed profiles is a separate mechanism (signed Corridor profiles). The report names
//! the signer.

use aws_lc_rs::{digest, signature};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use x509_cert::Certificate;
use x509_cert::der::asn1::OctetString;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode, Tag, Tagged};
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use crate::certs;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The error for content or signature that do not match.
pub(crate) const TAMPERED: &str =
    "the CMS signature does not verify: the profile was changed after it was signed";

/// A verified signed profile.
#[derive(Debug)]
pub(crate) struct Signed {
    /// The encapsulated property list.
    pub content: Vec<u8>,
    /// The signer certificate's summary (subject, issuer, validity).
    pub signer: String,
}

/// Parses a DER `ContentInfo` holding `SignedData` and verifies its signature.
pub(crate) fn open(der: &[u8]) -> Result<Signed, String> {
    let info = ContentInfo::from_der(der)
        .map_err(|e| format!("not a CMS-signed profile (DER ContentInfo): {e}"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(format!(
            "a CMS ContentInfo of type {}, expected SignedData ({ID_SIGNED_DATA}); encrypted profiles are not supported",
            info.content_type
        ));
    }
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|e| format!("malformed CMS SignedData: {e}"))?;
    let encap = &signed.encap_content_info;
    let content = match &encap.econtent {
        None => {
            return Err(
                "the CMS SignedData carries no content (a detached signature); sign with -nodetach"
                    .to_string(),
            );
        }
        Some(any) if any.tag() == Tag::OctetString => any.value().to_vec(),
        Some(any) => {
            return Err(format!(
                "the CMS content is {} instead of an OCTET STRING",
                any.tag()
            ));
        }
    };
    let certificates: Vec<&Certificate> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(cert) => Some(cert),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let Some(signer_info) = signed.signer_infos.0.iter().next() else {
        return Err("the CMS SignedData has no signer".to_string());
    };
    let cert = find_signer(&certificates, &signer_info.sid).ok_or_else(|| {
        "the CMS SignedData does not include its signer's certificate".to_string()
    })?;
    verify(signer_info, cert, encap.econtent_type, &content)?;
    let cert_der = cert
        .to_der()
        .map_err(|e| format!("the signer certificate cannot be encoded: {e}"))?;
    let signer = certs::describe(&cert_der)
        .map(|info| info.summary())
        .unwrap_or_else(|_| cert.tbs_certificate().subject().to_string());
    Ok(Signed { content, signer })
}

fn find_signer<'a>(certs: &[&'a Certificate], sid: &SignerIdentifier) -> Option<&'a Certificate> {
    certs.iter().copied().find(|cert| match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            let tbs = cert.tbs_certificate();
            tbs.issuer() == &ias.issuer
                && tbs.serial_number().as_bytes() == ias.serial_number.as_bytes()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
            cert.tbs_certificate().get_extension::<SubjectKeyIdentifier>(),
            Ok(Some((_, found))) if found == *ski
        ),
    })
}

fn hash_of(oid: ObjectIdentifier) -> Option<&'static digest::Algorithm> {
    match oid {
        SHA1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        SHA256 => Some(&digest::SHA256),
        SHA384 => Some(&digest::SHA384),
        SHA512 => Some(&digest::SHA512),
        _ => None,
    }
}

/// RFC 5652 §5.4: "the message digest is calculated on … the content of the
/// encapContentInfo eContent OCTET STRING"; with signed attributes, "the result of the
/// message digest calculation process … is the messageDigest attribute", and "the DER
/// encoding of the SignedAttributes value" (with an EXPLICIT SET OF tag) is what is
/// signed.
fn verify(
    si: &SignerInfo,
    cert: &Certificate,
    content_type: ObjectIdentifier,
    content: &[u8],
) -> Result<(), String> {
    let digest_oid = si.digest_alg.oid;
    let hash = hash_of(digest_oid)
        .ok_or_else(|| format!("the CMS digest algorithm {digest_oid} is not supported"))?;
    let signed_bytes = match &si.signed_attrs {
        None => content.to_vec(),
        Some(attrs) => {
            let expected = digest::digest(hash, content);
            let digest_attr = attrs
                .iter()
                .find(|a| a.oid == ID_MESSAGE_DIGEST)
                .and_then(|a| a.values.iter().next())
                .ok_or("the CMS signed attributes lack the message digest")?;
            let found: OctetString = digest_attr
                .decode_as()
                .map_err(|e| format!("malformed CMS message digest: {e}"))?;
            if found.as_bytes() != expected.as_ref() {
                return Err(TAMPERED.to_string());
            }
            // RFC 5652 §11.1: the content-type attribute "MUST be present" with signed
            // attributes and match eContentType.
            if let Some(ct) = attrs
                .iter()
                .find(|a| a.oid == ID_CONTENT_TYPE)
                .and_then(|a| a.values.iter().next())
            {
                let oid: ObjectIdentifier = ct
                    .decode_as()
                    .map_err(|e| format!("malformed CMS content type attribute: {e}"))?;
                if oid != content_type {
                    return Err(TAMPERED.to_string());
                }
            }
            attrs
                .to_der()
                .map_err(|e| format!("the CMS signed attributes cannot be encoded: {e}"))?
        }
    };
    if content_type != ID_DATA {
        return Err(format!(
            "the CMS content type is {content_type}, expected data ({ID_DATA})"
        ));
    }
    let spki = cert.tbs_certificate().subject_public_key_info();
    let key = spki.subject_public_key.raw_bytes();
    let sig_oid = si.signature_algorithm.oid;
    let algorithm: &dyn signature::VerificationAlgorithm = match (spki.algorithm.oid, sig_oid) {
        (RSA, RSA | RSA_SHA1 | RSA_SHA256 | RSA_SHA384 | RSA_SHA512) => {
            // With rsaEncryption as the signature algorithm the digest algorithm decides.
            let digest = if sig_oid == RSA {
                digest_oid
            } else {
                rsa_hash(sig_oid)
            };
            match digest {
                SHA1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                SHA256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                SHA384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                SHA512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                other => return Err(format!("the CMS digest algorithm {other} is not supported")),
            }
        }
        (EC_PUBLIC_KEY, ECDSA_SHA256 | ECDSA_SHA384) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match (curve, sig_oid) {
                (Some(P256), ECDSA_SHA256) => &signature::ECDSA_P256_SHA256_ASN1,
                (Some(P256), _) => &signature::ECDSA_P256_SHA384_ASN1,
                (Some(P384), ECDSA_SHA256) => &signature::ECDSA_P384_SHA256_ASN1,
                (Some(P384), _) => &signature::ECDSA_P384_SHA384_ASN1,
                _ => {
                    return Err(
                        "the signer's elliptic curve is not supported (P-256 and P-384 are)"
                            .to_string(),
                    );
                }
            }
        }
        (key_alg, sig_alg) => {
            return Err(format!(
                "the CMS signature algorithm {sig_alg} with a {key_alg} key is not supported (RSA PKCS#1 v1.5 and ECDSA are)"
            ));
        }
    };
    signature::UnparsedPublicKey::new(algorithm, key)
        .verify(&signed_bytes, si.signature.as_bytes())
        .map_err(|_| TAMPERED.to_string())
}

fn rsa_hash(sig_oid: ObjectIdentifier) -> ObjectIdentifier {
    match sig_oid {
        RSA_SHA1 => SHA1,
        RSA_SHA384 => SHA384,
        RSA_SHA512 => SHA512,
        _ => SHA256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_cms() {
        let err = open(&[0x30, 0x80, 0x01]).unwrap_err();
        assert!(err.starts_with("not a CMS-signed profile"), "{err}");
    }
}
