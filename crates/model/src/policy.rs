//! The computer's profile policy: which signing keys it trusts for profiles, whether
//! unsigned profiles may be imported, and whether legacy algorithms may be used.
//!
//! An administrator sets it (a file read by the service, changed through it); it is plain
//! data here so that the service and its clients exchange it over IPC. Reading and
//! writing the file, signature checks and the algorithm assessment live in
//! `corridor-profile`.

use serde::{Deserialize, Serialize};

use crate::bytes::Base64Bytes;

fn yes() -> bool {
    true
}

/// What this computer accepts in a profile.
///
/// The default accepts unsigned profiles, trusts no signing key and refuses legacy
/// algorithms: the same as before any policy existed, except that weak proposals need an
/// administrator's consent.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Whether profiles without a signature may be imported. When `false`, only profiles
    /// signed by one of [`Policy::trusted_signers`] are.
    #[serde(default = "yes")]
    pub allow_unsigned_imports: bool,
    /// The keys whose signatures on a profile are trusted.
    #[serde(default)]
    pub trusted_signers: Vec<TrustedSigner>,
    /// Whether profiles may use legacy algorithms (3DES, SHA-1 only integrity or PRF,
    /// key exchange groups weaker than the 2048-bit MODP group). They are refused
    /// otherwise.
    #[serde(default)]
    pub allow_legacy_crypto: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allow_unsigned_imports: true,
            trusted_signers: Vec::new(),
            allow_legacy_crypto: false,
        }
    }
}

/// A key trusted to sign profiles.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedSigner {
    /// The name shown when a profile signed with this key is imported (`IT department`).
    pub name: String,
    /// The public key as a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), base64 in JSON.
    pub public_key: Base64Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_take_their_defaults_and_unknown_ones_are_refused() {
        let policy: Policy = serde_json::from_str("{}").unwrap();
        assert_eq!(policy, Policy::default());
        assert!(policy.allow_unsigned_imports);
        assert!(!policy.allow_legacy_crypto);
        assert!(serde_json::from_str::<Policy>(r#"{"allow_legacy":true}"#).is_err());
        let signer: TrustedSigner =
            serde_json::from_str(r#"{"name":"IT","public_key":"AAEC"}"#).unwrap();
        assert_eq!(signer.public_key.0, vec![0, 1, 2]);
    }
}
