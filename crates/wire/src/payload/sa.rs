//! The Security Association payload: proposals, transforms, attributes (RFC 7296 §3.3).

use crate::error::{Error, Structure};
use crate::limits::{MAX_PROPOSALS, MAX_TRANSFORM_ATTRIBUTES, MAX_TRANSFORMS};
use crate::reader::{Reader, count, patch_u16, reserve_u16};
use crate::registry::{
    EncrId, EsnId, IntegId, KeMethod, PayloadType, PrfId, ProtocolId, TransformAttributeType,
    TransformType,
};

const AT: Structure = Structure::Payload(PayloadType::SA);

/// RFC 7296 §3.3.1: "This field has a value of 0 if this was the last Proposal
/// Substructure, and a value of 2 if there are more Proposal Substructures."
const LAST: u8 = 0;
const MORE_PROPOSALS: u8 = 2;
/// RFC 7296 §3.3.2: "0 (last) or 3 (more) (1 octet) - Specifies whether this is the last
/// Transform Substructure in the Proposal."
const MORE_TRANSFORMS: u8 = 3;

const PROPOSAL_HEADER_LEN: usize = 8;
const TRANSFORM_HEADER_LEN: usize = 8;
/// The Attribute Format bit: set for the two-octet TV format.
const AF_TV: u16 = 0x8000;

/// A parsed SA payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sa<'a> {
    proposals: Vec<Proposal<'a>>,
}

/// A Proposal substructure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal<'a> {
    number: u8,
    protocol: ProtocolId,
    spi: &'a [u8],
    transforms: Vec<Transform<'a>>,
}

/// A Transform substructure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transform<'a> {
    transform_type: TransformType,
    id: u16,
    attributes: Vec<Attribute<'a>>,
}

/// A transform attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// Type/Value format (AF = 1) with a two-octet value.
    Tv {
        /// The attribute type.
        attribute_type: TransformAttributeType,
        /// The value.
        value: u16,
    },
    /// Type/Length/Value format (AF = 0).
    Tlv {
        /// The attribute type.
        attribute_type: TransformAttributeType,
        /// The value.
        value: &'a [u8],
    },
}

impl Attribute<'_> {
    /// The attribute type.
    pub fn attribute_type(&self) -> TransformAttributeType {
        match *self {
            Self::Tv { attribute_type, .. } | Self::Tlv { attribute_type, .. } => attribute_type,
        }
    }
}

/// RFC 7296 §3.3.1, SPI Size: "For an initial IKE SA negotiation, this field MUST be zero;
/// the SPI is obtained from the outer header. During subsequent negotiations, it is equal
/// to the size, in octets, of the SPI of the corresponding protocol (8 for IKE, 4 for ESP
/// and AH)." Sizes for protocols we do not know are not judged.
fn check_spi_size(protocol: ProtocolId, size: usize) -> Result<(), &'static str> {
    match protocol {
        ProtocolId::IKE if size != 0 && size != 8 => Err("an IKE proposal's SPI is 0 or 8 bytes"),
        ProtocolId::AH | ProtocolId::ESP if size != 4 => Err("an AH or ESP SPI is 4 bytes"),
        ProtocolId::NONE => Err("protocol 0 is reserved"),
        _ => Ok(()),
    }
}

/// RFC 7296 §3.3.1, Proposal Num: "When a proposal is made, the first proposal in an SA
/// payload MUST be 1, and subsequent proposals MUST be one more than the previous proposal
/// (indicating an OR of the two proposals). When a proposal is accepted, the proposal
/// number in the SA payload MUST match the number on the proposal sent that was accepted."
/// A lone proposal may therefore carry any number but zero.
fn check_numbering(numbers: impl ExactSizeIterator<Item = u8>) -> Result<(), Error> {
    let several = numbers.len() > 1;
    for (i, number) in numbers.enumerate() {
        let expected = if several {
            i + 1
        } else {
            usize::from(number).max(1)
        };
        if usize::from(number) != expected {
            return Err(Error::InvalidValue {
                at: Structure::Proposal,
                field: "proposal num",
                value: number.into(),
                reason: if several {
                    "proposals must be numbered 1, 2, 3, ... in order"
                } else {
                    "proposal numbers start at 1"
                },
            });
        }
    }
    Ok(())
}

