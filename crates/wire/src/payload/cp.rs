//! The Configuration payload (RFC 7296 §3.15) with the split-DNS attributes of RFC 8598.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Structure};
use crate::limits::MAX_CONFIG_ATTRIBUTES;
use crate::reader::{Reader, count};
use crate::registry::{ConfigAttributeType, ConfigType, PayloadType};

const AT: Structure = Structure::Payload(PayloadType::CP);

/// RFC 7296 §3.15.1: "Reserved (1 bit) - This bit MUST be set to zero and MUST be ignored
/// on receipt."
const RESERVED_BIT: u16 = 0x8000;

/// A Configuration payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config<'a> {
    cfg_type: ConfigType,
    attributes: Vec<ConfigAttribute<'a>>,
}

/// A configuration attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigAttribute<'a> {
    attribute_type: ConfigAttributeType,
    value: &'a [u8],
}

/// The lengths RFC 7296 §3.15.1 allows for the attribute types it defines (its table
/// "Attribute Type / Value / Multi-Valued / Length"); `None` for types whose length is
/// free or not defined there.
fn allowed_lengths(t: ConfigAttributeType) -> Option<&'static [usize]> {
    Some(match t {
        ConfigAttributeType::INTERNAL_IP4_ADDRESS
        | ConfigAttributeType::INTERNAL_IP4_NETMASK
        | ConfigAttributeType::INTERNAL_IP4_DNS
        | ConfigAttributeType::INTERNAL_IP4_NBNS
        | ConfigAttributeType::INTERNAL_IP4_DHCP => &[0, 4],
        ConfigAttributeType::INTERNAL_IP6_ADDRESS => &[0, 17],
        ConfigAttributeType::INTERNAL_IP6_DNS | ConfigAttributeType::INTERNAL_IP6_DHCP => &[0, 16],
        ConfigAttributeType::INTERNAL_IP4_SUBNET => &[0, 8],
        // The table says "17 octets"; an empty one is accepted as a request, like the
        // other address attributes.
        ConfigAttributeType::INTERNAL_IP6_SUBNET => &[0, 17],
        _ => return None,
    })
}

/// Checks an attribute's value length, for parsing and encoding alike.
fn check(t: ConfigAttributeType, len: usize) -> Result<(), &'static str> {
    if let Some(allowed) = allowed_lengths(t)
        && !allowed.contains(&len)
    {
        return Err("the value length is not one RFC 7296 allows for this attribute");
    }
    // RFC 7296 §3.15.1, SUPPORTED_ATTRIBUTES: "The response contains an attribute that
    // contains a set of attribute identifiers each in 2 octets."
    if t == ConfigAttributeType::SUPPORTED_ATTRIBUTES && !len.is_multiple_of(2) {
        return Err("SUPPORTED_ATTRIBUTES is a list of 2-byte types");
    }
    Ok(())
}

impl<'a> Config<'a> {
    /// Parses a CP payload body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, AT);
        let cfg_type = ConfigType::new(r.u8("CFG type")?);
        let _reserved = r.array::<3>("reserved")?;
        let mut attributes = Vec::new();
        // RFC 7296 §3.15: "There may be zero or more Configuration Attributes in this
        // payload."
        while !r.is_empty() {
            if attributes.len() == MAX_CONFIG_ATTRIBUTES {
                return Err(Error::TooMany {
                    at: AT,
                    what: "configuration attributes",
                    limit: MAX_CONFIG_ATTRIBUTES,
                });
            }
            let mut a = Reader::new(r.peek_rest(), Structure::ConfigAttribute);
            let attribute_type = ConfigAttributeType::new(a.u16("attribute type")? & !RESERVED_BIT);
            // RFC 7296 §3.15.1: "Length (2 octets, unsigned integer) - Length in octets of
            // value."
            let length = usize::from(a.u16("length")?);
            let value = a.take(length, "value")?;
            check(attribute_type, length).map_err(|reason| Error::BadLength {
                at: Structure::ConfigAttribute,
                field: "length",
                length,
                reason,
            })?;
            r.take(4 + length, "attribute")?;
            attributes.push(ConfigAttribute {
                attribute_type,
                value,
            });
        }
        Ok(Self {
            cfg_type,
            attributes,
        })
    }

    /// CFG Type.
    pub fn cfg_type(&self) -> ConfigType {
        self.cfg_type
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> &[ConfigAttribute<'a>] {
        &self.attributes
    }

    /// The attributes of one type, in order.
    pub fn attributes_of(
        &self,
        t: ConfigAttributeType,
    ) -> impl Iterator<Item = &ConfigAttribute<'a>> + '_ {
        self.attributes
            .iter()
            .filter(move |a| a.attribute_type == t)
    }
}

