//! The IPC protocol as bytes: golden JSON for the main messages (what a client in
//! another language would write), strict decoding, and typed exchange over a stream.

#![allow(clippy::unwrap_used)]

use corridor_ipc::connection::{Connection, ConnectionError};
use corridor_ipc::{
    ClientHello, ClientMessage, ConnectSecrets, ConnectionState, ErrorCode, FrameError,
    MAX_FRAME_LEN, Outcome, Reply, Request, Secret, ServerMessage, decode, encode,
};
use serde_json::json;

fn roundtrip(message: &ClientMessage) -> serde_json::Value {
    let frame = encode(message).unwrap();
    let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
    assert_eq!(len, frame.len() - 4);
    let back: ClientMessage = decode(&frame[4..]).unwrap();
    assert_eq!(&back, message);
    serde_json::from_slice(&frame[4..]).unwrap()
}

#[test]
fn golden_client_messages() {
    assert_eq!(
        roundtrip(&ClientMessage::Hello(ClientHello {
            protocol: 1,
            client: "corridor 0.1.0".into()
        })),
        json!({"type": "hello", "protocol": 1, "client": "corridor 0.1.0"})
    );
    assert_eq!(
        roundtrip(&ClientMessage::Request {
            id: 7,
            request: Request::Connect {
                profile: "Office".into(),
                username: None,
                secrets: ConnectSecrets {
                    password: Some(Secret::new("s3cret")),
                    key_passphrase: None,
                },
            },
        }),
        json!({"type": "request", "id": 7, "request": {
            "op": "connect", "profile": "Office", "username": null,
            "secrets": {"password": "s3cret", "key_passphrase": null}}})
    );
    assert_eq!(
        roundtrip(&ClientMessage::Request {
            id: 8,
            request: Request::ImportProfile {
                file_name: "office.sswan".into(),
                contents: corridor_model::Base64Bytes(b"{}".to_vec()),
                replace: false,
                dry_run: false,
            },
        }),
        json!({"type": "request", "id": 8, "request": {
            "op": "import_profile", "file_name": "office.sswan", "contents": "e30=",
            "replace": false}})
    );
    assert_eq!(
        roundtrip(&ClientMessage::Request {
            id: 9,
            request: Request::Status
        }),
        json!({"type": "request", "id": 9, "request": {"op": "status"}})
    );
}

#[test]
fn golden_server_messages() {
    let reply = ServerMessage::Response {
        id: 9,
        outcome: Box::new(Outcome::Ok {
            reply: Reply::Subscription { active: true },
        }),
    };
    let text = serde_json::to_value(&reply).unwrap();
    assert_eq!(
        text,
        json!({"type": "response", "id": 9, "outcome": {"status": "ok",
            "reply": {"kind": "subscription", "active": true}}})
    );
    let state = ConnectionState::Reconnecting {
        attempt: 2,
        retry_in_secs: 4,
    };
    assert_eq!(
        serde_json::to_value(state).unwrap(),
        json!({"state": "reconnecting", "attempt": 2, "retry_in_secs": 4})
    );
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let request = Request::Connect {
        profile: "Office".into(),
        username: Some("alice".into()),
        secrets: ConnectSecrets {
            password: Some(Secret::new("s3cret")),
            key_passphrase: Some(Secret::new("p12pass")),
        },
    };
    let debug = format!("{request:?}");
    assert!(
        !debug.contains("s3cret") && !debug.contains("p12pass"),
        "{debug}"
    );
}

#[test]
fn strict_decoding_names_the_problem() {
    let cases: &[(&str, &str)] = &[
        (r#"{"type":"hello","protocol":1}"#, "missing field `client`"),
        (
            r#"{"type":"hello","protocol":1,"client":"x","admin":true}"#,
            "unknown field `admin`",
        ),
        (r#"{"type":"shout"}"#, "unknown variant `shout`"),
        (
            r#"{"type":"request","id":1,"request":{"op":"format_disk"}}"#,
            "unknown variant `format_disk`",
        ),
        (
            r#"{"type":"request","id":-1,"request":{"op":"status"}}"#,
            "invalid value",
        ),
        (
            r#"{"type":"request","id":1,"request":{"op":"import_profile","file_name":"a","contents":"***","replace":false}}"#,
            "invalid base64",
        ),
        (r#"{"type":"hello","#, "EOF while parsing"),
        ("\u{0}\u{1}", "expected value"),
    ];
    for (input, expected) in cases {
        let err = decode::<ClientMessage>(input.as_bytes()).unwrap_err();
        assert!(
            err.reason.contains(expected),
            "{input}: got `{err}`, expected `{expected}`"
        );
    }
    assert_eq!(
        ErrorCode::SecretRequired,
        decode(br#""secret_required""#).unwrap()
    );
}

#[tokio::test]
async fn messages_cross_a_stream_in_pieces() {
    let (client, server) = tokio::io::duplex(7); // tiny buffer: every frame is split
    let mut client = Connection::new(client);
    let mut server = Connection::new(server);
    let sent = ClientMessage::Request {
        id: 1,
        request: Request::Subscribe {
            log_level: Some(corridor_ipc::LogLevel::Info),
        },
    };
    let expected = sent.clone();
    let writer = tokio::spawn(async move {
        client.send(&sent).await.unwrap();
        client
            .send(&ClientMessage::Request {
                id: 2,
                request: Request::Status,
            })
            .await
            .unwrap();
    });
    let first: ClientMessage = server.recv().await.unwrap().unwrap();
    assert_eq!(first, expected);
    let second: ClientMessage = server.recv().await.unwrap().unwrap();
    assert!(matches!(second, ClientMessage::Request { id: 2, .. }));
    writer.await.unwrap();
    // The client's end is dropped: a clean end between messages.
    assert!(server.recv::<ClientMessage>().await.unwrap().is_none());
}

#[tokio::test]
async fn hostile_streams_end_with_an_error() {
    use tokio::io::AsyncWriteExt as _;
    // An announced length beyond the limit.
    let (mut raw, server) = tokio::io::duplex(64);
    let mut server = Connection::new(server);
    raw.write_all(&((MAX_FRAME_LEN as u32) + 1).to_be_bytes())
        .await
        .unwrap();
    match server.recv::<ClientMessage>().await {
        Err(ConnectionError::Frame(FrameError::TooLarge { .. })) => {}
        other => panic!("{other:?}"),
    }
    // A stream that stops inside a frame.
    let (mut raw, server) = tokio::io::duplex(64);
    let mut server = Connection::new(server);
    raw.write_all(&[0, 0, 0, 20, b'{']).await.unwrap();
    drop(raw);
    match server.recv::<ClientMessage>().await {
        Err(ConnectionError::Frame(FrameError::Truncated { have: 5, want: 24 })) => {}
        other => panic!("{other:?}"),
    }
    // A well-framed payload that is not a message.
    let (mut raw, server) = tokio::io::duplex(64);
    let mut server = Connection::new(server);
    raw.write_all(&[0, 0, 0, 2, b'[', b']']).await.unwrap();
    match server.recv::<ClientMessage>().await {
        Err(ConnectionError::Decode(e)) => {
            assert!(e.reason.contains("missing field `type`"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}
