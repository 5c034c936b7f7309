//! AUTH payload signatures: RFC 7427 Digital Signature (method 14) and the classic
//! methods RSA Digital Signature (1) and ECDSA with SHA-256/384/512 (9/10/11, RFC 4754).
//!
//! ECDSA signatures come in two encodings, and the AUTH method decides which:
//! RFC 7427 (method 14) carries the DER `ECDSA-Sig-Value` (SEQUENCE of r and s, RFC 3279
//! §2.2.3), while RFC 4754 (methods 9-11) carries the raw fixed-length concatenation
//! r | s. [`SigningKey::sign`] and [`verify_signature`]
//! use DER; [`SigningKey::sign_ecdsa_fixed`] and [`verify_ecdsa_fixed`] use r | s.

mod alg_id;
mod der;

use aws_lc_rs::rand::SystemRandom as BackendRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, RsaKeyPair, UnparsedPublicKey,
    VerificationAlgorithm,
};

use crate::CryptoError;

/// A signature algorithm for AUTH payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 with SHA-1 (classic AUTH method 1). Verification only: our
    /// backend does not create SHA-1 signatures.
    RsaPkcs1Sha1,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt.
    RsaPssSha512,
    /// ECDSA with SHA-256: P-256 keys sign with it (and AUTH method 9 is it in r | s
    /// form); RFC 7427 verification accepts it with a key on any of our curves.
    EcdsaP256Sha256,
    /// ECDSA with SHA-384: P-384 keys sign with it (AUTH method 10 in r | s form).
    EcdsaP384Sha384,
    /// ECDSA with SHA-512: P-521 keys sign with it (AUTH method 11 in r | s form).
    EcdsaP521Sha512,
}

impl SignatureScheme {
    /// Every scheme, strongest hash first within each family.
    pub const ALL: [SignatureScheme; 10] = [
        SignatureScheme::EcdsaP521Sha512,
        SignatureScheme::EcdsaP384Sha384,
        SignatureScheme::EcdsaP256Sha256,
        SignatureScheme::RsaPssSha512,
        SignatureScheme::RsaPssSha384,
        SignatureScheme::RsaPssSha256,
        SignatureScheme::RsaPkcs1Sha512,
        SignatureScheme::RsaPkcs1Sha384,
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPkcs1Sha1,
    ];

