//! The IKE SA's keys once IKE_SA_INIT is done (RFC 7296 §2.14), and the key material the
//! consumer may log for packet analysis.

use std::fmt;

use corridor_crypto::{
    ChildSaKeys, EncrAlgorithm, IntegAlgorithm, PrfAlgorithm, SecretBytes, SkCrypter,
    derive_child_sa_keys, derive_ike_sa_keys,
};

use crate::Error;
use crate::proposal::{EspSuite, IkeSuite};
use crate::protect::Protection;

/// The secrets an IKE SA keeps after IKE_SA_INIT.
pub(crate) struct IkeSaSecrets {
    pub(crate) prf: PrfAlgorithm,
    pub(crate) sk_d: SecretBytes,
    pub(crate) sk_pi: SecretBytes,
    pub(crate) sk_pr: SecretBytes,
    pub(crate) protection: Protection,
}

impl fmt::Debug for IkeSaSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IkeSaSecrets(***)")
    }
}

/// Derives the IKE SA keys and builds the two SK crypters; also returns the keys for
/// [`KeyMaterial`].
pub(crate) fn derive(
    suite: &IkeSuite,
    shared: &SecretBytes,
    ni: &[u8],
    nr: &[u8],
    spi_i: u64,
    spi_r: u64,
) -> Result<(IkeSaSecrets, IkeKeyMaterial), Error> {
    let (_skeyseed, keys) = derive_ike_sa_keys(
        suite.prf,
        suite.encr,
        suite.integ,
        shared.expose(),
        ni,
        nr,
        spi_i.to_be_bytes(),
        spi_r.to_be_bytes(),
    )
    .map_err(Error::internal)?;
    finish(suite, keys, spi_i, spi_r, true)
}

/// The keys of the IKE SA that replaces the one `old` protects (RFC 7296 §2.18:
/// "SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)"), where `ni` and the new `spi_i`
/// belong to whoever started the rekey; `we_started` says whether that was us, which
/// makes us the new SA's original initiator or responder.
#[allow(clippy::too_many_arguments)]
pub(crate) fn derive_rekeyed(
    old: &IkeSaSecrets,
    suite: &IkeSuite,
    shared: &SecretBytes,
    ni: &[u8],
    nr: &[u8],
    spi_i: u64,
    spi_r: u64,
    we_started: bool,
) -> Result<(IkeSaSecrets, IkeKeyMaterial), Error> {
    let (_skeyseed, keys) = corridor_crypto::derive_rekeyed_ike_sa_keys(
        old.prf,
        suite.prf,
        suite.encr,
        suite.integ,
        &old.sk_d,
        shared.expose(),
        ni,
        nr,
        spi_i.to_be_bytes(),
        spi_r.to_be_bytes(),
    )
    .map_err(Error::internal)?;
    finish(suite, keys, spi_i, spi_r, we_started)
}

fn finish(
    suite: &IkeSuite,
    keys: corridor_crypto::IkeSaKeys,
    spi_i: u64,
    spi_r: u64,
    initiator: bool,
) -> Result<(IkeSaSecrets, IkeKeyMaterial), Error> {
    let integ_key = |k: &SecretBytes| suite.integ.map(|_| k.expose().to_vec());
    let ai = integ_key(&keys.sk_ai);
    let ar = integ_key(&keys.sk_ar);
    let for_initiator = SkCrypter::new(suite.encr, suite.integ, keys.sk_ei.expose(), ai.as_deref())
        .map_err(Error::internal)?;
    let for_responder = SkCrypter::new(suite.encr, suite.integ, keys.sk_er.expose(), ar.as_deref())
        .map_err(Error::internal)?;
    // RFC 7296 §2.14: SK_ei/SK_ai protect what the original initiator sends.
    let (outbound, inbound) = if initiator {
        (for_initiator, for_responder)
    } else {
        (for_responder, for_initiator)
    };
    let material = IkeKeyMaterial {
        spi_i,
        spi_r,
        encr: suite.encr,
        integ: suite.integ,
        sk_ei: keys.sk_ei.clone(),
        sk_er: keys.sk_er.clone(),
        sk_ai: keys.sk_ai.clone(),
        sk_ar: keys.sk_ar.clone(),
    };
    Ok((
        IkeSaSecrets {
            prf: suite.prf,
            sk_d: keys.sk_d,
            sk_pi: keys.sk_pi,
            sk_pr: keys.sk_pr,
            protection: Protection { outbound, inbound },
        },
        material,
    ))
}

