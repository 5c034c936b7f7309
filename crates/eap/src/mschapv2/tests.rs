use super::*;

/// RFC 2759 §9.2 values.
const AUTH_CHALLENGE: [u8; 16] = [
    0x5B, 0x5D, 0x7C, 0x7D, 0x7B, 0x3F, 0x2F, 0x3E, 0x3C, 0x2C, 0x60, 0x21, 0x32, 0x26, 0x26, 0x28,
];
const PEER_CHALLENGE: [u8; 16] = [
    0x21, 0x40, 0x23, 0x24, 0x25, 0x5E, 0x26, 0x2A, 0x28, 0x29, 0x5F, 0x2B, 0x3A, 0x33, 0x7C, 0x7E,
];
const NT_RESPONSE: [u8; 24] = [
    0x82, 0x30, 0x9E, 0xCD, 0x8D, 0x70, 0x8B, 0x5E, 0xA0, 0x8F, 0xAA, 0x39, 0x81, 0xCD, 0x83, 0x54,
    0x42, 0x33, 0x11, 0x4A, 0x3D, 0x85, 0xD6, 0xDF,
];
const GOOD_PROOF: &str = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

/// Hands out the RFC 2759 §9.2 peer challenge.
struct FixedRandom;
impl Random for FixedRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        dest.copy_from_slice(&PEER_CHALLENGE[..dest.len()]);
    }
}

fn ms_packet(opcode: u8, ms_id: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + body.len()).unwrap();
    let mut out = vec![opcode, ms_id];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn challenge(ms_id: u8) -> Vec<u8> {
    let mut body = vec![16];
    body.extend_from_slice(&AUTH_CHALLENGE);
    body.extend_from_slice(b"gateway");
    ms_packet(OP_CHALLENGE, ms_id, &body)
}

fn peer() -> MsChapV2 {
    MsChapV2::new("User".to_owned(), Password::new("clientPass"))
}

fn reply(step: Step) -> Vec<u8> {
    match step {
        Step::Reply(r) => r,
        Step::ReplyThenFail(_, e) => panic!("unexpected failure {e}"),
    }
}

#[test]
fn response_carries_the_rfc2759_nt_response() {
    let mut p = peer();
    let r = reply(p.handle(&challenge(0x42), &mut FixedRandom).unwrap());
    assert_eq!(r[0], OP_RESPONSE);
    assert_eq!(r[1], 0x42, "MS-CHAPv2-ID copied from the Challenge");
    assert_eq!(usize::from(u16::from_be_bytes([r[2], r[3]])), r.len());
    assert_eq!(r[4], 49);
    assert_eq!(r[5..21], PEER_CHALLENGE);
    assert_eq!(r[21..29], [0; 8]);
    assert_eq!(r[29..53], NT_RESPONSE);
    assert_eq!(r[53], 0);
    assert_eq!(&r[54..], b"User");
    assert!(!p.is_done());
    assert!(p.msk().is_none());
}

#[test]
fn verified_proof_completes_the_method() {
    let mut p = peer();
    p.handle(&challenge(1), &mut FixedRandom).unwrap();
    let msg = format!("{GOOD_PROOF} M=Welcome2strongSwan");
    let r = reply(
        p.handle(&ms_packet(OP_SUCCESS, 1, msg.as_bytes()), &mut FixedRandom)
            .unwrap(),
    );
    assert_eq!(r, [OP_SUCCESS]);
    assert!(p.is_done());
    assert_eq!(p.msk().unwrap().as_bytes().len(), 64);
}

#[test]
fn proof_without_message_and_in_lower_case_is_accepted() {
    let mut p = peer();
    p.handle(&challenge(1), &mut FixedRandom).unwrap();
    let msg = format!("S={}", GOOD_PROOF[2..].to_ascii_lowercase());
    p.handle(&ms_packet(OP_SUCCESS, 1, msg.as_bytes()), &mut FixedRandom)
        .unwrap();
    assert!(p.is_done());
}

