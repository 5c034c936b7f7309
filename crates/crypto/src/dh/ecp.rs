//! Elliptic-curve Diffie-Hellman: NIST P-256/384/521 (RFC 5903) and X25519 (RFC 8031)
//! through aws-lc, with private scalars drawn from the caller's RNG.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};

use super::DhGroup;
use crate::{CryptoError, Random, SecretBytes};

/// Retries before concluding that the RNG is broken. For P-256 a random 256-bit string
/// is out of range with probability about 2^-32, so more than one retry means the RNG
/// is not random.
const MAX_ATTEMPTS: usize = 16;

/// Group orders n of the NIST curves (FIPS 186-4 §D.1.2 / SEC 2), big-endian, at the
/// private key length aws-lc expects.
const P256_ORDER: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const P384_ORDER: &str = concat!(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf",
    "581a0db248b0a77aecec196accc52973"
);
const P521_ORDER: &str = concat!(
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
);

pub(super) struct EcPrivate {
    group: DhGroup,
    key: PrivateKey,
}

fn algorithm(group: DhGroup) -> &'static agreement::Algorithm {
    match group {
        DhGroup::Ecp256 => &agreement::ECDH_P256,
        DhGroup::Ecp384 => &agreement::ECDH_P384,
        DhGroup::Ecp521 => &agreement::ECDH_P521,
        _ => &agreement::X25519,
    }
}

fn order(group: DhGroup) -> Option<&'static str> {
    match group {
        DhGroup::Ecp256 => Some(P256_ORDER),
        DhGroup::Ecp384 => Some(P384_ORDER),
        DhGroup::Ecp521 => Some(P521_ORDER),
        _ => None,
    }
}

fn hex_nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    }
}

/// Decodes one of the order constants above.
pub(super) fn decode_order(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| (hex_nibble(pair[0]) << 4) | hex_nibble(pair[1]))
        .collect()
}

/// Whether 0 < `scalar` < `order`, without branching on the scalar's bytes.
fn scalar_in_range(scalar: &[u8], order: &[u8]) -> bool {
    // Compute scalar - order from the least significant byte up; a final borrow means
    // scalar < order.
    let mut borrow: u16 = 0;
    let mut nonzero: u8 = 0;
    for (s, n) in scalar.iter().rev().zip(order.iter().rev()) {
        let diff = u16::from(*s)
            .wrapping_sub(u16::from(*n))
            .wrapping_sub(borrow);
        borrow = (diff >> 8) & 1;
        nonzero |= *s;
    }
    borrow == 1 && nonzero != 0
}

impl EcPrivate {
    pub(super) fn generate(
        group: DhGroup,
        rng: &mut dyn Random,
    ) -> Result<(Self, Vec<u8>), CryptoError> {
        let alg = algorithm(group);
        let key_len = match group {
            DhGroup::Ecp256 | DhGroup::Curve25519 => 32,
            DhGroup::Ecp384 => 48,
            _ => 66,
        };
        let order = order(group).map(decode_order);
        for _ in 0..MAX_ATTEMPTS {
            let mut scalar = SecretBytes::new(vec![0u8; key_len]);
            rng.fill(scalar.as_mut_slice());
            if let Some(order) = &order {
                if group == DhGroup::Ecp521 {
                    // n is just below 2^521: clear the 7 unused top bits so that almost
                    // every draw is in range instead of 1 in 128. The accepted values
                    // stay uniform over [1, n-1].
                    scalar.as_mut_slice()[0] &= 0x01;
                }
                // FIPS 186-4 §B.4.2 (testing candidates): the private key must be in
                // [1, n-1]; out-of-range draws are discarded and drawn again.
                if !scalar_in_range(scalar.expose(), order) {
                    continue;
                }
            }
            // X25519 clamps any 32 bytes (RFC 7748 §5), so every draw is usable.
            let Ok(key) = PrivateKey::from_private_key(alg, scalar.expose()) else {
                continue;
            };
            let public = key.compute_public_key().map_err(|_| CryptoError::Backend {
                operation: "ECDH public key computation",
            })?;
            let public = match group {
                // RFC 5903 §7: "The Diffie-Hellman public value is obtained by
                // concatenating the x and y values." aws-lc gives the SEC1
                // uncompressed point 0x04 | x | y; drop the 0x04.
                DhGroup::Curve25519 => public.as_ref().to_vec(),
                _ => public.as_ref().get(1..).unwrap_or_default().to_vec(),
            };
            if public.len() != group.public_len() {
                return Err(CryptoError::Backend {
                    operation: "ECDH public key encoding",
                });
            }
            return Ok((Self { group, key }, public));
        }
        Err(CryptoError::Backend {
            operation: "ECDH key generation (the RNG returned no usable scalar)",
        })
    }

    pub(super) fn agree(&self, peer: &[u8]) -> Result<SecretBytes, CryptoError> {
        let group = self.group;
        let alg = algorithm(group);
        let encoded = match group {
            DhGroup::Curve25519 => peer.to_vec(),
            _ => {
                let mut point = Vec::with_capacity(peer.len() + 1);
                point.push(0x04);
                point.extend_from_slice(peer);
                point
            }
        };
        let reason = match group {
            // aws-lc checks that the point lies on the curve (and is not the point at
            // infinity) before multiplying: the mandatory test RFC 6989 adds for
            // elliptic-curve groups.
            DhGroup::Curve25519 => "low-order point: the shared secret would be all zeros",
            _ => "not a point on the curve",
        };
        let invalid = CryptoError::InvalidPeerPublicKey { group, reason };
        let shared = agreement::agree(
            &self.key,
            UnparsedPublicKey::new(alg, &encoded),
            invalid.clone(),
            |secret| Ok(SecretBytes::from_slice(secret)),
        )?;
        if group == DhGroup::Curve25519 {
            // RFC 7748 §6.1: "Both MAY check, without leaking extra information about
            // the value of K, whether K is the all-zero value and abort if so"; RFC 8031
            // makes this check mandatory for IKEv2. aws-lc already refuses; this keeps
            // the rule if the backend ever changes.
            if shared.expose().iter().fold(0u8, |acc, b| acc | b) == 0 {
                return Err(invalid);
            }
        }
        // RFC 5903 §7: "The Diffie-Hellman shared secret value consists of the x value
        // of the Diffie-Hellman common value." aws-lc returns exactly that, at the field
        // length.
        if shared.len() != group.shared_secret_len() {
            return Err(CryptoError::Backend {
                operation: "ECDH shared secret encoding",
            });
        }
        Ok(shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_constants_match_the_backend() {
        // aws-lc rejects a private key equal to the order and accepts order - 1; this
        // proves the constants above are the real group orders.
        for group in [DhGroup::Ecp256, DhGroup::Ecp384, DhGroup::Ecp521] {
            let n = decode_order(order(group).unwrap_or_default());
            assert!(
                PrivateKey::from_private_key(algorithm(group), &n).is_err(),
                "{group}"
            );
            let mut n_minus_1 = n.clone();
            *n_minus_1.last_mut().unwrap() -= 1;
            assert!(PrivateKey::from_private_key(algorithm(group), &n_minus_1).is_ok());
            assert!(scalar_in_range(&n_minus_1, &n));
            assert!(!scalar_in_range(&n, &n));
            assert!(!scalar_in_range(&vec![0; n.len()], &n));
            let mut one = vec![0; n.len()];
            *one.last_mut().unwrap() = 1;
            assert!(scalar_in_range(&one, &n));
        }
    }
}