impl<'a> Sa<'a> {
    /// Parses the body of an SA payload (after the generic header).
    ///
    /// RFC 7296 §3.3: "When parsing an SA, an implementation MUST check that the total
    /// Payload Length is consistent with the payload's internal lengths and counts."
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, AT);
        if r.is_empty() {
            // RFC 7296 §3.3: "Proposals (variable) - One or more proposal substructures."
            return Err(Error::BadLength {
                at: AT,
                field: "payload length",
                length: 4,
                reason: "an SA payload holds at least one proposal",
            });
        }
        let mut proposals = Vec::new();
        loop {
            if proposals.len() == MAX_PROPOSALS {
                return Err(Error::TooMany {
                    at: AT,
                    what: "proposals",
                    limit: MAX_PROPOSALS,
                });
            }
            let (last, p) = substructure(&mut r, Structure::Proposal, MORE_PROPOSALS)?;
            proposals.push(Proposal::parse(p)?);
            if last {
                r.finish()?;
                break;
            }
        }
        check_numbering(proposals.iter().map(|p| p.number))?;
        Ok(Self { proposals })
    }

    /// The proposals, in the sender's order of preference.
    pub fn proposals(&self) -> &[Proposal<'a>] {
        &self.proposals
    }
}

/// Reads a proposal or transform header ("0 (last) or N", RESERVED, length) and returns
/// whether it is the last one and a reader over the rest of the substructure.
fn substructure<'a>(
    r: &mut Reader<'a>,
    at: Structure,
    more: u8,
) -> Result<(bool, Reader<'a>), Error> {
    let mut header = r.sub(4, "substructure header", at)?;
    let marker = header.u8("last substruc")?;
    let _reserved = header.u8("reserved")?;
    let length = usize::from(header.u16("length")?);
    let last = match marker {
        LAST => true,
        m if m == more => false,
        m => {
            return Err(Error::InvalidValue {
                at,
                field: "last substruc",
                value: m.into(),
                reason: if more == MORE_PROPOSALS {
                    "must be 0 (last) or 2 (more)"
                } else {
                    "must be 0 (last) or 3 (more)"
                },
            });
        }
    };
    if length < PROPOSAL_HEADER_LEN {
        return Err(Error::BadLength {
            at,
            field: "length",
            length,
            reason: "shorter than the 8-byte substructure header",
        });
    }
    if length - 4 > r.remaining() {
        return Err(Error::BadLength {
            at,
            field: "length",
            length,
            reason: "longer than the enclosing structure",
        });
    }
    let body = r.sub(length - 4, "substructure", at)?;
    if !last && r.is_empty() {
        return Err(Error::InvalidValue {
            at,
            field: "last substruc",
            value: more.into(),
            reason: "announces another substructure but the enclosing one ends",
        });
    }
    Ok((last, body))
}

impl<'a> Proposal<'a> {
    fn parse(mut r: Reader<'a>) -> Result<Self, Error> {
        let number = r.u8("proposal num")?;
        let protocol = ProtocolId::new(r.u8("protocol ID")?);
        let spi_size = usize::from(r.u8("SPI size")?);
        let num_transforms = usize::from(r.u8("num transforms")?);
        check_spi_size(protocol, spi_size).map_err(|reason| Error::InvalidValue {
            at: Structure::Proposal,
            field: "SPI size",
            value: spi_size as u64,
            reason,
        })?;
        let spi = r.take(spi_size, "SPI")?;
        // RFC 7296 §3.3.1: "Transforms (variable) - One or more transform substructures."
        if num_transforms == 0 {
            return Err(Error::InvalidValue {
                at: Structure::Proposal,
                field: "num transforms",
                value: 0,
                reason: "a proposal holds at least one transform",
            });
        }
        if num_transforms > MAX_TRANSFORMS {
            return Err(Error::TooMany {
                at: Structure::Proposal,
                what: "transforms",
                limit: MAX_TRANSFORMS,
            });
        }
        let mut transforms =
            Vec::with_capacity(num_transforms.min(r.remaining() / TRANSFORM_HEADER_LEN));
        loop {
            if transforms.len() == num_transforms {
                return Err(Error::InvalidValue {
                    at: Structure::Proposal,
                    field: "num transforms",
                    value: num_transforms as u64,
                    reason: "fewer than the transforms present",
                });
            }
            let (last, t) = substructure(&mut r, Structure::Transform, MORE_TRANSFORMS)?;
            transforms.push(Transform::parse(t)?);
            if last {
                break;
            }
        }
        if transforms.len() != num_transforms {
            return Err(Error::InvalidValue {
                at: Structure::Proposal,
                field: "num transforms",
                value: num_transforms as u64,
                reason: "more than the transforms present",
            });
        }
        // Bytes after the last transform but inside the proposal length.
        r.finish()?;
        Ok(Self {
            number,
            protocol,
            spi,
            transforms,
        })
    }

