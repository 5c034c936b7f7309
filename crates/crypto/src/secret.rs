//! A byte buffer for key material.

use zeroize::{Zeroize, Zeroizing};

/// Secret bytes (keys, shared secrets, SKEYSEED): wiped from memory when dropped, and
/// printed as `***` by `Debug`, so they cannot reach a log by accident.
///
/// Equality is constant-time.
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// The secret itself. Keep the borrow short and never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Splits off the first `n` bytes into a new secret; `self` keeps the rest.
    ///
    /// # Panics
    /// Never: `n` is clamped to the length.
    pub(crate) fn take_front(&mut self, n: usize) -> SecretBytes {
        let n = n.min(self.0.len());
        let front = self.0[..n].to_vec();
        let rest = self.0[n..].to_vec();
        // Dropping the old Zeroizing buffer wipes it.
        self.0 = Zeroizing::new(rest);
        SecretBytes::new(front)
    }

    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        // Reserve first so that growing cannot leave an unwiped copy behind.
        let mut grown = Zeroizing::new(Vec::with_capacity(self.0.len() + bytes.len()));
        grown.extend_from_slice(&self.0);
        grown.extend_from_slice(bytes);
        self.0 = grown;
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        #[allow(deprecated)]
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &other.0).is_ok()
    }
}

impl Eq for SecretBytes {}

impl Zeroize for SecretBytes {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}
