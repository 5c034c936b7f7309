use super::*;
use crate::payload::{
    DeleteBuilder, EncryptedBuilder, NotifyBuilder, TsBuilder, encode_inner_payloads,
    parse_inner_payloads, split_padding,
};
use crate::registry::KeMethod;
use crate::test_util::hex;

/// strongSwan's INVALID_KE_PAYLOAD response (tests/data/strongswan/02-*.hex).
const INVALID_KE_RSP: &str =
    "747fcedb663d854700000000000000002920222000000000000000260000000a000000110013";

#[test]
fn builds_strongswans_invalid_ke_response() {
    let built = MessageBuilder::new(
        ExchangeType::IKE_SA_INIT,
        Flags::new(false, true),
        0x747f_cedb_663d_8547,
        0,
        0,
    )
    .with(PayloadBuilder::Notify(NotifyBuilder::invalid_ke_payload(
        KeMethod::ECP_256,
    )))
    .to_bytes()
    .unwrap();
    assert_eq!(built, hex(INVALID_KE_RSP));

    let m = Message::parse(&built).unwrap();
    assert!(m.is_response());
    assert_eq!(m.exchange_type(), ExchangeType::IKE_SA_INIT);
    let n = m.notify(NotifyType::INVALID_KE_PAYLOAD).unwrap();
    assert_eq!(n.accepted_ke_method().unwrap(), KeMethod::ECP_256);
    assert!(m.encrypted().is_none());
    assert!(m.associated_data().is_none());
    assert_eq!(m.to_builder().to_bytes().unwrap(), built);
}

fn informational() -> MessageBuilder {
    MessageBuilder::new(
        ExchangeType::INFORMATIONAL,
        Flags::new(true, false),
        0x1122,
        0x3344,
        7,
    )
}

#[test]
fn encrypted_message_layout() {
    // Inner payloads, padded for a 16-byte block cipher.
    let inner = [PayloadBuilder::Delete(DeleteBuilder::ike())];
    let mut plain = Vec::new();
    let first = encode_inner_payloads(&inner, &mut plain).unwrap();
    assert_eq!(first, PayloadType::DELETE);
    let pad = crate::payload::padding_len(plain.len(), 16);
    plain.extend(std::iter::repeat_n(0xaa, pad));
    plain.push(pad as u8);
    assert_eq!(plain.len() % 16, 0);

    let (iv_len, icv_len) = (16, 16);
    let content_len = iv_len + plain.len() + icv_len;
    let mut out = vec![0, 0, 0, 0]; // a non-ESP marker already in the buffer
    let aad = informational()
        .encode_encrypted(first, content_len, &mut out)
        .unwrap();
    assert_eq!(aad, 4..4 + HEADER_LEN + GENERIC_HEADER_LEN);
    // A stand-in for encryption: IV, the plaintext, a fake ICV.
    out.extend_from_slice(&[1; 16]);
    out.extend_from_slice(&plain);
    out.extend_from_slice(&[2; 16]);

    let m = Message::parse(&out[4..]).unwrap();
    assert_eq!(m.header().length as usize, out.len() - 4);
    assert_eq!(m.header().next_payload, PayloadType::SK);
    assert_eq!(m.associated_data().unwrap(), &out[aad]);
    let sk = m.encrypted().unwrap();
    assert_eq!(sk.first_inner(), PayloadType::DELETE);
    let sealed = sk.split(iv_len, icv_len).unwrap();
    assert_eq!((sealed.iv, sealed.icv), (&[1; 16][..], &[2; 16][..]));
    let (payloads, padding) = split_padding(sealed.ciphertext).unwrap();
    assert_eq!(padding.len(), pad);
    let parsed = parse_inner_payloads(sk.first_inner(), payloads).unwrap();
    assert_eq!(parsed.len(), 1);
    let (covered, checksum) = m.integrity_protected(icv_len).unwrap();
    assert_eq!(checksum, &[2; 16]);
    assert_eq!(covered.len() + 16, m.bytes().len());

    // The same message through the generic builder gives the same bytes.
    let whole = informational()
        .with(PayloadBuilder::Encrypted(EncryptedBuilder {
            first_inner: first,
            content: out[4 + aad_end_without_marker()..].to_vec(),
        }))
        .to_bytes()
        .unwrap();
    assert_eq!(whole, out[4..]);
}

