//! The Encrypted payload (RFC 7296 §3.14) and the Encrypted Fragment payload (RFC 7383
//! §2.5), exposed still encrypted, plus the padding rules of their plaintext.

use crate::error::{Error, Structure};
use crate::limits::MAX_FRAGMENTS;
use crate::reader::Reader;
use crate::registry::PayloadType;

/// Fragment Number and Total Fragments, between the generic header and the IV.
pub(crate) const FRAGMENT_FIELDS_LEN: usize = 4;

/// The three parts of an Encrypted payload's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sealed<'a> {
    /// Initialization Vector.
    pub iv: &'a [u8],
    /// Encrypted inner payloads, Padding and Pad Length.
    pub ciphertext: &'a [u8],
    /// Integrity Checksum Data (the AEAD tag for combined-mode ciphers).
    pub icv: &'a [u8],
}

/// Splits IV | ciphertext | ICV given the IV and ICV lengths of the negotiated transform.
fn split(
    at: Structure,
    content: &[u8],
    iv_len: usize,
    icv_len: usize,
) -> Result<Sealed<'_>, Error> {
    let needed = iv_len.saturating_add(icv_len).saturating_add(1);
    if content.len() < needed {
        return Err(Error::Truncated {
            at,
            field: "IV, encrypted payloads and ICV",
            needed,
            available: content.len(),
        });
    }
    let (iv, rest) = content.split_at(iv_len);
    let (ciphertext, icv) = rest.split_at(rest.len() - icv_len);
    Ok(Sealed {
        iv,
        ciphertext,
        icv,
    })
}

/// An Encrypted (SK) payload as received: the type of the first inner payload and the
/// raw IV | encrypted payloads, padding, pad length | ICV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encrypted<'a> {
    first_inner: PayloadType,
    content: &'a [u8],
}

impl<'a> Encrypted<'a> {
    /// Takes an SK payload body; `first_inner` is its Next Payload field.
    ///
    /// RFC 7296 §3.14, Next Payload: "The payload type of the first embedded payload."
    pub fn parse(first_inner: PayloadType, body: &'a [u8]) -> Self {
        Self {
            first_inner,
            content: body,
        }
    }

    /// The type of the first payload inside (NONE for an empty INFORMATIONAL).
    pub fn first_inner(&self) -> PayloadType {
        self.first_inner
    }

    /// IV, ciphertext (payloads, padding, pad length) and ICV, still encrypted.
    pub fn content(&self) -> &'a [u8] {
        self.content
    }

    /// Splits the content into IV, ciphertext and ICV for a transform with these lengths
    /// (e.g. 8 and 16 for AES-GCM-16, 16 and 16 for AES-CBC with HMAC-SHA2-256-128). The
    /// ciphertext holds at least the Pad Length octet.
    pub fn split(&self, iv_len: usize, icv_len: usize) -> Result<Sealed<'a>, Error> {
        split(
            Structure::Payload(PayloadType::SK),
            self.content,
            iv_len,
            icv_len,
        )
    }
}

/// An Encrypted Fragment (SKF) payload as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncryptedFragment<'a> {
    first_inner: PayloadType,
    number: u16,
    total: u16,
    content: &'a [u8],
}

