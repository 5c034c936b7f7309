//! What arrives on, and what else is sent to, UDP port 4500 (RFC 3948).

use corridor_wire::udp_encap::{self, Encapsulated};

use crate::error::{EspError, malformed};

/// The NAT-keepalive datagram to send when no other packet went out for a while.
///
/// RFC 3948 §2.3: "The sender MUST use a one-octet-long payload with the value 0xFF."
pub fn nat_keepalive() -> [u8; 1] {
    udp_encap::NAT_KEEPALIVE
}

/// The kind of a datagram received on port 4500. It borrows nothing, so the caller can
/// hand the same buffer mutably to [`crate::InboundSa::decapsulate`] afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// An ESP packet (the whole datagram) for the SA with this SPI.
    Esp {
        /// Its SPI.
        spi: u32,
    },
    /// An IKE message, starting at this offset (after the non-ESP marker).
    Ike {
        /// Where the IKE header starts.
        offset: usize,
    },
    /// A NAT-keepalive, to be ignored (RFC 3948 §2.3: "The receiver SHOULD ignore a
    /// received NAT-keepalive packet.").
    Keepalive,
}

/// Tells ESP, IKE and keepalives apart in a UDP payload received on port 4500.
///
/// # Errors
/// [`EspError::Malformed`] for a datagram that is none of them (too short for an ESP
/// header, or a non-ESP marker with nothing behind it).
pub fn classify(datagram: &[u8]) -> Result<Received, EspError> {
    match udp_encap::classify(datagram) {
        Ok(Encapsulated::Esp(esp)) => Ok(Received::Esp { spi: esp.spi() }),
        Ok(Encapsulated::Ike(_)) => Ok(Received::Ike {
            offset: udp_encap::NON_ESP_MARKER.len(),
        }),
        Ok(Encapsulated::Keepalive) => Ok(Received::Keepalive),
        Err(_) => Err(malformed(
            "datagram on port 4500 is neither ESP, IKE nor a keepalive",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify(&nat_keepalive()).unwrap(), Received::Keepalive);
        assert_eq!(
            classify(&[0, 0, 0, 0, 0x2e, 0x20]).unwrap(),
            Received::Ike { offset: 4 }
        );
        assert_eq!(
            classify(&[1, 2, 3, 4, 0, 0, 0, 1, 9]).unwrap(),
            Received::Esp { spi: 0x0102_0304 }
        );
        assert!(classify(&[]).is_err());
        assert!(classify(&[0, 0, 0, 0]).is_err());
        assert!(classify(&[1, 2, 3, 4, 5]).is_err());
    }
}
