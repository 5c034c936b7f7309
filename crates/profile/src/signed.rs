//! Signed profiles: IT signs a profile file; a computer whose policy trusts IT's key
//! knows the profile arrived unchanged.
//!
//! A signed profile is a JSON envelope around the exact bytes of the signed file, which
//! may be in any format Corridor imports:
//!
//! ```json
//! {
//!   "format": "corridor-signed-profile",
//!   "version": 1,
//!   "profile": "<base64 of the file>",
//!   "signature": {
//!     "algorithm": "ecdsa-p256-sha256",
//!     "public_key": "<base64 of the DER SubjectPublicKeyInfo>",
//!     "value": "<base64 of the signature>"
//!   }
//! }
//! ```
//!
//! The signed message is [`SIGNATURE_CONTEXT`] followed by the file's bytes, so that a
//! signature the same key makes for any other purpose can never pass as a profile
//! signature. The key in the envelope only says which key signed; trust comes from the
//! policy's list of trusted signers, compared byte for byte.
//!
//! Keys are PKCS#8 PEM files (`-----BEGIN PRIVATE KEY-----`): EC P-256 (ECDSA with
//! SHA-256, DER signature), Ed25519, or RSA of 2048 bits or more (RSASSA-PSS with SHA-256,
//! RFC 8017 §8.1).

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use corridor_model::{Base64Bytes, Policy};
use rustls_pki_types::pem::{self, PemObject as _};
use rustls_pki_types::{PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};
use serde::{Deserialize, Serialize};

use crate::error::{InputError, InputErrorKind};

/// The value of `format` in a signed profile.
pub const SIGNED_FORMAT_NAME: &str = "corridor-signed-profile";
/// The envelope version this build reads and writes.
pub const SIGNED_FORMAT_VERSION: u32 = 1;
/// What precedes the file's bytes in the signed message (domain separation).
pub const SIGNATURE_CONTEXT: &[u8] = b"corridor-signed-profile v1\0";

/// The smallest RSA modulus accepted for signing, in bits (RFC 8247 §3 asks for 2048).
const MIN_RSA_BITS: usize = 2048;

/// A signature algorithm of the envelope.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum SignatureAlgorithm {
    /// ECDSA over NIST P-256 with SHA-256, ASN.1 DER signature.
    #[serde(rename = "ecdsa-p256-sha256")]
    EcdsaP256Sha256,
    /// Ed25519 (RFC 8032).
    #[serde(rename = "ed25519")]
    Ed25519,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256, 32-byte salt.
    #[serde(rename = "rsa-pss-sha256")]
    RsaPssSha256,
}

impl SignatureAlgorithm {
    fn verification(self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            Self::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            Self::Ed25519 => &signature::ED25519,
            Self::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Self::Ed25519 => "ed25519",
            Self::RsaPssSha256 => "rsa-pss-sha256",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    format: String,
    version: u32,
    profile: Base64Bytes,
    signature: SignatureBlock,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureBlock {
    algorithm: SignatureAlgorithm,
    public_key: Base64Bytes,
    value: Base64Bytes,
}

/// Why a key could not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The key file holds no usable PKCS#8 PEM private key.
    #[error("{0}")]
    Key(String),
    /// A public key PEM file holds no usable public key.
    #[error("{0}")]
    PublicKey(String),
    /// The signing operation failed.
    #[error("signing failed")]
    Signing,
}

/// A private key that can sign profiles. `Debug` never shows the key.
enum SigningKey {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

const KEY_KINDS: &str = "an EC P-256, Ed25519 or RSA (2048 bits or more) private key";

impl SigningKey {
    fn from_pem(key_pem: &[u8]) -> Result<Self, SignError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            pem::Error::NoItemsFound => SignError::Key(format!(
                "no unencrypted PKCS#8 private key (-----BEGIN PRIVATE KEY-----) in the file; \
                 expected {KEY_KINDS} (convert other forms with `openssl pkcs8 -topk8 -nocrypt`)"
            )),
            other => SignError::Key(format!("cannot read the key file: {other}")),
        })?;
        let der = der.secret_pkcs8_der();
        if let Ok(key) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der) {
            return Ok(Self::Ecdsa(key));
        }
        if let Ok(key) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Ok(Self::Ed25519(key));
        }
        if let Ok(key) = RsaKeyPair::from_pkcs8(der) {
            let bits = key.public_modulus_len() * 8;
            if bits < MIN_RSA_BITS {
                return Err(SignError::Key(format!(
                    "the RSA key has {bits} bits; profile signing keys need {MIN_RSA_BITS} or more"
                )));
            }
            return Ok(Self::Rsa(key));
        }
        Err(SignError::Key(format!(
            "the PKCS#8 key is not {KEY_KINDS} (other curves and key types are not supported)"
        )))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            Self::Ecdsa(_) => SignatureAlgorithm::EcdsaP256Sha256,
            Self::Ed25519(_) => SignatureAlgorithm::Ed25519,
            Self::Rsa(_) => SignatureAlgorithm::RsaPssSha256,
        }
    }

    fn public_key_der(&self) -> Result<Vec<u8>, SignError> {
        let der = match self {
            Self::Ecdsa(k) => k.public_key().as_der(),
            Self::Ed25519(k) => k.public_key().as_der(),
            Self::Rsa(k) => k.public_key().as_der(),
        };
        der.map(|d| d.as_ref().to_vec())
            .map_err(|_| SignError::Signing)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let rng = SystemRandom::new();
        match self {
            Self::Ecdsa(k) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError::Signing),
            Self::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            Self::Rsa(k) => {
                let mut out = vec![0; k.public_modulus_len()];
                k.sign(&signature::RSA_PSS_SHA256, &rng, message, &mut out)
                    .map_err(|_| SignError::Signing)?;
                Ok(out)
            }
        }
    }
}

