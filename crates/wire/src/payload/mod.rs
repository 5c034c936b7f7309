//! Payloads: the generic payload header (RFC 7296 §3.2), the typed views of each payload,
//! their owned builders, and the payload chain in both directions.

mod auth;
mod cert;
mod cp;
mod delete;
mod eap;
mod encrypted;
mod id;
mod notify;
mod sa;
mod simple;
mod ts;

pub use auth::{Auth, AuthBuilder};
pub use cert::{Cert, CertBuilder, CertReq, CertReqBuilder, SHA1_LEN};
pub use cp::{Config, ConfigAttribute, ConfigAttributeBuilder, ConfigBuilder};
pub use delete::{Delete, DeleteBuilder};
pub use eap::Eap;
pub(crate) use encrypted::FRAGMENT_FIELDS_LEN;
pub use encrypted::{
    Encrypted, EncryptedBuilder, EncryptedFragment, EncryptedFragmentBuilder, Sealed, padding_len,
    split_padding,
};
pub use id::{Id, IdBuilder};
pub use notify::{Notify, NotifyBuilder};
pub use sa::{
    Attribute, AttributeBuilder, Proposal, ProposalBuilder, Sa, SaBuilder, Transform,
    TransformBuilder,
};
pub use simple::{Ke, KeBuilder, Nonce, Unknown, UnknownBuilder, VendorId};
pub use ts::{IpRange, TrafficSelector, TrafficSelectorBuilder, Ts, TsBuilder};

use crate::error::{Error, Structure};
use crate::limits::MAX_PAYLOADS;
use crate::reader::{patch_u16, reserve_u16};
use crate::registry::PayloadType;

/// Length of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;

/// RFC 7296 §3.2: "Critical (1 bit) - MUST be set to zero if the sender wants the
/// recipient to skip this payload if it does not understand the payload type code in the
/// Next Payload field of the previous payload. MUST be set to one if the sender wants the
/// recipient to reject this entire message if it does not understand the payload type."
const CRITICAL: u8 = 0x80;