    /// Proposal Num.
    pub fn number(&self) -> u8 {
        self.number
    }

    /// Protocol ID.
    pub fn protocol(&self) -> ProtocolId {
        self.protocol
    }

    /// The sending entity's SPI (empty in an initial IKE SA negotiation).
    pub fn spi(&self) -> &'a [u8] {
        self.spi
    }

    /// The SPI of an AH or ESP proposal as an integer.
    pub fn spi_u32(&self) -> Option<u32> {
        self.spi.try_into().ok().map(u32::from_be_bytes)
    }

    /// The transforms, in order.
    pub fn transforms(&self) -> &[Transform<'a>] {
        &self.transforms
    }

    /// The transforms of one type, in order.
    pub fn transforms_of(
        &self,
        transform_type: TransformType,
    ) -> impl Iterator<Item = &Transform<'a>> + '_ {
        self.transforms
            .iter()
            .filter(move |t| t.transform_type == transform_type)
    }
}

impl<'a> Transform<'a> {
    fn parse(mut r: Reader<'a>) -> Result<Self, Error> {
        let transform_type = TransformType::new(r.u8("transform type")?);
        let _reserved = r.u8("reserved")?;
        let id = r.u16("transform ID")?;
        let mut attributes: Vec<Attribute<'a>> = Vec::new();
        let mut a = Reader::new(r.rest(), Structure::TransformAttribute);
        while !a.is_empty() {
            if attributes.len() == MAX_TRANSFORM_ATTRIBUTES {
                return Err(Error::TooMany {
                    at: Structure::Transform,
                    what: "attributes",
                    limit: MAX_TRANSFORM_ATTRIBUTES,
                });
            }
            let attribute = parse_attribute(&mut a)?;
            // RFC 7296 §3.3: "A transform MUST NOT have multiple attributes of the same
            // type."
            if attributes
                .iter()
                .any(|x| x.attribute_type() == attribute.attribute_type())
            {
                return Err(Error::InvalidValue {
                    at: Structure::Transform,
                    field: "attribute type",
                    value: attribute.attribute_type().get().into(),
                    reason: "appears twice in one transform",
                });
            }
            attributes.push(attribute);
        }
        Ok(Self {
            transform_type,
            id,
            attributes,
        })
    }

    /// Transform Type.
    pub fn transform_type(&self) -> TransformType {
        self.transform_type
    }

    /// Transform ID, to be read in the registry of [`Transform::transform_type`].
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The attributes.
    pub fn attributes(&self) -> &[Attribute<'a>] {
        &self.attributes
    }

    /// The Key Length attribute, in bits.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match *a {
            Attribute::Tv {
                attribute_type: TransformAttributeType::KEY_LENGTH,
                value,
            } => Some(value),
            _ => None,
        })
    }

    /// The encryption algorithm, if this is an ENCR transform.
    pub fn encr(&self) -> Option<EncrId> {
        (self.transform_type == TransformType::ENCR).then_some(EncrId::new(self.id))
    }

    /// The PRF, if this is a PRF transform.
    pub fn prf(&self) -> Option<PrfId> {
        (self.transform_type == TransformType::PRF).then_some(PrfId::new(self.id))
    }

    /// The integrity algorithm, if this is an INTEG transform.
    pub fn integ(&self) -> Option<IntegId> {
        (self.transform_type == TransformType::INTEG).then_some(IntegId::new(self.id))
    }

    /// The key exchange method, if this is a KE or ADDKE transform.
    pub fn ke(&self) -> Option<KeMethod> {
        self.transform_type
            .is_key_exchange()
            .then_some(KeMethod::new(self.id))
    }

    /// The sequence number option, if this is an ESN transform.
    pub fn esn(&self) -> Option<EsnId> {
        (self.transform_type == TransformType::ESN).then_some(EsnId::new(self.id))
    }
}

