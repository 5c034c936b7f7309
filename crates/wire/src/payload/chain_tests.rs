use super::*;
use crate::registry::NotifyType;

/// A raw payload: generic header with the given next type, flags octet and body.
fn raw(next: u8, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![next, flags];
    p.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
    p.extend_from_slice(body);
    p
}

const VID: u8 = 43;
const N: u8 = 41;

fn parse(first: u8, bytes: &[u8]) -> Result<Vec<Payload<'_>>, Error> {
    PayloadIter::new(PayloadType::new(first), bytes).collect()
}

#[test]
fn empty_chain_and_trailing_bytes() {
    assert_eq!(parse(0, &[]).unwrap(), vec![]);
    assert_eq!(
        parse(0, &[1, 2]).unwrap_err(),
        Error::TrailingData {
            at: Structure::Chain,
            len: 2
        }
    );
    let mut two = raw(0, 0, b"vid");
    two.extend_from_slice(&[9, 9, 9]);
    assert_eq!(
        parse(VID, &two).unwrap_err(),
        Error::TrailingData {
            at: Structure::Chain,
            len: 3
        }
    );
}

#[test]
fn generic_header_lengths() {
    assert!(matches!(
        parse(VID, &[0, 0, 0]).unwrap_err(),
        Error::Truncated {
            at: Structure::Payload(PayloadType::VENDOR_ID),
            needed: 4,
            available: 3,
            ..
        }
    ));
    assert!(matches!(
        parse(VID, &[0, 0, 0, 3]).unwrap_err(),
        Error::BadLength { length: 3, .. }
    ));
    assert!(matches!(
        parse(VID, &[0, 0, 0, 9, 1]).unwrap_err(),
        Error::BadLength {
            length: 9,
            reason: "longer than the bytes left in the message",
            ..
        }
    ));
    // Next Payload announces another payload but the bytes end.
    assert!(matches!(
        parse(VID, &raw(N, 0, b"x")).unwrap_err(),
        Error::Truncated { .. }
    ));
}

#[test]
fn unknown_payloads_are_skipped_or_fatal() {
    // An unknown type (200) without the critical bit is kept; parsing goes on after it.
    let mut bytes = raw(VID, 0, b"private");
    bytes.extend(raw(0, 0, b"vid"));
    let payloads = parse(200, &bytes).unwrap();
    assert_eq!(payloads.len(), 2);
    let Payload::Unknown(u) = &payloads[0] else {
        panic!("not unknown")
    };
    assert_eq!(
        (u.payload_type(), u.body()),
        (PayloadType::new(200), &b"private"[..])
    );
    assert_eq!(payloads[1].payload_type(), PayloadType::VENDOR_ID);

    // With the critical bit it is an error that names the type.
    let mut bytes = raw(VID, 0x80, b"private");
    bytes.extend(raw(0, 0, b"vid"));
    let err = parse(200, &bytes).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedCriticalPayload {
            payload_type: PayloadType::new(200)
        }
    );
    assert_eq!(err.notify_data(), vec![200]);

    // Payload types registered but not implemented here count as not understood.
    assert!(matches!(
        parse(49, &raw(0, 0x80, b"gspm")).unwrap_err(),
        Error::UnsupportedCriticalPayload { .. }
    ));
    // The critical bit of a payload we understand is ignored.
    assert!(parse(VID, &raw(0, 0x80, b"vid")).is_ok());
    // Reserved bits are ignored.
    assert!(parse(VID, &raw(0, 0x7f, b"vid")).is_ok());
}

#[test]
fn iteration_stops_at_the_first_error() {
    let mut bytes = raw(N, 0, b"vid");
    bytes.extend(raw(VID, 0, &[0, 0])); // a Notify body too short
    bytes.extend(raw(0, 0, b"vid"));
    let mut iter = PayloadIter::new(PayloadType::VENDOR_ID, &bytes);
    assert!(iter.next().unwrap().is_ok());
    assert!(matches!(
        iter.next().unwrap(),
        Err(Error::Truncated {
            at: Structure::Payload(PayloadType::NOTIFY),
            ..
        })
    ));
    assert!(iter.next().is_none());
    assert!(iter.next().is_none());
}

