//! One error type for everything the codec rejects, and its mapping to the Notify we send.

use std::fmt;

use crate::registry::{NotifyType, PayloadType};

/// The structure an [`Error`] was found in.
///
/// Payloads are named by their type, so an error reads "SA payload: …", "proposal: …".
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Structure {
    /// A UDP datagram on port 4500 (RFC 3948 framing).
    Datagram,
    /// The fixed IKE header (RFC 7296 §3.1).
    Header,
    /// The payload chain of a message, or of the plaintext of an Encrypted payload.
    Chain,
    /// A payload: its generic header and body.
    Payload(PayloadType),
    /// A Proposal substructure of an SA payload (RFC 7296 §3.3.1).
    Proposal,
    /// A Transform substructure (RFC 7296 §3.3.2).
    Transform,
    /// A Transform attribute (RFC 7296 §3.3.5).
    TransformAttribute,
    /// One Traffic Selector (RFC 7296 §3.13.1).
    TrafficSelector,
    /// A Configuration attribute (RFC 7296 §3.15.1).
    ConfigAttribute,
    /// The decrypted content of an Encrypted payload: inner payloads, padding, pad length.
    EncryptedContent,
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Datagram => f.write_str("UDP datagram"),
            Self::Header => f.write_str("IKE header"),
            Self::Chain => f.write_str("payload chain"),
            Self::Payload(t) => match t.name() {
                Some(name) => write!(f, "{name} payload"),
                None => write!(f, "payload of type {}", t.get()),
            },
            Self::Proposal => f.write_str("SA proposal"),
            Self::Transform => f.write_str("SA transform"),
            Self::TransformAttribute => f.write_str("transform attribute"),
            Self::TrafficSelector => f.write_str("traffic selector"),
            Self::ConfigAttribute => f.write_str("configuration attribute"),
            Self::EncryptedContent => f.write_str("decrypted Encrypted payload"),
        }
    }
}

/// Everything the codec can reject, with where and why.
///
/// Parsing errors come from a peer's bytes; [`Error::TooLong`] and [`Error::Unencodable`]
/// come from our own builders holding something the wire format cannot carry.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a field that must be there.
    #[error("{at}: truncated at `{field}`: {needed} bytes needed, {available} left")]
    Truncated {
        /// Where.
        at: Structure,
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },

    /// A length field disagrees with the bytes around it.
    #[error("{at}: `{field}` is {length}, {reason}")]
    BadLength {
        /// Where.
        at: Structure,
        /// The length field.
        field: &'static str,
        /// Its value.
        length: usize,
        /// What it should have been.
        reason: &'static str,
    },

    /// A field holds a value the RFC does not allow.
    #[error("{at}: `{field}` is {value}, {reason}")]
    InvalidValue {
        /// Where.
        at: Structure,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The rule it breaks.
        reason: &'static str,
    },

    /// Bytes are left after the last element of a structure.
    #[error("{at}: {len} bytes of trailing data")]
    TrailingData {
        /// Where.
        at: Structure,
        /// How many bytes were left.
        len: usize,
    },

    /// More elements than this codec accepts (see [`crate::limits`]).
    #[error("{at}: more than {limit} {what}")]
    TooMany {
        /// Where.
        at: Structure,
        /// What was counted.
        what: &'static str,
        /// The cap.
        limit: usize,
    },

    /// A payload of a type we do not understand with the critical bit set.
    ///
    /// RFC 7296 §2.5: "If the critical flag is set and the payload type is unrecognized,
    /// the message MUST be rejected and the response to the IKE request containing that
    /// payload MUST include a Notify payload UNSUPPORTED_CRITICAL_PAYLOAD, indicating an
    /// unsupported critical payload was included."
    #[error("unsupported critical payload of type {}", payload_type.get())]
    UnsupportedCriticalPayload {
        /// The payload's type, for the Notification Data of the answer.
        payload_type: PayloadType,
    },

    /// The header carries a major version other than 2.
    #[error("IKE major version {major} is not supported (only 2 is)")]
    UnsupportedMajorVersion {
        /// The major version received.
        major: u8,
    },

    /// A builder holds a value longer than its length field can express.
    #[error("{at}: `{field}` would be {length} bytes, at most {max} fit")]
    TooLong {
        /// Where.
        at: Structure,
        /// The field.
        field: &'static str,
        /// The length that would have been written.
        length: usize,
        /// The largest the format allows.
        max: usize,
    },

    /// A builder holds something the wire format cannot express as it stands.
    #[error("{at}: cannot encode: {reason}")]
    Unencodable {
        /// Where.
        at: Structure,
        /// Why.
        reason: &'static str,
    },
}

