//! IKE SA and Child SA key derivation (RFC 7296 §2.14, §2.17, §2.18).

use crate::{CryptoError, EncrAlgorithm, IntegAlgorithm, PrfAlgorithm, SecretBytes};

/// The seven keys of an IKE SA (RFC 7296 §2.14). `Debug` prints no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaKeys {
    /// Derives Child SA keys and the SKEYSEED of a rekeyed IKE SA.
    pub sk_d: SecretBytes,
    /// Integrity key for messages from the initiator (empty with an AEAD).
    pub sk_ai: SecretBytes,
    /// Integrity key for messages from the responder (empty with an AEAD).
    pub sk_ar: SecretBytes,
    /// Encryption key (plus AEAD salt) for messages from the initiator.
    pub sk_ei: SecretBytes,
    /// Encryption key (plus AEAD salt) for messages from the responder.
    pub sk_er: SecretBytes,
    /// Key for the initiator's AUTH payload (RFC 7296 §2.15).
    pub sk_pi: SecretBytes,
    /// Key for the responder's AUTH payload.
    pub sk_pr: SecretBytes,
}

/// The keys of one Child SA pair (RFC 7296 §2.17). `Debug` prints no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaKeys {
    /// Encryption key (plus AEAD salt) for initiator-to-responder traffic.
    pub encr_i: SecretBytes,
    /// Integrity key for initiator-to-responder traffic (empty with an AEAD).
    pub integ_i: SecretBytes,
    /// Encryption key (plus AEAD salt) for responder-to-initiator traffic.
    pub encr_r: SecretBytes,
    /// Integrity key for responder-to-initiator traffic (empty with an AEAD).
    pub integ_r: SecretBytes,
}

fn check_integ(encr: EncrAlgorithm, integ: Option<IntegAlgorithm>) -> Result<(), CryptoError> {
    encr.check()?;
    match (encr.is_aead(), integ) {
        (true, Some(_)) => Err(CryptoError::UnsupportedAlgorithm {
            reason: "an AEAD cipher takes no separate integrity algorithm",
        }),
        (false, None) => Err(CryptoError::UnsupportedAlgorithm {
            reason: "a non-AEAD cipher needs an integrity algorithm",
        }),
        _ => Ok(()),
    }
}

/// Derives SKEYSEED and the IKE SA keys after IKE_SA_INIT.
///
/// RFC 7296 §2.14:
///
/// > SKEYSEED = prf(Ni | Nr, g^ir)
/// >
/// > {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
/// >                 = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
///
/// `shared` is g^ir in the format [`KeyExchange::agree`](crate::KeyExchange::agree)
/// returns ("g^ir is represented as a string of octets in big endian order padded with
/// zeros if necessary to make it the length of the modulus"). RFC 7296 only shortens or
/// splits Ni | Nr for PRFs with a fixed key length (AES-XCBC-PRF-128, AES-CMAC-PRF-128);
/// all our PRFs are HMACs, which take keys of any length, so the key is Ni | Nr in
/// full.
///
/// # Errors
/// [`CryptoError::UnsupportedAlgorithm`] if `integ` is given with an AEAD or missing
/// without one; [`CryptoError::PrfPlusTooLong`] cannot happen with our algorithms.
#[allow(clippy::too_many_arguments)]
pub fn derive_ike_sa_keys(
    prf: PrfAlgorithm,
    encr: EncrAlgorithm,
    integ: Option<IntegAlgorithm>,
    shared: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: [u8; 8],
    spi_r: [u8; 8],
) -> Result<(SecretBytes, IkeSaKeys), CryptoError> {
    check_integ(encr, integ)?;
    let skeyseed = prf.prf_parts(&[ni, nr].concat(), &[shared]);
    let keys = expand_ike_sa_keys(prf, encr, integ, &skeyseed, ni, nr, spi_i, spi_r)?;
    Ok((skeyseed, keys))
}

