//! The Delete payload (RFC 7296 §3.11).

use crate::error::{Error, Structure};
use crate::reader::{Reader, count};
use crate::registry::{PayloadType, ProtocolId};

const AT: Structure = Structure::Payload(PayloadType::DELETE);

/// A Delete payload. The SPIs are not copied: [`Delete::spis`] reads them in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delete<'a> {
    protocol: ProtocolId,
    spis: &'a [u8],
}

/// RFC 7296 §3.11, SPI Size: "It MUST be zero for IKE (SPI is in message header) or four
/// for AH and ESP." and Protocol ID: "Must be 1 for an IKE SA, 2 for AH, or 3 for ESP."
fn spi_size(protocol: ProtocolId) -> Result<usize, &'static str> {
    match protocol {
        ProtocolId::IKE => Ok(0),
        ProtocolId::AH | ProtocolId::ESP => Ok(4),
        _ => Err("a Delete names IKE (1), AH (2) or ESP (3)"),
    }
}

impl<'a> Delete<'a> {
    /// Parses a Delete payload body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, AT);
        let protocol = ProtocolId::new(r.u8("protocol ID")?);
        let size = usize::from(r.u8("SPI size")?);
        let num = usize::from(r.u16("num of SPIs")?);
        let expected = spi_size(protocol).map_err(|reason| Error::InvalidValue {
            at: AT,
            field: "protocol ID",
            value: protocol.get().into(),
            reason,
        })?;
        if size != expected {
            return Err(Error::InvalidValue {
                at: AT,
                field: "SPI size",
                value: size as u64,
                reason: "must be 0 for IKE and 4 for AH and ESP",
            });
        }
        // RFC 7296 §3.11: "Deletion of the IKE SA is indicated by a protocol ID of 1 (IKE)
        // but no SPIs."
        if size == 0 && num != 0 {
            return Err(Error::InvalidValue {
                at: AT,
                field: "num of SPIs",
                value: num as u64,
                reason: "deleting the IKE SA lists no SPIs",
            });
        }
        // RFC 7296 §3.11: "The length of this field is determined by the SPI Size and Num
        // of SPIs fields."
        let spis = r.take(size * num, "SPIs")?;
        r.finish()?;
        Ok(Self { protocol, spis })
    }

    /// Protocol ID of the SAs deleted.
    pub fn protocol(&self) -> ProtocolId {
        self.protocol
    }

    /// Whether this deletes the IKE SA.
    pub fn is_ike(&self) -> bool {
        self.protocol == ProtocolId::IKE
    }

    /// The SPIs of the AH or ESP SAs deleted (none for IKE).
    pub fn spis(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.spis
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// A Delete payload to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteBuilder {
    /// Protocol ID.
    pub protocol: ProtocolId,
    /// SPIs (for AH and ESP; must be empty for IKE).
    pub spis: Vec<u32>,
}

impl DeleteBuilder {
    /// Deletes the IKE SA.
    pub fn ike() -> Self {
        Self {
            protocol: ProtocolId::IKE,
            spis: Vec::new(),
        }
    }

    /// Deletes ESP SAs by their inbound SPIs.
    pub fn esp(spis: impl Into<Vec<u32>>) -> Self {
        Self {
            protocol: ProtocolId::ESP,
            spis: spis.into(),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let size =
            spi_size(self.protocol).map_err(|reason| Error::Unencodable { at: AT, reason })?;
        if size == 0 && !self.spis.is_empty() {
            return Err(Error::Unencodable {
                at: AT,
                reason: "deleting the IKE SA lists no SPIs",
            });
        }
        out.push(self.protocol.get());
        out.push(size as u8);
        out.extend_from_slice(
            &count::<u16>(self.spis.len(), AT, "num of SPIs", 65535)?.to_be_bytes(),
        );
        for spi in &self.spis {
            out.extend_from_slice(&spi.to_be_bytes());
        }
        Ok(())
    }
}

impl From<&Delete<'_>> for DeleteBuilder {
    fn from(d: &Delete<'_>) -> Self {
        Self {
            protocol: d.protocol,
            spis: d.spis().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for d in [DeleteBuilder::ike(), DeleteBuilder::esp([0x43c42385, 1])] {
            let mut out = Vec::new();
            d.encode(&mut out).unwrap();
            let parsed = Delete::parse(&out).unwrap();
            assert_eq!(DeleteBuilder::from(&parsed), d);
        }
        let parsed = Delete::parse(&[3, 4, 0, 1, 0x43, 0xc4, 0x23, 0x85]).unwrap();
        assert_eq!(parsed.spis().collect::<Vec<_>>(), [0x43c42385]);
        assert!(!parsed.is_ike());
    }

    #[test]
    fn rejects_inconsistent_counts() {
        assert!(matches!(
            Delete::parse(&[3, 4, 0, 2, 0, 0, 0, 1]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            Delete::parse(&[3, 4, 0, 1, 0, 0, 0, 1, 9]),
            Err(Error::TrailingData { len: 1, .. })
        ));
        assert!(Delete::parse(&[1, 0, 0, 1]).is_err());
        assert!(Delete::parse(&[1, 8, 0, 0]).is_err());
        assert!(Delete::parse(&[3, 8, 0, 0]).is_err());
        assert!(Delete::parse(&[4, 4, 0, 0]).is_err());
        // A huge count is refused without allocating: the SPIs are read in place.
        assert!(Delete::parse(&[3, 4, 0xff, 0xff]).is_err());
    }
}
