//! Cryptography for Corridor's IKEv2 initiator (RFC 7296) and ESP, over aws-lc-rs
//! (and crypto-bigint for the MODP groups), with no I/O: randomness is injected.
//!
//! # What is here
//!
//! | need | API | RFC |
//! |---|---|---|
//! | randomness | [`Random`] (trait), [`SystemRandom`], [`DeterministicRandom`] (**no security**, simulations and fuzzing) | |
//! | key material | [`SecretBytes`]: zeroed on drop, `Debug` prints `***` | |
//! | PRF, prf+ | [`PrfAlgorithm::prf`], [`PrfAlgorithm::prf_parts`], [`PrfAlgorithm::prf_plus`] | 7296 §2.13 |
//! | IKE SA keys | [`derive_ike_sa_keys`] → (SKEYSEED, [`IkeSaKeys`]) | 7296 §2.14 |
//! | IKE SA rekey | [`derive_rekeyed_ike_sa_keys`] (old PRF for SKEYSEED, new PRF for prf+) | 7296 §2.18 |
//! | Child SA keys | [`derive_child_sa_keys`] → [`ChildSaKeys`] | 7296 §2.17 |
//! | SK/SKF payloads | [`SkCrypter`]: `encrypted_len`, `seal`, `open` | 7296 §3.14, 5282, 7634 |
//! | integrity | [`IntegAlgorithm`], [`IntegKey`] (truncated HMAC, constant-time verify) | 4868, 2404 |
//! | ciphers | [`EncrAlgorithm`] (AES-GCM-16, ChaCha20-Poly1305, AES-CBC) sizes | 5282, 7634, 3602 |
//! | key exchange | [`DhGroup`], [`KeyExchange`] (`generate`, `public_key`, `agree`) | 3526, 5903, 8031 |
//! | AUTH signatures | [`SignatureScheme`], [`SigningKey`], [`verify_signature`], [`verify_ecdsa_fixed`] | 7427, 4754 |
//! | errors | [`CryptoError`] | |
//!
//! # Typical IKE_SA_INIT → IKE_AUTH flow
//!
//! ```
//! use corridor_crypto::*;
//!
//! # fn main() -> Result<(), CryptoError> {
//! let mut rng = DeterministicRandom::from_u64(7); // SystemRandom in production
//! let ours = KeyExchange::generate(DhGroup::Curve25519, &mut rng)?;
//! // ... send ours.public_key() in KEi, receive KEr ...
//! # let theirs = KeyExchange::generate(DhGroup::Curve25519, &mut rng)?;
//! let shared = ours.agree(theirs.public_key())?;
//! let (ni, nr) = ([1u8; 32], [2u8; 32]);
//! let (spi_i, spi_r) = ([1u8; 8], [2u8; 8]);
//! let encr = EncrAlgorithm::AesGcm16 { key_bits: 256 };
//! let (_skeyseed, keys) = derive_ike_sa_keys(
//!     PrfAlgorithm::HmacSha256, encr, None, shared.expose(), &ni, &nr, spi_i, spi_r,
//! )?;
//! let outbound = SkCrypter::new(encr, None, keys.sk_ei.expose(), None)?;
//! let inner = b"inner payloads";
//! let body_len = outbound.encrypted_len(inner.len());
//! // ... write the IKE header and SK payload header using body_len ...
//! # let header = [0u8; 32];
//! let body = outbound.seal(&mut rng, &header, inner)?;
//! assert_eq!(body.len(), body_len);
//! # let inbound = SkCrypter::new(encr, None, keys.sk_ei.expose(), None)?;
//! # assert_eq!(inbound.open(&header, &body)?, inner);
//! # Ok(()) }
//! ```
//!
//! # Signatures in AUTH payloads
//!
//! ```
//! use corridor_crypto::*;
//!
//! # fn main() -> Result<(), CryptoError> {
//! # let rng = aws_lc_rs::rand::SystemRandom::new();
//! # let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
//! #     &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
//! # let der = pkcs8.as_ref();
//! let key = SigningKey::from_der(der)?; // PKCS#8, PKCS#1 or SEC1
//! let scheme = key.available_schemes()[0];
//! let octets = b"InitiatorSignedOctets";
//! // RFC 7427 Authentication Data: length, AlgorithmIdentifier, signature.
//! let alg_id = scheme.algorithm_identifier();
//! let signature = key.sign(scheme, octets)?;
//! // The receiving side maps the AlgorithmIdentifier back and checks with the
//! // certificate's SubjectPublicKeyInfo.
//! assert_eq!(SignatureScheme::from_algorithm_identifier(alg_id)?, scheme);
//! verify_signature(scheme, &key.public_key_spki()?, octets, &signature)?;
//! # Ok(()) }
//! ```
//!
//! # Conventions
//!
//! - Keys for AEADs include their 4-byte salt at the end, exactly as prf+ produces them
//!   ([`EncrAlgorithm::key_len`]).
//! - Public values and shared secrets use the IKEv2 wire formats (see [`DhGroup`]).
//! - Bad input (a peer's public value, a ciphertext, a signature) gives a
//!   [`CryptoError`], never a panic. The only panic is [`SystemRandom`] when the
//!   operating system cannot supply randomness.
//! - Nothing here logs, and no secret is printable by `Debug`.
//! - `SkCrypter`, `KeyExchange`, `SigningKey` and the key types are `Send + Sync`.
//! - ML-KEM (RFC 9370 additional key exchanges) will join [`DhGroup`] (which is
//!   `#[non_exhaustive]`) and [`KeyExchange`], whose fields are private; a KEM's
//!   responder side will need an encapsulate call beside `agree`.
//! - Signing draws its randomness (PSS salt, ECDSA nonce) from the backend, not from
//!   the injected [`Random`]: signatures are the one output a seed does not reproduce.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod dh;
mod encr;
mod error;
mod integ;
mod keys;
mod prf;
mod random;
mod secret;
mod sig;
mod sk;

pub use dh::{DhGroup, KeyExchange};
pub use encr::{AEAD_SALT_LEN, EncrAlgorithm};
pub use error::CryptoError;
pub use integ::{IntegAlgorithm, IntegKey};
pub use keys::{
    ChildSaKeys, IkeSaKeys, derive_child_sa_keys, derive_ike_sa_keys, derive_rekeyed_ike_sa_keys,
};
pub use prf::PrfAlgorithm;
pub use random::{DeterministicRandom, Random, SystemRandom};
pub use secret::SecretBytes;
pub use sig::{SignatureScheme, SigningKey, verify_ecdsa_fixed, verify_signature};
pub use sk::SkCrypter;

#[cfg(test)]
mod tests {
    use super::*;

    /// The `ike` and `esp` layers keep these in state machines that may move between
    /// threads of an async runtime.
    #[test]
    fn state_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SkCrypter>();
        check::<KeyExchange>();
        check::<SigningKey>();
        check::<IntegKey>();
        check::<SecretBytes>();
        check::<IkeSaKeys>();
        check::<DeterministicRandom>();
    }
}
