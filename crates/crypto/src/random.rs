//! The injected source of randomness.
//!
//! Protocol code never reaches for an RNG of its own: every function that needs random
//! bytes (key exchange private values, IVs, nonces, SPIs) takes a `&mut dyn Random`.
//! Production code passes [`SystemRandom`]; simulations and fuzzers pass
//! [`DeterministicRandom`] so that a whole handshake replays byte for byte from a seed.

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

/// A source of random bytes.
pub trait Random {
    /// Fills `dest` entirely with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

/// The operating system's cryptographically secure RNG, through the crypto backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl SystemRandom {
    /// A handle to the system RNG (it holds no state).
    pub fn new() -> Self {
        Self
    }
}

impl Random for SystemRandom {
    /// # Panics
    /// If the backend's RNG fails, which means the operating system cannot supply
    /// entropy. Continuing with predictable keys would be worse than stopping.
    fn fill(&mut self, dest: &mut [u8]) {
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(dest).expect("the system random number generator failed");
    }
}

/// **NO SECURITY.** A seeded, reproducible byte stream for simulations, tests and fuzzing.
///
/// Output block `i` is HMAC-SHA256(seed, `i` as 8 big-endian bytes). Anyone who knows
/// the seed knows every key derived from it: never use this for a real tunnel.
pub struct DeterministicRandom {
    key: hmac::Key,
    counter: u64,
    buffer: Zeroizing<[u8; 32]>,
    /// Bytes of `buffer` already handed out.
    used: usize,
}

impl DeterministicRandom {
    /// A stream determined entirely by `seed`.
    pub fn new(seed: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, seed),
            counter: 0,
            buffer: Zeroizing::new([0; 32]),
            used: 32,
        }
    }

    /// A stream determined by a number, handy for simulations that loop over seeds.
    pub fn from_u64(seed: u64) -> Self {
        Self::new(&seed.to_be_bytes())
    }

    fn refill(&mut self) {
        let tag = hmac::sign(&self.key, &self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        self.buffer.copy_from_slice(tag.as_ref());
        self.used = 0;
    }
}

impl Random for DeterministicRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        let mut filled = 0;
        while filled < dest.len() {
            if self.used == self.buffer.len() {
                self.refill();
            }
            let n = (dest.len() - filled).min(self.buffer.len() - self.used);
            dest[filled..filled + n].copy_from_slice(&self.buffer[self.used..self.used + n]);
            self.used += n;
            filled += n;
        }
    }
}

impl std::fmt::Debug for DeterministicRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeterministicRandom")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_stream_does_not_depend_on_chunking() {
        let mut a = DeterministicRandom::new(b"seed");
        let mut b = DeterministicRandom::new(b"seed");
        let mut whole = [0u8; 100];
        a.fill(&mut whole);
        let mut parts = [0u8; 100];
        let (x, rest) = parts.split_at_mut(7);
        let (y, z) = rest.split_at_mut(40);
        b.fill(x);
        b.fill(y);
        b.fill(z);
        assert_eq!(whole, parts);
        // The first block is HMAC-SHA256(seed, 0u64).
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"seed");
        assert_eq!(&whole[..32], hmac::sign(&key, &[0; 8]).as_ref());
    }

    #[test]
    fn different_seeds_differ() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        DeterministicRandom::from_u64(1).fill(&mut a);
        DeterministicRandom::from_u64(2).fill(&mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn system_random_fills() {
        let mut a = [0u8; 32];
        SystemRandom::new().fill(&mut a);
        assert_ne!(a, [0u8; 32]);
    }
}
