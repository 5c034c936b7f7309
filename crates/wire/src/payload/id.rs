//! Identification payloads, IDi and IDr (RFC 7296 §3.5).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Structure};
use crate::reader::Reader;
use crate::registry::{IdType, PayloadType};

/// An IDi or IDr payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Id<'a> {
    id_type: IdType,
    data: &'a [u8],
    body: &'a [u8],
}

/// Checks the Identification Data against its ID Type, for parsing and encoding alike.
fn check(id_type: IdType, data: &[u8]) -> Result<(), &'static str> {
    match id_type {
        // RFC 7296 §3.5, ID_IPV4_ADDR: "A single four (4) octet IPv4 address."
        IdType::ID_IPV4_ADDR if data.len() != 4 => Err("an ID_IPV4_ADDR is 4 bytes"),
        // RFC 7296 §3.5, ID_IPV6_ADDR: "A single sixteen (16) octet IPv6 address."
        IdType::ID_IPV6_ADDR if data.len() != 16 => Err("an ID_IPV6_ADDR is 16 bytes"),
        // RFC 7296 §3.5, ID_FQDN: "The string MUST NOT contain any terminators (e.g.,
        // NULL, CR, etc.). All characters in the ID_FQDN are ASCII"
        IdType::ID_FQDN if !data.is_ascii() => Err("an ID_FQDN is ASCII"),
        // RFC 7296 §3.5, ID_RFC822_ADDR: "The string MUST NOT contain any terminators."
        IdType::ID_FQDN | IdType::ID_RFC822_ADDR
            if data.iter().any(|b| matches!(b, 0 | b'\r' | b'\n')) =>
        {
            Err("the string contains a NUL, CR or LF terminator")
        }
        // RFC 7619 §3: ID_NULL carries no data; other types need some.
        IdType::ID_NULL => Ok(()),
        _ if data.is_empty() => Err("the identification data is empty"),
        _ => Ok(()),
    }
}

impl<'a> Id<'a> {
    /// Parses an IDi or IDr body; `payload_type` says which, for error messages.
    pub fn parse(payload_type: PayloadType, body: &'a [u8]) -> Result<Self, Error> {
        let at = Structure::Payload(payload_type);
        let mut r = Reader::new(body, at);
        let id_type = IdType::new(r.u8("ID type")?);
        let _reserved = r.array::<3>("reserved")?;
        let data = r.rest();
        check(id_type, data).map_err(|reason| Error::InvalidValue {
            at,
            field: "identification data",
            value: data.len() as u64,
            reason,
        })?;
        Ok(Self {
            id_type,
            data,
            body,
        })
    }

    /// ID Type.
    pub fn id_type(&self) -> IdType {
        self.id_type
    }

    /// Identification Data.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The payload body after the generic header (ID Type, RESERVED, data): what RFC 7296
    /// §2.15 calls RestOfInitIDPayload / RestOfRespIDPayload, input to the AUTH PRF.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The address of an ID_IPV4_ADDR or ID_IPV6_ADDR identity.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        match self.id_type {
            IdType::ID_IPV4_ADDR => <[u8; 4]>::try_from(self.data)
                .ok()
                .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            IdType::ID_IPV6_ADDR => <[u8; 16]>::try_from(self.data)
                .ok()
                .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            _ => None,
        }
    }

    /// The text of an ID_FQDN or ID_RFC822_ADDR identity, if it is UTF-8.
    pub fn text(&self) -> Option<&'a str> {
        match self.id_type {
            IdType::ID_FQDN | IdType::ID_RFC822_ADDR => std::str::from_utf8(self.data).ok(),
            _ => None,
        }
    }
}

/// An IDi or IDr payload to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdBuilder {
    /// ID Type.
    pub id_type: IdType,
    /// Identification Data.
    pub data: Vec<u8>,
}

impl IdBuilder {
    /// An identity of the given type.
    pub fn new(id_type: IdType, data: impl Into<Vec<u8>>) -> Self {
        Self {
            id_type,
            data: data.into(),
        }
    }

    /// An ID_IPV4_ADDR or ID_IPV6_ADDR identity.
    pub fn ip(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Self::new(IdType::ID_IPV4_ADDR, a.octets()),
            IpAddr::V6(a) => Self::new(IdType::ID_IPV6_ADDR, a.octets()),
        }
    }

    /// The body as it will be encoded (ID Type, RESERVED, data), for computing AUTH.
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.data.len());
        out.push(self.id_type.get());
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&self.data);
        out
    }

    pub(crate) fn encode(&self, payload_type: PayloadType, out: &mut Vec<u8>) -> Result<(), Error> {
        check(self.id_type, &self.data).map_err(|reason| Error::Unencodable {
            at: Structure::Payload(payload_type),
            reason,
        })?;
        out.push(self.id_type.get());
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

impl From<&Id<'_>> for IdBuilder {
    fn from(id: &Id<'_>) -> Self {
        Self {
            id_type: id.id_type,
            data: id.data.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        let body = b"\x02\x00\x00\x00gw.corridor.test";
        let id = Id::parse(PayloadType::IDR, body).unwrap();
        assert_eq!(id.id_type(), IdType::ID_FQDN);
        assert_eq!(id.text(), Some("gw.corridor.test"));
        assert_eq!(id.body(), body);
        let mut out = Vec::new();
        IdBuilder::from(&id)
            .encode(PayloadType::IDR, &mut out)
            .unwrap();
        assert_eq!(out, body);
        assert_eq!(IdBuilder::from(&id).body(), body);
    }

    #[test]
    fn checks_data_against_type() {
        let v4 = [1, 0, 0, 0, 198, 18, 0, 1];
        assert_eq!(
            Id::parse(PayloadType::IDI, &v4).unwrap().ip_addr(),
            Some(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)))
        );
        assert!(Id::parse(PayloadType::IDI, &v4[..7]).is_err());
        assert!(Id::parse(PayloadType::IDI, b"\x02\x00\x00\x00a.b\0").is_err());
        assert!(Id::parse(PayloadType::IDI, b"\x02\x00\x00\x00\xc3\xa9").is_err());
        assert!(Id::parse(PayloadType::IDI, b"\x03\x00\x00\x00\xc3\xa9@x").is_ok());
        assert!(Id::parse(PayloadType::IDI, b"\x0b\x00\x00\x00").is_err());
        assert!(Id::parse(PayloadType::IDI, b"\x0d\x00\x00\x00").is_ok());
        assert!(Id::parse(PayloadType::IDI, b"\x0d\x00\x00").is_err());
        let mut out = Vec::new();
        assert!(
            IdBuilder::new(IdType::ID_IPV6_ADDR, [0; 4])
                .encode(PayloadType::IDI, &mut out)
                .is_err()
        );
    }
}
