//! The EAP packet format (RFC 3748 §4): Code, Identifier, Length, and for Requests and
//! Responses a Type octet followed by type data.
//!
//! Parsing is strict: the Length field must equal the number of octets the EAP payload
//! carried, Success and Failure carry nothing after the header, and Requests and Responses
//! carry a Type. Parsed packets borrow from the input.

use std::fmt;

use crate::EapError;

/// Size of the Code, Identifier and Length fields.
pub const HEADER_LEN: usize = 4;

/// The Code field (RFC 3748 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// 1: sent by the authenticator (the gateway).
    Request,
    /// 2: sent by the peer (us).
    Response,
    /// 3: authentication succeeded.
    Success,
    /// 4: authentication failed.
    Failure,
}

impl Code {
    /// The value on the wire.
    pub fn to_u8(self) -> u8 {
        match self {
            Code::Request => 1,
            Code::Response => 2,
            Code::Success => 3,
            Code::Failure => 4,
        }
    }

    fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => Code::Request,
            2 => Code::Response,
            3 => Code::Success,
            4 => Code::Failure,
            _ => return None,
        })
    }
}

/// The Type field of Requests and Responses (RFC 3748 §5, IANA "Method Types").
/// Unknown values are kept and printed as numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EapType(pub u8);

impl EapType {
    /// RFC 3748 §5.1.
    pub const IDENTITY: EapType = EapType(1);
    /// RFC 3748 §5.2.
    pub const NOTIFICATION: EapType = EapType(2);
    /// RFC 3748 §5.3.1 (legacy Nak).
    pub const NAK: EapType = EapType(3);
    /// RFC 3748 §5.4.
    pub const MD5_CHALLENGE: EapType = EapType(4);
    /// RFC 3748 §5.5.
    pub const OTP: EapType = EapType(5);
    /// RFC 3748 §5.6.
    pub const GTC: EapType = EapType(6);
    /// RFC 5216.
    pub const TLS: EapType = EapType(13);
    /// RFC 5281.
    pub const TTLS: EapType = EapType(21);
    /// PEAP.
    pub const PEAP: EapType = EapType(25);
    /// draft-kamath-pppext-eap-mschapv2.
    pub const MSCHAPV2: EapType = EapType(26);
    /// RFC 3748 §5.7.
    pub const EXPANDED: EapType = EapType(254);
    /// RFC 3748 §5.8.
    pub const EXPERIMENTAL: EapType = EapType(255);

    /// A human name for the method, if it is one we know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::IDENTITY => "Identity",
            Self::NOTIFICATION => "Notification",
            Self::NAK => "Nak",
            Self::MD5_CHALLENGE => "MD5-Challenge",
            Self::OTP => "OTP",
            Self::GTC => "GTC",
            Self::TLS => "EAP-TLS",
            Self::TTLS => "EAP-TTLS",
            Self::PEAP => "PEAP",
            Self::MSCHAPV2 => "EAP-MSCHAPv2",
            Self::EXPANDED => "Expanded",
            Self::EXPERIMENTAL => "Experimental",
            _ => return None,
        })
    }
}

impl fmt::Debug for EapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for EapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "type {}", self.0),
        }
    }
}

/// One EAP packet, borrowing its type data from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A Request for the peer.
    Request {
        /// Identifier, echoed in our Response.
        id: u8,
        /// The method or pseudo-method.
        ty: EapType,
        /// Everything after the Type octet.
        data: &'a [u8],
    },
    /// A Response from a peer.
    Response {
        /// Identifier of the Request answered.
        id: u8,
        /// The method or pseudo-method.
        ty: EapType,
        /// Everything after the Type octet.
        data: &'a [u8],
    },
    /// Authentication succeeded.
    Success {
        /// Identifier.
        id: u8,
    },
    /// Authentication failed.
    Failure {
        /// Identifier.
        id: u8,
    },
}