/// Checks Fragment Number and Total Fragments, for parsing and encoding alike.
fn check_fragment(first_inner: PayloadType, number: u16, total: u16) -> Result<(), Error> {
    let at = Structure::Payload(PayloadType::SKF);
    // RFC 7383 §2.5, Total Fragments: "This field MUST NOT be zero."
    if total == 0 {
        return Err(Error::InvalidValue {
            at,
            field: "total fragments",
            value: 0,
            reason: "it must not be zero",
        });
    }
    if total > MAX_FRAGMENTS {
        return Err(Error::TooMany {
            at,
            what: "fragments",
            limit: MAX_FRAGMENTS.into(),
        });
    }
    // RFC 7383 §2.5, Fragment Number: "This field MUST be less than or equal to the next
    // field (Total Fragments). This field MUST NOT be zero."
    if number == 0 || number > total {
        return Err(Error::InvalidValue {
            at,
            field: "fragment number",
            value: number.into(),
            reason: "it must be between 1 and Total Fragments",
        });
    }
    // RFC 7383 §2.5, Next Payload: in the first fragment it is the type of the first inner
    // payload; in the fragments with a Fragment Number greater than 1 it MUST be zero.
    if number > 1 && first_inner != PayloadType::NONE {
        return Err(Error::InvalidValue {
            at,
            field: "next payload",
            value: first_inner.get().into(),
            reason: "it must be zero in every fragment but the first",
        });
    }
    Ok(())
}

impl<'a> EncryptedFragment<'a> {
    /// Parses an SKF payload body; `first_inner` is its Next Payload field.
    pub fn parse(first_inner: PayloadType, body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, Structure::Payload(PayloadType::SKF));
        let number = r.u16("fragment number")?;
        let total = r.u16("total fragments")?;
        check_fragment(first_inner, number, total)?;
        Ok(Self {
            first_inner,
            number,
            total,
            content: r.rest(),
        })
    }

    /// The type of the first inner payload of the whole message (first fragment only;
    /// NONE in the others).
    pub fn first_inner(&self) -> PayloadType {
        self.first_inner
    }

    /// Fragment Number, from 1.
    pub fn number(&self) -> u16 {
        self.number
    }

    /// Total Fragments.
    pub fn total(&self) -> u16 {
        self.total
    }

    /// IV, ciphertext and ICV, still encrypted.
    pub fn content(&self) -> &'a [u8] {
        self.content
    }

    /// Splits the content into IV, ciphertext and ICV (see [`Encrypted::split`]).
    pub fn split(&self, iv_len: usize, icv_len: usize) -> Result<Sealed<'a>, Error> {
        split(
            Structure::Payload(PayloadType::SKF),
            self.content,
            iv_len,
            icv_len,
        )
    }
}

/// An Encrypted payload to send whose content (IV, ciphertext, ICV) is already computed.
///
/// Usually the message is written with [`crate::MessageBuilder::encode_encrypted`] instead,
/// which leaves room for the content so that it can be encrypted in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedBuilder {
    /// Type of the first inner payload.
    pub first_inner: PayloadType,
    /// IV | ciphertext | ICV.
    pub content: Vec<u8>,
}

/// An Encrypted Fragment payload to send whose content is already computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedFragmentBuilder {
    /// Type of the first inner payload in fragment 1, NONE in the others.
    pub first_inner: PayloadType,
    /// Fragment Number.
    pub number: u16,
    /// Total Fragments.
    pub total: u16,
    /// IV | ciphertext | ICV.
    pub content: Vec<u8>,
}

impl EncryptedFragmentBuilder {
    pub(crate) fn check(&self) -> Result<(), Error> {
        check_fragment(self.first_inner, self.number, self.total)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.check()?;
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.total.to_be_bytes());
        out.extend_from_slice(&self.content);
        Ok(())
    }
}

impl From<&Encrypted<'_>> for EncryptedBuilder {
    fn from(e: &Encrypted<'_>) -> Self {
        Self {
            first_inner: e.first_inner,
            content: e.content.to_vec(),
        }
    }
}

impl From<&EncryptedFragment<'_>> for EncryptedFragmentBuilder {
    fn from(f: &EncryptedFragment<'_>) -> Self {
        Self {
            first_inner: f.first_inner,
            number: f.number,
            total: f.total,
            content: f.content.to_vec(),
        }
    }
}

