//! The Notify payload (RFC 7296 §3.10) and the data formats of the notifications the
//! client acts on.

use crate::error::{Error, Structure};
use crate::reader::{Reader, count};
use crate::registry::{HashAlgorithm, KeMethod, NotifyType, PayloadType, ProtocolId};

const AT: Structure = Structure::Payload(PayloadType::NOTIFY);

/// SHA-1 digest length, the size of NAT_DETECTION_*_IP data.
const NAT_DETECTION_LEN: usize = 20;
/// RFC 7296 §2.6: "The data associated with this notification MUST be between 1 and 64
/// octets in length (inclusive)".
const COOKIE_LEN: std::ops::RangeInclusive<usize> = 1..=64;

/// A Notify payload.
///
/// The generic structure is checked when parsing; the data of a specific type is checked
/// by the accessor for that type, so that a status notification we do not act on can
/// never make a message fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notify<'a> {
    protocol: ProtocolId,
    notify_type: NotifyType,
    spi: &'a [u8],
    data: &'a [u8],
}

impl<'a> Notify<'a> {
    /// Parses a Notify payload body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, AT);
        let protocol = ProtocolId::new(r.u8("protocol ID")?);
        let spi_size = usize::from(r.u8("SPI size")?);
        let notify_type = NotifyType::new(r.u16("notify message type")?);
        let spi = r.take(spi_size, "SPI")?;
        Ok(Self {
            protocol,
            notify_type,
            spi,
            data: r.rest(),
        })
    }

    /// Notify Message Type.
    pub fn notify_type(&self) -> NotifyType {
        self.notify_type
    }

    /// Protocol ID of the SA named by the SPI.
    ///
    /// RFC 7296 §3.10: "If the SPI field is empty, this field MUST be sent as zero and
    /// MUST be ignored on receipt." This returns [`ProtocolId::NONE`] in that case.
    pub fn protocol(&self) -> ProtocolId {
        if self.spi.is_empty() {
            ProtocolId::NONE
        } else {
            self.protocol
        }
    }

    /// The SPI field (empty for most notifications).
    pub fn spi(&self) -> &'a [u8] {
        self.spi
    }

    /// Notification Data.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Whether this is an error notification.
    pub fn is_error(&self) -> bool {
        self.notify_type.is_error()
    }

    fn expect(&self, expected: NotifyType) -> Result<(), Error> {
        if self.notify_type == expected {
            Ok(())
        } else {
            Err(Error::InvalidValue {
                at: AT,
                field: "notify message type",
                value: self.notify_type.get().into(),
                reason: "not the notification whose data was asked for",
            })
        }
    }

    fn data_len(&self, expected: usize, reason: &'static str) -> Result<&'a [u8], Error> {
        if self.data.len() == expected {
            Ok(self.data)
        } else {
            Err(Error::BadLength {
                at: AT,
                field: "notification data",
                length: self.data.len(),
                reason,
            })
        }
    }

    /// The data of a COOKIE notification.
    pub fn cookie(&self) -> Result<&'a [u8], Error> {
        self.expect(NotifyType::COOKIE)?;
        if !COOKIE_LEN.contains(&self.data.len()) {
            return Err(Error::BadLength {
                at: AT,
                field: "notification data",
                length: self.data.len(),
                reason: "a COOKIE is 1 to 64 bytes",
            });
        }
        Ok(self.data)
    }

    /// The hash of a NAT_DETECTION_SOURCE_IP or NAT_DETECTION_DESTINATION_IP notification.
    ///
    /// RFC 7296 §2.23: "The data associated with the NAT_DETECTION_SOURCE_IP notification
    /// is a SHA-1 digest of the SPIs (in the order they appear in the header), IP address,
    /// and port from which this packet was sent."
    pub fn nat_detection_hash(&self) -> Result<&'a [u8; NAT_DETECTION_LEN], Error> {
        if !matches!(
            self.notify_type,
            NotifyType::NAT_DETECTION_SOURCE_IP | NotifyType::NAT_DETECTION_DESTINATION_IP
        ) {
            self.expect(NotifyType::NAT_DETECTION_SOURCE_IP)?;
        }
        let data = self.data_len(NAT_DETECTION_LEN, "a NAT detection hash is a 20-byte SHA-1")?;
        data.try_into().map_err(|_| Error::BadLength {
            at: AT,
            field: "notification data",
            length: data.len(),
            reason: "a NAT detection hash is a 20-byte SHA-1",
        })
    }

    /// The key exchange method the responder asks for in INVALID_KE_PAYLOAD.
    ///
    /// RFC 7296 §1.3: "There are two octets of data associated with this notification: the
    /// accepted Diffie-Hellman group number in big endian order."
    pub fn accepted_ke_method(&self) -> Result<KeMethod, Error> {
        self.expect(NotifyType::INVALID_KE_PAYLOAD)?;
        let data = self.data_len(2, "INVALID_KE_PAYLOAD carries a 2-byte group number")?;
        Ok(KeMethod::new(u16::from_be_bytes([data[0], data[1]])))
    }

    /// The hash algorithms of a SIGNATURE_HASH_ALGORITHMS notification.
    ///
    /// RFC 7427 §4: "The Notification Data field contains the list of 16-bit hash algorithm
    /// identifiers from the Hash Algorithm Identifiers of IANA's "Internet Key Exchange
    /// Version 2 (IKEv2) Parameters" registry."
    pub fn signature_hash_algorithms(
        &self,
    ) -> Result<impl Iterator<Item = HashAlgorithm> + 'a, Error> {
        self.expect(NotifyType::SIGNATURE_HASH_ALGORITHMS)?;
        if !self.data.len().is_multiple_of(2) {
            return Err(Error::BadLength {
                at: AT,
                field: "notification data",
                length: self.data.len(),
                reason: "not a whole number of 2-byte hash algorithm identifiers",
            });
        }
        Ok(self
            .data
            .chunks_exact(2)
            .map(|c| HashAlgorithm::new(u16::from_be_bytes([c[0], c[1]]))))
    }

    /// The window size of a SET_WINDOW_SIZE notification (a 4-octet integer, RFC 7296
    /// §2.3).
    pub fn window_size(&self) -> Result<u32, Error> {
        self.expect(NotifyType::SET_WINDOW_SIZE)?;
        let data = self.data_len(4, "SET_WINDOW_SIZE carries a 4-byte integer")?;
        Ok(u32::from_be_bytes([data[0], data[1], data[2], data[3]]))
    }

    /// The payload type named by an UNSUPPORTED_CRITICAL_PAYLOAD notification.
    ///
    /// RFC 7296 §2.5: "In that Notify payload, the notification data contains the
    /// one-octet payload type."
    pub fn unsupported_payload_type(&self) -> Result<PayloadType, Error> {
        self.expect(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)?;
        let data = self.data_len(1, "UNSUPPORTED_CRITICAL_PAYLOAD carries a 1-byte type")?;
        Ok(PayloadType::new(data[0]))
    }

    /// The SPI of an AH or ESP Child SA, for REKEY_SA, CHILD_SA_NOT_FOUND and
    /// INVALID_SELECTORS.
    ///
    /// RFC 7296 §3.10: "For notifications concerning Child SAs, this field MUST contain
    /// either (2) to indicate AH or (3) to indicate ESP."
    pub fn child_spi(&self) -> Result<(ProtocolId, u32), Error> {
        if !matches!(self.protocol, ProtocolId::AH | ProtocolId::ESP) {
            return Err(Error::InvalidValue {
                at: AT,
                field: "protocol ID",
                value: self.protocol.get().into(),
                reason: "a Child SA notification names AH (2) or ESP (3)",
            });
        }
        let spi: [u8; 4] = self.spi.try_into().map_err(|_| Error::BadLength {
            at: AT,
            field: "SPI size",
            length: self.spi.len(),
            reason: "an AH or ESP SPI is 4 bytes",
        })?;
        Ok((self.protocol, u32::from_be_bytes(spi)))
    }
}

