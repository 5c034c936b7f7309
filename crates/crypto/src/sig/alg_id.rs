//! RFC 7427 AlgorithmIdentifiers: the DER blob in front of the signature in an AUTH
//! payload with method 14 (Digital Signature).
//!
//! RFC 7427 §3: the Authentication Data of method 14 is a one-octet length, the DER
//! AlgorithmIdentifier, then the signature. The encodings we send are those listed in
//! RFC 7427 Appendix A (for PKCS#1 v1.5 and ECDSA) and, for RSASSA-PSS, explicit
//! RSASSA-PSS-params (RFC 4055 §3.1) with MGF1 over the same hash and a salt as long as
//! the hash. strongSwan builds the same structure by default: hash and MGF1
//! AlgorithmIdentifiers with NULL parameters, the salt length, and no trailerField.

use super::SignatureScheme;
use super::der::{self, Der};

/// sha1WithRSAEncryption, RFC 7427 §A.1.1:
/// `30 0d 06 09 2a 86 48 86 f7 0d 01 01 05 05 00`.
pub(super) const RSA_PKCS1_SHA1: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
];
/// sha256WithRSAEncryption, RFC 7427 §A.1.2:
/// `30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05 00`.
pub(super) const RSA_PKCS1_SHA256: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
/// sha384WithRSAEncryption, RFC 7427 §A.1.3:
/// `30 0d 06 09 2a 86 48 86 f7 0d 01 01 0c 05 00`.
pub(super) const RSA_PKCS1_SHA384: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
];
/// sha512WithRSAEncryption, RFC 7427 §A.1.4:
/// `30 0d 06 09 2a 86 48 86 f7 0d 01 01 0d 05 00`.
pub(super) const RSA_PKCS1_SHA512: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00,
];
/// ecdsa-with-SHA256, RFC 7427 §A.3.1: `30 0a 06 08 2a 86 48 ce 3d 04 03 02`.
pub(super) const ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// ecdsa-with-SHA384, RFC 7427 §A.3.2: `30 0a 06 08 2a 86 48 ce 3d 04 03 03`.
pub(super) const ECDSA_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];
/// ecdsa-with-SHA512, RFC 7427 §A.3.3: `30 0a 06 08 2a 86 48 ce 3d 04 03 04`.
pub(super) const ECDSA_SHA512: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
];

/// Builds the RSASSA-PSS AlgorithmIdentifier for SHA-2 hash OID last byte `h`
/// (1 = SHA-256, 2 = SHA-384, 3 = SHA-512) and salt length `salt`:
///
/// ```text
/// SEQUENCE {
///   OID 1.2.840.113549.1.1.10 (id-RSASSA-PSS)
///   SEQUENCE {
///     [0] { SEQUENCE { OID sha2-h, NULL } }                          -- hashAlgorithm
///     [1] { SEQUENCE { OID 1.2.840.113549.1.1.8 (id-mgf1),
///                      SEQUENCE { OID sha2-h, NULL } } }             -- maskGenAlgorithm
///     [2] { INTEGER salt }                                           -- saltLength
///   }
/// }
/// ```
const fn pss(h: u8, salt: u8) -> [u8; 67] {
    [
        0x30, 0x41, // AlgorithmIdentifier
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, // id-RSASSA-PSS
        0x30, 0x34, // RSASSA-PSS-params
        0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, h,
        0x05, 0x00, // hashAlgorithm
        0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, h, 0x05,
        0x00, // maskGenAlgorithm
        0xa2, 0x03, 0x02, 0x01, salt, // saltLength
    ]
}

pub(super) const RSA_PSS_SHA256: &[u8] = &pss(1, 32);
pub(super) const RSA_PSS_SHA384: &[u8] = &pss(2, 48);
pub(super) const RSA_PSS_SHA512: &[u8] = &pss(3, 64);

const OID_RSA_PKCS1_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
const OID_RSA_PKCS1_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_RSA_PKCS1_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_RSA_PKCS1_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