fn signed_message(file_bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + file_bytes.len());
    message.extend_from_slice(SIGNATURE_CONTEXT);
    message.extend_from_slice(file_bytes);
    message
}

/// Signs the exact bytes of a profile file with a PKCS#8 PEM private key and returns the
/// envelope as pretty-printed JSON (with a final newline).
///
/// Whether the file is a valid profile is the caller's check (the CLI imports it first).
///
/// # Errors
/// The key is not a supported PKCS#8 private key, or signing failed.
pub fn sign(file_bytes: &[u8], key_pem: &[u8]) -> Result<String, SignError> {
    let key = SigningKey::from_pem(key_pem)?;
    let value = key.sign(&signed_message(file_bytes))?;
    let envelope = Envelope {
        format: SIGNED_FORMAT_NAME.to_string(),
        version: SIGNED_FORMAT_VERSION,
        profile: Base64Bytes(file_bytes.to_vec()),
        signature: SignatureBlock {
            algorithm: key.algorithm(),
            public_key: Base64Bytes(key.public_key_der()?),
            value: Base64Bytes(value),
        },
    };
    let mut text = serde_json::to_string_pretty(&envelope).map_err(|_| SignError::Signing)?;
    text.push('\n');
    Ok(text)
}

/// The public key of a PKCS#8 PEM private key, as a SubjectPublicKeyInfo PEM
/// (`-----BEGIN PUBLIC KEY-----`), to hand to administrators.
///
/// # Errors
/// The key is not a supported PKCS#8 private key.
pub fn public_key_pem(key_pem: &[u8]) -> Result<String, SignError> {
    let key = SigningKey::from_pem(key_pem)?;
    Ok(spki_pem(&key.public_key_der()?))
}

/// Encodes a DER SubjectPublicKeyInfo as PEM, 64 characters a line (RFC 7468 §2).
pub fn spki_pem(spki_der: &[u8]) -> String {
    let b64 = Base64Bytes(spki_der.to_vec()).encode();
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}

/// Reads a public key PEM file (`-----BEGIN PUBLIC KEY-----`) and checks that it is a key
/// profiles can be signed with; returns the DER SubjectPublicKeyInfo.
///
/// # Errors
/// No public key in the text, or one of an unsupported type.
pub fn public_key_from_pem(pem_text: &[u8]) -> Result<Vec<u8>, SignError> {
    let der = SubjectPublicKeyInfoDer::from_pem_slice(pem_text).map_err(|e| match e {
        pem::Error::NoItemsFound => SignError::PublicKey(
            "no public key (-----BEGIN PUBLIC KEY-----) in the file; make one with `corridor \
             profile public-key --key KEY`"
                .to_string(),
        ),
        other => SignError::PublicKey(format!("cannot read the public key: {other}")),
    })?;
    let der = der.as_ref().to_vec();
    if key_algorithm(&der).is_none() {
        return Err(SignError::PublicKey(
            "the public key is not an EC P-256, Ed25519 or RSA (2048 bits or more) key".to_string(),
        ));
    }
    Ok(der)
}

