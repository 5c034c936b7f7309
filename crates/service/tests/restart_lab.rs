//! `corridord` killed in the middle of a connection: the host keeps what the tunnel had
//! changed (DNS, pinned routes) until the service starts again, and the next start puts
//! everything back before it answers anyone. The real binary runs in the lab's client
//! namespace against the strongSwan gateway. Needs root; fails (never skips) when the
//! lab cannot start.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use corridor_ipc::connection::Connection;
use corridor_ipc::{
    ClientHello, ClientMessage, ConnectSecrets, ConnectionState, Outcome, PROTOCOL_VERSION, Reply,
    Request, ServerMessage,
};
use corridor_model::Base64Bytes;
use lab::{Host, Lab, LabConfig, Scenario};
use tokio::net::UnixStream;

/// `corridord run` in the client namespace, with everything under `dir`.
fn start(lab: &Lab, dir: &Path) -> Child {
    let socket = dir.join("corridord.sock");
    let _ = std::fs::remove_file(&socket);
    let child = lab
        .command(Host::Client, env!("CARGO_BIN_EXE_corridord"))
        .arg("run")
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--managed-dir")
        .arg(dir.join("managed"))
        .arg("--run-dir")
        .arg(dir.join("run"))
        .args(["--group", "-"])
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(dir.join("corridord.log")).unwrap())
        .spawn()
        .expect("start corridord");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "corridord did not open its socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

async fn client(socket: &Path) -> Connection<UnixStream> {
    let mut conn = Connection::new(UnixStream::connect(socket).await.unwrap());
    conn.send(&ClientMessage::Hello(ClientHello {
        protocol: PROTOCOL_VERSION,
        client: "restart_lab test".into(),
    }))
    .await
    .unwrap();
    let hello: ServerMessage = conn.recv().await.unwrap().unwrap();
    assert!(matches!(hello, ServerMessage::Hello(_)), "{hello:?}");
    conn
}

async fn ask(conn: &mut Connection<UnixStream>, request: Request) -> Reply {
    conn.send(&ClientMessage::Request { id: 1, request })
        .await
        .unwrap();
    loop {
        match conn.recv::<ServerMessage>().await.unwrap().unwrap() {
            ServerMessage::Response { outcome, .. } => match *outcome {
                Outcome::Ok { reply } => return reply,
                Outcome::Error { error } => panic!("refused: {error:?}"),
            },
            ServerMessage::Event { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn kill(child: &mut Child, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[tokio::test]
async fn a_service_killed_mid_connection_restores_the_network_at_its_next_start() {
    let lab = match Lab::start(LabConfig::new(Scenario::Psk)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let before = lab.network_state(Host::Client);
    let dir = tempfile::tempdir().unwrap();
    let socket: PathBuf = dir.path().join("corridord.sock");
    let mut daemon = start(&lab, dir.path());

    let mut conn = client(&socket).await;
    let profile = std::fs::read(lab.write_corridor_profile().unwrap()).unwrap();
    let Reply::Imported { profile, .. } = ask(
        &mut conn,
        Request::ImportProfile {
            file_name: "lab.json".into(),
            contents: Base64Bytes(profile),
            replace: false,
            dry_run: false,
        },
    )
    .await
    else {
        panic!("not imported")
    };
    ask(
        &mut conn,
        Request::Connect {
            profile: profile.id.to_string(),
            username: None,
            secrets: ConnectSecrets::default(),
        },
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let Reply::Status { connections } = ask(&mut conn, Request::Status).await else {
            panic!("no status")
        };
        if connections
            .first()
            .is_some_and(|c| c.state == ConnectionState::Connected)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not connected: {connections:?}\n{}",
            std::fs::read_to_string(dir.path().join("corridord.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    lab.ping(Host::Client, lab.lan_host_addr()).unwrap();
    drop(conn);

    kill(&mut daemon, "-KILL");
    let left = lab.network_state(Host::Client);
    assert_ne!(left, before, "a killed service left nothing to restore?");

    let mut daemon = start(&lab, dir.path());
    assert_eq!(
        lab.network_state(Host::Client),
        before,
        "the next start did not restore the network\n{}",
        std::fs::read_to_string(dir.path().join("corridord.log")).unwrap_or_default()
    );
    let log = std::fs::read_to_string(dir.path().join("corridord.log")).unwrap_or_default();
    assert!(log.contains("restored"), "{log}");
    kill(&mut daemon, "-TERM");
}