impl<'a> ConfigAttribute<'a> {
    /// Attribute Type.
    pub fn attribute_type(&self) -> ConfigAttributeType {
        self.attribute_type
    }

    /// The raw value (empty in a request for the attribute).
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// A 4-byte value as an IPv4 address (INTERNAL_IP4_ADDRESS, _NETMASK, _DNS, _NBNS,
    /// _DHCP, P_CSCF_IP4_ADDRESS).
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        <[u8; 4]>::try_from(self.value).ok().map(Ipv4Addr::from)
    }

    /// A 16-byte value as an IPv6 address (INTERNAL_IP6_DNS, _DHCP).
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        <[u8; 16]>::try_from(self.value).ok().map(Ipv6Addr::from)
    }

    /// A 17-byte value as an IPv6 address and prefix length (INTERNAL_IP6_ADDRESS,
    /// INTERNAL_IP6_SUBNET).
    ///
    /// RFC 7296 §3.15.1: "The INTERNAL_IP6_ADDRESS is made up of two fields: the first is
    /// a 16-octet IPv6 address, and the second is a one-octet prefix-length".
    pub fn ipv6_prefix(&self) -> Option<(Ipv6Addr, u8)> {
        let bytes: [u8; 17] = self.value.try_into().ok()?;
        let mut addr = [0u8; 16];
        addr.copy_from_slice(&bytes[..16]);
        Some((Ipv6Addr::from(addr), bytes[16]))
    }

    /// An 8-byte value as an IPv4 address and netmask (INTERNAL_IP4_SUBNET).
    pub fn ipv4_subnet(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let bytes: [u8; 8] = self.value.try_into().ok()?;
        Some((
            Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]),
            Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]),
        ))
    }

    /// The value as text (APPLICATION_VERSION, INTERNAL_DNS_DOMAIN), if it is UTF-8.
    ///
    /// RFC 8598 §3.1 defines INTERNAL_DNS_DOMAIN's value as a domain name; whether it is a
    /// name worth trusting is the IKE layer's policy.
    pub fn text(&self) -> Option<&'a str> {
        std::str::from_utf8(self.value).ok()
    }

    /// The attribute types listed by SUPPORTED_ATTRIBUTES.
    pub fn supported_attributes(&self) -> impl Iterator<Item = ConfigAttributeType> + 'a {
        self.value
            .chunks_exact(2)
            .map(|c| ConfigAttributeType::new(u16::from_be_bytes([c[0], c[1]]) & !RESERVED_BIT))
    }
}

/// A Configuration payload to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigBuilder {
    /// CFG Type.
    pub cfg_type: ConfigType,
    /// Attributes.
    pub attributes: Vec<ConfigAttributeBuilder>,
}

/// A configuration attribute to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigAttributeBuilder {
    /// Attribute Type (15 bits).
    pub attribute_type: ConfigAttributeType,
    /// Value; empty to request the attribute.
    pub value: Vec<u8>,
}

impl ConfigAttributeBuilder {
    /// An empty attribute, as used in a CFG_REQUEST.
    pub fn request(attribute_type: ConfigAttributeType) -> Self {
        Self {
            attribute_type,
            value: Vec::new(),
        }
    }
}

