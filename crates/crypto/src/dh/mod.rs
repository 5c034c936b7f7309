//! Key exchange for KE payloads (RFC 7296 §1.2, §3.4): MODP groups 14-16 (RFC 3526),
//! NIST ECP groups 19-21 (RFC 5903) and Curve25519 (RFC 8031).
//!
//! Every private value is drawn from the caller's [`Random`], so a handshake is
//! reproducible from an RNG seed. Public values and shared secrets use the IKEv2 wire
//! formats:
//!
//! | group | public value (KE data) | shared secret g^ir |
//! |---|---|---|
//! | MODP | big-endian, left-padded to the modulus length | same, left-padded |
//! | ECP | x \| y, each the field size (no 0x04 prefix, RFC 5903 §7) | x coordinate |
//! | Curve25519 | the 32-byte u-coordinate (RFC 8031 §2) | 32 bytes |

mod ecp;
mod modp;
mod modp_primes;

use crate::{CryptoError, Random, SecretBytes};

/// A key exchange method (IANA Transform Type 4 "Key Exchange Method").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DhGroup {
    /// Group 14: 2048-bit MODP (RFC 3526 §3).
    Modp2048,
    /// Group 15: 3072-bit MODP (RFC 3526 §4).
    Modp3072,
    /// Group 16: 4096-bit MODP (RFC 3526 §5).
    Modp4096,
    /// Group 19: 256-bit random ECP group, NIST P-256 (RFC 5903).
    Ecp256,
    /// Group 20: 384-bit random ECP group, NIST P-384 (RFC 5903).
    Ecp384,
    /// Group 21: 521-bit random ECP group, NIST P-521 (RFC 5903).
    Ecp521,
    /// Group 31: Curve25519 (RFC 8031).
    Curve25519,
}

impl DhGroup {
    /// All groups this crate implements, strongest-first within each family.
    pub const ALL: [DhGroup; 7] = [
        DhGroup::Curve25519,
        DhGroup::Ecp521,
        DhGroup::Ecp384,
        DhGroup::Ecp256,
        DhGroup::Modp4096,
        DhGroup::Modp3072,
        DhGroup::Modp2048,
    ];

    /// The IANA Transform Type 4 ID.
    pub fn iana_id(self) -> u16 {
        match self {
            Self::Modp2048 => 14,
            Self::Modp3072 => 15,
            Self::Modp4096 => 16,
            Self::Ecp256 => 19,
            Self::Ecp384 => 20,
            Self::Ecp521 => 21,
            Self::Curve25519 => 31,
        }
    }

    /// The group for an IANA Transform Type 4 ID, if we implement it.
    pub fn from_iana_id(id: u16) -> Option<Self> {
        Some(match id {
            14 => Self::Modp2048,
            15 => Self::Modp3072,
            16 => Self::Modp4096,
            19 => Self::Ecp256,
            20 => Self::Ecp384,
            21 => Self::Ecp521,
            31 => Self::Curve25519,
            _ => return None,
        })
    }

    /// Length of the public value in a KE payload, which is fixed per group.
    ///
    /// RFC 7296 §3.4: "The length of the Diffie-Hellman public value for modular
    /// exponentiation group (MODP) groups MUST be equal to the length of the prime
    /// modulus over which the exponentiation was performed, prepending zero bits to the
    /// value if necessary." RFC 5903 §7 fixes x | y for ECP, RFC 8031 §2 32 octets for
    /// Curve25519.
    pub fn public_len(self) -> usize {
        match self {
            Self::Modp2048 => 256,
            Self::Modp3072 => 384,
            Self::Modp4096 => 512,
            Self::Ecp256 => 64,
            Self::Ecp384 => 96,
            Self::Ecp521 => 132,
            Self::Curve25519 => 32,
        }
    }

    /// Length of the shared secret g^ir that [`KeyExchange::agree`] returns.
    pub fn shared_secret_len(self) -> usize {
        match self {
            Self::Ecp256 | Self::Ecp384 | Self::Ecp521 => self.public_len() / 2,
            _ => self.public_len(),
        }
    }
}

impl std::fmt::Display for DhGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Modp2048 => "MODP-2048 (group 14)",
            Self::Modp3072 => "MODP-3072 (group 15)",
            Self::Modp4096 => "MODP-4096 (group 16)",
            Self::Ecp256 => "ECP-256 (group 19)",
            Self::Ecp384 => "ECP-384 (group 20)",
            Self::Ecp521 => "ECP-521 (group 21)",
            Self::Curve25519 => "Curve25519 (group 31)",
        })
    }
}

enum Private {
    Modp(modp::ModpPrivate),
    Ec(ecp::EcPrivate),
}

/// One side's ephemeral key pair for one key exchange.
///
/// Create it with [`generate`](Self::generate), send [`public_key`](Self::public_key)
/// in the KE payload, and call [`agree`](Self::agree) with the peer's KE data. `Debug`
/// shows only the group.
pub struct KeyExchange {
    group: DhGroup,
    public: Vec<u8>,
    private: Private,
}

impl KeyExchange {
    /// Generates a fresh key pair for `group` from `rng`.
    ///
    /// # Errors
    /// [`CryptoError::Backend`] if the RNG keeps producing unusable private values
    /// (for example a broken RNG returning all zeros).
    pub fn generate(group: DhGroup, rng: &mut dyn Random) -> Result<Self, CryptoError> {
        let (private, public) = match group {
            DhGroup::Modp2048 | DhGroup::Modp3072 | DhGroup::Modp4096 => {
                let (private, public) = modp::ModpPrivate::generate(group, rng)?;
                (Private::Modp(private), public)
            }
            DhGroup::Ecp256 | DhGroup::Ecp384 | DhGroup::Ecp521 | DhGroup::Curve25519 => {
                let (private, public) = ecp::EcPrivate::generate(group, rng)?;
                (Private::Ec(private), public)
            }
        };
        Ok(Self {
            group,
            public,
            private,
        })
    }

    /// The group.
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// Our public value in KE payload format ([`DhGroup::public_len`] bytes).
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// Checks the peer's public value and computes the shared secret g^ir.
    ///
    /// # Errors
    /// [`CryptoError::InvalidPeerPublicKey`] if the value has the wrong length, is out
    /// of range (MODP), not on the curve (ECP) or of low order (Curve25519).
    pub fn agree(&self, peer_public: &[u8]) -> Result<SecretBytes, CryptoError> {
        if peer_public.len() != self.group.public_len() {
            return Err(CryptoError::InvalidPeerPublicKey {
                group: self.group,
                reason: "wrong length for this group",
            });
        }
        match &self.private {
            Private::Modp(private) => private.agree(peer_public),
            Private::Ec(private) => private.agree(peer_public),
        }
    }
}

impl std::fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}