/// A Notify payload to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyBuilder {
    /// Protocol ID (zero when there is no SPI).
    pub protocol: ProtocolId,
    /// Notify Message Type.
    pub notify_type: NotifyType,
    /// SPI (empty for notifications about the IKE SA).
    pub spi: Vec<u8>,
    /// Notification Data.
    pub data: Vec<u8>,
}

impl NotifyBuilder {
    /// A notification without SPI or data.
    pub fn new(notify_type: NotifyType) -> Self {
        Self {
            protocol: ProtocolId::NONE,
            notify_type,
            spi: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Sets the Notification Data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Names a Child SA by protocol and SPI (REKEY_SA and friends).
    pub fn with_child_spi(mut self, protocol: ProtocolId, spi: u32) -> Self {
        self.protocol = protocol;
        self.spi = spi.to_be_bytes().to_vec();
        self
    }

    /// COOKIE, echoing the responder's data.
    pub fn cookie(data: &[u8]) -> Self {
        Self::new(NotifyType::COOKIE).with_data(data)
    }

    /// INVALID_KE_PAYLOAD naming the method we accept.
    pub fn invalid_ke_payload(accepted: KeMethod) -> Self {
        Self::new(NotifyType::INVALID_KE_PAYLOAD).with_data(accepted.get().to_be_bytes())
    }

    /// SIGNATURE_HASH_ALGORITHMS listing the hashes we accept.
    pub fn signature_hash_algorithms(algorithms: &[HashAlgorithm]) -> Self {
        let data: Vec<u8> = algorithms
            .iter()
            .flat_map(|a| a.get().to_be_bytes())
            .collect();
        Self::new(NotifyType::SIGNATURE_HASH_ALGORITHMS).with_data(data)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        // RFC 7296 §3.10: "If the SPI field is empty, this field MUST be sent as zero".
        let protocol = if self.spi.is_empty() {
            ProtocolId::NONE
        } else {
            self.protocol
        };
        out.push(protocol.get());
        out.push(count(self.spi.len(), AT, "SPI size", 255)?);
        out.extend_from_slice(&self.notify_type.get().to_be_bytes());
        out.extend_from_slice(&self.spi);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

impl From<&Notify<'_>> for NotifyBuilder {
    fn from(n: &Notify<'_>) -> Self {
        Self {
            protocol: n.protocol(),
            notify_type: n.notify_type,
            spi: n.spi.to_vec(),
            data: n.data.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(n: &NotifyBuilder) -> Vec<u8> {
        let mut out = Vec::new();
        n.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn invalid_ke_payload_from_strongswan() {
        // The notify body of tests/data/strongswan/02-ike_sa_init-rsp-mid0.hex.
        let body = [0, 0, 0, 0x11, 0, 0x13];
        let n = Notify::parse(&body).unwrap();
        assert_eq!(n.notify_type(), NotifyType::INVALID_KE_PAYLOAD);
        assert!(n.is_error());
        assert_eq!(n.accepted_ke_method().unwrap(), KeMethod::ECP_256);
        assert!(n.cookie().is_err());
        assert_eq!(encode(&NotifyBuilder::from(&n)), body);
        assert_eq!(
            encode(&NotifyBuilder::invalid_ke_payload(KeMethod::ECP_256)),
            body
        );
    }

    #[test]
    fn typed_data_is_checked() {
        let cookie = |len: usize| NotifyBuilder::cookie(&vec![7; len]);
        for (len, ok) in [(0, false), (1, true), (64, true), (65, false)] {
            let bytes = encode(&cookie(len));
            assert_eq!(Notify::parse(&bytes).unwrap().cookie().is_ok(), ok, "{len}");
        }
        let nat = encode(
            &NotifyBuilder::new(NotifyType::NAT_DETECTION_DESTINATION_IP).with_data([1; 20]),
        );
        assert_eq!(
            Notify::parse(&nat).unwrap().nat_detection_hash().unwrap(),
            &[1; 20]
        );
        let nat =
            encode(&NotifyBuilder::new(NotifyType::NAT_DETECTION_SOURCE_IP).with_data([1; 19]));
        assert!(Notify::parse(&nat).unwrap().nat_detection_hash().is_err());

        let sha = encode(&NotifyBuilder::signature_hash_algorithms(&[
            HashAlgorithm::SHA2_256,
            HashAlgorithm::IDENTITY,
        ]));
        let algs: Vec<_> = Notify::parse(&sha)
            .unwrap()
            .signature_hash_algorithms()
            .unwrap()
            .collect();
        assert_eq!(algs, [HashAlgorithm::SHA2_256, HashAlgorithm::IDENTITY]);
        let odd =
            encode(&NotifyBuilder::new(NotifyType::SIGNATURE_HASH_ALGORITHMS).with_data([0, 2, 0]));
        assert!(
            Notify::parse(&odd)
                .unwrap()
                .signature_hash_algorithms()
                .is_err()
        );

        let win =
            encode(&NotifyBuilder::new(NotifyType::SET_WINDOW_SIZE).with_data(5u32.to_be_bytes()));
        assert_eq!(Notify::parse(&win).unwrap().window_size().unwrap(), 5);

        let crit =
            encode(&NotifyBuilder::new(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD).with_data([99]));
        assert_eq!(
            Notify::parse(&crit)
                .unwrap()
                .unsupported_payload_type()
                .unwrap(),
            PayloadType::new(99)
        );
    }

    #[test]
    fn spi_and_protocol() {
        let rekey =
            NotifyBuilder::new(NotifyType::REKEY_SA).with_child_spi(ProtocolId::ESP, 0xc45d4f4c);
        let bytes = encode(&rekey);
        assert_eq!(bytes, [3, 4, 0x40, 0x09, 0xc4, 0x5d, 0x4f, 0x4c]);
        let n = Notify::parse(&bytes).unwrap();
        assert_eq!(n.child_spi().unwrap(), (ProtocolId::ESP, 0xc45d4f4c));
        // Protocol ID is ignored without an SPI.
        let n = Notify::parse(&[3, 0, 0x40, 0x00]).unwrap();
        assert_eq!(n.protocol(), ProtocolId::NONE);
        assert!(n.child_spi().is_err());
        // SPI size beyond the payload.
        assert!(matches!(
            Notify::parse(&[3, 4, 0x40, 0x09, 1]),
            Err(Error::Truncated { .. })
        ));
    }
}