#[test]
fn encrypted_payload_must_be_last_and_not_nested() {
    // SK followed by another payload.
    let mut bytes = raw(N, 0, &[0; 24]);
    bytes.extend(raw(0, 0, &[0, 0, 0x40, 0]));
    assert!(matches!(
        parse(46, &bytes).unwrap_err(),
        Error::TrailingData {
            at: Structure::Payload(PayloadType::SK),
            ..
        }
    ));
    // SK last: its Next Payload names the first inner payload and the chain ends.
    let sk = raw(N, 0, &[0; 24]);
    let payloads = parse(46, &sk).unwrap();
    let Payload::Encrypted(e) = &payloads[0] else {
        panic!("not SK")
    };
    assert_eq!(e.first_inner(), PayloadType::NOTIFY);
    assert_eq!(e.content().len(), 24);
    // SK inside decrypted content.
    assert!(matches!(
        PayloadIter::inner(PayloadType::SK, &sk).next().unwrap(),
        Err(Error::InvalidValue { value: 46, .. })
    ));
    assert!(parse_inner_payloads(PayloadType::SKF, &raw(0, 0, &[0, 1, 0, 1])).is_err());
}

#[test]
fn payload_cap_and_duplicates() {
    let chain = |n: usize| {
        let mut bytes = Vec::new();
        for i in 0..n {
            bytes.extend(raw(if i + 1 == n { 0 } else { VID }, 0, b"v"));
        }
        bytes
    };
    // Duplicates are kept; what an exchange may carry is judged elsewhere.
    assert_eq!(
        parse(VID, &chain(MAX_PAYLOADS)).unwrap().len(),
        MAX_PAYLOADS
    );
    assert_eq!(
        parse(VID, &chain(MAX_PAYLOADS + 1)).unwrap_err(),
        Error::TooMany {
            at: Structure::Chain,
            what: "payloads",
            limit: MAX_PAYLOADS
        }
    );
}

#[test]
fn encode_chain_round_trip() {
    let payloads = vec![
        PayloadBuilder::Notify(NotifyBuilder::new(NotifyType::INITIAL_CONTACT)),
        PayloadBuilder::VendorId(b"corridor".to_vec()),
        PayloadBuilder::Nonce(vec![5; 32]),
        PayloadBuilder::Unknown(UnknownBuilder {
            payload_type: PayloadType::new(200),
            critical: false,
            body: vec![1, 2],
        }),
        PayloadBuilder::Delete(DeleteBuilder::ike()),
    ];
    let mut out = Vec::new();
    let first = encode_inner_payloads(&payloads, &mut out).unwrap();
    assert_eq!(first, PayloadType::NOTIFY);
    let parsed = parse_inner_payloads(first, &out).unwrap();
    let again: Vec<_> = parsed.iter().map(Payload::to_builder).collect();
    assert_eq!(again, payloads);

    let mut empty = Vec::new();
    assert_eq!(
        encode_inner_payloads(&[], &mut empty).unwrap(),
        PayloadType::NONE
    );
    assert!(empty.is_empty());
}

#[test]
fn encode_chain_refusals() {
    let sk = PayloadBuilder::Encrypted(EncryptedBuilder {
        first_inner: PayloadType::NONE,
        content: vec![0; 24],
    });
    let vid = PayloadBuilder::VendorId(vec![1]);
    let mut out = Vec::new();
    assert!(
        encode_chain(
            &[sk.clone(), vid.clone()],
            false,
            PayloadType::NONE,
            &mut out
        )
        .is_err()
    );
    assert!(encode_inner_payloads(std::slice::from_ref(&sk), &mut out).is_err());
    assert!(encode_chain(&[vid.clone(), sk], false, PayloadType::NONE, &mut out).is_ok());
    let none = PayloadBuilder::Unknown(UnknownBuilder {
        payload_type: PayloadType::NONE,
        critical: false,
        body: vec![],
    });
    assert!(encode_inner_payloads(&[none], &mut out).is_err());
    let big = PayloadBuilder::VendorId(vec![0; 70_000]);
    assert!(matches!(
        encode_inner_payloads(&[big], &mut out),
        Err(Error::TooLong {
            field: "payload length",
            ..
        })
    ));
    let critical = PayloadBuilder::Unknown(UnknownBuilder {
        payload_type: PayloadType::new(222),
        critical: true,
        body: vec![],
    });
    let mut out = Vec::new();
    encode_inner_payloads(&[critical], &mut out).unwrap();
    assert_eq!(out, [0, 0x80, 0, 4]);
    assert_eq!(
        parse_inner_payloads(PayloadType::new(222), &out).unwrap_err(),
        Error::UnsupportedCriticalPayload {
            payload_type: PayloadType::new(222)
        }
    );
}
