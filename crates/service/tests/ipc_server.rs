//! A real `corridord run` on a private socket, driven over IPC: the hello and who the
//! kernel says the caller is, profile requests, events, and hostile clients (garbage,
//! oversized frames, wrong version, no hello, a user outside the group) that are
//! turned away while the service carries on. Needs root (to act as another user).

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corridor_ipc::connection::Connection;
use corridor_ipc::{
    ClientHello, ClientMessage, ErrorCode, Event, LogLevel, Outcome, PROTOCOL_VERSION, Reply,
    Request, ServerMessage,
};
use tokio::io::AsyncWriteExt as _;
use tokio::net::UnixStream;

/// The service process, stopped (SIGTERM, by pid) when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn start() -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    // Others may traverse the directory: the socket's own mode is what keeps them out.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("run").join("corridord.sock");
    let child = Command::new(env!("CARGO_BIN_EXE_corridord"))
        .arg("run")
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--managed-dir")
        .arg(dir.path().join("managed"))
        .arg("--run-dir")
        .arg(dir.path().join("run").join("network"))
        .args(["--group", "-"])
        .stdin(Stdio::null())
        .spawn()
        .expect("start corridord");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "corridord did not create its socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Daemon {
        child,
        socket,
        _dir: dir,
    }
}

async fn connect(socket: &Path) -> Connection<UnixStream> {
    let mut conn = Connection::new(UnixStream::connect(socket).await.unwrap());
    conn.send(&ClientMessage::Hello(ClientHello {
        protocol: PROTOCOL_VERSION,
        client: "ipc_server test".into(),
    }))
    .await
    .unwrap();
    match conn.recv::<ServerMessage>().await.unwrap() {
        Some(ServerMessage::Hello(hello)) => {
            assert_eq!(hello.protocol, PROTOCOL_VERSION);
            assert_eq!(hello.caller.uid, 0);
            assert!(hello.caller.admin);
            assert_eq!(hello.caller.user.as_deref(), Some("root"));
        }
        other => panic!("no hello: {other:?}"),
    }
    conn
}

async fn ask(conn: &mut Connection<UnixStream>, id: u64, request: Request) -> Outcome {
    conn.send(&ClientMessage::Request { id, request })
        .await
        .unwrap();
    loop {
        match conn.recv::<ServerMessage>().await.unwrap() {
            Some(ServerMessage::Response { id: got, outcome }) => {
                assert_eq!(got, id);
                return *outcome;
            }
            Some(ServerMessage::Event { .. }) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/profiles/valid")
            .join(name),
    )
    .unwrap()
}

/// What a raw client gets back after sending `bytes`: the server's goodbye.
async fn goodbye_after(socket: &Path, bytes: &[u8]) -> corridor_ipc::ErrorReply {
    let mut stream = UnixStream::connect(socket).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut conn = Connection::new(stream);
    match conn.recv::<ServerMessage>().await.unwrap() {
        Some(ServerMessage::Goodbye { error }) => {
            // And the connection is closed after it.
            assert!(conn.recv::<ServerMessage>().await.unwrap().is_none());
            error
        }
        other => panic!("expected a goodbye, got {other:?}"),
    }
}

fn frame(json: &str) -> Vec<u8> {
    corridor_ipc::encode_frame(json.as_bytes()).unwrap()
}

#[tokio::test]
async fn profiles_over_ipc_and_events_to_subscribers() {
    let daemon = start();
    let mut watcher = connect(&daemon.socket).await;
    let outcome = ask(
        &mut watcher,
        1,
        Request::Subscribe {
            log_level: Some(LogLevel::Info),
        },
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Ok {
            reply: Reply::Subscription { active: true }
        }
    );

    let mut client = connect(&daemon.socket).await;
    let Outcome::Ok {
        reply: Reply::Imported { profile, report },
    } = ask(
        &mut client,
        1,
        Request::ImportProfile {
            file_name: "corridor-psk.json".into(),
            contents: corridor_model::Base64Bytes(sample("corridor-psk.json")),
            replace: false,
            dry_run: false,
        },
    )
    .await
    else {
        panic!("import failed")
    };
    // A Corridor profile maps one to one: nothing to report.
    assert!(report.is_empty(), "{report:?}");
    let Outcome::Ok {
        reply: Reply::Profiles { profiles },
    } = ask(&mut client, 2, Request::ListProfiles).await
    else {
        panic!("list failed")
    };
    assert_eq!(profiles, vec![profile.clone()]);
    let Outcome::Ok {
        reply:
            Reply::Profile {
                profile: full,
                managed,
                ..
            },
    } = ask(
        &mut client,
        3,
        Request::GetProfile {
            profile: profile.name.clone(),
        },
    )
    .await
    else {
        panic!("get failed")
    };
    assert!(!managed);
    assert!(
        full.auth.psk.is_none(),
        "the PSK must not leave the service"
    );

    // The subscriber hears about the import.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let message = tokio::time::timeout_at(deadline, watcher.recv::<ServerMessage>())
            .await
            .expect("no log event within 5 s")
            .unwrap();
        if let Some(ServerMessage::Event {
            event: Event::Log { line },
        }) = message
            && line.message.contains("imported a profile")
        {
            assert!(line.level >= LogLevel::Info);
            break;
        }
    }

    let Outcome::Error { error } = ask(
        &mut client,
        4,
        Request::RemoveProfile {
            profile: "no such profile".into(),
        },
    )
    .await
    else {
        panic!("removing nothing worked")
    };
    assert_eq!(error.code, ErrorCode::NotFound);
    let Outcome::Ok {
        reply: Reply::Removed { profile: removed },
    } = ask(
        &mut client,
        5,
        Request::RemoveProfile {
            profile: profile.id.to_string(),
        },
    )
    .await
    else {
        panic!("remove failed")
    };
    assert_eq!(removed.id, profile.id);
}

