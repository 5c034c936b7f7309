//! The fixed IKE header (RFC 7296 §3.1).

use std::fmt;

use crate::error::{Error, Structure};
use crate::reader::Reader;
use crate::registry::{ExchangeType, PayloadType};

/// Length of the IKE header in octets.
pub const HEADER_LEN: usize = 28;

/// The IKE major version this crate speaks.
pub const IKE_MAJOR_VERSION: u8 = 2;

/// The Flags octet of the IKE header.
///
/// The three defined bits have accessors; the reserved ("X") bits are kept as received so
/// that a parsed header re-encodes to the same bytes, and builders leave them clear.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// I (Initiator).
    ///
    /// RFC 7296 §3.1: "This bit MUST be set in messages sent by the original initiator of
    /// the IKE SA and MUST be cleared in messages sent by the original responder."
    pub const INITIATOR: u8 = 0x08;
    /// V (Version).
    ///
    /// RFC 7296 §3.1: "Implementations of IKEv2 MUST clear this bit when sending and MUST
    /// ignore it in incoming messages."
    pub const VERSION: u8 = 0x10;
    /// R (Response).
    ///
    /// RFC 7296 §3.1: "This bit MUST be cleared in all request messages and MUST be set in
    /// all responses."
    pub const RESPONSE: u8 = 0x20;

    /// Flags from the raw octet.
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    /// Flags for a message from the original initiator (`initiator`) that is a request or
    /// a response (`response`).
    pub const fn new(initiator: bool, response: bool) -> Self {
        let mut bits = 0;
        if initiator {
            bits |= Self::INITIATOR;
        }
        if response {
            bits |= Self::RESPONSE;
        }
        Self(bits)
    }

    /// The raw octet.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether the I bit is set.
    pub const fn is_initiator(self) -> bool {
        self.0 & Self::INITIATOR != 0
    }

    /// Whether the R bit is set.
    pub const fn is_response(self) -> bool {
        self.0 & Self::RESPONSE != 0
    }

    /// Whether the V bit is set (informational only; it must be ignored).
    pub const fn version_bit(self) -> bool {
        self.0 & Self::VERSION != 0
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.is_initiator() {
            parts.push("I");
        }
        if self.version_bit() {
            parts.push("V");
        }
        if self.is_response() {
            parts.push("R");
        }
        let other = self.0 & !(Self::INITIATOR | Self::VERSION | Self::RESPONSE);
        if other == 0 {
            write!(f, "Flags({})", parts.join("|"))
        } else {
            write!(f, "Flags({}|X=0x{other:02x})", parts.join("|"))
        }
    }
}

/// The IKE header.
///
/// SPIs are carried as `u64` in network byte order (the first octet on the wire is the
/// most significant); zero means "not known yet".
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// IKE SA Initiator's SPI.
    pub spi_i: u64,
    /// IKE SA Responder's SPI.
    pub spi_r: u64,
    /// Type of the first payload.
    pub next_payload: PayloadType,
    /// Major version (always 2 in a header that [`Header::parse`] accepted).
    pub major_version: u8,
    /// Minor version, kept as received.
    ///
    /// RFC 7296 §3.1: "They MUST ignore the minor version number of received messages."
    pub minor_version: u8,
    /// Exchange type; unknown types are kept and left to the `ike` layer.
    pub exchange_type: ExchangeType,
    /// Flags.
    pub flags: Flags,
    /// Message ID.
    pub message_id: u32,
    /// Length of the whole message, header included.
    pub length: u32,
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("spi_i", &format_args!("{:016x}", self.spi_i))
            .field("spi_r", &format_args!("{:016x}", self.spi_r))
            .field("next_payload", &self.next_payload)
            .field(
                "version",
                &format_args!("{}.{}", self.major_version, self.minor_version),
            )
            .field("exchange_type", &self.exchange_type)
            .field("flags", &self.flags)
            .field("message_id", &self.message_id)
            .field("length", &self.length)
            .finish()
    }
}