    /// The DER AlgorithmIdentifier that precedes the signature in an RFC 7427 AUTH
    /// payload (without the one-octet length in front of it).
    pub fn algorithm_identifier(self) -> &'static [u8] {
        match self {
            Self::RsaPkcs1Sha1 => alg_id::RSA_PKCS1_SHA1,
            Self::RsaPkcs1Sha256 => alg_id::RSA_PKCS1_SHA256,
            Self::RsaPkcs1Sha384 => alg_id::RSA_PKCS1_SHA384,
            Self::RsaPkcs1Sha512 => alg_id::RSA_PKCS1_SHA512,
            Self::RsaPssSha256 => alg_id::RSA_PSS_SHA256,
            Self::RsaPssSha384 => alg_id::RSA_PSS_SHA384,
            Self::RsaPssSha512 => alg_id::RSA_PSS_SHA512,
            Self::EcdsaP256Sha256 => alg_id::ECDSA_SHA256,
            Self::EcdsaP384Sha384 => alg_id::ECDSA_SHA384,
            Self::EcdsaP521Sha512 => alg_id::ECDSA_SHA512,
        }
    }

    /// The scheme a peer's RFC 7427 AlgorithmIdentifier names.
    ///
    /// ECDSA identifiers name only the hash; the curve is the one of the peer's key.
    /// This returns the ECDSA scheme with that hash, and [`verify_signature`] uses the
    /// hash of the scheme with the curve of the key (so a P-384 key signing with
    /// ecdsa-with-SHA256 verifies as [`SignatureScheme::EcdsaP256Sha256`]).
    ///
    /// # Errors
    /// [`CryptoError::UnknownAlgorithmIdentifier`] for anything else, including
    /// RSASSA-PSS parameter sets other than MGF1 with the same hash and a salt as long
    /// as the hash.
    pub fn from_algorithm_identifier(der: &[u8]) -> Result<Self, CryptoError> {
        alg_id::parse(der).ok_or(CryptoError::UnknownAlgorithmIdentifier)
    }

    /// The RFC 7427 hash algorithm ID (IANA "IKEv2 Hash Algorithms") of this scheme's
    /// hash, as announced in SIGNATURE_HASH_ALGORITHMS notifications.
    pub fn hash_algorithm_id(self) -> u16 {
        match self {
            Self::RsaPkcs1Sha1 => 1,
            Self::RsaPkcs1Sha256 | Self::RsaPssSha256 | Self::EcdsaP256Sha256 => 2,
            Self::RsaPkcs1Sha384 | Self::RsaPssSha384 | Self::EcdsaP384Sha384 => 3,
            Self::RsaPkcs1Sha512 | Self::RsaPssSha512 | Self::EcdsaP521Sha512 => 4,
        }
    }

    /// Whether this is an RSA scheme.
    pub fn is_rsa(self) -> bool {
        !self.is_ecdsa()
    }

    /// Whether this is an ECDSA scheme.
    pub fn is_ecdsa(self) -> bool {
        matches!(
            self,
            Self::EcdsaP256Sha256 | Self::EcdsaP384Sha384 | Self::EcdsaP521Sha512
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    fn scheme(self) -> SignatureScheme {
        match self {
            Curve::P256 => SignatureScheme::EcdsaP256Sha256,
            Curve::P384 => SignatureScheme::EcdsaP384Sha384,
            Curve::P521 => SignatureScheme::EcdsaP521Sha512,
        }
    }

    fn signing(self, fixed: bool) -> &'static EcdsaSigningAlgorithm {
        match (self, fixed) {
            (Curve::P256, false) => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            (Curve::P384, false) => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            (Curve::P521, false) => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            (Curve::P256, true) => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            (Curve::P384, true) => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            (Curve::P521, true) => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }
}

enum KeyInner {
    Rsa(RsaKeyPair),
    Ecdsa {
        curve: Curve,
        der: EcdsaKeyPair,
        fixed: EcdsaKeyPair,
    },
}

/// A private key for AUTH signatures. `Debug` shows only the key type.
pub struct SigningKey {
    inner: KeyInner,
}

impl SigningKey {
    /// Loads an RSA or EC private key from DER: PKCS#8 `PrivateKeyInfo` (RFC 5208),
    /// PKCS#1 `RSAPrivateKey` (RFC 8017 §A.1.2) or SEC1 `ECPrivateKey` (RFC 5915) on
    /// P-256, P-384 or P-521. PEM decoding is the caller's job.
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedKey`] if the bytes are none of these, or the key is
    /// one the backend refuses (for example an RSA key that fails its consistency checks).
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        if let Ok(key) = RsaKeyPair::from_pkcs8(der).or_else(|_| RsaKeyPair::from_der(der)) {
            return Ok(Self {
                inner: KeyInner::Rsa(key),
            });
        }
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let load = |fixed| {
                let alg = curve.signing(fixed);
                EcdsaKeyPair::from_pkcs8(alg, der)
                    .or_else(|_| EcdsaKeyPair::from_private_key_der(alg, der))
            };
            if let (Ok(der_key), Ok(fixed)) = (load(false), load(true)) {
                return Ok(Self {
                    inner: KeyInner::Ecdsa {
                        curve,
                        der: der_key,
                        fixed,
                    },
                });
            }
        }
        Err(CryptoError::UnsupportedKey {
            reason: "not an RSA or P-256/P-384/P-521 EC private key in PKCS#8, PKCS#1 or SEC1 DER",
        })
    }

    /// The schemes this key can sign with, preferred first: RSA-PSS, then PKCS#1 v1.5
    /// (SHA-2 only); for EC keys the one scheme of the key's curve.
    pub fn available_schemes(&self) -> Vec<SignatureScheme> {
        match &self.inner {
            KeyInner::Rsa(_) => vec![
                SignatureScheme::RsaPssSha256,
                SignatureScheme::RsaPssSha384,
                SignatureScheme::RsaPssSha512,
                SignatureScheme::RsaPkcs1Sha256,
                SignatureScheme::RsaPkcs1Sha384,
                SignatureScheme::RsaPkcs1Sha512,
            ],
            KeyInner::Ecdsa { curve, .. } => vec![curve.scheme()],
        }
    }

    /// The public key as a DER SubjectPublicKeyInfo, to match against a certificate.
    ///
    /// # Errors
    /// [`CryptoError::Backend`] if the backend cannot encode it.
    pub fn public_key_spki(&self) -> Result<Vec<u8>, CryptoError> {
        use aws_lc_rs::encoding::AsDer;
        let failed = |_| CryptoError::Backend {
            operation: "public key encoding",
        };
        match &self.inner {
            KeyInner::Rsa(key) => Ok(key.public_key().as_der().map_err(failed)?.as_ref().to_vec()),
            KeyInner::Ecdsa { der, .. } => {
                Ok(der.public_key().as_der().map_err(failed)?.as_ref().to_vec())
            }
        }
    }

    /// Signs `message` (RFC 7427 encoding: DER `ECDSA-Sig-Value` for ECDSA).
    ///
    /// The backend draws any randomness PSS and ECDSA need from its own generator; no
    /// caller RNG is involved, so signatures are not reproducible from a seed (they do
    /// not need to be: verification does not depend on them being so).
    ///
    /// # Errors
    /// [`CryptoError::SchemeNotSupportedByKey`] if the key cannot make `scheme`
    /// signatures, [`CryptoError::Backend`] if signing fails.
    pub fn sign(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sign_inner(scheme, message, false)
    }

    /// Signs `message` with ECDSA in the fixed-length r | s form of RFC 4754 §7, for the
    /// classic AUTH methods 9, 10 and 11.
    ///
    /// # Errors
    /// As [`sign`](Self::sign); RSA schemes are refused.
    pub fn sign_ecdsa_fixed(
        &self,
        scheme: SignatureScheme,
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if !scheme.is_ecdsa() {
            return Err(CryptoError::SchemeNotSupportedByKey { scheme });
        }
        self.sign_inner(scheme, message, true)
    }

    fn sign_inner(
        &self,
        scheme: SignatureScheme,
        message: &[u8],
        fixed: bool,
    ) -> Result<Vec<u8>, CryptoError> {
        let failed = |_| CryptoError::Backend {
            operation: "signing",
        };
        let unsupported = CryptoError::SchemeNotSupportedByKey { scheme };
        match &self.inner {
            KeyInner::Rsa(key) => {
                let encoding: &'static dyn signature::RsaEncoding = match scheme {
                    SignatureScheme::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    SignatureScheme::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                    SignatureScheme::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
                    SignatureScheme::RsaPssSha256 => &signature::RSA_PSS_SHA256,
                    SignatureScheme::RsaPssSha384 => &signature::RSA_PSS_SHA384,
                    SignatureScheme::RsaPssSha512 => &signature::RSA_PSS_SHA512,
                    _ => return Err(unsupported),
                };
                let mut out = vec![0u8; key.public_modulus_len()];
                // aws-lc ignores this RNG argument and uses its own generator.
                key.sign(encoding, &BackendRandom::new(), message, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
            KeyInner::Ecdsa {
                curve,
                der,
                fixed: fixed_key,
            } => {
                if curve.scheme() != scheme {
                    return Err(unsupported);
                }
                let key = if fixed { fixed_key } else { der };
                let sig = key.sign(&BackendRandom::new(), message).map_err(failed)?;
                Ok(sig.as_ref().to_vec())
            }
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.inner {
            KeyInner::Rsa(_) => "RSA",
            KeyInner::Ecdsa {
                curve: Curve::P256, ..
            } => "ECDSA P-256",
            KeyInner::Ecdsa {
                curve: Curve::P384, ..
            } => "ECDSA P-384",
            KeyInner::Ecdsa {
                curve: Curve::P521, ..
            } => "ECDSA P-521",
        };
        f.debug_struct("SigningKey")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

/// The kind of key a SubjectPublicKeyInfo holds.
#[derive(Debug, PartialEq, Eq)]
enum SpkiKind {
    Rsa,
    Ec(Curve),
}

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

fn spki_kind(spki: &[u8]) -> Result<SpkiKind, CryptoError> {
    let malformed = CryptoError::UnsupportedKey {
        reason: "the public key is not a DER SubjectPublicKeyInfo",
    };
    let mut outer = der::Der::new(spki);
    let body = outer.read(der::SEQUENCE).ok_or(malformed.clone())?;
    if !outer.is_empty() {
        return Err(malformed);
    }
    let mut body = der::Der::new(body);
    let alg = body.read(der::SEQUENCE).ok_or(malformed.clone())?;
    body.read(der::BIT_STRING).ok_or(malformed.clone())?;
    let mut alg = der::Der::new(alg);
    let oid = alg.read(der::OID).ok_or(malformed.clone())?;
    match oid {
        OID_RSA_ENCRYPTION => Ok(SpkiKind::Rsa),
        OID_EC_PUBLIC_KEY => match alg.read(der::OID).ok_or(malformed)? {
            OID_P256 => Ok(SpkiKind::Ec(Curve::P256)),
            OID_P384 => Ok(SpkiKind::Ec(Curve::P384)),
            OID_P521 => Ok(SpkiKind::Ec(Curve::P521)),
            _ => Err(CryptoError::UnsupportedKey {
                reason: "EC public key on a curve other than P-256, P-384 or P-521",
            }),
        },
        _ => Err(CryptoError::UnsupportedKey {
            reason: "public key is neither RSA nor EC",
        }),
    }
}

/// Checks that the key fits the scheme and returns its curve for EC keys. With
/// `any_curve`, an ECDSA scheme accepts a key on any of our curves (RFC 7427, where
/// the scheme only fixes the hash).
fn check_key_fits(
    scheme: SignatureScheme,
    spki: &[u8],
    any_curve: bool,
) -> Result<Option<Curve>, CryptoError> {
    let kind = spki_kind(spki)?;
    let fits = match (scheme, &kind) {
        (s, SpkiKind::Ec(_)) if any_curve => s.is_ecdsa(),
        (SignatureScheme::EcdsaP256Sha256, SpkiKind::Ec(curve)) => *curve == Curve::P256,
        (SignatureScheme::EcdsaP384Sha384, SpkiKind::Ec(curve)) => *curve == Curve::P384,
        (SignatureScheme::EcdsaP521Sha512, SpkiKind::Ec(curve)) => *curve == Curve::P521,
        (s, SpkiKind::Rsa) => s.is_rsa(),
        _ => false,
    };
    if fits {
        Ok(match kind {
            SpkiKind::Ec(curve) => Some(curve),
            SpkiKind::Rsa => None,
        })
    } else {
        Err(CryptoError::KeyDoesNotMatchScheme { scheme })
    }
}

fn verify_with(
    alg: &'static dyn VerificationAlgorithm,
    spki: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    UnparsedPublicKey::new(alg, spki)
        .verify(message, signature)
        .map_err(|_| CryptoError::BadSignature)
}

/// Verifies an RFC 7427 (or classic RSA, method 1) signature with the public key of a
/// certificate, given as its DER SubjectPublicKeyInfo.
///
/// For ECDSA the signature is the DER `ECDSA-Sig-Value`; the scheme fixes the hash
/// (SHA-256, -384 or -512) and the key may be on P-256, P-384 or P-521.
///
/// RSA keys must have 2048 to 8192 bits for every scheme, SHA-1 included: smaller keys
/// are refused.
///
/// # Errors
/// [`CryptoError::UnsupportedKey`] if `spki` is not an RSA or P-256/384/521 key,
/// [`CryptoError::KeyDoesNotMatchScheme`] if the key type does not fit `scheme` (RSA
/// scheme with an EC key or the reverse),
/// [`CryptoError::BadSignature`] if the signature does not verify.
pub fn verify_signature(
    scheme: SignatureScheme,
    spki: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let curve = check_key_fits(scheme, spki, true)?;
    let alg: &'static dyn VerificationAlgorithm = match (scheme, curve) {
        (SignatureScheme::EcdsaP256Sha256, Some(Curve::P256)) => &signature::ECDSA_P256_SHA256_ASN1,
        (SignatureScheme::EcdsaP256Sha256, Some(Curve::P384)) => &signature::ECDSA_P384_SHA256_ASN1,
        (SignatureScheme::EcdsaP256Sha256, _) => &signature::ECDSA_P521_SHA256_ASN1,
        (SignatureScheme::EcdsaP384Sha384, Some(Curve::P256)) => &signature::ECDSA_P256_SHA384_ASN1,
        (SignatureScheme::EcdsaP384Sha384, Some(Curve::P384)) => &signature::ECDSA_P384_SHA384_ASN1,
        (SignatureScheme::EcdsaP384Sha384, _) => &signature::ECDSA_P521_SHA384_ASN1,
        (SignatureScheme::EcdsaP521Sha512, Some(Curve::P256)) => &signature::ECDSA_P256_SHA512_ASN1,
        (SignatureScheme::EcdsaP521Sha512, Some(Curve::P384)) => &signature::ECDSA_P384_SHA512_ASN1,
        (SignatureScheme::EcdsaP521Sha512, _) => &signature::ECDSA_P521_SHA512_ASN1,
        (SignatureScheme::RsaPkcs1Sha1, _) => {
            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        (SignatureScheme::RsaPkcs1Sha256, _) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (SignatureScheme::RsaPkcs1Sha384, _) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (SignatureScheme::RsaPkcs1Sha512, _) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (SignatureScheme::RsaPssSha256, _) => &signature::RSA_PSS_2048_8192_SHA256,
        (SignatureScheme::RsaPssSha384, _) => &signature::RSA_PSS_2048_8192_SHA384,
        (SignatureScheme::RsaPssSha512, _) => &signature::RSA_PSS_2048_8192_SHA512,
    };
    verify_with(alg, spki, message, signature)
}

/// Verifies a classic ECDSA AUTH signature (methods 9, 10, 11): r | s, each the size of
/// the curve order (RFC 4754 §7).
///
/// # Errors
/// As [`verify_signature`]; RSA schemes give [`CryptoError::KeyDoesNotMatchScheme`].
pub fn verify_ecdsa_fixed(
    scheme: SignatureScheme,
    spki: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    // RFC 4754 ties each method to one curve and hash.
    check_key_fits(scheme, spki, false)?;
    let alg: &'static dyn VerificationAlgorithm = match scheme {
        SignatureScheme::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_FIXED,
        SignatureScheme::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_FIXED,
        SignatureScheme::EcdsaP521Sha512 => &signature::ECDSA_P521_SHA512_FIXED,
        _ => return Err(CryptoError::KeyDoesNotMatchScheme { scheme }),
    };
    verify_with(alg, spki, message, signature)
}