/// The three families of [`Error`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The peer's bytes are malformed.
    InvalidMessage,
    /// The bytes are well formed but use something we do not implement (a critical
    /// payload type, another major version).
    Unsupported,
    /// Our own builder holds something that cannot be encoded: a local bug or bad
    /// configuration, never the peer's fault.
    Encoding,
}

impl Error {
    /// Which family this error belongs to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnsupportedCriticalPayload { .. } | Self::UnsupportedMajorVersion { .. } => {
                ErrorKind::Unsupported
            }
            Self::TooLong { .. } | Self::Unencodable { .. } => ErrorKind::Encoding,
            _ => ErrorKind::InvalidMessage,
        }
    }

    /// The Notify message type to answer a request that failed with this error, or `None`
    /// for encoding errors, which are ours and not the peer's.
    ///
    /// RFC 7296 §3.10.1, INVALID_SYNTAX: "To avoid leaking information to someone probing a
    /// node, this status MUST be sent in response to any error not covered by one of the
    /// other status types." Whether to answer at all (only requests, and unprotected ones
    /// only in IKE_SA_INIT) is decided by the `ike` layer (RFC 7296 §2.21).
    pub fn notify_type(&self) -> Option<NotifyType> {
        match self {
            Self::UnsupportedCriticalPayload { .. } => {
                Some(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)
            }
            // RFC 7296 §2.5: "If an endpoint receives a message with a higher major version
            // number, it MUST drop the message and SHOULD send an unauthenticated Notify
            // message of type INVALID_MAJOR_VERSION containing the highest (closest)
            // version number it supports."
            Self::UnsupportedMajorVersion { major } if *major > crate::IKE_MAJOR_VERSION => {
                Some(NotifyType::INVALID_MAJOR_VERSION)
            }
            Self::TooLong { .. } | Self::Unencodable { .. } => None,
            _ => Some(NotifyType::INVALID_SYNTAX),
        }
    }

    /// The Notification Data that goes with [`Error::notify_type`].
    ///
    /// RFC 7296 §2.5: "In that Notify payload, the notification data contains the one-octet
    /// payload type." For INVALID_MAJOR_VERSION it is the highest version we support;
    /// INVALID_SYNTAX carries none.
    pub fn notify_data(&self) -> Vec<u8> {
        match self {
            Self::UnsupportedCriticalPayload { payload_type } => vec![payload_type.get()],
            Self::UnsupportedMajorVersion { .. } => vec![crate::IKE_MAJOR_VERSION << 4],
            _ => Vec::new(),
        }
    }

    /// A Notify payload builder answering this error, or `None` for encoding errors.
    pub fn to_notify(&self) -> Option<crate::payload::NotifyBuilder> {
        let ty = self.notify_type()?;
        Some(crate::payload::NotifyBuilder::new(ty).with_data(self.notify_data()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_structure_field_and_reason() {
        let e = Error::BadLength {
            at: Structure::Payload(PayloadType::SA),
            field: "proposal length",
            length: 3,
            reason: "shorter than the 8-byte proposal header",
        };
        assert_eq!(
            e.to_string(),
            "SA payload: `proposal length` is 3, shorter than the 8-byte proposal header"
        );
        let e = Error::UnsupportedCriticalPayload {
            payload_type: PayloadType::new(200),
        };
        assert_eq!(e.to_string(), "unsupported critical payload of type 200");
        assert_eq!(
            Structure::Payload(PayloadType::new(99)).to_string(),
            "payload of type 99"
        );
    }

    #[test]
    fn notify_mapping() {
        let critical = Error::UnsupportedCriticalPayload {
            payload_type: PayloadType::new(200),
        };
        assert_eq!(
            critical.notify_type(),
            Some(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)
        );
        assert_eq!(critical.notify_data(), vec![200]);
        assert_eq!(critical.kind(), ErrorKind::Unsupported);

        let v3 = Error::UnsupportedMajorVersion { major: 3 };
        assert_eq!(v3.notify_type(), Some(NotifyType::INVALID_MAJOR_VERSION));
        assert_eq!(v3.notify_data(), vec![0x20]);
        let v1 = Error::UnsupportedMajorVersion { major: 1 };
        assert_eq!(v1.notify_type(), Some(NotifyType::INVALID_SYNTAX));

        let trailing = Error::TrailingData {
            at: Structure::Chain,
            len: 3,
        };
        assert_eq!(trailing.notify_type(), Some(NotifyType::INVALID_SYNTAX));
        assert!(trailing.notify_data().is_empty());
        assert_eq!(trailing.kind(), ErrorKind::InvalidMessage);

        let local = Error::Unencodable {
            at: Structure::Chain,
            reason: "x",
        };
        assert_eq!(local.notify_type(), None);
        assert!(local.to_notify().is_none());
        assert_eq!(local.kind(), ErrorKind::Encoding);
    }
}
