//! The EAP payload (RFC 7296 §3.16): the EAP message is checked for framing and handed
//! over raw; methods are the `eap` crate's.

use crate::error::{Error, Structure};
use crate::reader::Reader;
use crate::registry::{EapCode, EapType, PayloadType};

const AT: Structure = Structure::Payload(PayloadType::EAP);
const EAP_HEADER_LEN: usize = 4;

/// An EAP payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Eap<'a> {
    code: EapCode,
    identifier: u8,
    eap_type: Option<EapType>,
    type_data: &'a [u8],
    message: &'a [u8],
}

impl<'a> Eap<'a> {
    /// Parses an EAP payload body (one EAP message).
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, AT);
        let code = EapCode::new(r.u8("code")?);
        let identifier = r.u8("identifier")?;
        let length = usize::from(r.u16("length")?);
        // RFC 7296 §3.16: "Length (2 octets, unsigned integer) is the length of the EAP
        // message and MUST be four less than the Payload Length of the encapsulating
        // payload."
        if length != body.len() {
            return Err(Error::BadLength {
                at: AT,
                field: "EAP length",
                length,
                reason: "differs from the payload length minus 4",
            });
        }
        let (eap_type, type_data) = match code {
            // RFC 7296 §3.16: "Type (1 octet) is present only if the Code field is Request
            // (1) or Response (2)."
            EapCode::REQUEST | EapCode::RESPONSE => (Some(EapType::new(r.u8("type")?)), r.rest()),
            // RFC 7296 §3.16: "For other codes, the EAP message length MUST be four octets
            // and the Type and Type_Data fields MUST NOT be present."
            EapCode::SUCCESS | EapCode::FAILURE => {
                if length != EAP_HEADER_LEN {
                    return Err(Error::BadLength {
                        at: AT,
                        field: "EAP length",
                        length,
                        reason: "EAP Success and Failure are exactly 4 bytes",
                    });
                }
                (None, &[][..])
            }
            other => {
                return Err(Error::InvalidValue {
                    at: AT,
                    field: "EAP code",
                    value: other.get().into(),
                    reason: "IKEv2 carries EAP Request, Response, Success and Failure only",
                });
            }
        };
        Ok(Self {
            code,
            identifier,
            eap_type,
            type_data,
            message: body,
        })
    }

    /// Code.
    pub fn code(&self) -> EapCode {
        self.code
    }

    /// Identifier.
    pub fn identifier(&self) -> u8 {
        self.identifier
    }

    /// Type, for Requests and Responses.
    pub fn eap_type(&self) -> Option<EapType> {
        self.eap_type
    }

    /// Type_Data (empty for Success and Failure).
    pub fn type_data(&self) -> &'a [u8] {
        self.type_data
    }

    /// The whole EAP message, as the EAP peer consumes it.
    pub fn message(&self) -> &'a [u8] {
        self.message
    }
}

/// Writes an EAP message given whole (header included), checking its framing.
pub(super) fn encode(message: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    Eap::parse(message).map_err(|_| Error::Unencodable {
        at: AT,
        reason: "not a well-formed EAP Request, Response, Success or Failure",
    })?;
    out.extend_from_slice(message);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        // EAP-Identity response "alice" as strongSwan sent it (inner payload of 08).
        let msg = [2, 0, 0, 10, 1, b'a', b'l', b'i', b'c', b'e'];
        let eap = Eap::parse(&msg).unwrap();
        assert_eq!(eap.code(), EapCode::RESPONSE);
        assert_eq!(eap.eap_type(), Some(EapType::IDENTITY));
        assert_eq!(eap.type_data(), b"alice");
        assert_eq!(eap.message(), msg);

        assert!(Eap::parse(&[3, 7, 0, 4]).is_ok());
        assert!(Eap::parse(&[3, 7, 0, 5, 1]).is_err());
        assert!(Eap::parse(&[1, 7, 0, 4]).is_err());
        assert!(Eap::parse(&[1, 7, 0, 6, 1]).is_err());
        assert!(Eap::parse(&[9, 7, 0, 4]).is_err());
        assert!(Eap::parse(&[1, 7, 0]).is_err());
        assert!(encode(&[1, 7, 0, 9, 1], &mut Vec::new()).is_err());
    }
}