fn parse_attribute<'a>(r: &mut Reader<'a>) -> Result<Attribute<'a>, Error> {
    let raw_type = r.u16("attribute type")?;
    let attribute_type = TransformAttributeType::new(raw_type & !AF_TV);
    if raw_type & AF_TV != 0 {
        let value = r.u16("attribute value")?;
        return Ok(Attribute::Tv {
            attribute_type,
            value,
        });
    }
    // RFC 7296 §3.3.5: "Attributes described as fixed length MUST NOT be encoded using the
    // variable-length encoding unless that length exceeds two bytes."
    if attribute_type == TransformAttributeType::KEY_LENGTH {
        return Err(Error::InvalidValue {
            at: Structure::TransformAttribute,
            field: "attribute format",
            value: 0,
            reason: "Key Length is a fixed-length attribute and must use the TV format",
        });
    }
    let length = usize::from(r.u16("attribute length")?);
    let value = r.take(length, "attribute value")?;
    Ok(Attribute::Tlv {
        attribute_type,
        value,
    })
}

/// An SA payload to send.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SaBuilder {
    /// Proposals, most preferred first.
    pub proposals: Vec<ProposalBuilder>,
}

/// A proposal to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalBuilder {
    /// Proposal Num: 1, 2, … when proposing; the accepted number when answering.
    pub number: u8,
    /// Protocol ID.
    pub protocol: ProtocolId,
    /// The SPI: empty for an initial IKE SA, 8 bytes for an IKE rekey, 4 for AH/ESP.
    pub spi: Vec<u8>,
    /// Transforms.
    pub transforms: Vec<TransformBuilder>,
}

/// A transform to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformBuilder {
    /// Transform Type.
    pub transform_type: TransformType,
    /// Transform ID in the registry of the type.
    pub id: u16,
    /// Attributes.
    pub attributes: Vec<AttributeBuilder>,
}

/// A transform attribute to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeBuilder {
    /// TV format, two-octet value.
    Tv {
        /// Type.
        attribute_type: TransformAttributeType,
        /// Value.
        value: u16,
    },
    /// TLV format.
    Tlv {
        /// Type.
        attribute_type: TransformAttributeType,
        /// Value.
        value: Vec<u8>,
    },
}

impl SaBuilder {
    /// An SA payload with these proposals.
    pub fn new(proposals: Vec<ProposalBuilder>) -> Self {
        Self { proposals }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.proposals.is_empty() {
            return Err(Error::Unencodable {
                at: AT,
                reason: "an SA payload needs a proposal",
            });
        }
        if self.proposals.len() > MAX_PROPOSALS {
            return Err(Error::TooMany {
                at: AT,
                what: "proposals",
                limit: MAX_PROPOSALS,
            });
        }
        check_numbering(self.proposals.iter().map(|p| p.number))?;
        for (i, p) in self.proposals.iter().enumerate() {
            let start = out.len();
            out.push(if i + 1 == self.proposals.len() {
                LAST
            } else {
                MORE_PROPOSALS
            });
            out.push(0);
            let len_at = reserve_u16(out);
            p.encode_body(out)?;
            patch_u16(out, len_at, start, Structure::Proposal, "proposal length")?;
        }
        Ok(())
    }
}

impl ProposalBuilder {
    /// An IKE proposal (initial exchange: no SPI).
    pub fn ike(number: u8, transforms: Vec<TransformBuilder>) -> Self {
        Self {
            number,
            protocol: ProtocolId::IKE,
            spi: Vec::new(),
            transforms,
        }
    }

    /// An ESP proposal with our inbound SPI.
    pub fn esp(number: u8, spi: u32, transforms: Vec<TransformBuilder>) -> Self {
        Self {
            number,
            protocol: ProtocolId::ESP,
            spi: spi.to_be_bytes().to_vec(),
            transforms,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let at = Structure::Proposal;
        check_spi_size(self.protocol, self.spi.len())
            .map_err(|reason| Error::Unencodable { at, reason })?;
        if self.transforms.is_empty() {
            return Err(Error::Unencodable {
                at,
                reason: "a proposal needs a transform",
            });
        }
        if self.transforms.len() > MAX_TRANSFORMS {
            return Err(Error::TooMany {
                at,
                what: "transforms",
                limit: MAX_TRANSFORMS,
            });
        }
        out.push(self.number);
        out.push(self.protocol.get());
        out.push(count(self.spi.len(), at, "SPI size", 255)?);
        out.push(count(self.transforms.len(), at, "num transforms", 255)?);
        out.extend_from_slice(&self.spi);
        for (i, t) in self.transforms.iter().enumerate() {
            let start = out.len();
            out.push(if i + 1 == self.transforms.len() {
                LAST
            } else {
                MORE_TRANSFORMS
            });
            out.push(0);
            let len_at = reserve_u16(out);
            t.encode_body(out)?;
            patch_u16(out, len_at, start, Structure::Transform, "transform length")?;
        }
        Ok(())
    }
}

impl TransformBuilder {
    /// A transform without attributes.
    pub fn new(transform_type: TransformType, id: u16) -> Self {
        Self {
            transform_type,
            id,
            attributes: Vec::new(),
        }
    }

