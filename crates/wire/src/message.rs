//! Whole IKE messages: parsing into views, building from owned payloads, and the byte
//! spans the cryptographic layer needs around an Encrypted payload.

use std::ops::Range;

use crate::error::{Error, Structure};
use crate::header::{Flags, HEADER_LEN, Header, IKE_MAJOR_VERSION};
use crate::payload::{
    Encrypted, EncryptedFragment, EncryptedFragmentBuilder, FRAGMENT_FIELDS_LEN,
    GENERIC_HEADER_LEN, Notify, Payload, PayloadBuilder, PayloadIter, encode_chain,
};
use crate::registry::{ExchangeType, NotifyType, PayloadType};

/// Offset of the Next Payload octet in the IKE header.
const NEXT_PAYLOAD_AT: usize = 16;
/// Offset of the Length field in the IKE header.
const LENGTH_AT: usize = 24;

/// A parsed IKE message, borrowing from the datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    header: Header,
    bytes: &'a [u8],
    payloads: Vec<Payload<'a>>,
    /// Offset of the SK or SKF payload from the start of the message.
    encrypted_at: Option<usize>,
}

impl<'a> Message<'a> {
    /// Parses and checks a whole IKE message: `bytes` is the UDP payload on port 500, or
    /// on port 4500 the part after the non-ESP marker ([`crate::udp_encap::classify`]).
    ///
    /// Every payload outside an Encrypted payload is parsed and checked; the first error
    /// stops parsing and is returned. Duplicate payloads are kept: which payloads an
    /// exchange may carry is the `ike` layer's to judge.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let header = Header::parse(bytes)?;
        let chain = &bytes[HEADER_LEN..];
        let mut iter = PayloadIter::new(header.next_payload, chain);
        let mut payloads = Vec::new();
        let mut encrypted_at = None;
        loop {
            let offset = iter.offset();
            let Some(payload) = iter.next() else { break };
            let payload = payload?;
            if matches!(
                payload,
                Payload::Encrypted(_) | Payload::EncryptedFragment(_)
            ) {
                encrypted_at = Some(HEADER_LEN + offset);
            }
            payloads.push(payload);
        }
        Ok(Self {
            header,
            bytes,
            payloads,
            encrypted_at,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The message as received (header included), e.g. for signing the IKE_SA_INIT
    /// messages into AUTH (RFC 7296 §2.15).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The exchange type.
    pub fn exchange_type(&self) -> ExchangeType {
        self.header.exchange_type
    }

    /// Whether the R flag is set.
    pub fn is_response(&self) -> bool {
        self.header.flags.is_response()
    }

    /// The payloads outside any Encrypted payload, in order; an SK or SKF payload, if
    /// present, is the last.
    pub fn payloads(&self) -> &[Payload<'a>] {
        &self.payloads
    }

    /// The Encrypted payload, if the message has one.
    pub fn encrypted(&self) -> Option<&Encrypted<'a>> {
        match self.payloads.last() {
            Some(Payload::Encrypted(e)) => Some(e),
            _ => None,
        }
    }

    /// The Encrypted Fragment payload, if the message is a fragment.
    pub fn encrypted_fragment(&self) -> Option<&EncryptedFragment<'a>> {
        match self.payloads.last() {
            Some(Payload::EncryptedFragment(f)) => Some(f),
            _ => None,
        }
    }

    /// The associated data for an AEAD cipher: the message from the first octet of the IKE
    /// header through the last octet of the SK payload header (RFC 5282 §5.1), or through
    /// Total Fragments of the SKF payload header (RFC 7383 §2.5). `None` without one.
    pub fn associated_data(&self) -> Option<&'a [u8]> {
        let at = self.encrypted_at?;
        let header_len = match self.payloads.last() {
            Some(Payload::EncryptedFragment(_)) => GENERIC_HEADER_LEN + FRAGMENT_FIELDS_LEN,
            _ => GENERIC_HEADER_LEN,
        };
        self.bytes.get(..at + header_len)
    }

    /// For a cipher with a separate integrity transform, the octets the ICV covers.
    ///
    /// RFC 7296 §3.14: "Integrity Checksum Data is the cryptographic checksum of the entire
    /// message starting with the Fixed IKE header through the Pad Length."
    pub fn integrity_protected(&self, icv_len: usize) -> Option<(&'a [u8], &'a [u8])> {
        let content_start = self.associated_data()?.len();
        if self.bytes.len() < content_start + icv_len {
            return None;
        }
        Some(self.bytes.split_at(self.bytes.len() - icv_len))
    }

    /// The Notify payloads outside the Encrypted payload.
    pub fn notifies(&self) -> impl Iterator<Item = &Notify<'a>> + '_ {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Notify(n) => Some(n),
            _ => None,
        })
    }

    /// The first Notify of a type.
    pub fn notify(&self, notify_type: NotifyType) -> Option<&Notify<'a>> {
        self.notifies().find(|n| n.notify_type() == notify_type)
    }

    /// An owned builder that re-encodes to the same bytes (given a zero minor version and
    /// clear critical bits on known payloads, as RFC 7296 requires of senders).
    pub fn to_builder(&self) -> MessageBuilder {
        MessageBuilder {
            spi_i: self.header.spi_i,
            spi_r: self.header.spi_r,
            exchange_type: self.header.exchange_type,
            flags: self.header.flags,
            message_id: self.header.message_id,
            payloads: self.payloads.iter().map(Payload::to_builder).collect(),
        }
    }
}

