//! Pseudorandom functions and prf+ (RFC 7296 §2.13).

use aws_lc_rs::hmac;

use crate::{CryptoError, SecretBytes};

/// An IKEv2 PRF (Transform Type 2). All of ours are HMACs, which take keys of any
/// length, so no key truncation or padding is ever needed (RFC 7296 §2.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrfAlgorithm {
    /// PRF_HMAC_SHA1 (RFC 2104), transform ID 2.
    HmacSha1,
    /// PRF_HMAC_SHA2_256 (RFC 4868), transform ID 5.
    HmacSha256,
    /// PRF_HMAC_SHA2_384 (RFC 4868), transform ID 6.
    HmacSha384,
    /// PRF_HMAC_SHA2_512 (RFC 4868), transform ID 7.
    HmacSha512,
}

impl PrfAlgorithm {
    /// The IANA Transform Type 2 ID.
    pub fn iana_id(self) -> u16 {
        match self {
            Self::HmacSha1 => 2,
            Self::HmacSha256 => 5,
            Self::HmacSha384 => 6,
            Self::HmacSha512 => 7,
        }
    }

    /// The PRF for an IANA Transform Type 2 ID, if we implement it.
    pub fn from_iana_id(id: u16) -> Option<Self> {
        Some(match id {
            2 => Self::HmacSha1,
            5 => Self::HmacSha256,
            6 => Self::HmacSha384,
            7 => Self::HmacSha512,
            _ => return None,
        })
    }

    /// Output length in bytes, which is also the preferred key length (RFC 4868 §2.1.2).
    pub fn output_len(self) -> usize {
        match self {
            Self::HmacSha1 => 20,
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            Self::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::HmacSha256 => hmac::HMAC_SHA256,
            Self::HmacSha384 => hmac::HMAC_SHA384,
            Self::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    /// `prf(key, data)`.
    pub fn prf(self, key: &[u8], data: &[u8]) -> SecretBytes {
        self.prf_parts(key, &[data])
    }

    /// `prf(key, part0 | part1 | ...)` without building the concatenation.
    pub fn prf_parts(self, key: &[u8], parts: &[&[u8]]) -> SecretBytes {
        let key = hmac::Key::new(self.hmac_algorithm(), key);
        let mut ctx = hmac::Context::with_key(&key);
        for part in parts {
            ctx.update(part);
        }
        SecretBytes::from_slice(ctx.sign().as_ref())
    }

    /// The most bytes [`prf_plus`](Self::prf_plus) can produce: 255 PRF outputs.
    pub fn prf_plus_max_len(self) -> usize {
        255 * self.output_len()
    }

    /// `prf+(key, seed)` truncated to `len` bytes.
    ///
    /// RFC 7296 §2.13:
    ///
    /// > prf+ (K,S) = T1 | T2 | T3 | T4 | ...
    /// >
    /// > where:
    /// > T1 = prf (K, S | 0x01)
    /// > T2 = prf (K, T1 | S | 0x02)
    /// > T3 = prf (K, T2 | S | 0x03)
    /// > T4 = prf (K, T3 | S | 0x04)
    ///
    /// # Errors
    /// [`CryptoError::PrfPlusTooLong`] beyond 255 outputs: "The prf+ function is not
    /// defined beyond 255 times the size of the prf function output."
    pub fn prf_plus(self, key: &[u8], seed: &[u8], len: usize) -> Result<SecretBytes, CryptoError> {
        self.prf_plus_parts(key, &[seed], len)
    }

    /// [`prf_plus`](Self::prf_plus) with the seed given as parts to concatenate.
    pub(crate) fn prf_plus_parts(
        self,
        key: &[u8],
        seed: &[&[u8]],
        len: usize,
    ) -> Result<SecretBytes, CryptoError> {
        let max = self.prf_plus_max_len();
        if len > max {
            return Err(CryptoError::PrfPlusTooLong {
                requested: len,
                max,
            });
        }
        let key = hmac::Key::new(self.hmac_algorithm(), key);
        let mut out = SecretBytes::new(Vec::with_capacity(len + self.output_len()));
        let mut previous: Option<hmac::Tag> = None;
        let mut counter: u8 = 1;
        while out.len() < len {
            let mut ctx = hmac::Context::with_key(&key);
            if let Some(t) = &previous {
                ctx.update(t.as_ref());
            }
            for part in seed {
                ctx.update(part);
            }
            ctx.update(&[counter]);
            let t = ctx.sign();
            out.extend_from_slice(t.as_ref());
            previous = Some(t);
            // Cannot wrap: len <= 255 * output_len bounds the loop to 255 rounds.
            counter = counter.wrapping_add(1);
        }
        Ok(out.take_front(len))
    }
}

impl std::fmt::Display for PrfAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::HmacSha1 => "PRF_HMAC_SHA1",
            Self::HmacSha256 => "PRF_HMAC_SHA2_256",
            Self::HmacSha384 => "PRF_HMAC_SHA2_384",
            Self::HmacSha512 => "PRF_HMAC_SHA2_512",
        })
    }
}
