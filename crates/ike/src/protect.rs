//! Sealing our messages into an Encrypted payload (split into Encrypted Fragments when
//! they are too large, RFC 7383 §2.5) and opening the gateway's.

use corridor_crypto::{Random, SkCrypter};
use corridor_wire::limits::MAX_FRAGMENTS;
use corridor_wire::{HEADER_LEN, Message, MessageBuilder, PayloadBuilder, PayloadType};

use crate::Error;
use crate::fragment::Fragment;

/// Generic payload header of SK.
const SK_HEADER_LEN: usize = 4;
/// Generic payload header of SKF plus Fragment Number and Total Fragments.
const SKF_HEADER_LEN: usize = 8;

/// The two directions of an IKE SA's protection.
pub(crate) struct Protection {
    /// SK_ei / SK_ai as initiator.
    pub(crate) outbound: SkCrypter,
    /// SK_er / SK_ar.
    pub(crate) inbound: SkCrypter,
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Protection(***)")
    }
}

/// Encodes `inner` into an SK payload after `header` (whose own payload list is empty)
/// and protects it. With `fragment_size`, a message longer than that is sent as
/// Encrypted Fragments of at most that size, each protected on its own.
pub(crate) fn seal(
    header: &MessageBuilder,
    inner: &[PayloadBuilder],
    crypter: &SkCrypter,
    rng: &mut dyn Random,
    fragment_size: Option<usize>,
) -> Result<Vec<Vec<u8>>, Error> {
    let mut plaintext = Vec::new();
    let first_inner = corridor_wire::encode_inner_payloads(inner, &mut plaintext)?;
    let whole_len = HEADER_LEN + SK_HEADER_LEN + crypter.encrypted_len(plaintext.len());
    match fragment_size {
        Some(max) if whole_len > max => {
            seal_fragments(header, first_inner, &plaintext, crypter, rng, max)
        }
        _ => {
            let mut out = Vec::with_capacity(whole_len);
            let aad = header.encode_encrypted(
                first_inner,
                crypter.encrypted_len(plaintext.len()),
                &mut out,
            )?;
            let body = crypter
                .seal(rng, &out[aad], &plaintext)
                .map_err(Error::internal)?;
            out.extend_from_slice(&body);
            Ok(vec![out])
        }
    }
}

/// RFC 7383 §2.5: each fragment is a message of its own with the original header and
/// Message ID, carrying an Encrypted Fragment payload with a slice of the original
/// plaintext, protected separately; only the first fragment names the first inner
/// payload, the others carry zero there.
fn seal_fragments(
    header: &MessageBuilder,
    first_inner: PayloadType,
    plaintext: &[u8],
    crypter: &SkCrypter,
    rng: &mut dyn Random,
    max: usize,
) -> Result<Vec<Vec<u8>>, Error> {
    let overhead = HEADER_LEN + SKF_HEADER_LEN;
    let mut chunk = max.saturating_sub(overhead + crypter.encrypted_len(0));
    while chunk > 0 && overhead + crypter.encrypted_len(chunk) > max {
        chunk -= 1;
    }
    if chunk == 0 {
        return Err(Error::LocalConfig(format!(
            "the IKE fragment size {max} leaves no room for data"
        )));
    }
    let total = plaintext.len().div_ceil(chunk);
    let total = u16::try_from(total)
        .ok()
        .filter(|t| *t <= MAX_FRAGMENTS)
        .ok_or_else(|| {
            Error::LocalConfig(format!(
                "a {}-byte message needs more than {MAX_FRAGMENTS} fragments of {max} bytes",
                plaintext.len()
            ))
        })?;
    let mut out = Vec::with_capacity(usize::from(total));
    for (i, part) in plaintext.chunks(chunk).enumerate() {
        let number = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let next = if number == 1 {
            first_inner
        } else {
            PayloadType::NONE
        };
        let mut datagram = Vec::with_capacity(max);
        let aad = header.encode_encrypted_fragment(
            next,
            number,
            total,
            crypter.encrypted_len(part.len()),
            &mut datagram,
        )?;
        let body = crypter
            .seal(rng, &datagram[aad], part)
            .map_err(Error::internal)?;
        datagram.extend_from_slice(&body);
        out.push(datagram);
    }
    Ok(out)
}

/// A decrypted Encrypted or Encrypted Fragment payload.
#[derive(Debug)]
pub(crate) enum Opened {
    /// A whole message: the first inner payload type and the inner payloads.
    Whole(PayloadType, Vec<u8>),
    /// One fragment.
    Fragment(Fragment),
}

/// Checks and decrypts the SK or SKF payload of `msg`. The error is a reason to drop the
/// message, for the debug log.
pub(crate) fn open(msg: &Message<'_>, crypter: &SkCrypter) -> Result<Opened, String> {
    let aad = msg
        .associated_data()
        .ok_or("the message has no Encrypted payload")?;
    if let Some(sk) = msg.encrypted() {
        let plaintext = crypter
            .open(aad, sk.content())
            .map_err(|e| format!("cannot open the Encrypted payload: {e}"))?;
        return Ok(Opened::Whole(sk.first_inner(), plaintext));
    }
    if let Some(skf) = msg.encrypted_fragment() {
        let plaintext = crypter
            .open(aad, skf.content())
            .map_err(|e| format!("cannot open the Encrypted Fragment payload: {e}"))?;
        return Ok(Opened::Fragment(Fragment {
            message_id: msg.header().message_id,
            number: skf.number(),
            total: skf.total(),
            first_inner: skf.first_inner(),
            plaintext,
        }));
    }
    Err("the message has no Encrypted payload".into())
}
