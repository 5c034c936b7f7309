//! Finite-field Diffie-Hellman over the RFC 3526 MODP groups, with crypto-bigint's
//! constant-time Montgomery exponentiation.

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U512, Uint};
use zeroize::Zeroizing;

use super::DhGroup;
use super::modp_primes::{P2048, P3072, P4096};
use crate::{CryptoError, Random, SecretBytes};

/// Private exponent length. NIST SP 800-56A rev. 3 §5.6.1.1.1 lets the private key of a
/// safe-prime group be any N-bit value with N at least twice the security strength;
/// 512 bits covers the ~150-bit strength of the 4096-bit group and keeps the
/// exponentiation fast for the smaller ones.
const EXPONENT_BYTES: usize = 64;

/// Retries before concluding that the RNG is broken.
const MAX_ATTEMPTS: usize = 16;

pub(super) struct ModpPrivate {
    group: DhGroup,
    exponent: SecretBytes,
}

impl ModpPrivate {
    pub(super) fn generate(
        group: DhGroup,
        rng: &mut dyn Random,
    ) -> Result<(Self, Vec<u8>), CryptoError> {
        for _ in 0..MAX_ATTEMPTS {
            let mut exponent = SecretBytes::new(vec![0u8; EXPONENT_BYTES]);
            rng.fill(exponent.as_mut_slice());
            // An all-zero exponent would give the public value 1; draw again.
            if exponent.expose().iter().fold(0u8, |acc, b| acc | b) == 0 {
                continue;
            }
            let private = Self { group, exponent };
            let generator = two(group);
            let public = private.exp(&generator)?;
            return Ok((private, public.expose().to_vec()));
        }
        Err(CryptoError::Backend {
            operation: "MODP key generation (the RNG returned only zeros)",
        })
    }

    pub(super) fn agree(&self, peer: &[u8]) -> Result<SecretBytes, CryptoError> {
        // NIST SP 800-56A rev. 3 §5.6.2.3.1 (FFC partial public-key validation) accepts
        // only 2 <= y <= p - 2, i.e. 1 < y < p - 1: the values 0, 1 and p - 1 would force
        // the shared secret into {0, 1, p - 1} whatever our private value. In a
        // safe-prime group every other value has order q or 2q, so no further
        // subgroup check is needed.
        let invalid = |reason| CryptoError::InvalidPeerPublicKey {
            group: self.group,
            reason,
        };
        let ok = match self.group {
            DhGroup::Modp2048 => in_range(&P2048, peer),
            DhGroup::Modp3072 => in_range(&P3072, peer),
            _ => in_range(&P4096, peer),
        };
        if !ok {
            return Err(invalid("not in the range 2 to p-2"));
        }
        self.exp(peer)
    }

    /// `base ^ exponent mod p`, left-padded to the modulus length. `base` is already
    /// the modulus length (checked by the callers).
    fn exp(&self, base: &[u8]) -> Result<SecretBytes, CryptoError> {
        let exponent = U512::from_be_slice(self.exponent.expose());
        let exponent = Zeroizing::new(exponent);
        match self.group {
            DhGroup::Modp2048 => modexp(&P2048, base, &exponent),
            DhGroup::Modp3072 => modexp(&P3072, base, &exponent),
            _ => modexp(&P4096, base, &exponent),
        }
    }
}

/// The generator 2, encoded at the group's modulus length.
fn two(group: DhGroup) -> Vec<u8> {
    let mut g = vec![0u8; group.public_len()];
    if let Some(last) = g.last_mut() {
        *last = 2;
    }
    g
}

/// Whether `value` (exactly the modulus length) lies in [2, p - 2]. The value is
/// public, so variable time is fine.
fn in_range<const L: usize>(p: &Uint<L>, value: &[u8]) -> bool {
    if value.len() != L * crypto_bigint::Limb::BYTES {
        return false;
    }
    let y = Uint::<L>::from_be_slice(value);
    let two = Uint::<L>::from_u8(2);
    let p_minus_2 = p.wrapping_sub(&two);
    y >= two && y <= p_minus_2
}