#[tokio::test]
async fn hostile_clients_are_turned_away_and_the_service_carries_on() {
    let daemon = start();
    let socket = daemon.socket.clone();

    let e = goodbye_after(&socket, b"\x00\x00\x00\x05hello").await;
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.contains("expected"), "{}", e.message);

    let e = goodbye_after(&socket, &u32::MAX.to_be_bytes()).await;
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.contains("exceeds"), "{}", e.message);

    let e = goodbye_after(
        &socket,
        &frame(r#"{"type":"hello","protocol":99,"client":"x"}"#),
    )
    .await;
    assert_eq!(e.code, ErrorCode::UnsupportedVersion);

    let e = goodbye_after(
        &socket,
        &frame(r#"{"type":"request","id":1,"request":{"op":"status"}}"#),
    )
    .await;
    assert!(
        e.message.contains("first message must be a hello"),
        "{}",
        e.message
    );

    let mut hello_then_junk = frame(r#"{"type":"hello","protocol":1,"client":"x"}"#);
    hello_then_junk.extend(frame(
        r#"{"type":"request","id":1,"request":{"op":"rm_rf"}}"#,
    ));
    let mut stream = UnixStream::connect(&socket).await.unwrap();
    stream.write_all(&hello_then_junk).await.unwrap();
    let mut conn = Connection::new(stream);
    assert!(matches!(
        conn.recv::<ServerMessage>().await.unwrap(),
        Some(ServerMessage::Hello(_))
    ));
    match conn.recv::<ServerMessage>().await.unwrap() {
        Some(ServerMessage::Goodbye { error }) => {
            assert!(
                error.message.contains("unknown variant `rm_rf`"),
                "{}",
                error.message
            );
        }
        other => panic!("{other:?}"),
    }

    // A client that stops mid-frame changes nothing.
    let mut stream = UnixStream::connect(&socket).await.unwrap();
    let mut partial = frame(r#"{"type":"hello","protocol":1,"client":"x"}"#);
    partial.extend(&frame(r#"{"type":"request","id":1,"request":{"op":"list_profiles"}}"#)[..10]);
    stream.write_all(&partial).await.unwrap();
    drop(stream);

    // After all that, a proper client is served.
    let mut client = connect(&socket).await;
    let outcome = ask(&mut client, 1, Request::Status).await;
    assert_eq!(
        outcome,
        Outcome::Ok {
            reply: Reply::Status {
                connections: vec![]
            }
        }
    );
}

/// A user outside the group cannot even open the socket (mode 0660, root's group).
#[tokio::test]
async fn a_user_outside_the_group_cannot_connect() {
    let daemon = start();
    let mode = std::fs::metadata(&daemon.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    let probe = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg("/bin/sh")
        .arg("-c")
        .arg("exec 3<>\"$0\" 2>&1 || exit 3")
        .arg(&daemon.socket)
        .output()
        .expect("run setpriv");
    // A shell cannot open a socket with `<>`; what matters is the refusal reason.
    let said = String::from_utf8_lossy(&probe.stdout).into_owned()
        + &String::from_utf8_lossy(&probe.stderr);
    assert!(!probe.status.success());
    assert!(said.contains("Permission denied"), "{said}");
}