impl<'a> Packet<'a> {
    /// Parses one EAP packet that fills `bytes` exactly.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EapError> {
        if bytes.len() < HEADER_LEN {
            return Err(EapError::malformed(format!(
                "{} octets is shorter than the 4-octet EAP header",
                bytes.len()
            )));
        }
        let code = bytes[0];
        let id = bytes[1];
        let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        // RFC 3748 §4: "A message with the Length field set to a value larger than the
        // number of received octets MUST be silently discarded."
        if length > bytes.len() {
            return Err(EapError::malformed(format!(
                "Length field says {length} octets but only {} arrived",
                bytes.len()
            )));
        }
        // RFC 3748 §4 lets octets past Length be link-layer padding, but an IKEv2 EAP
        // payload carries exactly one EAP message (RFC 7296 §3.16) and has no such
        // padding: extra octets mean the two lengths disagree.
        if length < bytes.len() {
            return Err(EapError::malformed(format!(
                "Length field says {length} octets but the EAP payload holds {}",
                bytes.len()
            )));
        }
        let Some(code) = Code::from_u8(code) else {
            return Err(EapError::malformed(format!("unknown Code {code}")));
        };
        match code {
            Code::Success | Code::Failure => {
                // RFC 3748 §4.2: Success and Failure packets are Code, Identifier and Length
                // only; there is no Data field.
                if length != HEADER_LEN {
                    return Err(EapError::malformed(format!(
                        "{code:?} packet is {length} octets; it must be exactly 4"
                    )));
                }
                Ok(if code == Code::Success {
                    Packet::Success { id }
                } else {
                    Packet::Failure { id }
                })
            }
            Code::Request | Code::Response => {
                // RFC 3748 §4.1: Requests and Responses carry a one-octet Type field.
                if length < HEADER_LEN + 1 {
                    return Err(EapError::malformed(format!(
                        "{code:?} packet has no Type field"
                    )));
                }
                let ty = EapType(bytes[HEADER_LEN]);
                let data = &bytes[HEADER_LEN + 1..];
                Ok(if code == Code::Request {
                    Packet::Request { id, ty, data }
                } else {
                    Packet::Response { id, ty, data }
                })
            }
        }
    }

    /// The Identifier field.
    pub fn id(&self) -> u8 {
        match *self {
            Packet::Request { id, .. }
            | Packet::Response { id, .. }
            | Packet::Success { id }
            | Packet::Failure { id } => id,
        }
    }

    /// Encodes the packet. Fails only when the type data is too long for the 16-bit
    /// Length field.
    pub fn encode(&self) -> Result<Vec<u8>, EapError> {
        match *self {
            Packet::Request { id, ty, data } => encode_typed(Code::Request, id, ty, &[data]),
            Packet::Response { id, ty, data } => encode_typed(Code::Response, id, ty, &[data]),
            Packet::Success { id } => Ok(vec![Code::Success.to_u8(), id, 0, 4]),
            Packet::Failure { id } => Ok(vec![Code::Failure.to_u8(), id, 0, 4]),
        }
    }
}

/// Encodes a Request or Response whose type data is the concatenation of `parts`.
pub fn encode_typed(code: Code, id: u8, ty: EapType, parts: &[&[u8]]) -> Result<Vec<u8>, EapError> {
    let data_len: usize = parts.iter().map(|p| p.len()).sum();
    let total = HEADER_LEN + 1 + data_len;
    let length = u16::try_from(total).map_err(|_| {
        EapError::Config(format!(
            "an EAP message of {total} octets does not fit the 16-bit Length field"
        ))
    })?;
    let mut out = Vec::with_capacity(total);
    out.push(code.to_u8());
    out.push(id);
    out.extend_from_slice(&length.to_be_bytes());
    out.push(ty.0);
    for part in parts {
        out.extend_from_slice(part);
    }
    Ok(out)
}

/// Encodes a Response of type `ty` answering Request `id`.
pub fn response(id: u8, ty: EapType, parts: &[&[u8]]) -> Result<Vec<u8>, EapError> {
    encode_typed(Code::Response, id, ty, parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_identity_request() {
        let bytes = [1, 7, 0, 5, 1];
        assert_eq!(
            Packet::parse(&bytes).unwrap(),
            Packet::Request {
                id: 7,
                ty: EapType::IDENTITY,
                data: &[]
            }
        );
    }

    #[test]
    fn parses_success_and_failure() {
        assert_eq!(
            Packet::parse(&[3, 9, 0, 4]).unwrap(),
            Packet::Success { id: 9 }
        );
        assert_eq!(
            Packet::parse(&[4, 9, 0, 4]).unwrap(),
            Packet::Failure { id: 9 }
        );
    }

    #[test]
    fn round_trips() {
        let p = Packet::Response {
            id: 200,
            ty: EapType::MSCHAPV2,
            data: b"abc",
        };
        let bytes = p.encode().unwrap();
        assert_eq!(bytes, [2, 200, 0, 8, 26, b'a', b'b', b'c']);
        assert_eq!(Packet::parse(&bytes).unwrap(), p);
        assert_eq!(
            Packet::parse(&Packet::Failure { id: 1 }.encode().unwrap())
                .unwrap()
                .id(),
            1
        );
    }

    #[test]
    fn rejects_truncated_and_mismatched_lengths() {
        for bad in [
            &[][..],
            &[1, 1, 0][..],
            &[1, 1, 0, 6, 1][..],    // Length larger than received
            &[1, 1, 0, 5, 1, 0][..], // trailing octet
            &[1, 1, 0, 4][..],       // Request without Type
            &[1, 1, 0, 3][..],       // Length below the header
            &[3, 1, 0, 5, 0][..],    // Success with data
            &[5, 1, 0, 4][..],       // unknown Code
        ] {
            let err = Packet::parse(bad).unwrap_err();
            assert!(
                err.to_string().starts_with("malformed EAP message: "),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn refuses_to_encode_oversized_messages() {
        let big = vec![0u8; 70_000];
        assert!(response(1, EapType::TLS, &[&big]).is_err());
    }

    #[test]
    fn type_names() {
        assert_eq!(EapType::MSCHAPV2.to_string(), "EAP-MSCHAPv2 (26)");
        assert_eq!(format!("{:?}", EapType(99)), "type 99");
    }
}