fn aad_end_without_marker() -> usize {
    HEADER_LEN + GENERIC_HEADER_LEN
}

#[test]
fn plain_payloads_before_the_encrypted_one() {
    let mut out = Vec::new();
    let msg = informational().with(PayloadBuilder::VendorId(b"v".to_vec()));
    let aad = msg
        .encode_encrypted(PayloadType::NONE, 25, &mut out)
        .unwrap();
    out.extend_from_slice(&[0; 25]);
    let m = Message::parse(&out).unwrap();
    assert_eq!(m.payloads().len(), 2);
    assert_eq!(m.header().next_payload, PayloadType::VENDOR_ID);
    assert_eq!(m.associated_data().unwrap(), &out[aad]);
    assert_eq!(
        m.associated_data().unwrap().len(),
        HEADER_LEN + 5 + GENERIC_HEADER_LEN
    );
}

#[test]
fn fragments() {
    let mut out = Vec::new();
    let aad = informational()
        .encode_encrypted_fragment(PayloadType::IDR, 1, 3, 40, &mut out)
        .unwrap();
    assert_eq!(aad.len(), HEADER_LEN + 8);
    out.extend_from_slice(&[0; 40]);
    let m = Message::parse(&out).unwrap();
    let f = m.encrypted_fragment().unwrap();
    assert_eq!(
        (f.number(), f.total(), f.first_inner()),
        (1, 3, PayloadType::IDR)
    );
    assert_eq!(m.associated_data().unwrap(), &out[aad]);
    assert_eq!(m.to_builder().to_bytes().unwrap(), out);

    let mut out = Vec::new();
    for (first, number, total) in [
        (PayloadType::IDR, 2, 3),
        (PayloadType::NONE, 0, 3),
        (PayloadType::NONE, 4, 3),
    ] {
        assert!(
            informational()
                .encode_encrypted_fragment(first, number, total, 40, &mut out)
                .is_err()
        );
    }
}

#[test]
fn builder_refusals() {
    let zero_spi = MessageBuilder::new(ExchangeType::IKE_SA_INIT, Flags::new(true, false), 0, 0, 0);
    assert!(zero_spi.to_bytes().is_err());
    let sk_inside = informational().with(PayloadBuilder::Encrypted(EncryptedBuilder {
        first_inner: PayloadType::NONE,
        content: vec![0; 24],
    }));
    assert!(
        sk_inside
            .encode_encrypted(PayloadType::NONE, 24, &mut Vec::new())
            .is_err()
    );
    for too_long in [70_000, usize::MAX] {
        let mut out = Vec::new();
        assert!(
            informational()
                .encode_encrypted(PayloadType::NONE, too_long, &mut out)
                .is_err()
        );
        assert!(
            informational()
                .encode_encrypted_fragment(PayloadType::SA, 1, 1, too_long, &mut out)
                .is_err()
        );
    }
    let empty_ts = informational().with(PayloadBuilder::TsI(TsBuilder::default()));
    assert!(empty_ts.to_bytes().is_err());
}

#[test]
fn first_error_wins_and_names_the_payload() {
    let mut bytes = informational()
        .with(PayloadBuilder::Nonce(vec![0; 16]))
        .to_bytes()
        .unwrap();
    // Shrink the nonce payload by one byte in both length fields.
    bytes.pop();
    let total = bytes.len() as u32;
    bytes[24..28].copy_from_slice(&total.to_be_bytes());
    bytes[30..32].copy_from_slice(&19u16.to_be_bytes());
    let err = Message::parse(&bytes).unwrap_err();
    assert!(matches!(
        err,
        Error::BadLength {
            at: Structure::Payload(PayloadType::NONCE),
            length: 15,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "NONCE payload: `nonce data` is 15, a nonce is 16 to 256 bytes"
    );
    assert_eq!(err.notify_type(), Some(NotifyType::INVALID_SYNTAX));
}
