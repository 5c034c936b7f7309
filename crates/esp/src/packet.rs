//! A typed zero-copy view over ESP packets (RFC 4303 §2) and the trailer of a decrypted
//! one.
//!
//! ```text
//!  0                   1                   2                   3
//! +---------------------------------------------------------------+
//! |               Security Parameters Index (SPI)                 |
//! |                      Sequence Number                          |
//! |  IV (8 octets for the AEADs, 16 for AES-CBC)                  |
//! ~  Payload Data | Padding | Pad Length | Next Header (encrypted)~
//! ~  Integrity Check Value (ICV)                                  ~
//! +---------------------------------------------------------------+
//! ```

use crate::error::{EspError, malformed};

/// Length of the ESP header: SPI and Sequence Number.
pub const ESP_HEADER_LEN: usize = 8;

/// Next Header value of an IPv4 inner packet (tunnel mode).
pub const NEXT_HEADER_IPV4: u8 = 4;
/// Next Header value of an IPv6 inner packet (tunnel mode).
pub const NEXT_HEADER_IPV6: u8 = 41;
/// Next Header value of a dummy packet.
///
/// RFC 4303 §2.6: "the protocol value 59 (which means "no next header") MUST be used to
/// designate a "dummy" packet", and "A receiver MUST be prepared to silently discard
/// dummy packets."
pub const NEXT_HEADER_NONE: u8 = 59;

/// A view over the bytes of an ESP packet, checked to hold at least the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Wraps `buffer` after checking that it holds the ESP header.
    ///
    /// # Errors
    /// [`EspError::Malformed`] if it is shorter than 8 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, EspError> {
        if buffer.as_ref().len() < ESP_HEADER_LEN {
            return Err(malformed("shorter than the ESP header"));
        }
        Ok(Self { buffer })
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The Sequence Number field (the low 32 bits with ESN).
    pub fn sequence_number(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// Everything after the header: IV, ciphertext and ICV.
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[ESP_HEADER_LEN..]
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EspPacket<T> {
    /// Sets the SPI.
    pub fn set_spi(&mut self, spi: u32) {
        self.buffer.as_mut()[..4].copy_from_slice(&spi.to_be_bytes());
    }

    /// Sets the Sequence Number field.
    pub fn set_sequence_number(&mut self, seq: u32) {
        self.buffer.as_mut()[4..8].copy_from_slice(&seq.to_be_bytes());
    }
}

/// The SPI of a datagram that may be ESP, without any other check (for dispatching to
/// the right SA).
pub fn spi_of(datagram: &[u8]) -> Option<u32> {
    let spi: [u8; 4] = datagram.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(spi))
}

/// The padding octets the sender writes: 1, 2, 3, ... (RFC 4303 §2.4).
pub(crate) fn write_trailer(out: &mut [u8], pad_len: usize, next_header: u8) {
    // RFC 4303 §2.4: "the Padding bytes are initialized with a series of (unsigned,
    // 1-byte) integer values. The first padding byte appended to the plaintext is
    // numbered 1, with subsequent padding bytes making up a monotonically increasing
    // sequence". `pad_len` is below the alignment (at most 16), so the casts are exact.
    for (i, byte) in out[..pad_len].iter_mut().enumerate() {
        *byte = (i + 1) as u8;
    }
    out[pad_len] = pad_len as u8;
    out[pad_len + 1] = next_header;
}

/// Splits a decrypted `Payload | Padding | Pad Length | Next Header` into the payload
/// length and the Next Header, checking the padding.
///
/// RFC 4303 §2.4: "the receiver SHOULD inspect the Padding field" when the sender used
/// the default padding, which is the only kind this crate's peers (IKEv2 gateways with
/// no TFC padding negotiated) send.
pub(crate) fn parse_trailer(plaintext: &[u8]) -> Result<(usize, u8), EspError> {
    let [.., pad_len, next_header] = *plaintext else {
        return Err(malformed("no room for Pad Length and Next Header"));
    };
    let pad_len = usize::from(pad_len);
    let payload_len = plaintext
        .len()
        .checked_sub(2 + pad_len)
        .ok_or(malformed("Pad Length is longer than the decrypted data"))?;
    let padding = &plaintext[payload_len..payload_len + pad_len];
    // Compare all bytes without an early exit; the result is not secret (the ICV was
    // good), but the loop stays simple and branch-free.
    let bad = padding
        .iter()
        .enumerate()
        .fold(0u8, |acc, (i, &b)| acc | (b ^ ((i + 1) as u8)));
    if bad != 0 {
        return Err(malformed("padding bytes are not 1, 2, 3, ..."));
    }
    Ok((payload_len, next_header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let mut bytes = [0u8; 12];
        let mut p = EspPacket::new_checked(&mut bytes[..]).unwrap();
        p.set_spi(0x0102_0304);
        p.set_sequence_number(5);
        assert_eq!(p.spi(), 0x0102_0304);
        assert_eq!(p.sequence_number(), 5);
        assert_eq!(p.body().len(), 4);
        assert_eq!(bytes[..8], [1, 2, 3, 4, 0, 0, 0, 5]);
        assert!(EspPacket::new_checked(&[0u8; 7][..]).is_err());
        assert_eq!(spi_of(&[0, 0, 1, 0, 9]), Some(256));
        assert_eq!(spi_of(&[0, 0, 1]), None);
    }

    #[test]
    fn trailer_round_trip_and_checks() {
        for pad in 0..=15usize {
            let mut buf = vec![0xaa; 3 + pad + 2];
            write_trailer(&mut buf[3..], pad, 41);
            assert_eq!(parse_trailer(&buf).unwrap(), (3, 41));
        }
        assert!(parse_trailer(&[]).is_err());
        assert!(parse_trailer(&[4]).is_err());
        assert_eq!(parse_trailer(&[0, 4]).unwrap(), (0, 4));
        assert!(parse_trailer(&[1, 4]).is_err(), "pad length beyond data");
        assert!(parse_trailer(&[9, 1, 3, 2, 4]).is_err(), "padding 1, 3");
        assert_eq!(parse_trailer(&[9, 1, 2, 2, 4]).unwrap(), (1, 4));
    }
}
