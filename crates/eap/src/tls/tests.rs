//! Framing tests against hand-made gateway messages; the full handshake against a real
//! TLS server is in `tests/eap_tls.rs`.

use super::*;

fn tls(max_fragment: usize) -> Tls {
    let config = ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = ServerName::try_from("vpn.example.org").unwrap();
    Tls::new(Arc::new(config), name, max_fragment)
}

fn started(max_fragment: usize) -> (Tls, Vec<u8>) {
    let mut t = tls(max_fragment);
    let first = t.handle(&[FLAG_START]).unwrap();
    (t, first)
}

fn assert_malformed(result: Result<Vec<u8>, EapError>) {
    match result {
        Err(EapError::Malformed(_) | EapError::TlsMessageTooLong { .. }) => {}
        other => panic!("expected a malformed-message error, got {other:?}"),
    }
}

#[test]
fn start_yields_a_client_hello() {
    let (t, first) = started(DEFAULT_MAX_FRAGMENT);
    // Unfragmented: no flags, then a TLS handshake record (type 22).
    assert_eq!(first[0], 0);
    assert_eq!(first[1], 22);
    assert!(!t.is_done());
    assert!(t.msk().is_none());
}

#[test]
fn our_flight_is_fragmented_and_waits_for_acks() {
    let (mut t, first) = started(100);
    assert_eq!(first[0], FLAG_LENGTH | FLAG_MORE);
    let total = usize::try_from(u32::from_be_bytes(first[1..5].try_into().unwrap())).unwrap();
    assert!(total > 100, "a ClientHello is longer than 100 octets");
    assert_eq!(first.len(), 5 + 100);
    let mut collected = first[5..].to_vec();
    loop {
        let next = t.handle(&[0]).unwrap();
        collected.extend_from_slice(&next[1..]);
        assert!(next.len() <= 101);
        if next[0] == 0 {
            break;
        }
        assert_eq!(next[0], FLAG_MORE, "only the first fragment carries L");
    }
    assert_eq!(collected.len(), total);
    assert_eq!(collected[0], 22);
}

#[test]
fn data_instead_of_an_ack_is_refused() {
    let (mut t, _) = started(100);
    let err = t.handle(&[0, 22, 3, 3, 0, 1, 0]).unwrap_err();
    assert!(matches!(err, EapError::PeerMisbehaved(_)), "{err}");
}

#[test]
fn requests_before_start_and_repeated_starts_are_refused() {
    assert!(matches!(
        tls(100).handle(&[0, 22]),
        Err(EapError::PeerMisbehaved(_))
    ));
    assert_malformed(tls(100).handle(&[FLAG_START, 1]));
    assert_malformed(tls(100).handle(&[]));
    let (mut t, _) = started(DEFAULT_MAX_FRAGMENT);
    assert!(matches!(
        t.handle(&[FLAG_START]),
        Err(EapError::PeerMisbehaved(_))
    ));
}

#[test]
fn huge_announced_length_is_refused() {
    let (mut t, _) = started(DEFAULT_MAX_FRAGMENT);
    let mut msg = vec![FLAG_LENGTH | FLAG_MORE];
    msg.extend_from_slice(&0x0100_0000u32.to_be_bytes());
    msg.extend_from_slice(&[22; 10]);
    let err = t.handle(&msg).unwrap_err();
    assert!(
        matches!(
            err,
            EapError::TlsMessageTooLong {
                declared: 0x0100_0000,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("malformed EAP message"),
        "{err}"
    );
}

#[test]
fn first_fragment_without_length_is_refused() {
    let (mut t, _) = started(DEFAULT_MAX_FRAGMENT);
    assert_malformed(t.handle(&[FLAG_MORE, 22, 3, 3]));
}

#[test]
fn truncated_length_field_is_refused() {
    let (mut t, _) = started(DEFAULT_MAX_FRAGMENT);
    assert_malformed(t.handle(&[FLAG_LENGTH, 0, 0]));
}

#[test]
fn fragments_must_add_up_to_the_announced_length() {
    // More than announced.
    let (mut t, _) = started(DEFAULT_MAX_FRAGMENT);
    let mut first = vec![FLAG_LENGTH | FLAG_MORE, 0, 0, 0, 6];
    first.extend_from_slice(&[22, 3, 3, 0]);
    assert_eq!(t.handle(&first).unwrap(), [0], "fragment ACK");
    assert_malformed(t.handle(&[FLAG_MORE, 1, 2, 3]));

    // Fewer than announced when the last fragment arrives.
    let (mut t, _) = started(DEFAULT_MAX_FRAGMENT);
    assert_eq!(t.handle(&first).unwrap(), [0]);
    assert_malformed(t.handle(&[0, 1]));

    // A later fragment announcing a different length.
    let (mut t, _) = started(DEFAULT_MAX_FRAGMENT);
    t.handle(&first).unwrap();
    assert_malformed(t.handle(&[FLAG_LENGTH, 0, 0, 0, 7, 1, 2]));
}

#[test]
fn empty_request_out_of_turn_is_refused() {
    let (mut t, first) = started(DEFAULT_MAX_FRAGMENT);
    assert_eq!(first[0], 0, "the ClientHello went out whole");
    assert!(matches!(t.handle(&[0]), Err(EapError::PeerMisbehaved(_))));
}

#[test]
fn garbage_instead_of_tls_fails_the_handshake() {
    let (mut t, _) = started(DEFAULT_MAX_FRAGMENT);
    let err = t
        .handle(&[0, 0x47, 0x45, 0x54, 0x20, 0x2F, 0x20])
        .unwrap_err();
    assert!(
        matches!(err, EapError::Tls(_) | EapError::Malformed(_)),
        "{err}"
    );
    assert!(!t.is_done());
    assert!(matches!(t.handle(&[0, 22]), Err(EapError::Finished)));
}

#[test]
fn not_done_reasons_read_plainly() {
    assert_eq!(tls(10).not_done_reason(), "before EAP-TLS started");
    let (t, _) = started(DEFAULT_MAX_FRAGMENT);
    assert_eq!(t.not_done_reason(), "before the TLS handshake finished");
}
