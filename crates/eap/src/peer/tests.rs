use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

const AUTH_CHALLENGE: [u8; 16] = [
    0x5B, 0x5D, 0x7C, 0x7D, 0x7B, 0x3F, 0x2F, 0x3E, 0x3C, 0x2C, 0x60, 0x21, 0x32, 0x26, 0x26, 0x28,
];
const PEER_CHALLENGE: [u8; 16] = [
    0x21, 0x40, 0x23, 0x24, 0x25, 0x5E, 0x26, 0x2A, 0x28, 0x29, 0x5F, 0x2B, 0x3A, 0x33, 0x7C, 0x7E,
];
const GOOD_PROOF: &[u8] = b"S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome";

/// Hands out the RFC 2759 §9.2 peer challenge and counts the calls.
struct FixedRandom(Arc<AtomicUsize>);
impl Random for FixedRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        self.0.fetch_add(1, Ordering::SeqCst);
        dest.copy_from_slice(&PEER_CHALLENGE[..dest.len()]);
    }
}

fn peer() -> (EapPeer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let config = EapConfig::new(
        "user@example.org",
        Credentials::MsChapV2 {
            username: "User".into(),
            password: "clientPass".into(),
        },
    );
    (
        EapPeer::new(config, Box::new(FixedRandom(calls.clone()))),
        calls,
    )
}

fn request(id: u8, ty: EapType, data: &[u8]) -> Vec<u8> {
    Packet::Request { id, ty, data }.encode().unwrap()
}

fn ms(opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![opcode, 7];
    out.extend_from_slice(&u16::try_from(4 + body.len()).unwrap().to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn challenge(id: u8) -> Vec<u8> {
    let mut body = vec![16];
    body.extend_from_slice(&AUTH_CHALLENGE);
    body.extend_from_slice(b"moon");
    request(id, EapType::MSCHAPV2, &ms(1, &body))
}

const SUCCESS: [u8; 4] = [3, 9, 0, 4];
const FAILURE: [u8; 4] = [4, 9, 0, 4];

#[test]
fn full_mschapv2_conversation() {
    let (mut p, _) = peer();
    let r = p
        .handle(&request(1, EapType::IDENTITY, &[]))
        .unwrap()
        .unwrap();
    assert_eq!(
        Packet::parse(&r).unwrap(),
        Packet::Response {
            id: 1,
            ty: EapType::IDENTITY,
            data: b"user@example.org"
        }
    );
    let r = p.handle(&challenge(2)).unwrap().unwrap();
    let Packet::Response {
        id: 2,
        ty: EapType::MSCHAPV2,
        data,
    } = Packet::parse(&r).unwrap()
    else {
        panic!("{r:?}")
    };
    assert_eq!(data[0], 2);
    let r = p
        .handle(&request(3, EapType::MSCHAPV2, &ms(3, GOOD_PROOF)))
        .unwrap()
        .unwrap();
    assert_eq!(r, [2, 3, 0, 6, 26, 3]);
    assert!(matches!(p.state(), EapState::InProgress));
    assert!(p.msk().is_none());
    assert_eq!(p.handle(&SUCCESS).unwrap(), None);
    assert!(matches!(p.state(), EapState::Succeeded { .. }));
    assert_eq!(p.msk().unwrap().as_bytes().len(), 64);
    assert!(p.is_mutual());
    assert_eq!(p.method(), EapType::MSCHAPV2);
    // A repeated Success is harmless; anything else is not.
    assert_eq!(p.handle(&SUCCESS).unwrap(), None);
    assert!(matches!(p.handle(&challenge(9)), Err(EapError::Finished)));
}

#[test]
fn success_before_the_gateway_proved_itself_is_rejected() {
    let (mut p, _) = peer();
    p.handle(&challenge(2)).unwrap();
    let err = p.handle(&SUCCESS).unwrap_err();
    assert!(matches!(err, EapError::PeerMisbehaved(_)), "{err}");
    assert!(
        err.to_string()
            .contains("before the gateway proved it knows the password"),
        "{err}"
    );
    assert!(matches!(p.state(), EapState::Failed(_)));
    assert!(p.msk().is_none());
    assert!(!p.is_mutual());

    let (mut p, _) = peer();
    p.handle(&request(1, EapType::IDENTITY, &[])).unwrap();
    let err = p.handle(&SUCCESS).unwrap_err();
    assert!(
        err.to_string()
            .contains("before any authentication method ran"),
        "{err}"
    );
}

#[test]
fn wrong_proof_fails_and_later_success_is_refused() {
    let (mut p, _) = peer();
    p.handle(&challenge(2)).unwrap();
    let bad = b"S=0000000000000000000000000000000000000000 M=hi";
    let err = p
        .handle(&request(3, EapType::MSCHAPV2, &ms(3, bad)))
        .unwrap_err();
    assert!(matches!(err, EapError::MsChapV2BadProof));
    assert!(matches!(
        p.handle(&SUCCESS),
        Err(EapError::MsChapV2BadProof)
    ));
    assert!(p.msk().is_none());
}

#[test]
fn retransmitted_request_gets_the_same_response() {
    let (mut p, calls) = peer();
    let first = p.handle(&challenge(2)).unwrap().unwrap();
    let again = p.handle(&challenge(2)).unwrap().unwrap();
    assert_eq!(first, again);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the Request was not processed twice"
    );
}

#[test]
fn notification_is_acknowledged() {
    let (mut p, _) = peer();
    let r = p
        .handle(&request(5, EapType::NOTIFICATION, b"Password expires soon"))
        .unwrap();
    assert_eq!(r.unwrap(), [2, 5, 0, 5, 2]);
    assert_eq!(p.notification(), Some("Password expires soon"));
    assert!(matches!(p.state(), EapState::InProgress));
}

#[test]
fn other_methods_get_a_nak_listing_ours() {
    let (mut p, _) = peer();
    let r = p
        .handle(&request(4, EapType::MD5_CHALLENGE, b"\x10abcdefghijklmnop"))
        .unwrap();
    assert_eq!(r.unwrap(), [2, 4, 0, 6, 3, 26]);
    // Expanded Types are declined the same way.
    let expanded = request(5, EapType::EXPANDED, &[0, 0, 0x28, 0, 0, 0, 1, 0]);
    assert_eq!(p.handle(&expanded).unwrap().unwrap(), [2, 5, 0, 6, 3, 26]);
    let err = p.handle(&FAILURE).unwrap_err();
    assert!(matches!(
        err,
        EapError::Rejected {
            offered_instead: Some(EapType::EXPANDED)
        }
    ));
    assert!(
        err.to_string().contains("different authentication methods"),
        "{err}"
    );
}

#[test]
fn switching_methods_midway_is_refused() {
    let (mut p, _) = peer();
    p.handle(&challenge(2)).unwrap();
    let err = p
        .handle(&request(3, EapType::GTC, b"Password: "))
        .unwrap_err();
    assert!(matches!(err, EapError::PeerMisbehaved(_)), "{err}");
    let (mut p, _) = peer();
    p.handle(&challenge(2)).unwrap();
    assert!(p.handle(&request(3, EapType::IDENTITY, &[])).is_err());
}

#[test]
fn mschapv2_failure_is_acknowledged_then_reported() {
    let (mut p, _) = peer();
    p.handle(&challenge(2)).unwrap();
    let msg = b"E=691 R=0 C=00000000000000000000000000000000 V=3 M=FAILED";
    let r = p
        .handle(&request(3, EapType::MSCHAPV2, &ms(4, msg)))
        .unwrap();
    assert_eq!(r.unwrap(), [2, 3, 0, 6, 26, 4]);
    let EapState::Failed(EapError::MsChapV2(f)) = p.state() else {
        panic!("{:?}", p.state())
    };
    assert_eq!(f.code, 691);
    let err = p.handle(&FAILURE).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the gateway rejected the user name or password (MSCHAPv2 error 691)"
    );
}

