//! Input a hostile peer could send: every parse must end in a value or an error, never a
//! panic, and must not let the peer make us hold much.

mod common;

use common::{ike_bytes, vectors};
use corridor_wire::payload::{NotifyBuilder, UnknownBuilder};
use corridor_wire::*;

const LENGTH_AT: usize = 24;

/// Sets the header's Length field to the buffer's length.
fn fix_length(bytes: &mut [u8]) {
    let len = bytes.len() as u32;
    bytes[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&len.to_be_bytes());
}

fn messages() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    vectors()
        .iter()
        .filter(|v| !v.name.ends_with("-esp"))
        .map(|v| (v.name.as_str(), ike_bytes(v)))
}

#[test]
fn truncated_at_every_offset() {
    for (name, bytes) in messages() {
        for cut in 0..bytes.len() {
            // As received: the header length no longer matches.
            assert!(
                Message::parse(&bytes[..cut]).is_err(),
                "{name} cut at {cut}"
            );
            // With a consistent header, so that the payload parsers see the cut.
            if cut >= HEADER_LEN {
                let mut short = bytes[..cut].to_vec();
                fix_length(&mut short);
                assert!(Message::parse(&short).is_err(), "{name} cut at {cut}");
            }
        }
    }
    for v in vectors()
        .iter()
        .filter(|v| v.plain.as_ref().is_some_and(|p| !p.is_empty()))
    {
        let m = Message::parse(ike_bytes(v)).unwrap();
        let Some(first) = m.encrypted().map(|e| e.first_inner()) else {
            continue;
        };
        let plain = v.plain.as_deref().unwrap();
        for cut in 0..plain.len() {
            assert!(
                parse_inner_payloads(first, &plain[..cut]).is_err(),
                "{} cut at {cut}",
                v.name
            );
        }
    }
}

#[test]
fn wrong_lengths() {
    for (name, bytes) in messages() {
        // Header length one off either way.
        for delta in [-1i64, 1] {
            let mut b = bytes.to_vec();
            let len = (b.len() as i64 + delta) as u32;
            b[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&len.to_be_bytes());
            assert!(
                Message::parse(&b).is_err(),
                "{name} header length {delta:+}"
            );
        }
        // Every payload's length one off either way: never a panic; for the last payload
        // always an error (a trailing byte, or a length past the end).
        let m = Message::parse(bytes).unwrap();
        let mut at = HEADER_LEN;
        for (i, _) in m.payloads().iter().enumerate() {
            let len = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]);
            for delta in [-1i32, 1] {
                let mut b = bytes.to_vec();
                let bad = (i32::from(len) + delta) as u16;
                b[at + 2..at + 4].copy_from_slice(&bad.to_be_bytes());
                let result = Message::parse(&b);
                if i + 1 == m.payloads().len() {
                    assert!(result.is_err(), "{name} payload {i} length {delta:+}");
                }
            }
            at += usize::from(len);
        }
    }
}

fn message_with(payloads: Vec<PayloadBuilder>) -> Vec<u8> {
    let mut b = MessageBuilder::new(ExchangeType::IKE_SA_INIT, Flags::new(true, false), 1, 0, 0);
    b.payloads = payloads;
    b.to_bytes().unwrap()
}

/// A chain of `n` empty Vendor ID payloads written by hand (the builder refuses so many).
fn vendor_ids(n: usize) -> Vec<u8> {
    let mut b = message_with(vec![]);
    b[16] = PayloadType::VENDOR_ID.get();
    for i in 0..n {
        let next = if i + 1 == n {
            0
        } else {
            PayloadType::VENDOR_ID.get()
        };
        b.extend_from_slice(&[next, 0, 0, 4]);
    }
    fix_length(&mut b);
    b
}

#[test]
fn ten_thousand_payloads() {
    let bytes = vendor_ids(10_000);
    assert_eq!(bytes.len(), HEADER_LEN + 40_000);
    assert_eq!(
        Message::parse(&bytes).unwrap_err(),
        Error::TooMany {
            at: Structure::Chain,
            what: "payloads",
            limit: limits::MAX_PAYLOADS
        }
    );
    assert!(Message::parse(&vendor_ids(limits::MAX_PAYLOADS)).is_ok());
}

/// An SA payload with `n` minimal proposals, numbered 1..=n (mod 256).
fn sa_with_proposals(n: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..n {
        body.extend_from_slice(&[if i + 1 == n { 0 } else { 2 }, 0, 0, 16]);
        body.extend_from_slice(&[(i + 1) as u8, 1, 0, 1]);
        body.extend_from_slice(&[0, 0, 0, 8, 1, 0, 0, 20]);
    }
    let mut b = message_with(vec![]);
    b[16] = PayloadType::SA.get();
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
    b.extend_from_slice(&body);
    fix_length(&mut b);
    b
}

