//! Payloads with a flat body: Key Exchange, Nonce, Vendor ID, and unknown types.

use crate::error::{Error, Structure};
use crate::reader::Reader;
use crate::registry::{KeMethod, PayloadType};

/// A Key Exchange payload (RFC 7296 §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ke<'a> {
    method: KeMethod,
    data: &'a [u8],
}

impl<'a> Ke<'a> {
    /// Parses a KE payload body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let at = Structure::Payload(PayloadType::KE);
        let mut r = Reader::new(body, at);
        let method = KeMethod::new(r.u16("key exchange method")?);
        let _reserved = r.u16("reserved")?;
        let data = r.rest();
        // RFC 7296 §3.4: "A Key Exchange payload is constructed by copying one's
        // Diffie-Hellman public value into the "Key Exchange Data" portion of the payload."
        // Whether the length fits the method is the key exchange's to judge.
        if data.is_empty() {
            return Err(Error::BadLength {
                at,
                field: "key exchange data",
                length: 0,
                reason: "a KE payload carries a public value",
            });
        }
        Ok(Self { method, data })
    }

    /// The key exchange method (Diffie-Hellman Group Num).
    pub fn method(&self) -> KeMethod {
        self.method
    }

    /// Key Exchange Data.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

/// A Key Exchange payload to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeBuilder {
    /// The key exchange method.
    pub method: KeMethod,
    /// Our public value.
    pub data: Vec<u8>,
}

impl KeBuilder {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.data.is_empty() {
            return Err(Error::Unencodable {
                at: Structure::Payload(PayloadType::KE),
                reason: "empty key exchange data",
            });
        }
        out.extend_from_slice(&self.method.get().to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

impl From<&Ke<'_>> for KeBuilder {
    fn from(ke: &Ke<'_>) -> Self {
        Self {
            method: ke.method,
            data: ke.data.to_vec(),
        }
    }
}

/// RFC 7296 §3.9: "The size of the Nonce Data MUST be between 16 and 256 octets,
/// inclusive."
const NONCE_LEN: std::ops::RangeInclusive<usize> = 16..=256;

/// A Nonce payload (RFC 7296 §3.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce<'a> {
    data: &'a [u8],
}

impl<'a> Nonce<'a> {
    /// Parses a Nonce payload body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        if !NONCE_LEN.contains(&body.len()) {
            return Err(Error::BadLength {
                at: Structure::Payload(PayloadType::NONCE),
                field: "nonce data",
                length: body.len(),
                reason: "a nonce is 16 to 256 bytes",
            });
        }
        Ok(Self { data: body })
    }

    /// Nonce Data.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

pub(super) fn encode_nonce(data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    if !NONCE_LEN.contains(&data.len()) {
        return Err(Error::Unencodable {
            at: Structure::Payload(PayloadType::NONCE),
            reason: "a nonce is 16 to 256 bytes",
        });
    }
    out.extend_from_slice(data);
    Ok(())
}

/// A Vendor ID payload (RFC 7296 §3.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VendorId<'a> {
    data: &'a [u8],
}

impl<'a> VendorId<'a> {
    /// Takes a Vendor ID payload body; any content is valid.
    pub fn parse(body: &'a [u8]) -> Self {
        Self { data: body }
    }

    /// The Vendor ID.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

/// A payload of a type this crate does not implement, received without the critical bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unknown<'a> {
    payload_type: PayloadType,
    body: &'a [u8],
}

impl<'a> Unknown<'a> {
    pub(super) fn new(payload_type: PayloadType, body: &'a [u8]) -> Self {
        Self { payload_type, body }
    }

    /// Its payload type.
    pub fn payload_type(&self) -> PayloadType {
        self.payload_type
    }

    /// Its body, after the generic payload header.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// A payload of any type, with a raw body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBuilder {
    /// Payload type.
    pub payload_type: PayloadType,
    /// Whether to set the critical bit.
    pub critical: bool,
    /// Body after the generic header.
    pub body: Vec<u8>,
}

impl From<&Unknown<'_>> for UnknownBuilder {
    fn from(u: &Unknown<'_>) -> Self {
        Self {
            payload_type: u.payload_type,
            critical: false,
            body: u.body.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ke() {
        let body = [0, 19, 0, 0, 1, 2, 3];
        let ke = Ke::parse(&body).unwrap();
        assert_eq!(ke.method(), KeMethod::ECP_256);
        assert_eq!(ke.data(), &[1, 2, 3]);
        let mut out = Vec::new();
        KeBuilder::from(&ke).encode(&mut out).unwrap();
        assert_eq!(out, body);
        assert!(matches!(
            Ke::parse(&body[..4]),
            Err(Error::BadLength { length: 0, .. })
        ));
        assert!(matches!(
            Ke::parse(&body[..3]),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn nonce_bounds() {
        assert!(Nonce::parse(&[0; 15]).is_err());
        assert!(Nonce::parse(&[0; 16]).is_ok());
        assert!(Nonce::parse(&[0; 256]).is_ok());
        assert!(matches!(
            Nonce::parse(&[0; 257]),
            Err(Error::BadLength { length: 257, .. })
        ));
        assert!(encode_nonce(&[0; 15], &mut Vec::new()).is_err());
    }
}