/// Parameters that are absent or an explicit NULL.
fn absent_or_null(params: Option<&[u8]>) -> bool {
    matches!(params, None | Some([der::NULL, 0x00]))
}

/// Recognises an AlgorithmIdentifier a peer sent. PKCS#1 v1.5 identifiers are accepted
/// with NULL or absent parameters, ECDSA ones with absent parameters (RFC 5758 §3.2:
/// "the encoding MUST omit the parameters field"), RSASSA-PSS only with the parameter
/// sets we can verify: MGF1 over the same SHA-2 hash and a salt as long as the hash.
pub(super) fn parse(bytes: &[u8]) -> Option<SignatureScheme> {
    let (oid, params) = der::algorithm_identifier(bytes)?;
    let scheme = match oid {
        OID_RSA_PKCS1_SHA1 => SignatureScheme::RsaPkcs1Sha1,
        OID_RSA_PKCS1_SHA256 => SignatureScheme::RsaPkcs1Sha256,
        OID_RSA_PKCS1_SHA384 => SignatureScheme::RsaPkcs1Sha384,
        OID_RSA_PKCS1_SHA512 => SignatureScheme::RsaPkcs1Sha512,
        OID_ECDSA_SHA256 | OID_ECDSA_SHA384 | OID_ECDSA_SHA512 => {
            if params.is_some() {
                return None;
            }
            return Some(match oid {
                OID_ECDSA_SHA256 => SignatureScheme::EcdsaP256Sha256,
                OID_ECDSA_SHA384 => SignatureScheme::EcdsaP384Sha384,
                _ => SignatureScheme::EcdsaP521Sha512,
            });
        }
        OID_RSA_PSS => return parse_pss_params(params?),
        _ => return None,
    };
    absent_or_null(params).then_some(scheme)
}

/// Parses RSASSA-PSS-params (RFC 4055 §3.1) and maps supported sets to a scheme.
fn parse_pss_params(params: &[u8]) -> Option<SignatureScheme> {
    let mut outer = Der::new(params);
    let seq = outer.read(der::SEQUENCE)?;
    if !outer.is_empty() {
        return None;
    }
    let mut seq = Der::new(seq);
    // hashAlgorithm [0] defaults to SHA-1, which we do not verify with PSS.
    let hash = hash_oid(seq.read_optional(0xa0)??)?;
    let mgf = seq.read_optional(0xa1)??;
    let (mgf_oid, mgf_params) = der::algorithm_identifier(mgf)?;
    if mgf_oid != OID_MGF1 || hash_oid(mgf_params?)? != hash {
        return None;
    }
    let salt = match seq.read_optional(0xa2)? {
        Some(field) => {
            let mut field = Der::new(field);
            let value = field.read(der::INTEGER)?;
            if !field.is_empty() {
                return None;
            }
            match value {
                [v] => usize::from(*v),
                _ => return None,
            }
        }
        None => 20,
    };
    // trailerField [3], if present, must be the default trailerFieldBC (1).
    if let Some(field) = seq.read_optional(0xa3)?
        && field != [der::INTEGER, 0x01, 0x01]
    {
        return None;
    }
    if !seq.is_empty() {
        return None;
    }
    let (scheme, hash_len) = match hash {
        OID_SHA256 => (SignatureScheme::RsaPssSha256, 32),
        OID_SHA384 => (SignatureScheme::RsaPssSha384, 48),
        _ => (SignatureScheme::RsaPssSha512, 64),
    };
    (salt == hash_len).then_some(scheme)
}

/// The SHA-2 OID of a hash AlgorithmIdentifier (parameters absent or NULL).
fn hash_oid(alg_id: &[u8]) -> Option<&'static [u8]> {
    let (oid, params) = der::algorithm_identifier(alg_id)?;
    if !absent_or_null(params) {
        return None;
    }
    [OID_SHA256, OID_SHA384, OID_SHA512]
        .into_iter()
        .find(|known| *known == oid)
}
