//! The cryptography of one SA direction: the AEADs (RFC 4106, RFC 7634) or AES-CBC
//! (RFC 3602) with a truncated HMAC (RFC 4868, RFC 2404), applied in place on the
//! caller's packet buffer.
//!
//! This differs from IKE's SK payload (corridor-crypto's `SkCrypter`) in three ways
//! that matter on the data plane: the associated data is the ESP header, possibly with
//! the implicit high half of an extended sequence number; nothing is copied or
//! allocated; and the AEAD IV is the sequence number (see [`crate::OutboundSa`]).

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    AES_128, AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext,
    UnboundCipherKey,
};
use aws_lc_rs::hmac;
use aws_lc_rs::iv::FixedLength;
use corridor_crypto::{AEAD_SALT_LEN, EncrAlgorithm, IntegAlgorithm};

use crate::error::EspError;
use crate::packet::ESP_HEADER_LEN;

const CBC_BLOCK: usize = 16;
const AEAD_IV_LEN: usize = 8;
const AEAD_TAG_LEN: usize = 16;

enum Cipher {
    Aead {
        key: LessSafeKey,
        salt: [u8; AEAD_SALT_LEN],
    },
    // Boxed: the CBC and HMAC key schedules are several times the size of an AEAD key.
    Cbc(Box<CbcKeys>),
}

struct CbcKeys {
    encrypt: EncryptingKey,
    decrypt: DecryptingKey,
    integ: hmac::Key,
    icv_len: usize,
}

/// Where the parts of an ESP packet lie in a buffer: `[0, 8)` header, then the IV, the
/// encrypted part (payload, padding, Pad Length, Next Header), the ICV.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) iv_end: usize,
    pub(crate) ct_end: usize,
    pub(crate) icv_end: usize,
}

/// The keyed algorithms of one SA direction. `Debug` names the algorithms only.
pub(crate) struct Suite {
    encr: EncrAlgorithm,
    integ: Option<IntegAlgorithm>,
    cipher: Cipher,
}

impl Suite {
    /// Keys `encr` (and `integ` for AES-CBC). `encr_key` carries the AEAD salt at its end
    /// (RFC 4106 §8.1: "the last four octets of the keying material are used as the
    /// salt value"; RFC 7634 §2 the same for ChaCha20-Poly1305); `integ_key` is empty
    /// with an AEAD.
    pub(crate) fn new(
        encr: EncrAlgorithm,
        integ: Option<IntegAlgorithm>,
        encr_key: &[u8],
        integ_key: &[u8],
    ) -> Result<Self, EspError> {
        let config = |reason| EspError::InvalidConfig { reason };
        if encr_key.len() != encr.key_len() {
            return Err(config("encryption key length does not fit the algorithm"));
        }
        let cipher = match (encr, integ) {
            (EncrAlgorithm::AesGcm16 { .. } | EncrAlgorithm::ChaCha20Poly1305, None) => {
                if !integ_key.is_empty() {
                    return Err(config("an AEAD takes no integrity key"));
                }
                let algorithm = match encr {
                    EncrAlgorithm::AesGcm16 { key_bits: 128 } => &aead::AES_128_GCM,
                    EncrAlgorithm::AesGcm16 { key_bits: 256 } => &aead::AES_256_GCM,
                    EncrAlgorithm::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
                    _ => return Err(config("AES key length must be 128 or 256 bits")),
                };
                let (key, salt) = encr_key.split_at(encr.cipher_key_len());
                let mut salt_bytes = [0u8; AEAD_SALT_LEN];
                salt_bytes.copy_from_slice(salt);
                let key = UnboundKey::new(algorithm, key).map_err(|_| EspError::Backend {
                    operation: "AEAD key setup",
                })?;
                Cipher::Aead {
                    key: LessSafeKey::new(key),
                    salt: salt_bytes,
                }
            }
            (EncrAlgorithm::AesCbc { key_bits }, Some(integ)) => {
                let algorithm = match key_bits {
                    128 => &AES_128,
                    256 => &AES_256,
                    _ => return Err(config("AES key length must be 128 or 256 bits")),
                };
                if integ_key.len() != integ.key_len() {
                    return Err(config("integrity key length does not fit the algorithm"));
                }
                let setup = |_| EspError::Backend {
                    operation: "AES-CBC key setup",
                };
                let encrypt = UnboundCipherKey::new(algorithm, encr_key)
                    .and_then(EncryptingKey::cbc)
                    .map_err(setup)?;
                let decrypt = UnboundCipherKey::new(algorithm, encr_key)
                    .and_then(DecryptingKey::cbc)
                    .map_err(setup)?;
                let hmac_alg = match integ {
                    IntegAlgorithm::HmacSha1_96 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                    IntegAlgorithm::HmacSha256_128 => hmac::HMAC_SHA256,
                    IntegAlgorithm::HmacSha384_192 => hmac::HMAC_SHA384,
                    IntegAlgorithm::HmacSha512_256 => hmac::HMAC_SHA512,
                };
                Cipher::Cbc(Box::new(CbcKeys {
                    encrypt,
                    decrypt,
                    integ: hmac::Key::new(hmac_alg, integ_key),
                    icv_len: integ.icv_len(),
                }))
            }
            (EncrAlgorithm::AesCbc { .. }, None) => {
                return Err(config("AES-CBC needs an integrity algorithm"));
            }
            (_, Some(_)) => return Err(config("an AEAD takes no integrity algorithm")),
        };
        Ok(Self {
            encr,
            integ,
            cipher,
        })
    }

