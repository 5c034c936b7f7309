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
    let integ_key = |k: &SecretBytes| suite.integ.map(|_| k.expose().to_vec());
    let ai = integ_key(&keys.sk_ai);
    let ar = integ_key(&keys.sk_ar);
    let outbound = SkCrypter::new(suite.encr, suite.integ, keys.sk_ei.expose(), ai.as_deref())
        .map_err(Error::internal)?;
    let inbound = SkCrypter::new(suite.encr, suite.integ, keys.sk_er.expose(), ar.as_deref())
        .map_err(Error::internal)?;
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