/// Child SA keys for the first Child SA (RFC 7296 §2.17: "KEYMAT = prf+(SK_d, Ni | Nr)",
/// with the nonces of IKE_SA_INIT).
pub(crate) fn child_keys(
    secrets: &IkeSaSecrets,
    esp: &EspSuite,
    ni: &[u8],
    nr: &[u8],
) -> Result<ChildSaKeys, Error> {
    derive_child_sa_keys(
        secrets.prf,
        &secrets.sk_d,
        None,
        ni,
        nr,
        esp.encr.key_len(),
        esp.integ.map_or(0, IntegAlgorithm::key_len),
    )
    .map_err(Error::internal)
}

/// Child SA keys for a Child SA made by CREATE_CHILD_SA (RFC 7296 §2.17: "KEYMAT =
/// prf+(SK_d, g^ir (new) | Ni | Nr)", without g^ir when there was no key exchange),
/// where `ni` is the nonce of whoever started the exchange.
///
/// "All keys for SAs carrying data from the initiator to the responder are taken
/// before SAs going from the responder to the initiator": the initiator there is the
/// exchange's. The result is always in our orientation (the `_i` keys protect what we
/// send), so a Child SA the gateway created has its halves swapped.
pub(crate) fn rekeyed_child_keys(
    secrets: &IkeSaSecrets,
    esp: &EspSuite,
    shared: Option<&SecretBytes>,
    ni: &[u8],
    nr: &[u8],
    we_started: bool,
) -> Result<ChildSaKeys, Error> {
    let keys = derive_child_sa_keys(
        secrets.prf,
        &secrets.sk_d,
        shared.map(SecretBytes::expose),
        ni,
        nr,
        esp.encr.key_len(),
        esp.integ.map_or(0, IntegAlgorithm::key_len),
    )
    .map_err(Error::internal)?;
    if we_started {
        return Ok(keys);
    }
    Ok(ChildSaKeys {
        encr_i: keys.encr_r,
        integ_i: keys.integ_r,
        encr_r: keys.encr_i,
        integ_r: keys.integ_i,
    })
}

/// The keys protecting IKE messages, for a consumer that logs them on purpose (e.g. in
/// Wireshark's `ikev2_decryption_table` format). `Debug` prints no key; read the fields.
#[derive(Clone)]
pub struct IkeKeyMaterial {
    /// Initiator's SPI.
    pub spi_i: u64,
    /// Responder's SPI.
    pub spi_r: u64,
    /// Encryption algorithm.
    pub encr: EncrAlgorithm,
    /// Integrity algorithm (`None` with an AEAD).
    pub integ: Option<IntegAlgorithm>,
    /// SK_ei (with the AEAD salt).
    pub sk_ei: SecretBytes,
    /// SK_er.
    pub sk_er: SecretBytes,
    /// SK_ai (empty with an AEAD).
    pub sk_ai: SecretBytes,
    /// SK_ar.
    pub sk_ar: SecretBytes,
}

impl fmt::Debug for IkeKeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IkeKeyMaterial {{ spi_i: {:016x}, spi_r: {:016x}, encr: {}, keys: *** }}",
            self.spi_i, self.spi_r, self.encr
        )
    }
}

/// The keys of a Child SA, for a consumer that logs them on purpose (`esp_sa` table).
#[derive(Clone)]
pub struct ChildKeyMaterial {
    /// SPI of packets we receive.
    pub inbound_spi: u32,
    /// SPI of packets we send.
    pub outbound_spi: u32,
    /// The negotiated transform.
    pub suite: EspSuite,
    /// The keys.
    pub keys: ChildSaKeys,
}

impl fmt::Debug for ChildKeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ChildKeyMaterial {{ inbound_spi: {:08x}, outbound_spi: {:08x}, suite: {}, keys: *** }}",
            self.inbound_spi, self.outbound_spi, self.suite
        )
    }
}
