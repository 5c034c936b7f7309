//! Feeds arbitrary EAP conversations to the EAP peer.
//!
//! Input: one selector octet (even: EAP-MSCHAPv2 credentials, odd: EAP-TLS), then EAP
//! messages, each prefixed by its length as two big-endian octets. Checks that the peer
//! never panics, that every Response it produces is a well-formed EAP Response echoing the
//! Request's Identifier, and that success always comes with a 64-octet MSK. Seeds in
//! `seeds/eap_peer` are an MSCHAPv2 conversation with the RFC 2759 §9.2 values and the
//! opening of an EAP-TLS one.

#![no_main]

use std::sync::Arc;

use corridor_eap::{Credentials, EapConfig, EapPeer, EapState, Packet, Random};
use libfuzzer_sys::fuzz_target;
use rustls::pki_types::ServerName;

/// Hands out the RFC 2759 §9.2 peer challenge, so seeds can carry a valid proof.
struct FixedRandom;
impl Random for FixedRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        const PEER_CHALLENGE: [u8; 16] = [
            0x21, 0x40, 0x23, 0x24, 0x25, 0x5E, 0x26, 0x2A, 0x28, 0x29, 0x5F, 0x2B, 0x3A, 0x33,
            0x7C, 0x7E,
        ];
        for (i, b) in dest.iter_mut().enumerate() {
            *b = PEER_CHALLENGE[i % 16];
        }
    }
}

fn credentials(tls: bool) -> Credentials {
    if tls {
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        Credentials::Tls {
            config: Arc::new(config),
            server_name: ServerName::try_from("vpn.example.org").expect("a valid name"),
        }
    } else {
        Credentials::MsChapV2 { username: "User".into(), password: "clientPass".into() }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut rest)) = data.split_first() else { return };
    let mut config = EapConfig::new("user@example.org", credentials(selector & 1 == 1));
    config.max_tls_fragment = 64 + usize::from(selector >> 1) * 8;
    let mut peer = EapPeer::new(config, Box::new(FixedRandom));
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (message, tail) = tail.split_at(len);
        rest = tail;
        let Ok(Some(response)) = peer.handle(message) else { continue };
        let Ok(Packet::Request { id, .. }) = Packet::parse(message) else {
            panic!("a response to something that is not a Request");
        };
        match Packet::parse(&response) {
            Ok(Packet::Response { id: rid, .. }) => assert_eq!(rid, id),
            other => panic!("our response does not parse as a Response: {other:?}"),
        }
    }
    if let EapState::Succeeded { msk } = peer.state() {
        assert_eq!(msk.as_bytes().len(), 64);
        assert!(peer.is_mutual());
    }
});
