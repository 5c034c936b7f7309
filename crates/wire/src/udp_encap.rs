//! UDP encapsulation on port 4500 (RFC 3948 §2, RFC 7296 §2.23): IKE messages behind a
//! non-ESP marker, ESP packets, and NAT-keepalives share one socket.

use crate::error::{Error, Structure};

/// The non-ESP marker that precedes IKE messages on port 4500.
///
/// RFC 3948 §2.2: "Non-ESP Marker is 4 bytes of zero aligning with the SPI field of an
/// ESP packet." RFC 7296 §3.1: "These four octets of zeros are not part of the IKE message and are not
/// included in any of the length fields or checksums defined by IKE."
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];

/// The NAT-keepalive datagram.
///
/// RFC 3948 §2.3: "The sender MUST use a one-octet-long payload with the value 0xFF."
pub const NAT_KEEPALIVE: [u8; 1] = [0xff];

/// ESP header (SPI and Sequence Number) length.
pub const ESP_HEADER_LEN: usize = 8;

/// What a datagram received on port 4500 carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encapsulated<'a> {
    /// An IKE message: the bytes after the non-ESP marker, for [`crate::Message::parse`].
    Ike(&'a [u8]),
    /// An ESP packet, starting at its SPI.
    Esp(EspPacket<'a>),
    /// A NAT-keepalive.
    ///
    /// RFC 3948 §2.3: "The receiver SHOULD ignore a received NAT-keepalive packet."
    Keepalive,
}

/// A UDP-encapsulated ESP packet, not yet authenticated or decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EspPacket<'a> {
    bytes: &'a [u8],
}

impl<'a> EspPacket<'a> {
    /// The whole ESP packet (SPI, Sequence Number, payload, ICV).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        u32::from_be_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
    }

    /// The Sequence Number (low 32 bits).
    pub fn sequence_number(&self) -> u32 {
        u32::from_be_bytes([self.bytes[4], self.bytes[5], self.bytes[6], self.bytes[7]])
    }
}

/// Tells apart what arrived on UDP port 4500.
///
/// The marker sits where an ESP packet has its SPI, and RFC 3948 §2.1 says "The SPI field
/// in the ESP header MUST NOT be a zero value.", so four zero octets mean IKE. A datagram
/// that is neither a keepalive, nor a marker followed by something, nor long enough for
/// an ESP header is an error.
pub fn classify(datagram: &[u8]) -> Result<Encapsulated<'_>, Error> {
    let at = Structure::Datagram;
    if datagram == NAT_KEEPALIVE {
        return Ok(Encapsulated::Keepalive);
    }
    if let Some(ike) = strip_non_esp_marker(datagram) {
        if ike.is_empty() {
            return Err(Error::Truncated {
                at,
                field: "IKE message after the non-ESP marker",
                needed: crate::HEADER_LEN,
                available: 0,
            });
        }
        return Ok(Encapsulated::Ike(ike));
    }
    if datagram.len() < ESP_HEADER_LEN {
        return Err(Error::BadLength {
            at,
            field: "datagram length",
            length: datagram.len(),
            reason: "neither a NAT-keepalive, a non-ESP marker nor an ESP header",
        });
    }
    Ok(Encapsulated::Esp(EspPacket { bytes: datagram }))
}

/// The IKE message after the non-ESP marker, or `None` if the datagram does not start with
/// one.
pub fn strip_non_esp_marker(datagram: &[u8]) -> Option<&[u8]> {
    datagram.strip_prefix(&NON_ESP_MARKER[..])
}

/// Appends the non-ESP marker and then the IKE message, for sending on port 4500.
pub fn add_non_esp_marker(ike_message: &[u8], out: &mut Vec<u8>) {
    out.reserve(NON_ESP_MARKER.len() + ike_message.len());
    out.extend_from_slice(&NON_ESP_MARKER);
    out.extend_from_slice(ike_message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify(&[0xff]).unwrap(), Encapsulated::Keepalive);
        assert_eq!(
            classify(&[0, 0, 0, 0, 1, 2]).unwrap(),
            Encapsulated::Ike(&[1, 2])
        );
        let esp = [0xc4, 0x5d, 0x4f, 0x4c, 0, 0, 0, 1, 9, 9];
        let Encapsulated::Esp(p) = classify(&esp).unwrap() else {
            panic!("not ESP")
        };
        assert_eq!(p.spi(), 0xc45d4f4c);
        assert_eq!(p.sequence_number(), 1);
        assert_eq!(p.bytes(), esp);
        for bad in [
            &[][..],
            &[0xfe],
            &[0, 0, 0, 0],
            &[1, 2, 3, 4, 5, 6, 7],
            &[0, 0, 0],
        ] {
            assert!(classify(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn marker_round_trip() {
        let mut out = Vec::new();
        add_non_esp_marker(&[7, 8, 9], &mut out);
        assert_eq!(out, [0, 0, 0, 0, 7, 8, 9]);
        assert_eq!(strip_non_esp_marker(&out), Some(&[7, 8, 9][..]));
        assert_eq!(strip_non_esp_marker(&[0, 0, 1, 0]), None);
    }
}
