//! Wrappers for the two secrets this crate handles: the user's password and the MSK.
//! Their `Debug` prints `***` so that neither can end up in a log line, and both are wiped
//! from memory when dropped.

use std::fmt;

use zeroize::Zeroizing;

/// A user's password. `Debug` prints `***`; the bytes are wiped on drop.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    /// The password text, for the hash functions that need it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Password {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The Master Session Key an EAP method exported (RFC 3748 §7.10), 64 octets for both
/// methods here. `Debug` prints `***`; the bytes are wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Msk(Zeroizing<Vec<u8>>);

impl Msk {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key bytes, to be used as the shared secret of the AUTH payload
    /// (RFC 7296 §2.16).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Msk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msk({} bytes, ***)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let p = Password::new("hunter2");
        assert_eq!(format!("{p:?}"), "Password(***)");
        let m = Msk::new(vec![0xAB; 64]);
        let shown = format!("{m:?}");
        assert!(!shown.contains("ab") && !shown.contains("171"), "{shown}");
        assert_eq!(shown, "Msk(64 bytes, ***)");
    }
}