impl Header {
    /// Reads the 28 header octets without judging them: for answering a message we
    /// reject (INVALID_MAJOR_VERSION, INVALID_SYNTAX) with its SPIs and Message ID.
    pub fn parse_unchecked(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, Structure::Header);
        let spi_i = r.u64("initiator SPI")?;
        let spi_r = r.u64("responder SPI")?;
        let next_payload = PayloadType::new(r.u8("next payload")?);
        let version = r.u8("version")?;
        let exchange_type = ExchangeType::new(r.u8("exchange type")?);
        let flags = Flags::from_bits(r.u8("flags")?);
        let message_id = r.u32("message ID")?;
        let length = r.u32("length")?;
        Ok(Self {
            spi_i,
            spi_r,
            next_payload,
            major_version: version >> 4,
            minor_version: version & 0x0f,
            exchange_type,
            flags,
            message_id,
            length,
        })
    }

    /// Parses and checks the header at the start of `message`, which must be exactly the
    /// IKE message (the non-ESP marker already removed).
    pub fn parse(message: &[u8]) -> Result<Self, Error> {
        let header = Self::parse_unchecked(message)?;
        // RFC 7296 §3.1: "Implementations based on this version of IKE MUST reject or
        // ignore messages containing a version number greater than 2 with an
        // INVALID_MAJOR_VERSION notification message as described in Section 2.5."
        // The version is checked first: a later major version may change everything else.
        if header.major_version != IKE_MAJOR_VERSION {
            return Err(Error::UnsupportedMajorVersion {
                major: header.major_version,
            });
        }
        // RFC 7296 §3.1, Initiator's SPI: "This value MUST NOT be zero."
        if header.spi_i == 0 {
            return Err(Error::InvalidValue {
                at: Structure::Header,
                field: "initiator SPI",
                value: 0,
                reason: "it must not be zero",
            });
        }
        // RFC 7296 §3.1, Length: "Length of the total message (header + payloads) in
        // octets."
        let length = header.length as usize;
        if length < HEADER_LEN {
            return Err(Error::BadLength {
                at: Structure::Header,
                field: "length",
                length,
                reason: "shorter than the 28-byte header",
            });
        }
        if length > message.len() {
            return Err(Error::BadLength {
                at: Structure::Header,
                field: "length",
                length,
                reason: "longer than the datagram",
            });
        }
        if length < message.len() {
            return Err(Error::TrailingData {
                at: Structure::Header,
                len: message.len() - length,
            });
        }
        Ok(header)
    }

    /// Appends the header; `length` is written as given (the message encoder patches it).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.spi_i.to_be_bytes());
        out.extend_from_slice(&self.spi_r.to_be_bytes());
        out.push(self.next_payload.get());
        out.push((self.major_version << 4) | (self.minor_version & 0x0f));
        out.push(self.exchange_type.get());
        out.push(self.flags.bits());
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    /// The IKE_SA_INIT response strongSwan 5.9.8 sent asking for another KE group
    /// (tests/data/strongswan/02-ike_sa_init-rsp-mid0.hex).
    const INVALID_KE_RSP: &str =
        "747fcedb663d854700000000000000002920222000000000000000260000000a000000110013";

    #[test]
    fn parses_a_real_header() {
        let bytes = hex(INVALID_KE_RSP);
        let h = Header::parse(&bytes).unwrap();
        assert_eq!(h, Header::parse_unchecked(&bytes).unwrap());
        assert_eq!(h.spi_i, 0x747f_cedb_663d_8547);
        assert_eq!(h.spi_r, 0);
        assert_eq!(h.next_payload, PayloadType::NOTIFY);
        assert_eq!((h.major_version, h.minor_version), (2, 0));
        assert_eq!(h.exchange_type, ExchangeType::IKE_SA_INIT);
        assert!(h.flags.is_response() && !h.flags.is_initiator());
        assert_eq!(h.message_id, 0);
        assert_eq!(h.length, 38);
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, bytes[..HEADER_LEN]);
        assert_eq!(format!("{:?}", h.flags), "Flags(R)");
    }

    fn header(version: u8, spi_i: u64, length: u32) -> Vec<u8> {
        let mut out = Vec::new();
        Header {
            spi_i,
            spi_r: 0,
            next_payload: PayloadType::NONE,
            major_version: version >> 4,
            minor_version: version & 0xf,
            exchange_type: ExchangeType::INFORMATIONAL,
            flags: Flags::new(true, false),
            message_id: 7,
            length,
        }
        .encode(&mut out);
        out
    }

    #[test]
    fn checks_version_spi_and_length() {
        assert!(Header::parse(&header(0x20, 1, 28)).is_ok());
        // Minor version is ignored.
        assert!(Header::parse(&header(0x2f, 1, 28)).is_ok());
        assert_eq!(
            Header::parse(&header(0x30, 1, 28)).unwrap_err(),
            Error::UnsupportedMajorVersion { major: 3 }
        );
        assert_eq!(
            Header::parse(&header(0x10, 1, 28)).unwrap_err(),
            Error::UnsupportedMajorVersion { major: 1 }
        );
        assert!(matches!(
            Header::parse(&header(0x20, 0, 28)).unwrap_err(),
            Error::InvalidValue {
                field: "initiator SPI",
                ..
            }
        ));
        assert!(matches!(
            Header::parse(&header(0x20, 1, 27)).unwrap_err(),
            Error::BadLength { length: 27, .. }
        ));
        let mut long = header(0x20, 1, 28);
        long.push(0);
        assert_eq!(
            Header::parse(&long).unwrap_err(),
            Error::TrailingData {
                at: Structure::Header,
                len: 1
            }
        );
        assert!(matches!(
            Header::parse(&header(0x20, 1, 28)[..27]).unwrap_err(),
            Error::Truncated { .. }
        ));
    }

    #[test]
    fn flags() {
        let f = Flags::from_bits(0x08 | 0x10 | 0x20 | 0x01);
        assert!(f.is_initiator() && f.is_response() && f.version_bit());
        assert_eq!(format!("{f:?}"), "Flags(I|V|R|X=0x01)");
        assert_eq!(Flags::new(true, true).bits(), 0x28);
    }
}
