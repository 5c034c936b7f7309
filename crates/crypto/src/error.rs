//! The one error type of this crate.

use crate::dh::DhGroup;
use crate::sig::SignatureScheme;

/// Why a cryptographic operation failed.
///
/// Messages say what was wrong in plain words. None of them carries key material, and
/// none tells a peer more than "it failed": an ICV mismatch and bad padding are reported
/// as distinct variants for our own logs, but the `ike` layer treats both the same way on
/// the wire: the message is discarded without an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The peer's key exchange public value is malformed or outside the group.
    #[error("the peer's {group} public value is invalid: {reason}")]
    InvalidPeerPublicKey {
        /// The group the value was meant for.
        group: DhGroup,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An integrity check value (or AEAD tag) did not match: the message was altered, or
    /// it was protected with other keys.
    #[error("integrity check failed: the message was altered or uses other keys")]
    AuthenticationFailed,
    /// The decrypted padding is not consistent with the message length.
    #[error("bad padding: {reason}")]
    BadPadding {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An encrypted body is too short or not a whole number of cipher blocks.
    #[error("malformed encrypted data: {reason}")]
    MalformedCiphertext {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key given to an algorithm has the wrong length.
    #[error("{what} must be {expected} bytes long, got {actual}")]
    KeyLength {
        /// Which key.
        what: &'static str,
        /// The length the algorithm needs.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// An algorithm was configured with parameters it does not support.
    #[error("unsupported algorithm parameters: {reason}")]
    UnsupportedAlgorithm {
        /// What is not supported.
        reason: &'static str,
    },
    /// prf+ was asked for more output than RFC 7296 §2.13 allows (255 iterations).
    #[error(
        "prf+ cannot produce {requested} bytes: at most {max} bytes (255 PRF outputs) are allowed"
    )]
    PrfPlusTooLong {
        /// Bytes asked for.
        requested: usize,
        /// The most this PRF can give.
        max: usize,
    },
    /// A Diffie-Hellman group number this crate does not implement.
    #[error("key exchange group {0} is not supported")]
    UnsupportedGroup(u16),
    /// A private key could not be parsed or is of a kind this crate does not sign with.
    #[error("unsupported or malformed private key: {reason}")]
    UnsupportedKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signing key cannot produce signatures of the requested scheme.
    #[error("the signing key cannot produce {scheme:?} signatures")]
    SchemeNotSupportedByKey {
        /// The scheme asked for.
        scheme: SignatureScheme,
    },
    /// The peer's public key is of another type or curve than the signature scheme.
    #[error("the public key does not fit the {scheme:?} signature scheme")]
    KeyDoesNotMatchScheme {
        /// The scheme of the signature.
        scheme: SignatureScheme,
    },
    /// A signature did not verify with the given public key.
    #[error("the signature does not verify")]
    BadSignature,
    /// An RFC 7427 AlgorithmIdentifier this crate does not know.
    #[error("unknown or unsupported signature AlgorithmIdentifier")]
    UnknownAlgorithmIdentifier,
    /// Too many messages were protected under one key (the 64-bit AEAD IV counter ran
    /// out); the SA must be rekeyed.
    #[error("the IV counter for this key is exhausted; the SA must be rekeyed")]
    IvExhausted,
    /// The crypto backend failed in a way that input does not explain.
    #[error("internal cryptographic failure during {operation}")]
    Backend {
        /// What was being done.
        operation: &'static str,
    },
}