#[test]
fn wrong_proof_is_rejected() {
    let mut p = peer();
    p.handle(&challenge(1), &mut FixedRandom).unwrap();
    let msg = b"S=407A5589115FD0D6209F510FE9C04566932CDA57 M=hello";
    let err = p
        .handle(&ms_packet(OP_SUCCESS, 1, msg), &mut FixedRandom)
        .unwrap_err();
    assert!(matches!(err, EapError::MsChapV2BadProof), "{err}");
    assert!(!p.is_done());
    assert!(p.msk().is_none());
}

#[test]
fn garbled_success_messages_are_malformed() {
    for msg in [
        &b""[..],
        b"S=407A",
        b"X=407A5589115FD0D6209F510FE9C04566932CDA56",
        b"S=407A5589115FD0D6209F510FE9C04566932CDAZZ",
        b"S=407A5589115FD0D6209F510FE9C04566932CDA56XM=",
    ] {
        let mut p = peer();
        p.handle(&challenge(1), &mut FixedRandom).unwrap();
        let err = p
            .handle(&ms_packet(OP_SUCCESS, 1, msg), &mut FixedRandom)
            .unwrap_err();
        assert!(matches!(err, EapError::Malformed(_)), "{msg:?}: {err}");
    }
}

#[test]
fn failure_request_is_answered_and_explained() {
    let mut p = peer();
    p.handle(&challenge(1), &mut FixedRandom).unwrap();
    let msg = b"E=691 R=0 C=00112233445566778899AABBCCDDEEFF V=3 M=Authentication failure";
    match p
        .handle(&ms_packet(OP_FAILURE, 1, msg), &mut FixedRandom)
        .unwrap()
    {
        Step::ReplyThenFail(r, EapError::MsChapV2(f)) => {
            assert_eq!(r, [OP_FAILURE]);
            assert_eq!(f.code, 691);
            assert!(!f.retry);
            assert_eq!(f.message, "Authentication failure");
            assert_eq!(
                f.to_string(),
                "the gateway rejected the user name or password (MSCHAPv2 error 691)"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!p.is_done());
}

#[test]
fn failure_codes_parse() {
    let f = parse_failure(b"E=648 R=1 V=3");
    assert_eq!((f.code, f.retry, f.message.as_str()), (648, true, ""));
    assert_eq!(parse_failure(b"garbage").code, 0);
    assert_eq!(parse_failure(b"E=64x").code, 0);
    assert_eq!(parse_failure(b"E=647 M=E=1 inside").message, "E=1 inside");
}

#[test]
fn out_of_order_and_hostile_requests() {
    // Success before any Challenge.
    let mut p = peer();
    let err = p.handle(
        &ms_packet(OP_SUCCESS, 1, GOOD_PROOF.as_bytes()),
        &mut FixedRandom,
    );
    assert!(matches!(err, Err(EapError::PeerMisbehaved(_))));
    // A second Challenge.
    let mut p = peer();
    p.handle(&challenge(1), &mut FixedRandom).unwrap();
    assert!(matches!(
        p.handle(&challenge(2), &mut FixedRandom),
        Err(EapError::PeerMisbehaved(_))
    ));
    // MS-Length disagreeing with the packet, truncated header, bad Value-Size.
    let mut bad_len = challenge(1);
    bad_len[3] += 1;
    let mut bad_size = challenge(1);
    bad_size[4] = 8;
    let short = ms_packet(OP_CHALLENGE, 1, &[16, 1, 2, 3]);
    for data in [bad_len, bad_size, short, vec![1, 2, 0]] {
        let err = peer().handle(&data, &mut FixedRandom).unwrap_err();
        assert!(matches!(err, EapError::Malformed(_)), "{data:?}: {err}");
    }
    // Password change and unknown OpCodes.
    assert!(
        peer()
            .handle(&ms_packet(OP_CHANGE_PASSWORD, 1, &[]), &mut FixedRandom)
            .is_err()
    );
    assert!(
        peer()
            .handle(&ms_packet(99, 1, &[]), &mut FixedRandom)
            .is_err()
    );
}
