//! Protection of the Encrypted (SK) and Encrypted Fragment (SKF) payloads, one direction
//! (RFC 7296 §3.14, RFC 5282 for AES-GCM, RFC 7634 §3 for ChaCha20-Poly1305).
//!
//! The body of an SK payload is `IV | ciphertext | ICV`, where the ciphertext encrypts
//! `inner payloads | padding | pad length`. The caller (the `ike` layer) owns the
//! message layout: it asks [`SkCrypter::encrypted_len`] for the body size, writes the
//! IKE header and the SK payload header with the final lengths, and passes those bytes
//! as `associated` to [`SkCrypter::seal`] / [`SkCrypter::open`]:
//!
//! - with an AEAD they are the associated data: RFC 5282 §5.1 makes it the message from
//!   the first octet of the IKE header through the last octet of the Encrypted payload
//!   header, everything but IV, ciphertext and ICV (for SKF, through the fragment fields,
//!   RFC 7383 §2.5) — the octets `corridor-wire`'s `Message::associated_data` returns;
//! - with AES-CBC the ICV covers `associated | IV | ciphertext`. RFC 7296 §3.14:
//!   "Integrity Checksum Data is the cryptographic checksum of the entire message
//!   starting with the Fixed IKE header through the Pad Length."

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    AES_128, AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext,
    UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;

use crate::encr::AEAD_SALT_LEN;
use crate::integ::IntegKey;
use crate::{CryptoError, EncrAlgorithm, IntegAlgorithm, Random};

const CBC_BLOCK: usize = 16;
const AEAD_IV_LEN: usize = 8;
const AEAD_TAG_LEN: usize = 16;

enum Cipher {
    Aead {
        key: LessSafeKey,
        salt: [u8; AEAD_SALT_LEN],
    },
    // Boxed: the CBC keys are several times the size of the AEAD key.
    Cbc(Box<CbcKeys>),
}

struct CbcKeys {
    encrypt: EncryptingKey,
    decrypt: DecryptingKey,
    integ: IntegKey,
}

/// Seals and opens SK payload bodies for one direction of an IKE SA (one key).
///
/// Build one for SK_ei/SK_ai (messages we send, as initiator) and one for SK_er/SK_ar
/// (messages we receive). `Debug` shows the algorithms, never the keys.
///
/// AEAD IVs: RFC 4106 §3.1, which RFC 5282 applies to IKEv2: "The IV MUST be chosen by
/// the encryptor in a manner that ensures that the same IV value is used only once for a
/// given key." A counter is the approach it names first. Each crypter uses a 64-bit
/// counter that starts at a random offset drawn from the caller's RNG at the first
/// [`seal`](Self::seal), so even two crypters wrongly built over the same key are very
/// unlikely to overlap; one crypter never repeats an IV. CBC IVs are drawn from the RNG
/// for every message.
///
/// `SkCrypter` is `Send + Sync`; `seal` takes `&self` (the counter is atomic).
pub struct SkCrypter {
    encr: EncrAlgorithm,
    integ: Option<IntegAlgorithm>,
    cipher: Cipher,
    iv_offset: OnceLock<u64>,
    iv_count: AtomicU64,
}

