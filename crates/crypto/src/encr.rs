//! Encryption algorithms (Transform Type 1) and their sizes.

use crate::CryptoError;

/// An IKEv2/ESP encryption algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncrAlgorithm {
    /// ENCR_AES_GCM_16 (RFC 4106, RFC 5282), transform ID 20, with a 16-byte ICV.
    AesGcm16 {
        /// 128 or 256 (192 is not offered by this crate).
        key_bits: u16,
    },
    /// ENCR_CHACHA20_POLY1305 (RFC 7634), transform ID 28.
    ChaCha20Poly1305,
    /// ENCR_AES_CBC (RFC 3602), transform ID 12, with a separate integrity algorithm.
    AesCbc {
        /// 128 or 256 (192 is not offered by this crate).
        key_bits: u16,
    },
}

/// Length of the salt that AEAD keying material carries after the key (RFC 5282 §7.1,
/// RFC 7634 §2).
pub const AEAD_SALT_LEN: usize = 4;

impl EncrAlgorithm {
    /// The IANA Transform Type 1 ID.
    pub fn iana_id(self) -> u16 {
        match self {
            Self::AesGcm16 { .. } => 20,
            Self::ChaCha20Poly1305 => 28,
            Self::AesCbc { .. } => 12,
        }
    }

    /// The algorithm for an IANA Transform Type 1 ID and its Key Length attribute
    /// (in bits; `None` when the transform carries none).
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedAlgorithm`] for IDs or key lengths we do not implement,
    /// including a missing key length where the algorithm needs one.
    pub fn from_iana_id(id: u16, key_bits: Option<u16>) -> Result<Self, CryptoError> {
        let alg = match (id, key_bits) {
            (20, Some(bits)) => Self::AesGcm16 { key_bits: bits },
            (28, None) => Self::ChaCha20Poly1305,
            (12, Some(bits)) => Self::AesCbc { key_bits: bits },
            (20 | 12, None) => {
                return Err(CryptoError::UnsupportedAlgorithm {
                    reason: "AES transforms need a Key Length attribute",
                });
            }
            (28, Some(_)) => {
                // RFC 7634 defines ChaCha20-Poly1305 with one fixed key size and no
                // Key Length attribute.
                return Err(CryptoError::UnsupportedAlgorithm {
                    reason: "ChaCha20-Poly1305 must not carry a Key Length attribute",
                });
            }
            _ => {
                return Err(CryptoError::UnsupportedAlgorithm {
                    reason: "encryption transform ID not implemented",
                });
            }
        };
        alg.check()?;
        Ok(alg)
    }

    /// Rejects AES key sizes other than 128 and 256 bits.
    pub(crate) fn check(self) -> Result<(), CryptoError> {
        match self {
            Self::AesGcm16 { key_bits } | Self::AesCbc { key_bits }
                if key_bits != 128 && key_bits != 256 =>
            {
                Err(CryptoError::UnsupportedAlgorithm {
                    reason: "AES key length must be 128 or 256 bits",
                })
            }
            _ => Ok(()),
        }
    }

    /// Whether this is an AEAD (combined-mode) cipher, which takes no separate
    /// integrity transform.
    pub fn is_aead(self) -> bool {
        matches!(self, Self::AesGcm16 { .. } | Self::ChaCha20Poly1305)
    }

    /// Bytes of keying material to take from prf+/KEYMAT for this algorithm.
    ///
    /// For AEADs this includes the 4-byte salt taken right after the key (RFC 5282 §7.1
    /// for AES-GCM: key length plus 4 octets of salt; RFC 7634 §2 for ChaCha20-Poly1305:
    /// 36 octets, 32 of key and 4 of salt).
    pub fn key_len(self) -> usize {
        self.cipher_key_len() + if self.is_aead() { AEAD_SALT_LEN } else { 0 }
    }

    /// The key of the cipher itself, without any salt.
    pub fn cipher_key_len(self) -> usize {
        match self {
            Self::AesGcm16 { key_bits } | Self::AesCbc { key_bits } => usize::from(key_bits / 8),
            Self::ChaCha20Poly1305 => 32,
        }
    }

    /// Length of the IV carried in each message: 8 bytes for the AEADs (RFC 5282 §3.1,
    /// RFC 7634 §2), one block (16 bytes) for AES-CBC (RFC 3602 §2.1).
    pub fn iv_len(self) -> usize {
        if self.is_aead() { 8 } else { 16 }
    }

    /// The cipher's block size for padding: 16 for AES-CBC, 1 for the counter-mode
    /// AEADs, which need no alignment in IKE (ESP adds its own 4-byte alignment).
    pub fn block_len(self) -> usize {
        if self.is_aead() { 1 } else { 16 }
    }

    /// Length of the AEAD tag (16 for both AEADs here), or 0 for AES-CBC, whose ICV
    /// comes from the integrity algorithm.
    pub fn icv_len(self) -> usize {
        if self.is_aead() { 16 } else { 0 }
    }
}

impl std::fmt::Display for EncrAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AesGcm16 { key_bits } => write!(f, "ENCR_AES_GCM_16_{key_bits}"),
            Self::ChaCha20Poly1305 => f.write_str("ENCR_CHACHA20_POLY1305"),
            Self::AesCbc { key_bits } => write!(f, "ENCR_AES_CBC_{key_bits}"),
        }
    }
}