/// An IKE message to send. Encoding computes every length and the Next Payload chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageBuilder {
    /// IKE SA Initiator's SPI (must not be zero).
    pub spi_i: u64,
    /// IKE SA Responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: u64,
    /// Exchange type.
    pub exchange_type: ExchangeType,
    /// Flags.
    pub flags: Flags,
    /// Message ID.
    pub message_id: u32,
    /// Payloads in order. For [`MessageBuilder::encode_encrypted`] these are the (rare)
    /// unencrypted payloads before the SK payload.
    pub payloads: Vec<PayloadBuilder>,
}

impl MessageBuilder {
    /// A message without payloads.
    pub fn new(
        exchange_type: ExchangeType,
        flags: Flags,
        spi_i: u64,
        spi_r: u64,
        message_id: u32,
    ) -> Self {
        Self {
            spi_i,
            spi_r,
            exchange_type,
            flags,
            message_id,
            payloads: Vec::new(),
        }
    }

    /// Appends a payload.
    pub fn push(&mut self, payload: PayloadBuilder) -> &mut Self {
        self.payloads.push(payload);
        self
    }

    /// Appends a payload, by value.
    pub fn with(mut self, payload: PayloadBuilder) -> Self {
        self.payloads.push(payload);
        self
    }

    fn header(&self) -> Result<Header, Error> {
        if self.spi_i == 0 {
            return Err(Error::Unencodable {
                at: Structure::Header,
                reason: "the initiator SPI must not be zero",
            });
        }
        Ok(Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            next_payload: PayloadType::NONE,
            major_version: IKE_MAJOR_VERSION,
            // RFC 7296 §3.1: "Implementations based on this version of IKE MUST set the
            // minor version to 0."
            minor_version: 0,
            exchange_type: self.exchange_type,
            flags: self.flags,
            message_id: self.message_id,
            length: 0,
        })
    }

    /// Writes the header and the payloads followed by `after` (NONE, SK or SKF), patches
    /// the header's Next Payload, and returns where the message starts in `out`.
    fn encode_head(&self, after: PayloadType, out: &mut Vec<u8>) -> Result<usize, Error> {
        let start = out.len();
        self.header()?.encode(out);
        let first = encode_chain(&self.payloads, false, after, out)?;
        out[start + NEXT_PAYLOAD_AT] = first.get();
        Ok(start)
    }

    /// Appends the whole message.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let start = self.encode_head(PayloadType::NONE, out)?;
        let length = out.len() - start;
        patch_length(out, start, length)
    }

    /// The whole message as a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Appends the header, any payloads of `self.payloads` and the generic header of an
    /// SK payload whose IV, ciphertext and ICV will take `content_len` bytes. Returns the
    /// range of `out` that is the AEAD associated data; the caller then appends exactly
    /// `content_len` bytes (IV, encrypted inner payloads with padding and Pad Length, ICV),
    /// after which the message is complete: its Length field already counts them.
    ///
    /// `first_inner` is the type returned by [`crate::encode_inner_payloads`].
    pub fn encode_encrypted(
        &self,
        first_inner: PayloadType,
        content_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<Range<usize>, Error> {
        let start = self.encode_head(PayloadType::SK, out)?;
        sk_header(
            out,
            PayloadType::SK,
            first_inner,
            GENERIC_HEADER_LEN.saturating_add(content_len),
        )?;
        let length = (out.len() - start).saturating_add(content_len);
        patch_length(out, start, length)?;
        Ok(start..out.len())
    }

    /// Like [`MessageBuilder::encode_encrypted`] for one fragment (RFC 7383): writes the
    /// header and the SKF payload header with Fragment Number and Total Fragments;
    /// `first_inner` must be NONE for every fragment but the first.
    pub fn encode_encrypted_fragment(
        &self,
        first_inner: PayloadType,
        number: u16,
        total: u16,
        content_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<Range<usize>, Error> {
        EncryptedFragmentBuilder {
            first_inner,
            number,
            total,
            content: Vec::new(),
        }
        .check()?;
        let start = self.encode_head(PayloadType::SKF, out)?;
        let length = (GENERIC_HEADER_LEN + FRAGMENT_FIELDS_LEN).saturating_add(content_len);
        sk_header(out, PayloadType::SKF, first_inner, length)?;
        out.extend_from_slice(&number.to_be_bytes());
        out.extend_from_slice(&total.to_be_bytes());
        let length = (out.len() - start).saturating_add(content_len);
        patch_length(out, start, length)?;
        Ok(start..out.len())
    }
}

/// Writes the generic header of an SK or SKF payload of `length` bytes.
fn sk_header(
    out: &mut Vec<u8>,
    payload_type: PayloadType,
    first_inner: PayloadType,
    length: usize,
) -> Result<(), Error> {
    let length = u16::try_from(length).map_err(|_| Error::TooLong {
        at: Structure::Payload(payload_type),
        field: "payload length",
        length,
        max: u16::MAX.into(),
    })?;
    out.push(first_inner.get());
    out.push(0);
    out.extend_from_slice(&length.to_be_bytes());
    Ok(())
}

fn patch_length(out: &mut [u8], start: usize, length: usize) -> Result<(), Error> {
    let length = u32::try_from(length).map_err(|_| Error::TooLong {
        at: Structure::Header,
        field: "length",
        length,
        max: u32::MAX as usize,
    })?;
    out[start + LENGTH_AT..start + LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
    Ok(())
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