    pub(crate) fn encr(&self) -> EncrAlgorithm {
        self.encr
    }

    pub(crate) fn integ(&self) -> Option<IntegAlgorithm> {
        self.integ
    }

    pub(crate) fn is_aead(&self) -> bool {
        matches!(self.cipher, Cipher::Aead { .. })
    }

    /// 8 for the AEADs (RFC 4106 §3.1, RFC 7634 §2), one AES block for CBC (RFC 3602 §2.1).
    pub(crate) fn iv_len(&self) -> usize {
        if self.is_aead() {
            AEAD_IV_LEN
        } else {
            CBC_BLOCK
        }
    }

    pub(crate) fn icv_len(&self) -> usize {
        match &self.cipher {
            Cipher::Aead { .. } => AEAD_TAG_LEN,
            Cipher::Cbc(keys) => keys.icv_len,
        }
    }

    /// The alignment of the encrypted part.
    ///
    /// RFC 4303 §2.4: "the Padding field is used to ensure that the Pad Length and Next
    /// Header fields are right aligned within a 4-byte word"; "If an Encryption algorithm
    /// is employed that requires the plaintext to be a multiple of some number of bytes,
    /// e.g., the block size of a block cipher, the Padding field is used to fill the
    /// plaintext (consisting of the Payload Data, Padding, Pad Length, and Next Header
    /// fields) to the size required by the algorithm."
    pub(crate) fn alignment(&self) -> usize {
        if self.is_aead() { 4 } else { CBC_BLOCK }
    }

    /// Encrypts `packet[layout.iv_end..layout.ct_end]` in place and writes the ICV after
    /// it. The header and IV must already be in place.
    pub(crate) fn seal(
        &self,
        packet: &mut [u8],
        layout: Layout,
        esn_high: Option<u32>,
    ) -> Result<(), EspError> {
        let Layout {
            iv_end,
            ct_end,
            icv_end,
        } = layout;
        match &self.cipher {
            Cipher::Aead { key, salt } => {
                let nonce = aead_nonce(salt, &packet[ESP_HEADER_LEN..iv_end]);
                let (aad_buf, aad_len) = aead_aad(packet, esn_high);
                let (body, icv) = packet[..icv_end].split_at_mut(ct_end);
                let tag = key
                    .seal_in_place_separate_tag(
                        nonce,
                        Aad::from(&aad_buf[..aad_len]),
                        &mut body[iv_end..],
                    )
                    .map_err(|_| EspError::Backend {
                        operation: "AEAD encryption",
                    })?;
                icv.copy_from_slice(tag.as_ref());
            }
            Cipher::Cbc(keys) => {
                let context = cbc_context(&packet[ESP_HEADER_LEN..iv_end])?;
                keys.encrypt
                    .less_safe_encrypt(&mut packet[iv_end..ct_end], context)
                    .map_err(|_| EspError::Backend {
                        operation: "AES-CBC encryption",
                    })?;
                let tag = cbc_icv(keys, &packet[..ct_end], esn_high);
                packet[ct_end..icv_end].copy_from_slice(&tag.as_ref()[..keys.icv_len]);
            }
        }
        Ok(())
    }

