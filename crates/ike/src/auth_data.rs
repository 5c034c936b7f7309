//! The octets each side signs or MACs in its AUTH payload (RFC 7296 §2.15) and the
//! shared-key AUTH value used with PSKs and with the EAP MSK (§2.16).

use corridor_crypto::{PrfAlgorithm, SecretBytes};

/// RFC 7296 §2.15: "The pad string is the ASCII string 'Key Pad for IKEv2' without null
/// termination."
const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// InitiatorSignedOctets or ResponderSignedOctets.
///
/// RFC 7296 §2.15:
///
/// > InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
/// > MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
///
/// and symmetrically for the responder with RealMessage2, NonceIData and SK_pr, where
/// "RestOfInitIDPayload" is the ID payload without its generic header (ID Type,
/// RESERVED, Identification Data).
pub(crate) fn signed_octets(
    prf: PrfAlgorithm,
    real_message: &[u8],
    other_nonce: &[u8],
    sk_p: &SecretBytes,
    id_body: &[u8],
) -> Vec<u8> {
    let maced_id = prf.prf(sk_p.expose(), id_body);
    let mut out = Vec::with_capacity(real_message.len() + other_nonce.len() + maced_id.len());
    out.extend_from_slice(real_message);
    out.extend_from_slice(other_nonce);
    out.extend_from_slice(maced_id.expose());
    out
}

/// The AUTH data for a shared key (PSK, or the EAP MSK).
///
/// RFC 7296 §2.15: "AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <InitiatorSignedOctets>)".
/// With EAP (§2.16) the shared secret is the method's MSK.
pub(crate) fn shared_key_auth(prf: PrfAlgorithm, secret: &[u8], octets: &[u8]) -> SecretBytes {
    let key = prf.prf(secret, KEY_PAD);
    prf.prf(key.expose(), octets)
}

/// Checks a received shared-key AUTH value in constant time.
pub(crate) fn verify_shared_key_auth(
    prf: PrfAlgorithm,
    secret: &[u8],
    octets: &[u8],
    received: &[u8],
) -> bool {
    shared_key_auth(prf, secret, octets) == SecretBytes::from_slice(received)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_auth_is_nested_prf() {
        let prf = PrfAlgorithm::HmacSha256;
        let octets = b"message|nonce|macedid";
        let expected = prf.prf(prf.prf(b"secret", b"Key Pad for IKEv2").expose(), octets);
        let got = shared_key_auth(prf, b"secret", octets);
        assert_eq!(got, expected);
        assert!(verify_shared_key_auth(prf, b"secret", octets, got.expose()));
        assert!(!verify_shared_key_auth(
            prf,
            b"Secret",
            octets,
            got.expose()
        ));
        assert!(!verify_shared_key_auth(
            prf,
            b"secret",
            octets,
            &got.expose()[1..]
        ));
    }

    #[test]
    fn signed_octets_layout() {
        let prf = PrfAlgorithm::HmacSha256;
        let sk = SecretBytes::from_slice(b"skp");
        let o = signed_octets(prf, b"MSG", b"NONCE", &sk, b"\x02\0\0\0gw");
        assert_eq!(&o[..8], b"MSGNONCE");
        assert_eq!(&o[8..], prf.prf(b"skp", b"\x02\0\0\0gw").expose());
    }
}