/// The signature algorithm a public key is for, if it is a supported kind.
fn key_algorithm(spki_der: &[u8]) -> Option<SignatureAlgorithm> {
    [
        SignatureAlgorithm::EcdsaP256Sha256,
        SignatureAlgorithm::Ed25519,
        SignatureAlgorithm::RsaPssSha256,
    ]
    .into_iter()
    .find(|alg| signature::ParsedPublicKey::new(alg.verification(), spki_der).is_ok())
}

/// The SHA-256 fingerprint of a DER SubjectPublicKeyInfo, as `ssh-keygen -l` prints
/// them: `SHA256:` and unpadded base64.
pub fn fingerprint(spki_der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki_der);
    let b64 = Base64Bytes(digest.as_ref().to_vec()).encode();
    format!("SHA256:{}", b64.trim_end_matches('='))
}

/// Whether the text is a signed-profile envelope (JSON with
/// `"format": "corridor-signed-profile"`).
pub fn is_envelope(json_text: &str) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        format: Option<serde_json::Value>,
    }
    if !json_text.trim_start().starts_with('{') {
        return false;
    }
    serde_json::from_str::<Probe>(json_text)
        .ok()
        .and_then(|p| p.format)
        .is_some_and(|f| f == SIGNED_FORMAT_NAME)
}

/// The signed file's bytes from an envelope, without checking the signature: for
/// inspecting what a signed profile holds (the service refuses file references in it),
/// never for importing. `None` when the text is no well-formed envelope.
pub fn payload(text: &str) -> Option<Vec<u8>> {
    serde_json::from_str::<Envelope>(text)
        .ok()
        .map(|envelope| envelope.profile.0)
}

/// A verified signed profile.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Opened {
    /// The signed file's exact bytes.
    pub bytes: Vec<u8>,
    /// The name the policy gives the signing key.
    pub signer: String,
    /// The signing key's fingerprint (`SHA256:…`).
    pub fingerprint: String,
}

/// Checks a signed profile against the policy and returns the signed file.
///
/// # Errors
/// The envelope is malformed (the error names the field), the signature does not verify
/// (the profile was changed after signing), the key is not trusted by `policy`, or the
/// signed file is itself a signed profile.
pub fn open(origin: &str, text: &str, policy: &Policy) -> Result<Opened, InputError> {
    let invalid = |field: &str, reason: String| {
        InputError::at_field(origin, field, InputErrorKind::Invalid(reason))
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let envelope: Envelope = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        InputError::at_field(origin, path, InputErrorKind::Invalid(inner.to_string()))
    })?;
    if envelope.format != SIGNED_FORMAT_NAME {
        return Err(invalid(
            "format",
            format!(
                "expected \"{SIGNED_FORMAT_NAME}\", found \"{}\"",
                envelope.format
            ),
        ));
    }
    if envelope.version != SIGNED_FORMAT_VERSION {
        return Err(InputError::at_field(
            origin,
            "version",
            InputErrorKind::UnsupportedVersion {
                found: envelope.version.to_string(),
                supported: SIGNED_FORMAT_VERSION,
            },
        ));
    }
    let sig = &envelope.signature;
    let key =
        signature::ParsedPublicKey::new(sig.algorithm.verification(), sig.public_key.0.as_slice())
            .map_err(|_| {
                invalid(
                    "signature.public_key",
                    format!("not a {} public key", sig.algorithm.name()),
                )
            })?;
    let bytes = envelope.profile.0;
    key.verify_sig(&signed_message(&bytes), &sig.value.0)
        .map_err(|_| InputError::at_field(origin, "signature", InputErrorKind::Tampered))?;
    let fingerprint = fingerprint(&sig.public_key.0);
    let signer = policy
        .trusted_signers
        .iter()
        .find(|s| s.public_key.0 == sig.public_key.0)
        .ok_or_else(|| {
            InputError::at_field(
                origin,
                "signature.public_key",
                InputErrorKind::UntrustedSigner {
                    fingerprint: fingerprint.clone(),
                },
            )
        })?;
    if std::str::from_utf8(&bytes).is_ok_and(is_envelope) {
        return Err(invalid(
            "profile",
            "the signed file is itself a signed profile; sign the profile file directly"
                .to_string(),
        ));
    }
    Ok(Opened {
        bytes,
        signer: signer.name.clone(),
        fingerprint,
    })
}

/// Refuses an unsigned profile when the policy requires signatures.
///
/// # Errors
/// [`InputErrorKind::UnsignedRefused`] when `allow_unsigned_imports` is off.
pub fn require_signature(policy: &Policy, origin: &str) -> Result<(), InputError> {
    if policy.allow_unsigned_imports {
        Ok(())
    } else {
        Err(InputError::new(origin, InputErrorKind::UnsignedRefused))
    }
}