impl ConfigBuilder {
    /// A CFG_REQUEST asking for the given attributes (all empty).
    pub fn request(types: impl IntoIterator<Item = ConfigAttributeType>) -> Self {
        Self {
            cfg_type: ConfigType::CFG_REQUEST,
            attributes: types
                .into_iter()
                .map(ConfigAttributeBuilder::request)
                .collect(),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.attributes.len() > MAX_CONFIG_ATTRIBUTES {
            return Err(Error::TooMany {
                at: AT,
                what: "configuration attributes",
                limit: MAX_CONFIG_ATTRIBUTES,
            });
        }
        out.push(self.cfg_type.get());
        out.extend_from_slice(&[0, 0, 0]);
        for a in &self.attributes {
            let at = Structure::ConfigAttribute;
            if a.attribute_type.get() & RESERVED_BIT != 0 {
                return Err(Error::Unencodable {
                    at,
                    reason: "attribute types are 15 bits",
                });
            }
            check(a.attribute_type, a.value.len())
                .map_err(|reason| Error::Unencodable { at, reason })?;
            out.extend_from_slice(&a.attribute_type.get().to_be_bytes());
            out.extend_from_slice(&count::<u16>(a.value.len(), at, "length", 65535)?.to_be_bytes());
            out.extend_from_slice(&a.value);
        }
        Ok(())
    }
}

impl From<&Config<'_>> for ConfigBuilder {
    fn from(c: &Config<'_>) -> Self {
        Self {
            cfg_type: c.cfg_type,
            attributes: c
                .attributes
                .iter()
                .map(|a| ConfigAttributeBuilder {
                    attribute_type: a.attribute_type,
                    value: a.value.to_vec(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply() {
        let req = ConfigBuilder::request([
            ConfigAttributeType::INTERNAL_IP4_ADDRESS,
            ConfigAttributeType::INTERNAL_IP6_ADDRESS,
            ConfigAttributeType::INTERNAL_DNS_DOMAIN,
        ]);
        let mut out = Vec::new();
        req.encode(&mut out).unwrap();
        assert_eq!(out, [1, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 25, 0, 0]);
        assert_eq!(ConfigBuilder::from(&Config::parse(&out).unwrap()), req);

        let mut reply = vec![2, 0, 0, 0];
        reply.extend_from_slice(&[0, 1, 0, 4, 198, 19, 10, 1]);
        reply.extend_from_slice(&[0x80, 25, 0, 9]);
        reply.extend_from_slice(b"corp.test");
        reply.extend_from_slice(&[0, 8, 0, 17]);
        reply.extend_from_slice(&"fd00:c0:1::1".parse::<Ipv6Addr>().unwrap().octets());
        reply.push(120);
        let cp = Config::parse(&reply).unwrap();
        assert_eq!(cp.cfg_type(), ConfigType::CFG_REPLY);
        let attrs = cp.attributes();
        assert_eq!(attrs[0].ipv4(), Some(Ipv4Addr::new(198, 19, 10, 1)));
        // The reserved bit is ignored.
        assert_eq!(
            attrs[1].attribute_type(),
            ConfigAttributeType::INTERNAL_DNS_DOMAIN
        );
        assert_eq!(attrs[1].text(), Some("corp.test"));
        assert_eq!(
            attrs[2].ipv6_prefix(),
            Some(("fd00:c0:1::1".parse().unwrap(), 120))
        );
        assert_eq!(
            cp.attributes_of(ConfigAttributeType::INTERNAL_IP4_ADDRESS)
                .count(),
            1
        );
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(matches!(
            Config::parse(&[2, 0, 0, 0, 0, 1, 0, 3, 1, 2, 3]),
            Err(Error::BadLength {
                at: Structure::ConfigAttribute,
                length: 3,
                ..
            })
        ));
        assert!(matches!(
            Config::parse(&[2, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            Config::parse(&[2, 0, 0, 0, 0, 1, 0]),
            Err(Error::Truncated { .. })
        ));
        assert!(Config::parse(&[2, 0, 0, 0, 0, 14, 0, 3, 0, 1, 0]).is_err());
        // Unknown types take any length.
        assert!(Config::parse(&[2, 0, 0, 0, 0x70, 0, 0, 3, 0, 1, 0]).is_ok());
    }
}