#[test]
fn plain_failure_is_a_rejection() {
    let (mut p, _) = peer();
    p.handle(&request(1, EapType::IDENTITY, &[])).unwrap();
    let err = p.handle(&FAILURE).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the gateway rejected the authentication (EAP-Failure)"
    );
}

#[test]
fn malformed_messages_are_errors_without_state_change() {
    let (mut p, _) = peer();
    for bad in [
        &[][..],
        &[1, 1, 0, 9, 1][..],
        &[3, 1, 0, 5, 0][..],
        &[1, 1, 0, 4][..],
    ] {
        assert!(
            matches!(p.handle(bad), Err(EapError::Malformed(_))),
            "{bad:?}"
        );
        assert!(matches!(p.state(), EapState::InProgress));
    }
    // A gateway sending Responses or Naks broke the protocol.
    let (mut p, _) = peer();
    assert!(matches!(
        p.handle(&[2, 1, 0, 5, 1]),
        Err(EapError::PeerMisbehaved(_))
    ));
    let (mut p, _) = peer();
    assert!(matches!(
        p.handle(&request(1, EapType::NAK, &[26])),
        Err(EapError::PeerMisbehaved(_))
    ));
}

#[test]
fn debug_output_hides_the_password() {
    let (p, _) = peer();
    let config = EapConfig::new(
        "id",
        Credentials::MsChapV2 {
            username: "User".into(),
            password: "clientPass".into(),
        },
    );
    for shown in [format!("{p:?}"), format!("{config:?}")] {
        assert!(!shown.contains("clientPass"), "{shown}");
    }
}