    /// An encryption transform, with a Key Length attribute when `key_bits` is given.
    pub fn encr(id: EncrId, key_bits: Option<u16>) -> Self {
        let mut t = Self::new(TransformType::ENCR, id.get());
        if let Some(bits) = key_bits {
            t.attributes.push(AttributeBuilder::Tv {
                attribute_type: TransformAttributeType::KEY_LENGTH,
                value: bits,
            });
        }
        t
    }

    /// A PRF transform.
    pub fn prf(id: PrfId) -> Self {
        Self::new(TransformType::PRF, id.get())
    }

    /// An integrity transform.
    pub fn integ(id: IntegId) -> Self {
        Self::new(TransformType::INTEG, id.get())
    }

    /// A key exchange transform.
    pub fn ke(id: KeMethod) -> Self {
        Self::new(TransformType::KE, id.get())
    }

    /// An ESN transform.
    pub fn esn(id: EsnId) -> Self {
        Self::new(TransformType::ESN, id.get())
    }

    fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let at = Structure::Transform;
        if self.attributes.len() > MAX_TRANSFORM_ATTRIBUTES {
            return Err(Error::TooMany {
                at,
                what: "attributes",
                limit: MAX_TRANSFORM_ATTRIBUTES,
            });
        }
        out.push(self.transform_type.get());
        out.push(0);
        out.extend_from_slice(&self.id.to_be_bytes());
        for (i, a) in self.attributes.iter().enumerate() {
            let ty = a.attribute_type();
            if self.attributes[..i]
                .iter()
                .any(|x| x.attribute_type() == ty)
            {
                return Err(Error::Unencodable {
                    at,
                    reason: "an attribute type appears twice",
                });
            }
            if ty.get() & AF_TV != 0 {
                return Err(Error::Unencodable {
                    at: Structure::TransformAttribute,
                    reason: "attribute types are 15 bits",
                });
            }
            match a {
                AttributeBuilder::Tv { value, .. } => {
                    out.extend_from_slice(&(ty.get() | AF_TV).to_be_bytes());
                    out.extend_from_slice(&value.to_be_bytes());
                }
                AttributeBuilder::Tlv { value, .. } => {
                    if ty == TransformAttributeType::KEY_LENGTH {
                        return Err(Error::Unencodable {
                            at: Structure::TransformAttribute,
                            reason: "Key Length must use the TV format",
                        });
                    }
                    out.extend_from_slice(&ty.get().to_be_bytes());
                    let len_at = reserve_u16(out);
                    out.extend_from_slice(value);
                    patch_u16(
                        out,
                        len_at,
                        len_at + 2,
                        Structure::TransformAttribute,
                        "attribute length",
                    )?;
                }
            }
        }
        Ok(())
    }
}

impl AttributeBuilder {
    /// The attribute type.
    pub fn attribute_type(&self) -> TransformAttributeType {
        match self {
            Self::Tv { attribute_type, .. } | Self::Tlv { attribute_type, .. } => *attribute_type,
        }
    }
}

impl From<&Sa<'_>> for SaBuilder {
    fn from(sa: &Sa<'_>) -> Self {
        Self {
            proposals: sa
                .proposals
                .iter()
                .map(|p| ProposalBuilder {
                    number: p.number,
                    protocol: p.protocol,
                    spi: p.spi.to_vec(),
                    transforms: p
                        .transforms
                        .iter()
                        .map(|t| TransformBuilder {
                            transform_type: t.transform_type,
                            id: t.id,
                            attributes: t
                                .attributes
                                .iter()
                                .map(|a| match *a {
                                    Attribute::Tv {
                                        attribute_type,
                                        value,
                                    } => AttributeBuilder::Tv {
                                        attribute_type,
                                        value,
                                    },
                                    Attribute::Tlv {
                                        attribute_type,
                                        value,
                                    } => AttributeBuilder::Tlv {
                                        attribute_type,
                                        value: value.to_vec(),
                                    },
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
#[path = "sa_tests.rs"]
mod tests;