/// A parsed payload, borrowing from the message (or decrypted plaintext) it came from.
///
/// Known payload types are parsed and checked completely; a type this crate does not
/// implement is [`Payload::Unknown`] when its critical bit is clear (RFC 7296 §2.5) and an
/// [`Error::UnsupportedCriticalPayload`] when it is set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// Security Association (33).
    Sa(Sa<'a>),
    /// Key Exchange (34).
    Ke(Ke<'a>),
    /// Identification - Initiator (35).
    IdI(Id<'a>),
    /// Identification - Responder (36).
    IdR(Id<'a>),
    /// Certificate (37).
    Cert(Cert<'a>),
    /// Certificate Request (38).
    CertReq(CertReq<'a>),
    /// Authentication (39).
    Auth(Auth<'a>),
    /// Nonce (40).
    Nonce(Nonce<'a>),
    /// Notify (41).
    Notify(Notify<'a>),
    /// Delete (42).
    Delete(Delete<'a>),
    /// Vendor ID (43).
    VendorId(VendorId<'a>),
    /// Traffic Selector - Initiator (44).
    TsI(Ts<'a>),
    /// Traffic Selector - Responder (45).
    TsR(Ts<'a>),
    /// Encrypted and Authenticated (46), still encrypted.
    Encrypted(Encrypted<'a>),
    /// Configuration (47).
    Config(Config<'a>),
    /// Extensible Authentication (48).
    Eap(Eap<'a>),
    /// Encrypted and Authenticated Fragment (53), still encrypted.
    EncryptedFragment(EncryptedFragment<'a>),
    /// A payload type this crate does not implement, sent without the critical bit.
    Unknown(Unknown<'a>),
}

impl<'a> Payload<'a> {
    /// Parses one payload body of type `payload_type`; `next` is the Next Payload field of
    /// its generic header (the first inner payload for SK and SKF).
    fn parse(
        payload_type: PayloadType,
        critical: bool,
        next: PayloadType,
        body: &'a [u8],
    ) -> Result<Self, Error> {
        Ok(match payload_type {
            PayloadType::SA => Self::Sa(Sa::parse(body)?),
            PayloadType::KE => Self::Ke(Ke::parse(body)?),
            PayloadType::IDI => Self::IdI(Id::parse(payload_type, body)?),
            PayloadType::IDR => Self::IdR(Id::parse(payload_type, body)?),
            PayloadType::CERT => Self::Cert(Cert::parse(body)?),
            PayloadType::CERTREQ => Self::CertReq(CertReq::parse(body)?),
            PayloadType::AUTH => Self::Auth(Auth::parse(body)?),
            PayloadType::NONCE => Self::Nonce(Nonce::parse(body)?),
            PayloadType::NOTIFY => Self::Notify(Notify::parse(body)?),
            PayloadType::DELETE => Self::Delete(Delete::parse(body)?),
            PayloadType::VENDOR_ID => Self::VendorId(VendorId::parse(body)),
            PayloadType::TSI => Self::TsI(Ts::parse(payload_type, body)?),
            PayloadType::TSR => Self::TsR(Ts::parse(payload_type, body)?),
            PayloadType::SK => Self::Encrypted(Encrypted::parse(next, body)),
            PayloadType::CP => Self::Config(Config::parse(body)?),
            PayloadType::EAP => Self::Eap(Eap::parse(body)?),
            PayloadType::SKF => Self::EncryptedFragment(EncryptedFragment::parse(next, body)?),
            // RFC 7296 §2.5: "If the critical flag is set and the payload type is
            // unrecognized, the message MUST be rejected [...]. If the critical flag is not
            // set and the payload type is unsupported, that payload MUST be ignored."
            _ if critical => return Err(Error::UnsupportedCriticalPayload { payload_type }),
            _ => Self::Unknown(Unknown::new(payload_type, body)),
        })
    }

    /// The payload type.
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Self::Sa(_) => PayloadType::SA,
            Self::Ke(_) => PayloadType::KE,
            Self::IdI(_) => PayloadType::IDI,
            Self::IdR(_) => PayloadType::IDR,
            Self::Cert(_) => PayloadType::CERT,
            Self::CertReq(_) => PayloadType::CERTREQ,
            Self::Auth(_) => PayloadType::AUTH,
            Self::Nonce(_) => PayloadType::NONCE,
            Self::Notify(_) => PayloadType::NOTIFY,
            Self::Delete(_) => PayloadType::DELETE,
            Self::VendorId(_) => PayloadType::VENDOR_ID,
            Self::TsI(_) => PayloadType::TSI,
            Self::TsR(_) => PayloadType::TSR,
            Self::Encrypted(_) => PayloadType::SK,
            Self::Config(_) => PayloadType::CP,
            Self::Eap(_) => PayloadType::EAP,
            Self::EncryptedFragment(_) => PayloadType::SKF,
            Self::Unknown(u) => u.payload_type(),
        }
    }

    /// An owned builder that encodes to the same bytes (the critical bit of a known
    /// payload, which must be zero, is not kept).
    pub fn to_builder(&self) -> PayloadBuilder {
        match self {
            Self::Sa(p) => PayloadBuilder::Sa(p.into()),
            Self::Ke(p) => PayloadBuilder::Ke(p.into()),
            Self::IdI(p) => PayloadBuilder::IdI(p.into()),
            Self::IdR(p) => PayloadBuilder::IdR(p.into()),
            Self::Cert(p) => PayloadBuilder::Cert(p.into()),
            Self::CertReq(p) => PayloadBuilder::CertReq(p.into()),
            Self::Auth(p) => PayloadBuilder::Auth(p.into()),
            Self::Nonce(p) => PayloadBuilder::Nonce(p.data().to_vec()),
            Self::Notify(p) => PayloadBuilder::Notify(p.into()),
            Self::Delete(p) => PayloadBuilder::Delete(p.into()),
            Self::VendorId(p) => PayloadBuilder::VendorId(p.data().to_vec()),
            Self::TsI(p) => PayloadBuilder::TsI(p.into()),
            Self::TsR(p) => PayloadBuilder::TsR(p.into()),
            Self::Encrypted(p) => PayloadBuilder::Encrypted(p.into()),
            Self::Config(p) => PayloadBuilder::Config(p.into()),
            Self::Eap(p) => PayloadBuilder::Eap(p.message().to_vec()),
            Self::EncryptedFragment(p) => PayloadBuilder::EncryptedFragment(p.into()),
            Self::Unknown(p) => PayloadBuilder::Unknown(p.into()),
        }
    }
}

/// Iterates over a payload chain, parsing each payload, and stops at the first bad one
/// with the reason (after which it yields nothing).
///
/// Besides each payload's own checks it enforces the chain rules: every Payload Length
/// within the bytes left, no bytes after the payload whose Next Payload is zero, at most
/// [`MAX_PAYLOADS`] payloads, an Encrypted (or Encrypted Fragment) payload only as the
/// last payload of a message and never inside another one.
#[derive(Clone, Debug)]
pub struct PayloadIter<'a> {
    rest: &'a [u8],
    next: PayloadType,
    offset: usize,
    count: usize,
    inner: bool,
    done: bool,
}

impl<'a> PayloadIter<'a> {
    /// A chain in a message, starting at the header's Next Payload.
    pub fn new(first: PayloadType, bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            next: first,
            offset: 0,
            count: 0,
            inner: false,
            done: false,
        }
    }

    /// The chain inside an Encrypted payload, starting at the SK payload's Next Payload.
    pub fn inner(first: PayloadType, plaintext: &'a [u8]) -> Self {
        Self {
            inner: true,
            ..Self::new(first, plaintext)
        }
    }

    /// The offset of the next payload from the start of the chain.
    pub fn offset(&self) -> usize {
        self.offset
    }

    fn step(&mut self) -> Result<Option<Payload<'a>>, Error> {
        let payload_type = self.next;
        if payload_type == PayloadType::NONE {
            // RFC 7296 §3.2, Next Payload: "If the current payload is the last in the
            // message, then this field will be 0."
            if !self.rest.is_empty() {
                return Err(Error::TrailingData {
                    at: Structure::Chain,
                    len: self.rest.len(),
                });
            }
            return Ok(None);
        }
        if self.count == MAX_PAYLOADS {
            return Err(Error::TooMany {
                at: Structure::Chain,
                what: "payloads",
                limit: MAX_PAYLOADS,
            });
        }
        let at = Structure::Payload(payload_type);
        if self.rest.len() < GENERIC_HEADER_LEN {
            return Err(Error::Truncated {
                at,
                field: "generic payload header",
                needed: GENERIC_HEADER_LEN,
                available: self.rest.len(),
            });
        }
        let next = PayloadType::new(self.rest[0]);
        let critical = self.rest[1] & CRITICAL != 0;
        let length = usize::from(u16::from_be_bytes([self.rest[2], self.rest[3]]));
        // RFC 7296 §3.2: "Payload Length (2 octets, unsigned integer) - Length in octets
        // of the current payload, including the generic payload header."
        if length < GENERIC_HEADER_LEN {
            return Err(Error::BadLength {
                at,
                field: "payload length",
                length,
                reason: "shorter than the 4-byte generic payload header",
            });
        }
        if length > self.rest.len() {
            return Err(Error::BadLength {
                at,
                field: "payload length",
                length,
                reason: "longer than the bytes left in the message",
            });
        }
        let (this, rest) = self.rest.split_at(length);
        let encrypted = matches!(payload_type, PayloadType::SK | PayloadType::SKF);
        if encrypted && self.inner {
            // RFC 7296 §3.1: "An Encrypted payload MUST be the last payload in a packet
            // and an Encrypted payload MUST NOT contain another Encrypted payload."
            return Err(Error::InvalidValue {
                at: Structure::Chain,
                field: "payload type",
                value: payload_type.get().into(),
                reason: "an Encrypted payload cannot contain another one",
            });
        }
        let payload = Payload::parse(payload_type, critical, next, &this[GENERIC_HEADER_LEN..])?;
        if encrypted {
            // RFC 7296 §3.14: "The Encrypted payload, if present in a message, MUST be the
            // last payload in the message." RFC 7383 §2.5 says the same of the Encrypted
            // Fragment payload. Its Next Payload names the first inner payload instead.
            if !rest.is_empty() {
                return Err(Error::TrailingData {
                    at,
                    len: rest.len(),
                });
            }
            self.next = PayloadType::NONE;
        } else {
            self.next = next;
        }
        self.rest = rest;
        self.offset += length;
        self.count += 1;
        Ok(Some(payload))
    }
}

impl<'a> Iterator for PayloadIter<'a> {
    type Item = Result<Payload<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Parses the decrypted content of an Encrypted payload (padding already removed with
/// [`split_padding`]) whose Next Payload field was `first`.
///
/// For a fragmented message, concatenate the plaintexts of all fragments in order and pass
/// the first fragment's Next Payload.
pub fn parse_inner_payloads(
    first: PayloadType,
    plaintext: &[u8],
) -> Result<Vec<Payload<'_>>, Error> {
    PayloadIter::inner(first, plaintext).collect()
}

/// A payload to send, owning its data. Lengths and the chain are computed when encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadBuilder {
    /// Security Association.
    Sa(SaBuilder),
    /// Key Exchange.
    Ke(KeBuilder),
    /// Identification - Initiator.
    IdI(IdBuilder),
    /// Identification - Responder.
    IdR(IdBuilder),
    /// Certificate.
    Cert(CertBuilder),
    /// Certificate Request.
    CertReq(CertReqBuilder),
    /// Authentication.
    Auth(AuthBuilder),
    /// Nonce data (16 to 256 bytes).
    Nonce(Vec<u8>),
    /// Notify.
    Notify(NotifyBuilder),
    /// Delete.
    Delete(DeleteBuilder),
    /// Vendor ID data.
    VendorId(Vec<u8>),
    /// Traffic Selector - Initiator.
    TsI(TsBuilder),
    /// Traffic Selector - Responder.
    TsR(TsBuilder),
    /// An Encrypted payload whose IV, ciphertext and ICV are already known.
    Encrypted(EncryptedBuilder),
    /// Configuration.
    Config(ConfigBuilder),
    /// A complete EAP message (code, identifier, length, type, data).
    Eap(Vec<u8>),
    /// An Encrypted Fragment payload whose IV, ciphertext and ICV are already known.
    EncryptedFragment(EncryptedFragmentBuilder),
    /// Any other payload type, with its raw body.
    Unknown(UnknownBuilder),
}

impl PayloadBuilder {
    /// The payload type.
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Self::Sa(_) => PayloadType::SA,
            Self::Ke(_) => PayloadType::KE,
            Self::IdI(_) => PayloadType::IDI,
            Self::IdR(_) => PayloadType::IDR,
            Self::Cert(_) => PayloadType::CERT,
            Self::CertReq(_) => PayloadType::CERTREQ,
            Self::Auth(_) => PayloadType::AUTH,
            Self::Nonce(_) => PayloadType::NONCE,
            Self::Notify(_) => PayloadType::NOTIFY,
            Self::Delete(_) => PayloadType::DELETE,
            Self::VendorId(_) => PayloadType::VENDOR_ID,
            Self::TsI(_) => PayloadType::TSI,
            Self::TsR(_) => PayloadType::TSR,
            Self::Encrypted(_) => PayloadType::SK,
            Self::Config(_) => PayloadType::CP,
            Self::Eap(_) => PayloadType::EAP,
            Self::EncryptedFragment(_) => PayloadType::SKF,
            Self::Unknown(u) => u.payload_type,
        }
    }

    /// The Next Payload value this payload's own header carries when it is last in the
    /// chain: `after` (zero, or the type of an SK payload written separately), except for
    /// SK and SKF, which carry their first inner payload.
    fn trailing_next(&self, after: PayloadType) -> PayloadType {
        match self {
            Self::Encrypted(e) => e.first_inner,
            Self::EncryptedFragment(f) => f.first_inner,
            _ => after,
        }
    }

    fn critical(&self) -> bool {
        matches!(self, Self::Unknown(u) if u.critical)
    }

    fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Self::Sa(p) => p.encode(out),
            Self::Ke(p) => p.encode(out),
            Self::IdI(p) => p.encode(PayloadType::IDI, out),
            Self::IdR(p) => p.encode(PayloadType::IDR, out),
            Self::Cert(p) => p.encode(out),
            Self::CertReq(p) => p.encode(out),
            Self::Auth(p) => p.encode(out),
            Self::Nonce(data) => simple::encode_nonce(data, out),
            Self::Notify(p) => p.encode(out),
            Self::Delete(p) => p.encode(out),
            Self::VendorId(data) => {
                out.extend_from_slice(data);
                Ok(())
            }
            Self::TsI(p) => p.encode(PayloadType::TSI, out),
            Self::TsR(p) => p.encode(PayloadType::TSR, out),
            Self::Encrypted(p) => {
                out.extend_from_slice(&p.content);
                Ok(())
            }
            Self::Config(p) => p.encode(out),
            Self::Eap(message) => eap::encode(message, out),
            Self::EncryptedFragment(p) => p.encode(out),
            Self::Unknown(p) => {
                out.extend_from_slice(&p.body);
                Ok(())
            }
        }
    }
}

/// Appends the payloads with their generic headers, the Next Payload chain and lengths,
/// and returns the type of the first one (the value for the header's Next Payload).
///
/// `after` is what follows the chain: NONE, or SK/SKF when the caller writes an encrypted
/// payload after it (then the chain itself must not hold one).
pub(crate) fn encode_chain(
    payloads: &[PayloadBuilder],
    inner: bool,
    after: PayloadType,
    out: &mut Vec<u8>,
) -> Result<PayloadType, Error> {
    if payloads.len() > MAX_PAYLOADS {
        return Err(Error::TooMany {
            at: Structure::Chain,
            what: "payloads",
            limit: MAX_PAYLOADS,
        });
    }
    for (i, payload) in payloads.iter().enumerate() {
        let payload_type = payload.payload_type();
        let last = i + 1 == payloads.len();
        let encrypted_follows = after != PayloadType::NONE;
        if matches!(payload_type, PayloadType::SK | PayloadType::SKF)
            && (inner || !last || encrypted_follows)
        {
            return Err(Error::Unencodable {
                at: Structure::Payload(payload_type),
                reason: "an Encrypted payload must be last and cannot be nested",
            });
        }
        if payload_type == PayloadType::NONE {
            return Err(Error::Unencodable {
                at: Structure::Chain,
                reason: "payload type 0 means 'no next payload'",
            });
        }
        let next = match payloads.get(i + 1) {
            Some(p) => p.payload_type(),
            None => payload.trailing_next(after),
        };
        let start = out.len();
        out.push(next.get());
        out.push(if payload.critical() { CRITICAL } else { 0 });
        let len_at = reserve_u16(out);
        payload.encode_body(out)?;
        patch_u16(
            out,
            len_at,
            start,
            Structure::Payload(payload_type),
            "payload length",
        )?;
    }
    Ok(payloads.first().map_or(after, PayloadBuilder::payload_type))
}

/// Encodes the payloads to be encrypted into an SK payload: the plaintext of "Encrypted
/// IKE Payloads" (RFC 7296 §3.14), before padding. Returns the type of the first payload,
/// which goes into the SK payload's Next Payload field.
pub fn encode_inner_payloads(
    payloads: &[PayloadBuilder],
    out: &mut Vec<u8>,
) -> Result<PayloadType, Error> {
    encode_chain(payloads, true, PayloadType::NONE, out)
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
