//! Feeds arbitrary datagrams to the IKEv2 codec.
//!
//! Checks that parsing never panics, and that whatever parses re-encodes into bytes that
//! parse to the same message. The input is tried as a port-500 datagram, as a port-4500
//! datagram, and (first octet = first payload type) as the plaintext of an Encrypted
//! payload. Seeds in `seeds/wire_message` are the strongSwan captures of
//! `crates/wire/tests/data/strongswan`.

#![no_main]

use corridor_wire::udp_encap::{self, Encapsulated};
use corridor_wire::{Message, PayloadType, encode_inner_payloads, parse_inner_payloads};
use libfuzzer_sys::fuzz_target;

fn message(bytes: &[u8]) {
    let Ok(m) = Message::parse(bytes) else { return };
    let builder = m.to_builder();
    let again = builder.to_bytes().expect("a parsed message re-encodes");
    let reparsed = Message::parse(&again).expect("re-encoded bytes parse");
    assert_eq!(reparsed.to_builder(), builder);
}

fn inner(data: &[u8]) {
    let Some((&first, plaintext)) = data.split_first() else {
        return;
    };
    let Ok(payloads) = parse_inner_payloads(PayloadType::new(first), plaintext) else {
        return;
    };
    let builders: Vec<_> = payloads.iter().map(|p| p.to_builder()).collect();
    let mut again = Vec::new();
    let first = encode_inner_payloads(&builders, &mut again).expect("parsed payloads re-encode");
    let reparsed = parse_inner_payloads(first, &again).expect("re-encoded payloads parse");
    assert_eq!(reparsed.len(), payloads.len());
}

fuzz_target!(|data: &[u8]| {
    message(data);
    if let Ok(Encapsulated::Ike(ike)) = udp_encap::classify(data) {
        message(ike);
    }
    inner(data);
});