fn modexp<const L: usize>(
    p: &Uint<L>,
    base: &[u8],
    exponent: &U512,
) -> Result<SecretBytes, CryptoError> {
    let modulus = Odd::new(*p).into_option().ok_or(CryptoError::Backend {
        operation: "MODP setup (even modulus)",
    })?;
    let params = FixedMontyParams::new_vartime(modulus);
    let base = Uint::<L>::from_be_slice(base);
    let mut result = FixedMontyForm::new(&base, &params).pow(exponent).retrieve();
    let mut bytes = result.to_be_bytes();
    let out = SecretBytes::from_slice(bytes.as_ref());
    zeroize::Zeroize::zeroize(&mut result);
    zeroize::Zeroize::zeroize(bytes.as_mut_slice());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeterministicRandom;

    fn prime_bytes(group: DhGroup) -> Vec<u8> {
        match group {
            DhGroup::Modp2048 => P2048.to_be_bytes().as_ref().to_vec(),
            DhGroup::Modp3072 => P3072.to_be_bytes().as_ref().to_vec(),
            _ => P4096.to_be_bytes().as_ref().to_vec(),
        }
    }

    /// RFC 3526: every MODP prime starts with 64 one bits and the same digits of pi
    /// ("FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 ...") and ends with 64
    /// one bits; the 2048-bit prime's last digits before those are "15728E5A 8AACAA68".
    #[test]
    fn primes_have_the_rfc3526_shape() {
        for group in [DhGroup::Modp2048, DhGroup::Modp3072, DhGroup::Modp4096] {
            let p = prime_bytes(group);
            assert_eq!(p.len(), group.public_len());
            assert_eq!(
                p[..24],
                [
                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21,
                    0x68, 0xc2, 0x34, 0xc4, 0xc6, 0x62, 0x8b, 0x80, 0xdc, 0x1c, 0xd1
                ]
            );
            assert_eq!(p[p.len() - 8..], [0xff; 8]);
        }
        let p = prime_bytes(DhGroup::Modp2048);
        assert_eq!(
            p[240..248],
            [0x15, 0x72, 0x8e, 0x5a, 0x8a, 0xac, 0xaa, 0x68]
        );
        // The three primes share their leading digits of pi: 3072's 2048-bit prefix
        // differs from the 2048-bit prime only from where the offset term lands.
        let p3072 = prime_bytes(DhGroup::Modp3072);
        assert_eq!(p3072[..232], p[..232]);
    }

    #[test]
    fn p_minus_1_and_p_are_rejected() {
        let mut rng = DeterministicRandom::from_u64(1);
        for group in [DhGroup::Modp2048, DhGroup::Modp3072, DhGroup::Modp4096] {
            let (private, _) = ModpPrivate::generate(group, &mut rng).unwrap();
            let p = prime_bytes(group);
            let mut p_minus_1 = p.clone();
            *p_minus_1.last_mut().unwrap() -= 1;
            let mut p_minus_2 = p.clone();
            *p_minus_2.last_mut().unwrap() -= 2;
            for bad in [&p, &p_minus_1] {
                assert!(matches!(
                    private.agree(bad),
                    Err(CryptoError::InvalidPeerPublicKey { .. })
                ));
            }
            assert!(private.agree(&p_minus_2).is_ok());
        }
    }

    /// Our public value is 2^x mod p with the exponent drawn from the RNG: check one
    /// against a square-and-multiply in plain (variable-time) arithmetic.
    #[test]
    fn public_value_is_two_to_the_exponent() {
        let mut rng = DeterministicRandom::from_u64(2);
        let (private, public) = ModpPrivate::generate(DhGroup::Modp2048, &mut rng).unwrap();
        let params = FixedMontyParams::new_vartime(Odd::new(P2048).unwrap());
        let exponent = U512::from_be_slice(private.exponent.expose());
        let mut acc = FixedMontyForm::one(&params);
        let two = FixedMontyForm::new(&Uint::from_u8(2), &params);
        for i in (0..512).rev() {
            acc = acc.square();
            if exponent.bit_vartime(i) {
                acc = acc.mul(&two);
            }
        }
        assert_eq!(acc.retrieve().to_be_bytes().as_ref(), public.as_slice());
    }
}