impl SkCrypter {
    /// A crypter for `encr` (plus `integ` for non-AEAD ciphers) with the given keys.
    ///
    /// `encr_key` is SK_e (for an AEAD, the key followed by its 4-byte salt, exactly
    /// [`EncrAlgorithm::key_len`] bytes); `integ_key` is SK_a.
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedAlgorithm`] when an integrity algorithm is given with an
    /// AEAD or missing without one (RFC 7296 §3.3: combined-mode ciphers take no
    /// integrity transform), [`CryptoError::KeyLength`] on a key of the wrong size.
    pub fn new(
        encr: EncrAlgorithm,
        integ: Option<IntegAlgorithm>,
        encr_key: &[u8],
        integ_key: Option<&[u8]>,
    ) -> Result<Self, CryptoError> {
        encr.check()?;
        if encr_key.len() != encr.key_len() {
            return Err(CryptoError::KeyLength {
                what: "encryption key",
                expected: encr.key_len(),
                actual: encr_key.len(),
            });
        }
        let cipher = match (encr, integ, integ_key) {
            (EncrAlgorithm::AesGcm16 { .. } | EncrAlgorithm::ChaCha20Poly1305, None, None) => {
                let algorithm = match encr {
                    EncrAlgorithm::AesGcm16 { key_bits: 128 } => &aead::AES_128_GCM,
                    EncrAlgorithm::AesGcm16 { .. } => &aead::AES_256_GCM,
                    _ => &aead::CHACHA20_POLY1305,
                };
                let (key, salt) = encr_key.split_at(encr.cipher_key_len());
                let mut salt_bytes = [0u8; AEAD_SALT_LEN];
                salt_bytes.copy_from_slice(salt);
                let key = UnboundKey::new(algorithm, key).map_err(|_| CryptoError::Backend {
                    operation: "AEAD key setup",
                })?;
                Cipher::Aead {
                    key: LessSafeKey::new(key),
                    salt: salt_bytes,
                }
            }
            (EncrAlgorithm::AesCbc { key_bits }, Some(integ), Some(integ_key)) => {
                let algorithm = if key_bits == 128 { &AES_128 } else { &AES_256 };
                let setup = |_| CryptoError::Backend {
                    operation: "AES-CBC key setup",
                };
                let encrypt = UnboundCipherKey::new(algorithm, encr_key)
                    .and_then(EncryptingKey::cbc)
                    .map_err(setup)?;
                let decrypt = UnboundCipherKey::new(algorithm, encr_key)
                    .and_then(DecryptingKey::cbc)
                    .map_err(setup)?;
                Cipher::Cbc(Box::new(CbcKeys {
                    encrypt,
                    decrypt,
                    integ: integ.key(integ_key)?,
                }))
            }
            (_, Some(_), None) | (_, None, Some(_)) => {
                return Err(CryptoError::UnsupportedAlgorithm {
                    reason: "an integrity algorithm and its key must be given together",
                });
            }
            (EncrAlgorithm::AesCbc { .. }, None, None) => {
                return Err(CryptoError::UnsupportedAlgorithm {
                    reason: "AES-CBC needs an integrity algorithm",
                });
            }
            _ => {
                return Err(CryptoError::UnsupportedAlgorithm {
                    reason: "an AEAD cipher takes no separate integrity algorithm",
                });
            }
        };
        Ok(Self {
            encr,
            integ,
            cipher,
            iv_offset: OnceLock::new(),
            iv_count: AtomicU64::new(0),
        })
    }

    /// The encryption algorithm.
    pub fn encr(&self) -> EncrAlgorithm {
        self.encr
    }

    /// The integrity algorithm (`None` with an AEAD).
    pub fn integ(&self) -> Option<IntegAlgorithm> {
        self.integ
    }

    /// Length of the IV at the start of the body.
    pub fn iv_len(&self) -> usize {
        self.encr.iv_len()
    }

    /// Length of the ICV (AEAD tag or truncated HMAC) at the end of the body.
    pub fn icv_len(&self) -> usize {
        match &self.cipher {
            Cipher::Aead { .. } => AEAD_TAG_LEN,
            Cipher::Cbc(keys) => keys.integ.algorithm().icv_len(),
        }
    }

    /// Padding (without the pad-length byte) that [`seal`](Self::seal) adds to
    /// `plaintext_len` bytes: the minimum that aligns the ciphertext to the block size.
    ///
    /// RFC 7296 §3.14: "The sender SHOULD set the Pad Length to the minimum value that
    /// makes the combination of the payloads, the Padding, and the Pad Length a multiple
    /// of the block size".
    fn padding_len(&self, plaintext_len: usize) -> usize {
        let block = self.encr.block_len();
        (block - (plaintext_len + 1) % block) % block
    }

    /// The size of the body [`seal`](Self::seal) returns for `plaintext_len` bytes of
    /// inner payloads: IV, ciphertext (payloads, padding, pad length) and ICV. Write the
    /// IKE and SK payload header lengths from it before sealing.
    pub fn encrypted_len(&self, plaintext_len: usize) -> usize {
        self.iv_len() + plaintext_len + self.padding_len(plaintext_len) + 1 + self.icv_len()
    }

    /// The longest plaintext whose sealed body fits in `body_len` bytes (0 when not even
    /// an empty plaintext fits): what a fragment of a given size can carry (RFC 7383 §2.5).
    pub fn max_plaintext_len(&self, body_len: usize) -> usize {
        let overhead = self.iv_len() + self.icv_len();
        let Some(ciphertext) = body_len.checked_sub(overhead) else {
            return 0;
        };
        let block = self.encr.block_len();
        // Whole blocks only, one octet of which is the Pad Length.
        (ciphertext - ciphertext % block).saturating_sub(1)
    }

    /// Encrypts and authenticates the inner payloads `plaintext`, returning the SK body
    /// `IV | ciphertext | ICV` of exactly [`encrypted_len`](Self::encrypted_len) bytes.
    ///
    /// `associated` is the message from the first octet of the IKE header through the
    /// SK (or SKF) payload header, with final lengths.
    ///
    /// # Errors
    /// [`CryptoError::IvExhausted`] after 2^64 AEAD messages under one key;
    /// [`CryptoError::Backend`] if the backend fails.
    pub fn seal(
        &self,
        rng: &mut dyn Random,
        associated: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let iv = match &self.cipher {
            Cipher::Aead { .. } => self.next_aead_iv(rng)?.to_vec(),
            Cipher::Cbc(_) => {
                // RFC 7296 §3.14: "Senders MUST select a new unpredictable IV for every
                // message; recipients MUST accept any value."
                let mut iv = vec![0u8; CBC_BLOCK];
                rng.fill(&mut iv);
                iv
            }
        };
        self.seal_with_iv(&iv, associated, plaintext)
    }

    fn next_aead_iv(&self, rng: &mut dyn Random) -> Result<[u8; AEAD_IV_LEN], CryptoError> {
        let offset = *self.iv_offset.get_or_init(|| {
            let mut bytes = [0u8; 8];
            rng.fill(&mut bytes);
            u64::from_be_bytes(bytes)
        });
        let count = self
            .iv_count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_add(1))
            .map_err(|_| CryptoError::IvExhausted)?;
        Ok(offset.wrapping_add(count).to_be_bytes())
    }

    /// [`seal`](Self::seal) with a caller-chosen IV, for known-answer tests only: a
    /// repeated AEAD IV under one key destroys confidentiality and integrity.
    pub(crate) fn seal_with_iv(
        &self,
        iv: &[u8],
        associated: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let pad = self.padding_len(plaintext.len());
        let mut out = Vec::with_capacity(self.encrypted_len(plaintext.len()));
        out.extend_from_slice(iv);
        out.extend_from_slice(plaintext);
        // RFC 7296 §3.14: "Padding MAY contain any value chosen by the sender".
        out.resize(out.len() + pad, 0);
        // `pad` < block length <= 16, so it fits the one-octet Pad Length field.
        out.push(pad as u8);
        let iv_len = iv.len();
        match &self.cipher {
            Cipher::Aead { key, salt } => {
                let nonce = aead_nonce(salt, iv)?;
                let tag = key
                    .seal_in_place_separate_tag(nonce, Aad::from(associated), &mut out[iv_len..])
                    .map_err(|_| CryptoError::Backend {
                        operation: "AEAD encryption",
                    })?;
                out.extend_from_slice(tag.as_ref());
            }
            Cipher::Cbc(keys) => {
                let CbcKeys { encrypt, integ, .. } = &**keys;
                let context = cbc_context(iv)?;
                encrypt
                    .less_safe_encrypt(&mut out[iv_len..], context)
                    .map_err(|_| CryptoError::Backend {
                        operation: "AES-CBC encryption",
                    })?;
                let icv = integ.compute(&[associated, &out]);
                out.extend_from_slice(&icv);
            }
        }
        Ok(out)
    }

    /// Checks and decrypts an SK body `IV | ciphertext | ICV`, returning the inner
    /// payloads with padding and pad length removed.
    ///
    /// The ICV is checked before anything is decrypted. RFC 7296 §3.14: "the recipient
    /// MUST accept any length that results in proper alignment", and "Padding MAY contain
    /// any value chosen by the sender", so only the Pad Length is checked (it must fit in
    /// the plaintext), never the padding bytes.
    ///
    /// # Errors
    /// [`CryptoError::MalformedCiphertext`] if the body is too short or (CBC) not whole
    /// blocks; [`CryptoError::AuthenticationFailed`] on a bad ICV;
    /// [`CryptoError::BadPadding`] if the Pad Length exceeds the plaintext.
    pub fn open(&self, associated: &[u8], body: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let iv_len = self.iv_len();
        let icv_len = self.icv_len();
        let min_ciphertext = self.encr.block_len();
        if body.len() < iv_len + min_ciphertext + icv_len {
            return Err(CryptoError::MalformedCiphertext {
                reason: "shorter than IV, one block of ciphertext and ICV",
            });
        }
        let (iv, rest) = body.split_at(iv_len);
        let (ciphertext, icv) = rest.split_at(rest.len() - icv_len);
        let mut plaintext = match &self.cipher {
            Cipher::Aead { key, salt } => {
                let nonce = aead_nonce(salt, iv)?;
                let mut buf = rest.to_vec();
                let len = key
                    .open_in_place(nonce, Aad::from(associated), &mut buf)
                    .map_err(|_| CryptoError::AuthenticationFailed)?
                    .len();
                buf.truncate(len);
                buf
            }
            Cipher::Cbc(keys) => {
                let CbcKeys { decrypt, integ, .. } = &**keys;
                if ciphertext.len() % CBC_BLOCK != 0 {
                    return Err(CryptoError::MalformedCiphertext {
                        reason: "ciphertext is not a whole number of AES blocks",
                    });
                }
                let signed = &body[..body.len() - icv_len];
                integ.verify(&[associated, signed], icv)?;
                let mut buf = ciphertext.to_vec();
                let len = decrypt
                    .decrypt(&mut buf, DecryptionContext::from(cbc_context(iv)?))
                    .map_err(|_| CryptoError::Backend {
                        operation: "AES-CBC decryption",
                    })?
                    .len();
                buf.truncate(len);
                buf
            }
        };
        let Some(&pad_len) = plaintext.last() else {
            return Err(CryptoError::BadPadding {
                reason: "no Pad Length octet",
            });
        };
        let keep = plaintext
            .len()
            .checked_sub(1 + usize::from(pad_len))
            .ok_or(CryptoError::BadPadding {
                reason: "Pad Length is longer than the decrypted data",
            })?;
        plaintext.truncate(keep);
        Ok(plaintext)
    }
}

/// RFC 5282 §4 / RFC 7634 §2: the nonce is the 4-octet salt from the key material
/// followed by the 8-octet IV carried in the message.
fn aead_nonce(salt: &[u8; AEAD_SALT_LEN], iv: &[u8]) -> Result<Nonce, CryptoError> {
    let mut nonce = [0u8; 12];
    nonce[..AEAD_SALT_LEN].copy_from_slice(salt);
    if iv.len() != AEAD_IV_LEN {
        return Err(CryptoError::MalformedCiphertext {
            reason: "AEAD IV must be 8 bytes",
        });
    }
    nonce[AEAD_SALT_LEN..].copy_from_slice(iv);
    Ok(Nonce::assume_unique_for_key(nonce))
}

fn cbc_context(iv: &[u8]) -> Result<EncryptionContext, CryptoError> {
    let iv: [u8; CBC_BLOCK] = iv
        .try_into()
        .map_err(|_| CryptoError::MalformedCiphertext {
            reason: "AES-CBC IV must be 16 bytes",
        })?;
    Ok(EncryptionContext::Iv128(FixedLength::from(iv)))
}

impl std::fmt::Debug for SkCrypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkCrypter")
            .field("encr", &self.encr)
            .field("integ", &self.integ)
            .field("keys", &"***")
            .finish()
    }
}