#[test]
fn huge_proposal_and_transform_counts() {
    assert!(Message::parse(&sa_with_proposals(limits::MAX_PROPOSALS)).is_ok());
    for n in [limits::MAX_PROPOSALS + 1, 255, 4000] {
        assert!(matches!(
            Message::parse(&sa_with_proposals(n)).unwrap_err(),
            Error::TooMany {
                what: "proposals",
                ..
            }
        ));
    }
    // A proposal announcing 255 transforms.
    let mut b = sa_with_proposals(1);
    b[HEADER_LEN + 4 + 7] = 255;
    assert!(matches!(
        Message::parse(&b).unwrap_err(),
        Error::TooMany {
            what: "transforms",
            ..
        }
    ));
    // An SA payload claiming 65535 bytes.
    let mut b = sa_with_proposals(1);
    b[HEADER_LEN + 2..HEADER_LEN + 4].copy_from_slice(&u16::MAX.to_be_bytes());
    assert!(matches!(
        Message::parse(&b).unwrap_err(),
        Error::BadLength { length: 65535, .. }
    ));
}

#[test]
fn duplicate_payloads_are_kept() {
    let init = Message::parse(ike_bytes(&vectors()[2])).unwrap();
    let mut payloads: Vec<_> = init.payloads().iter().map(Payload::to_builder).collect();
    let dup = payloads[..3].to_vec();
    payloads.extend(dup.clone());
    payloads.extend(dup);
    let bytes = message_with(payloads);
    let m = Message::parse(&bytes).unwrap();
    let kes = m
        .payloads()
        .iter()
        .filter(|p| p.payload_type() == PayloadType::KE)
        .count();
    assert_eq!(kes, 3);
}

#[test]
fn encrypted_fragment_bounds() {
    let fragment = |number: u16, total: u16| {
        let mut b = message_with(vec![]);
        b[16] = PayloadType::SKF.get();
        b.extend_from_slice(&[PayloadType::IDR.get(), 0, 0, 8 + 25]);
        b.extend_from_slice(&number.to_be_bytes());
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&[0; 25]);
        fix_length(&mut b);
        Message::parse(&b).map(|_| ())
    };
    assert!(fragment(1, 1).is_ok());
    assert!(fragment(1, limits::MAX_FRAGMENTS).is_ok());
    assert!(matches!(
        fragment(1, 0),
        Err(Error::InvalidValue {
            field: "total fragments",
            ..
        })
    ));
    assert!(matches!(
        fragment(0, 0),
        Err(Error::InvalidValue {
            field: "total fragments",
            ..
        })
    ));
    assert!(matches!(
        fragment(0, 2),
        Err(Error::InvalidValue {
            field: "fragment number",
            ..
        })
    ));
    assert!(matches!(
        fragment(3, 2),
        Err(Error::InvalidValue {
            field: "fragment number",
            ..
        })
    ));
    assert!(matches!(
        fragment(1, u16::MAX),
        Err(Error::TooMany {
            what: "fragments",
            ..
        })
    ));
    // Next Payload must be zero after the first fragment.
    assert!(matches!(
        fragment(2, 2),
        Err(Error::InvalidValue {
            field: "next payload",
            ..
        })
    ));
}

#[test]
fn unsupported_critical_payload_is_answered_with_its_type() {
    let bytes = message_with(vec![
        PayloadBuilder::Notify(NotifyBuilder::new(NotifyType::INITIAL_CONTACT)),
        PayloadBuilder::Unknown(UnknownBuilder {
            payload_type: PayloadType::new(150),
            critical: true,
            body: vec![1, 2, 3],
        }),
    ]);
    let err = Message::parse(&bytes).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedCriticalPayload {
            payload_type: PayloadType::new(150)
        }
    );
    let answer = MessageBuilder::new(ExchangeType::IKE_SA_INIT, Flags::new(false, true), 1, 0, 0)
        .with(PayloadBuilder::Notify(err.to_notify().unwrap()))
        .to_bytes()
        .unwrap();
    let parsed = Message::parse(&answer).unwrap();
    let n = parsed
        .notify(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)
        .unwrap();
    assert_eq!(n.unsupported_payload_type().unwrap(), PayloadType::new(150));
}

/// xorshift64*, so the mutations are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Whatever a mutated message parses to re-encodes into bytes that parse to the same.
#[test]
fn mutations_never_panic_and_stay_consistent() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for (name, bytes) in messages() {
        for _ in 0..400 {
            let mut b = bytes.to_vec();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] = match rng.below(4) {
                    0 => 0,
                    1 => 0xff,
                    2 => b[i] ^ (1 << rng.below(8)),
                    _ => rng.next() as u8,
                };
            }
            let Ok(m) = Message::parse(&b) else { continue };
            accepted += 1;
            let again = m
                .to_builder()
                .to_bytes()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let reparsed = Message::parse(&again).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(reparsed.to_builder(), m.to_builder(), "{name}");
        }
    }
    assert!(accepted > 0);
}

#[test]
fn degenerate_datagrams() {
    for len in [0, 1, 3, 4, 27, 28, 29, 64, 1500] {
        for fill in [0u8, 0xff, 0x20] {
            let b = vec![fill; len];
            assert!(Message::parse(&b).is_err(), "{len} x {fill:#x}");
            let _ = udp_encap::classify(&b);
            let _ = parse_inner_payloads(PayloadType::new(fill), &b);
        }
    }
}