/// Derives SKEYSEED and the keys of a new IKE SA made by rekeying with CREATE_CHILD_SA.
///
/// RFC 7296 §2.18:
///
/// > SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
///
/// "where g^ir (new) is the shared secret from the ephemeral Diffie-Hellman exchange of
/// this CREATE_CHILD_SA exchange". Two PRFs are involved: "Because the rekeying exchange
/// belongs to the old IKE SA, it is the old IKE SA's PRF that is used to generate
/// SKEYSEED", and the seven keys "are computed from SKEYSEED as specified in Section
/// 2.14, using SPIi, SPIr, Ni, and Nr from the new exchange, and using the new IKE SA's
/// PRF."
///
/// # Errors
/// As [`derive_ike_sa_keys`].
#[allow(clippy::too_many_arguments)]
pub fn derive_rekeyed_ike_sa_keys(
    old_prf: PrfAlgorithm,
    new_prf: PrfAlgorithm,
    encr: EncrAlgorithm,
    integ: Option<IntegAlgorithm>,
    old_sk_d: &SecretBytes,
    new_shared: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: [u8; 8],
    spi_r: [u8; 8],
) -> Result<(SecretBytes, IkeSaKeys), CryptoError> {
    check_integ(encr, integ)?;
    let skeyseed = old_prf.prf_parts(old_sk_d.expose(), &[new_shared, ni, nr]);
    let keys = expand_ike_sa_keys(new_prf, encr, integ, &skeyseed, ni, nr, spi_i, spi_r)?;
    Ok((skeyseed, keys))
}

#[allow(clippy::too_many_arguments)]
fn expand_ike_sa_keys(
    prf: PrfAlgorithm,
    encr: EncrAlgorithm,
    integ: Option<IntegAlgorithm>,
    skeyseed: &SecretBytes,
    ni: &[u8],
    nr: &[u8],
    spi_i: [u8; 8],
    spi_r: [u8; 8],
) -> Result<IkeSaKeys, CryptoError> {
    // RFC 7296 §2.14: "The lengths of SK_d, SK_pi, and SK_pr MUST be the preferred key
    // length of the PRF agreed upon."
    let d_len = prf.output_len();
    let a_len = integ.map_or(0, IntegAlgorithm::key_len);
    let e_len = encr.key_len();
    let total = 3 * d_len + 2 * a_len + 2 * e_len;
    let mut keymat = prf.prf_plus_parts(skeyseed.expose(), &[ni, nr, &spi_i, &spi_r], total)?;
    Ok(IkeSaKeys {
        sk_d: keymat.take_front(d_len),
        sk_ai: keymat.take_front(a_len),
        sk_ar: keymat.take_front(a_len),
        sk_ei: keymat.take_front(e_len),
        sk_er: keymat.take_front(e_len),
        sk_pi: keymat.take_front(d_len),
        sk_pr: keymat.take_front(d_len),
    })
}

/// Derives the keys of a Child SA pair.
///
/// RFC 7296 §2.17: "KEYMAT = prf+(SK_d, Ni | Nr)", or with a key exchange in
/// CREATE_CHILD_SA, "KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)". Pass the new shared
/// secret as `shared`; `ni` and `nr` are the nonces of the exchange that created the
/// Child SA (IKE_SA_INIT's for the first one).
///
/// "All keys for SAs carrying data from the initiator to the responder are taken before
/// SAs going from the responder to the initiator. ... If a single protocol has both
/// encryption and authentication keys, the encryption key is taken from the first octets
/// of KEYMAT and the authentication key is taken from the next octets."
///
/// `encr_key_len` includes the AEAD salt ([`EncrAlgorithm::key_len`]); `integ_key_len`
/// is 0 with an AEAD.
///
/// # Errors
/// [`CryptoError::PrfPlusTooLong`] if the keys need more than 255 PRF outputs.
pub fn derive_child_sa_keys(
    prf: PrfAlgorithm,
    sk_d: &SecretBytes,
    shared: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    encr_key_len: usize,
    integ_key_len: usize,
) -> Result<ChildSaKeys, CryptoError> {
    let total = encr_key_len.saturating_add(integ_key_len).saturating_mul(2);
    let shared = shared.unwrap_or(&[]);
    let mut keymat = prf.prf_plus_parts(sk_d.expose(), &[shared, ni, nr], total)?;
    Ok(ChildSaKeys {
        encr_i: keymat.take_front(encr_key_len),
        integ_i: keymat.take_front(integ_key_len),
        encr_r: keymat.take_front(encr_key_len),
        integ_r: keymat.take_front(integ_key_len),
    })
}
