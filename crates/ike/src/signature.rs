//! Signature AUTH payloads: ours made with the configured key, the gateway's checked
//! against its certificate (RFC 7296 §2.15, RFC 7427, RFC 4754).

use corridor_crypto::{SignatureScheme, SigningKey, verify_ecdsa_fixed, verify_signature};
use corridor_wire::payload::{Auth, AuthBuilder};
use corridor_wire::{AuthMethod, HashAlgorithm};

use crate::Error;
use crate::error::PeerIncompatible;

/// The hashes we announce in SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4); SHA-1 is not
/// among them (RFC 8247 §3).
pub(crate) const OUR_HASHES: [HashAlgorithm; 3] = [
    HashAlgorithm::SHA2_256,
    HashAlgorithm::SHA2_384,
    HashAlgorithm::SHA2_512,
];

/// Our preference among the schemes a key offers: PKCS#1 v1.5 first because every
/// gateway verifies it, then PSS.
fn preference(s: SignatureScheme) -> u8 {
    match s {
        SignatureScheme::RsaPkcs1Sha256 => 0,
        SignatureScheme::RsaPkcs1Sha384 => 1,
        SignatureScheme::RsaPkcs1Sha512 => 2,
        _ => 3,
    }
}

/// Signs `octets` into an AUTH payload.
///
/// RFC 7427 §4: when the peer announced SIGNATURE_HASH_ALGORITHMS, we use the Digital
/// Signature method (14) with a hash it listed. Otherwise the classic methods: ECDSA with
/// SHA-2 per curve (RFC 4754: 9, 10, 11) or RSA (1).
pub(crate) fn sign(
    key: &SigningKey,
    peer_hashes: &[HashAlgorithm],
    octets: &[u8],
) -> Result<AuthBuilder, Error> {
    let mut schemes = key.available_schemes();
    schemes.sort_by_key(|s| preference(*s));
    if !peer_hashes.is_empty() {
        let scheme = schemes
            .iter()
            .copied()
            .find(|s| peer_hashes.contains(&HashAlgorithm::new(s.hash_algorithm_id())))
            .ok_or_else(|| {
                Error::PeerIncompatible(PeerIncompatible::Other(format!(
                    "the gateway accepts signatures with hashes {} only, which our key cannot make",
                    peer_hashes
                        .iter()
                        .map(|h| h.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            })?;
        let signature = key.sign(scheme, octets).map_err(Error::internal)?;
        return Ok(AuthBuilder::digital_signature(
            scheme.algorithm_identifier(),
            &signature,
        )?);
    }
    let (method, signature) = match schemes.first() {
        Some(s @ SignatureScheme::EcdsaP256Sha256) => (
            AuthMethod::ECDSA_SHA256_P256,
            key.sign_ecdsa_fixed(*s, octets),
        ),
        Some(s @ SignatureScheme::EcdsaP384Sha384) => (
            AuthMethod::ECDSA_SHA384_P384,
            key.sign_ecdsa_fixed(*s, octets),
        ),
        Some(s @ SignatureScheme::EcdsaP521Sha512) => (
            AuthMethod::ECDSA_SHA512_P521,
            key.sign_ecdsa_fixed(*s, octets),
        ),
        _ => (
            AuthMethod::RSA_DIGITAL_SIGNATURE,
            key.sign(SignatureScheme::RsaPkcs1Sha1, octets),
        ),
    };
    let data = signature.map_err(|e| {
        Error::PeerIncompatible(PeerIncompatible::Other(format!(
            "the gateway does not support RFC 7427 signature authentication and our key \
             cannot make a classic signature ({e})"
        )))
    })?;
    Ok(AuthBuilder { method, data })
}

/// Checks the gateway's signature AUTH over `octets` with the public key `spki` of its
/// certificate; the error says why, in words.
pub(crate) fn verify(auth: &Auth<'_>, spki: &[u8], octets: &[u8]) -> Result<(), String> {
    let result = match auth.method() {
        AuthMethod::DIGITAL_SIGNATURE => {
            let (alg, sig) = auth
                .digital_signature()
                .ok_or("malformed RFC 7427 signature data")?;
            let scheme = SignatureScheme::from_algorithm_identifier(alg)
                .map_err(|_| "it signed with an unsupported signature algorithm".to_string())?;
            verify_signature(scheme, spki, octets, sig)
        }
        AuthMethod::RSA_DIGITAL_SIGNATURE => {
            verify_signature(SignatureScheme::RsaPkcs1Sha1, spki, octets, auth.data())
        }
        AuthMethod::ECDSA_SHA256_P256 => {
            verify_ecdsa_fixed(SignatureScheme::EcdsaP256Sha256, spki, octets, auth.data())
        }
        AuthMethod::ECDSA_SHA384_P384 => {
            verify_ecdsa_fixed(SignatureScheme::EcdsaP384Sha384, spki, octets, auth.data())
        }
        AuthMethod::ECDSA_SHA512_P521 => {
            verify_ecdsa_fixed(SignatureScheme::EcdsaP521Sha512, spki, octets, auth.data())
        }
        AuthMethod::SHARED_KEY_MESSAGE_INTEGRITY_CODE => {
            return Err(
                "it authenticated with a shared key, but the profile expects a certificate".into(),
            );
        }
        other => return Err(format!("it used authentication method {other}")),
    };
    result.map_err(|e| format!("its signature does not verify ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_wire::payload::Auth;

    fn key(alg: &'static rcgen::SignatureAlgorithm) -> (SigningKey, Vec<u8>) {
        let k = rcgen::KeyPair::generate_for(alg).unwrap();
        let key = SigningKey::from_der(&k.serialize_der()).unwrap();
        let spki = key.public_key_spki().unwrap();
        (key, spki)
    }

    fn round_trip(auth: &AuthBuilder, spki: &[u8], octets: &[u8]) -> Result<(), String> {
        let mut body = vec![auth.method.get(), 0, 0, 0];
        body.extend_from_slice(&auth.data);
        verify(&Auth::parse(&body).unwrap(), spki, octets)
    }

    #[test]
    fn rfc7427_when_the_peer_lists_hashes_classic_otherwise() {
        let (key, spki) = key(&rcgen::PKCS_ECDSA_P256_SHA256);
        let octets = b"InitiatorSignedOctets";
        let auth = sign(&key, &OUR_HASHES, octets).unwrap();
        assert_eq!(auth.method, AuthMethod::DIGITAL_SIGNATURE);
        assert_eq!(round_trip(&auth, &spki, octets), Ok(()));
        let classic = sign(&key, &[], octets).unwrap();
        assert_eq!(classic.method, AuthMethod::ECDSA_SHA256_P256);
        assert_eq!(classic.data.len(), 64, "r | s, 32 bytes each (RFC 4754)");
        assert_eq!(round_trip(&classic, &spki, octets), Ok(()));
        assert!(round_trip(&classic, &spki, b"other octets").is_err());
        let (_, other_spki) = self::key(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert!(
            round_trip(&auth, &other_spki, octets)
                .unwrap_err()
                .starts_with("its signature does not verify")
        );
    }

    #[test]
    fn hashes_the_key_cannot_make_are_a_plain_error() {
        let (key, _) = key(&rcgen::PKCS_ECDSA_P384_SHA384);
        let err = sign(&key, &[HashAlgorithm::SHA2_256], b"x").unwrap_err();
        assert!(err.to_string().contains("SHA2_256"), "{err}");
    }

    #[test]
    fn psk_auth_where_a_signature_is_expected_is_refused() {
        let body = [2, 0, 0, 0, 1, 2, 3];
        assert_eq!(
            verify(&Auth::parse(&body).unwrap(), &[], b"x").unwrap_err(),
            "it authenticated with a shared key, but the profile expects a certificate"
        );
    }
}