    /// Verifies the ICV of `packet[..layout.icv_end]` and decrypts the encrypted part in
    /// place. Nothing is decrypted unless the ICV verifies.
    pub(crate) fn open(
        &self,
        packet: &mut [u8],
        layout: Layout,
        esn_high: Option<u32>,
    ) -> Result<(), EspError> {
        let Layout {
            iv_end,
            ct_end,
            icv_end,
        } = layout;
        match &self.cipher {
            Cipher::Aead { key, salt } => {
                let nonce = aead_nonce(salt, &packet[ESP_HEADER_LEN..iv_end]);
                let (aad_buf, aad_len) = aead_aad(packet, esn_high);
                key.open_in_place(
                    nonce,
                    Aad::from(&aad_buf[..aad_len]),
                    &mut packet[iv_end..icv_end],
                )
                .map_err(|_| EspError::IntegrityFailed)?;
            }
            Cipher::Cbc(keys) => {
                let tag = cbc_icv(keys, &packet[..ct_end], esn_high);
                #[allow(deprecated)]
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    &tag.as_ref()[..keys.icv_len],
                    &packet[ct_end..icv_end],
                )
                .map_err(|_| EspError::IntegrityFailed)?;
                let context =
                    DecryptionContext::from(cbc_context(&packet[ESP_HEADER_LEN..iv_end])?);
                keys.decrypt
                    .decrypt(&mut packet[iv_end..ct_end], context)
                    .map_err(|_| EspError::Backend {
                        operation: "AES-CBC decryption",
                    })?;
            }
        }
        Ok(())
    }
}

/// RFC 4106 §4 (and RFC 7634 §2): the nonce is the 4-octet salt followed by the
/// 8-octet IV carried in the packet.
fn aead_nonce(salt: &[u8; AEAD_SALT_LEN], iv: &[u8]) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[..AEAD_SALT_LEN].copy_from_slice(salt);
    nonce[AEAD_SALT_LEN..].copy_from_slice(iv);
    Nonce::assume_unique_for_key(nonce)
}

/// RFC 4106 §5: "the AAD field consists of the SPI and the 32-bit sequence number" for
/// 32-bit sequence numbers, and "the SPI and the 64-bit extended sequence number"
/// (high half first) with ESN. RFC 7634 §2.1 uses the same construction.
fn aead_aad(packet: &[u8], esn_high: Option<u32>) -> ([u8; 12], usize) {
    let mut aad = [0u8; 12];
    aad[..4].copy_from_slice(&packet[..4]);
    match esn_high {
        Some(high) => {
            aad[4..8].copy_from_slice(&high.to_be_bytes());
            aad[8..12].copy_from_slice(&packet[4..8]);
            (aad, 12)
        }
        None => {
            aad[4..8].copy_from_slice(&packet[4..8]);
            (aad, 8)
        }
    }
}

/// The untruncated HMAC over the ESP header, IV and ciphertext.
///
/// RFC 4303 §2.2.1: with ESN, "the high-order 32 bits are maintained as part of the
/// sequence number counter by both transmitter and receiver and are included in the
/// computation of the ICV". §2.8: "Implicit ESP trailer fields (integrity padding and
/// high-order ESN bits, if applicable) are included in the ICV computation": they are
/// hashed after the ciphertext, never sent.
fn cbc_icv(keys: &CbcKeys, covered: &[u8], esn_high: Option<u32>) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(&keys.integ);
    ctx.update(covered);
    if let Some(high) = esn_high {
        ctx.update(&high.to_be_bytes());
    }
    ctx.sign()
}

fn cbc_context(iv: &[u8]) -> Result<EncryptionContext, EspError> {
    let iv: [u8; CBC_BLOCK] = iv.try_into().map_err(|_| EspError::Backend {
        operation: "AES-CBC IV length",
    })?;
    Ok(EncryptionContext::Iv128(FixedLength::from(iv)))
}

impl std::fmt::Debug for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suite")
            .field("encr", &self.encr)
            .field("integ", &self.integ)
            .field("keys", &"***")
            .finish()
    }
}
