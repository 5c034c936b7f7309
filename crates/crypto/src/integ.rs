//! Integrity algorithms with truncated ICVs (Transform Type 3; RFC 2404, RFC 4868).

use aws_lc_rs::{constant_time, hmac};

use crate::CryptoError;

/// An IKEv2/ESP integrity algorithm: HMAC truncated to half its output (RFC 4868 §2.3
/// for SHA-2, RFC 2404 for SHA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegAlgorithm {
    /// AUTH_HMAC_SHA1_96 (RFC 2404), transform ID 2.
    HmacSha1_96,
    /// AUTH_HMAC_SHA2_256_128 (RFC 4868), transform ID 12.
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192 (RFC 4868), transform ID 13.
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256 (RFC 4868), transform ID 14.
    HmacSha512_256,
}

impl IntegAlgorithm {
    /// The IANA Transform Type 3 ID.
    pub fn iana_id(self) -> u16 {
        match self {
            Self::HmacSha1_96 => 2,
            Self::HmacSha256_128 => 12,
            Self::HmacSha384_192 => 13,
            Self::HmacSha512_256 => 14,
        }
    }

    /// The algorithm for an IANA Transform Type 3 ID, if we implement it.
    pub fn from_iana_id(id: u16) -> Option<Self> {
        Some(match id {
            2 => Self::HmacSha1_96,
            12 => Self::HmacSha256_128,
            13 => Self::HmacSha384_192,
            14 => Self::HmacSha512_256,
            _ => return None,
        })
    }

    /// Key length in bytes: the full hash output (RFC 4868 §2.1.1 fixes 256, 384 and
    /// 512 bits for the SHA-2 variants; RFC 2404 §3 160 bits for SHA-1).
    pub fn key_len(self) -> usize {
        match self {
            Self::HmacSha1_96 => 20,
            Self::HmacSha256_128 => 32,
            Self::HmacSha384_192 => 48,
            Self::HmacSha512_256 => 64,
        }
    }

    /// ICV length in bytes: the HMAC output truncated to half (RFC 4868 §2.3).
    pub fn icv_len(self) -> usize {
        match self {
            Self::HmacSha1_96 => 12,
            Self::HmacSha256_128 => 16,
            Self::HmacSha384_192 => 24,
            Self::HmacSha512_256 => 32,
        }
    }

    fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            Self::HmacSha1_96 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::HmacSha256_128 => hmac::HMAC_SHA256,
            Self::HmacSha384_192 => hmac::HMAC_SHA384,
            Self::HmacSha512_256 => hmac::HMAC_SHA512,
        }
    }

    /// A keyed instance.
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`] unless `key` is exactly [`key_len`](Self::key_len)
    /// bytes: RFC 4868 §2.1.1 fixes the key size for use in IPsec.
    pub fn key(self, key: &[u8]) -> Result<IntegKey, CryptoError> {
        if key.len() != self.key_len() {
            return Err(CryptoError::KeyLength {
                what: "integrity key",
                expected: self.key_len(),
                actual: key.len(),
            });
        }
        Ok(IntegKey {
            algorithm: self,
            key: hmac::Key::new(self.hmac_algorithm(), key),
        })
    }

    /// The truncated ICV of `data` under `key` (one-shot form of [`IntegKey::compute`]).
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`] if `key` has the wrong length.
    pub fn compute(self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.key(key)?.compute(&[data]))
    }

    /// Checks `icv` over `data` under `key` in constant time (one-shot form of
    /// [`IntegKey::verify`]).
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`] for a bad key, [`CryptoError::AuthenticationFailed`]
    /// on mismatch.
    pub fn verify(self, key: &[u8], data: &[u8], icv: &[u8]) -> Result<(), CryptoError> {
        self.key(key)?.verify(&[data], icv)
    }
}

impl std::fmt::Display for IntegAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::HmacSha1_96 => "AUTH_HMAC_SHA1_96",
            Self::HmacSha256_128 => "AUTH_HMAC_SHA2_256_128",
            Self::HmacSha384_192 => "AUTH_HMAC_SHA2_384_192",
            Self::HmacSha512_256 => "AUTH_HMAC_SHA2_512_256",
        })
    }
}

/// An integrity algorithm with its key. `Debug` does not show the key.
#[derive(Clone)]
pub struct IntegKey {
    algorithm: IntegAlgorithm,
    key: hmac::Key,
}

impl IntegKey {
    /// The algorithm.
    pub fn algorithm(&self) -> IntegAlgorithm {
        self.algorithm
    }

    /// The truncated ICV over the concatenation of `parts`.
    pub fn compute(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(part);
        }
        let tag = ctx.sign();
        tag.as_ref()[..self.algorithm.icv_len()].to_vec()
    }

    /// Checks `icv` against the ICV over `parts`, in constant time.
    ///
    /// # Errors
    /// [`CryptoError::AuthenticationFailed`] on mismatch or wrong ICV length.
    pub fn verify(&self, parts: &[&[u8]], icv: &[u8]) -> Result<(), CryptoError> {
        let expected = self.compute(parts);
        #[allow(deprecated)]
        constant_time::verify_slices_are_equal(&expected, icv)
            .map_err(|_| CryptoError::AuthenticationFailed)
    }
}

impl std::fmt::Debug for IntegKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegKey")
            .field("algorithm", &self.algorithm)
            .field("key", &"***")
            .finish()
    }
}