/// Splits decrypted SK content into the inner payloads and the padding, reading the Pad
/// Length octet at its end.
///
/// RFC 7296 §3.14: "Pad Length is the length of the Padding field. The sender SHOULD set
/// the Pad Length to the minimum value that makes the combination of the payloads, the
/// Padding, and the Pad Length a multiple of the block size, but the recipient MUST accept
/// any length that results in proper alignment." Alignment is the cipher's to check.
pub fn split_padding(decrypted: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let at = Structure::EncryptedContent;
    let Some((&pad_len, rest)) = decrypted.split_last() else {
        return Err(Error::Truncated {
            at,
            field: "pad length",
            needed: 1,
            available: 0,
        });
    };
    let pad_len = usize::from(pad_len);
    if pad_len > rest.len() {
        return Err(Error::BadLength {
            at,
            field: "pad length",
            length: pad_len,
            reason: "longer than the decrypted content",
        });
    }
    Ok(rest.split_at(rest.len() - pad_len))
}

/// The minimum Pad Length for `payloads_len` bytes of inner payloads with a cipher of
/// `block_size` bytes (1 for AEAD ciphers such as AES-GCM and ChaCha20-Poly1305): the
/// payloads, the padding and the Pad Length octet together are a multiple of the block.
pub fn padding_len(payloads_len: usize, block_size: usize) -> usize {
    let block = block_size.max(1);
    // (payloads + padding + 1) % block == 0, without overflowing.
    (block - 1 - payloads_len % block) % block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_bounds() {
        let body = |n: u16, t: u16| {
            let mut b = n.to_be_bytes().to_vec();
            b.extend_from_slice(&t.to_be_bytes());
            b.extend_from_slice(&[0; 25]);
            b
        };
        assert!(EncryptedFragment::parse(PayloadType::IDR, &body(1, 2)).is_ok());
        assert!(EncryptedFragment::parse(PayloadType::NONE, &body(2, 2)).is_ok());
        for (first, n, t) in [
            (PayloadType::IDR, 0, 2),
            (PayloadType::IDR, 3, 2),
            (PayloadType::IDR, 1, 0),
            (PayloadType::IDR, 0, 0),
            (PayloadType::IDR, 2, 2),
            (PayloadType::IDR, 1, MAX_FRAGMENTS + 1),
        ] {
            assert!(
                EncryptedFragment::parse(first, &body(n, t)).is_err(),
                "{n}/{t}"
            );
        }
        let first = body(1, 2);
        let f = EncryptedFragment::parse(PayloadType::IDR, &first).unwrap();
        let s = f.split(8, 16).unwrap();
        assert_eq!((s.iv.len(), s.ciphertext.len(), s.icv.len()), (8, 1, 16));
        assert!(EncryptedFragment::parse(PayloadType::IDR, &[0, 1, 0]).is_err());
    }

    #[test]
    fn split_needs_room_for_pad_length() {
        let e = Encrypted::parse(PayloadType::NONE, &[0; 25]);
        let s = e.split(8, 16).unwrap();
        assert_eq!((s.iv.len(), s.ciphertext.len(), s.icv.len()), (8, 1, 16));
        assert!(
            Encrypted::parse(PayloadType::NONE, &[0; 24])
                .split(8, 16)
                .is_err()
        );
        assert!(e.split(usize::MAX, usize::MAX).is_err());
    }

    #[test]
    fn padding() {
        assert_eq!(
            split_padding(&[1, 2, 3, 0]).unwrap(),
            (&[1, 2, 3][..], &[][..])
        );
        assert_eq!(
            split_padding(&[1, 9, 9, 2]).unwrap(),
            (&[1][..], &[9, 9][..])
        );
        assert!(split_padding(&[1, 2, 3]).is_err());
        assert!(split_padding(&[]).is_err());
        assert_eq!(padding_len(40, 1), 0);
        assert_eq!(padding_len(40, 16), 7);
        assert_eq!(padding_len(47, 16), 0);
        assert_eq!(padding_len(15, 16), 0);
        assert_eq!(padding_len(16, 16), 15);
        assert_eq!(padding_len(usize::MAX, 16), 0);
        assert_eq!(padding_len(5, 0), 0);
    }
}
