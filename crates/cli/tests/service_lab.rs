//! The service's tunnel against the lab's strongSwan gateway: the corridord server code
//! runs in this test process on a thread inside the client namespace (so its TUN
//! device, routes and sockets live there), and `corridor connect` / `status` /
//! `disconnect` talk to it over its socket as a user would. Needs root; fails (never
//! skips) when the lab cannot start.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod support;

use std::fs::File;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corridor_ipc::connection::Connection;
use corridor_ipc::{
    ClientHello, ClientMessage, ConnectSecrets, ConnectionState, ConnectionStatus, ErrorCode,
    ErrorReply, Event, Outcome, PROTOCOL_VERSION, Request, ServerMessage,
};
use corridor_service::connections::{Connections, ConnectionsConfig};
use corridor_service::events::Hub;
use corridor_service::profiles::Profiles;
use corridor_service::server::{ServerConfig, Service, bind, serve};
use lab::{Host, Lab, LabConfig, Scenario};
use support::{snapshot, tail};
use tokio::net::UnixStream;

/// The service on its thread in the client namespace; stopping it (on drop) ends the
/// connection and restores the namespace like `systemctl stop corridord` would.
struct Daemon {
    socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn start_service(lab: &Lab, dir: &Path) -> Daemon {
    start_service_for(lab, dir, None)
}

/// [`start_service`] letting the members of `group` in, with IT's managed profiles in
/// `dir/managed`.
fn start_service_for(lab: &Lab, dir: &Path, group: Option<u32>) -> Daemon {
    let netns = PathBuf::from("/run/netns").join(lab.netns(Host::Client));
    let socket = dir.join("corridord.sock");
    let config = ServerConfig {
        socket: socket.clone(),
        group,
    };
    let hub = Hub::new();
    let connections = Connections::new(
        ConnectionsConfig {
            run_dir: dir.join("run"),
            host: corridor_connection::HostOptions {
                tun_name: "corridor0".into(),
                no_dns: false,
                resolv_conf: lab.resolv_conf(Host::Client),
            },
        },
        hub.clone(),
    );
    let service = Arc::new(Service {
        profiles: Profiles::new(dir.join("profiles"), Some(dir.join("managed"))),
        hub,
        connections,
    });
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let ns = File::open(&netns).unwrap();
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = bind(&config).await.unwrap();
            ready_tx.send(()).unwrap();
            let shutdown = async {
                let _ = stop_rx.await;
            };
            serve(listener, config, Arc::clone(&service), shutdown).await;
            service.connections.shutdown().await;
        });
    });
    ready_rx.recv().unwrap();
    Daemon {
        socket,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

/// A client of the service, as the GUI would be.
async fn client(socket: &Path) -> Connection<UnixStream> {
    let mut conn = Connection::new(UnixStream::connect(socket).await.unwrap());
    conn.send(&ClientMessage::Hello(ClientHello {
        protocol: PROTOCOL_VERSION,
        client: "service_lab test".into(),
    }))
    .await
    .unwrap();
    let hello: ServerMessage = conn.recv().await.unwrap().unwrap();
    assert!(matches!(hello, ServerMessage::Hello(_)), "{hello:?}");
    conn
}

async fn ask(conn: &mut Connection<UnixStream>, request: Request) -> Outcome {
    conn.send(&ClientMessage::Request { id: 7, request })
        .await
        .unwrap();
    loop {
        match conn.recv::<ServerMessage>().await.unwrap().unwrap() {
            ServerMessage::Response { outcome, .. } => return *outcome,
            ServerMessage::Event { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// What the reconnection tests start from: a lab from `config`, the client's network
/// state before anything ran, the service on its thread (its socket and run directory
/// in `dir`), and the lab's Corridor profile imported and connected.
struct ConnectedLab {
    lab: Lab,
    before: Vec<String>,
    dir: tempfile::TempDir,
    daemon: Daemon,
}

fn connected_lab(config: LabConfig) -> ConnectedLab {
    let lab = match Lab::start(config) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let before = snapshot(&lab);
    let dir = tempfile::tempdir().unwrap();
    let daemon = start_service(&lab, dir.path());
    let socket = daemon.socket.clone();
    let id = import_profile(&socket, &lab.write_corridor_profile().unwrap());
    let (code, out, err) = corridor(&socket, &["connect", &id], "");
    assert_eq!(code, Some(0), "{out}\n{err}");
    ConnectedLab {
        lab,
        before,
        dir,
        daemon,
    }
}

/// Imports `file` into the service with `corridor profile import`; returns its id.
fn import_profile(socket: &Path, file: &Path) -> String {
    let (code, out, err) = corridor(socket, &["profile", "import", file.to_str().unwrap()], "");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("into the Corridor service"), "{out}");
    let (code, out, err) = corridor(socket, &["profile", "list", "--json"], "");
    assert_eq!(code, Some(0), "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let profiles = listed["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1, "{out}");
    profiles[0]["id"].as_str().unwrap().to_string()
}

/// The keychain the `corridor` commands of this test use (a private Secret Service):
/// nothing here may touch the keychain of whoever runs the tests.
static KEYCHAIN_BUS: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn corridor(socket: &Path, args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    run_corridor(
        Command::new(env!("CARGO_BIN_EXE_corridor")),
        socket,
        args,
        stdin,
    )
}

/// [`corridor`] with the keychain of the Secret Service on `bus`, for tests that run
/// their own (tests run in parallel, so one process-wide bus would be shared).
fn corridor_with_keychain(
    socket: &Path,
    bus: &str,
    args: &[&str],
    stdin: &str,
) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corridor"));
    command.env("DBUS_SESSION_BUS_ADDRESS", bus);
    run_corridor(command, socket, args, stdin)
}

/// `corridor ARGS` as the unprivileged user `uid` whose primary group is `gid`.
fn corridor_as(
    uid: u32,
    gid: u32,
    socket: &Path,
    args: &[&str],
    stdin: &str,
) -> (Option<i32>, String, String) {
    let mut setpriv = Command::new("setpriv");
    setpriv
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .args(["--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_corridor"))
        .env("HOME", "/nonexistent");
    run_corridor(setpriv, socket, args, stdin)
}

fn run_corridor(
    mut command: Command,
    socket: &Path,
    args: &[&str],
    stdin: &str,
) -> (Option<i32>, String, String) {
    let has_bus = command
        .get_envs()
        .any(|(k, v)| k == "DBUS_SESSION_BUS_ADDRESS" && v.is_some());
    if !has_bus {
        command.env(
            "DBUS_SESSION_BUS_ADDRESS",
            KEYCHAIN_BUS
                .get()
                .map_or("unix:path=/nonexistent", String::as_str),
        );
    }
    let mut child = command
        .args(args)
        .env("CORRIDOR_SOCKET", socket)
        .env_remove("CORRIDOR_PROFILES_DIR")
        .env("CORRIDOR_KEYCHAIN", "secret-service")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A connect request without secrets, straight over IPC; returns the refusal.
fn connect_without_secrets(socket: &Path, id: &str) -> ErrorReply {
    let socket = socket.to_path_buf();
    let id = id.to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut conn = client(&socket).await;
        let request = Request::Connect {
            profile: id,
            username: None,
            secrets: ConnectSecrets::default(),
        };
        match ask(&mut conn, request).await {
            Outcome::Error { error } => error,
            other => panic!("connected without a password: {other:?}"),
        }
    })
}

/// The service's status, as `corridor status --json` prints it.
fn status(socket: &Path) -> Vec<ConnectionStatus> {
    let (code, out, err) = corridor(socket, &["status", "--json"], "");
    assert_eq!(code, Some(0), "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Waits (at most `secs`) until the service's status satisfies `ok`.
fn wait_status(
    socket: &Path,
    secs: u64,
    what: &str,
    ok: impl Fn(&ConnectionStatus) -> bool,
) -> ConnectionStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = status(socket);
        if let Some(s) = now.iter().find(|s| ok(s)) {
            return s.clone();
        }
        assert!(Instant::now() < deadline, "{what}: status is {now:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_service_connects_reconnects_after_the_gateway_drops_us_and_restores_on_disconnect() {
    let lab = match Lab::start(LabConfig::new(Scenario::EapMschapv2)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let before = snapshot(&lab);
    let dir = tempfile::tempdir().unwrap();
    let keychain = lab::secret_service::SecretService::start(dir.path())
        .expect("start a private Secret Service (gnome-keyring and dbus-daemon are needed)");
    KEYCHAIN_BUS.set(keychain.bus_address()).unwrap();
    let daemon = start_service(&lab, dir.path());
    let socket = daemon.socket.clone();
    let id = import_profile(&socket, &lab.write_sswan_profile().unwrap());
    let password = format!("{}\n", lab.credentials().eap_password);

    // Without a password the service refuses before doing anything.
    let refused = connect_without_secrets(&socket, &id);
    assert_eq!(refused.code, ErrorCode::SecretRequired, "{refused:?}");
    assert!(refused.message.contains("password"), "{refused:?}");
    assert_eq!(snapshot(&lab), before);

    // A wrong password: the gateway refuses, the state says why, nothing is left behind.
    let (code, _, err) = corridor(
        &socket,
        &["connect", &id, "--password-stdin"],
        "not the password\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("did not connect"), "{err}");
    assert_eq!(snapshot(&lab), before);

    // The real one: connected, with the assigned address and the traffic counted; the
    // password is remembered in the user's keychain.
    let (code, out, err) = corridor(
        &socket,
        &["connect", &id, "--password-stdin", "--remember"],
        &password,
    );
    assert_eq!(
        code,
        Some(0),
        "{out}\n{err}\n{}",
        tail(&lab.gateway_log(), 40)
    );
    assert!(out.contains("connected"), "{out}");
    assert!(out.contains("address  198.19."), "{out}");
    assert!(out.contains("remembered in your keychain"), "{out}");
    lab.ping(Host::Client, lab.lan_host_addr()).unwrap();
    let page = lab
        .http_get(Host::Client, lab.lan_host_addr(), "/")
        .unwrap();
    assert_eq!(page.status, 200);
    let up = wait_status(&socket, 5, "stats after traffic", |s| {
        s.state == ConnectionState::Connected
            && s.stats
                .is_some_and(|st| st.packets_in >= 3 && st.bytes_out > 0)
    });
    let details = up.details.clone().unwrap();
    assert!(
        details.routes.iter().any(|r| r.starts_with("198.19.")),
        "{details:?}"
    );
    assert_eq!(details.dns_domains, ["corp.example"]);

    // A second connect while one runs is refused and disturbs nothing.
    let (code, _, err) = corridor(&socket, &["connect", &id, "--password-stdin"], &password);
    assert_eq!(code, Some(1));
    assert!(err.contains("disconnect it first"), "{err}");

    // The gateway drops us: the service says why, tries again and is back by itself,
    // with the same address, while the tunnel's routes stayed in place.
    let events = subscribe(&socket);
    lab.swanctl(&["--terminate", "--ike", "corridor", "--timeout", "10"])
        .unwrap();
    let seen = collect_until_connected(events, Duration::from_secs(30));
    let reconnecting = seen
        .iter()
        .find(|s| matches!(s.state, ConnectionState::Reconnecting { .. }))
        .unwrap_or_else(|| panic!("no Reconnecting state: {seen:?}"));
    assert!(
        reconnecting
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("gateway")),
        "{reconnecting:?}"
    );
    let back = seen.last().unwrap();
    assert_eq!(
        back.details.as_ref().unwrap().virtual_ips,
        details.virtual_ips
    );
    lab.ping(Host::Client, lab.lan_host_addr()).unwrap();

    // Disconnect: answered once the namespace is exactly as before.
    let (code, out, err) = corridor(&socket, &["disconnect"], "");
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(snapshot(&lab), before, "routes, addresses or DNS differ");
    let last = status(&socket);
    assert_eq!(last.len(), 1, "{last:?}");
    assert_eq!(last[0].state, ConnectionState::Disconnected);
    assert_eq!(last[0].reason.as_deref(), Some("disconnected by the user"));

    // Next time the keychain answers: nothing on standard input, no prompt.
    let (code, out, err) = corridor(&socket, &["connect", &id], "");
    assert_eq!(code, Some(0), "{out}\n{err}");
    lab.ping(Host::Client, lab.lan_host_addr()).unwrap();
    let (code, _, err) = corridor(&socket, &["disconnect", &id], "");
    assert_eq!(code, Some(0), "{err}");
    // Forgotten, it has to be asked for again (and there is no terminal to ask on).
    let (_, out, _) = corridor(&socket, &["connect", &id, "--forget", "--no-wait"], "");
    assert!(out.contains("forgot 1 remembered secret"), "{out}");
    assert_eq!(snapshot(&lab), before, "routes, addresses or DNS differ");
    drop(daemon);
    assert_eq!(snapshot(&lab), before);
}

/// Waits (at most `secs`) until the service says Connected and a ping to the LAN host
/// gets through the tunnel.
fn wait_carrying(lab: &Lab, socket: &Path, secs: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = status(socket);
        let connected = now
            .first()
            .is_some_and(|s| s.state == ConnectionState::Connected);
        if connected && lab.ping(Host::Client, lab.lan_host_addr()).is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "not {what}: {now:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A subscription to the service's events, read on its own thread.
fn subscribe(socket: &Path) -> std::sync::mpsc::Receiver<ConnectionStatus> {
    let socket = socket.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut conn = client(&socket).await;
            let outcome = ask(&mut conn, Request::Subscribe { log_level: None }).await;
            assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
            ready_tx.send(()).unwrap();
            while let Ok(Some(message)) = conn.recv::<ServerMessage>().await {
                if let ServerMessage::Event {
                    event: Event::State { status },
                } = message
                    && tx.send(*status).is_err()
                {
                    return;
                }
            }
        });
    });
    ready_rx.recv().unwrap();
    rx
}

/// State events until the next `Connected` after a non-connected one.
fn collect_until_connected(
    events: std::sync::mpsc::Receiver<ConnectionStatus>,
    within: Duration,
) -> Vec<ConnectionStatus> {
    let deadline = Instant::now() + within;
    let mut seen: Vec<ConnectionStatus> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(status) => {
                let done = status.state == ConnectionState::Connected
                    && seen.iter().any(|s| s.state != ConnectionState::Connected);
                seen.push(status);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("not connected again within {within:?}: {seen:?}"),
        }
    }
}

/// A certificate profile whose PKCS#12 file is embedded on import (the service never
/// opens a caller's paths), connected with the container's password, follows a change
/// of the client's address.
#[test]
fn a_certificate_profile_imported_through_the_service_connects_and_follows_a_new_address() {
    let lab = match Lab::start(LabConfig::new(Scenario::Cert)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let before = snapshot(&lab);
    let dir = tempfile::tempdir().unwrap();
    let daemon = start_service(&lab, dir.path());
    let socket = daemon.socket.clone();
    let id = import_profile(&socket, &lab.write_corridor_profile().unwrap());
    let (code, out, _) = corridor(&socket, &["profile", "show", &id, "--json"], "");
    assert_eq!(code, Some(0));
    assert!(
        !out.contains("\"file\""),
        "a file reference reached the service: {out}"
    );

    let p12 = format!("{}\n", lab.credentials().p12_password);
    let (code, out, err) = corridor(&socket, &["connect", &id, "--p12-password-stdin"], &p12);
    assert_eq!(
        code,
        Some(0),
        "{out}\n{err}\n{}",
        tail(&lab.gateway_log(), 40)
    );
    lab.ping(Host::Client, lab.lan_host_addr()).unwrap();
    let (code, _, err) = corridor(&socket, &["disconnect"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(snapshot(&lab), before, "routes, addresses or DNS differ");
    drop(daemon);
}

/// The gateway dies (SIGKILL: no Delete) and comes back knowing no SA: the one-way
/// traffic brings a liveness check forward, its short retransmissions run out, and the
/// service connects again as soon as the gateway answers.
#[test]
fn the_service_is_back_soon_after_a_killed_gateway_returns() {
    let ConnectedLab {
        mut lab,
        before,
        dir: _dir,
        daemon,
    } = connected_lab(LabConfig::new(Scenario::Psk));
    let socket = daemon.socket.clone();

    // Steady traffic, as an employee's machine always has.
    let lan = lab.lan_host_addr().to_string();
    let mut ping = lab
        .command(Host::Client, "ping")
        .args(["-q", "-i", "0.2", "-w", "40", &lan])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let events = subscribe(&socket);
    std::thread::sleep(Duration::from_secs(1));
    lab.kill_gateway();
    std::thread::sleep(Duration::from_secs(2));
    lab.start_gateway().expect("restart the gateway");
    let returned = Instant::now();
    let seen = collect_until_connected(events, Duration::from_secs(40));
    let back_after = returned.elapsed();
    let _ = ping.kill();
    let _ = ping.wait();
    eprintln!("connected again {back_after:?} after the gateway returned");
    assert!(
        seen.iter().any(|s| s
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("stopped answering"))),
        "{seen:?}"
    );
    assert!(
        back_after <= Duration::from_secs(10),
        "connected again only {back_after:?} after the gateway returned: {seen:?}"
    );
    lab.ping(Host::Client, lab.lan_host_addr()).unwrap();
    let (code, _, err) = corridor(&socket, &["disconnect"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(snapshot(&lab), before, "routes, addresses or DNS differ");
    drop(daemon);
}

/// What a member of the service's group may and may not do: see and use IT's managed
/// profile, never its pre-shared key, never remove it; connect and disconnect their own
/// tunnel; not end or inspect another member's.
#[test]
fn a_group_member_connects_a_managed_profile_but_cannot_change_it_or_read_its_secret() {
    const GROUP: u32 = 4242;
    const ALICE: u32 = 4242;
    const BOB: u32 = 4243;
    let lab = match Lab::start(LabConfig::new(Scenario::Psk)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let before = snapshot(&lab);
    let dir = tempfile::tempdir().unwrap();
    // Members reach the socket through the directory; the socket's mode keeps others out.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let imported = corridor_profile::import_file(
        &lab.write_corridor_profile().unwrap(),
        &corridor_profile::ImportOptions::default(),
    )
    .unwrap();
    corridor_profile::Store::open(dir.path().join("managed"))
        .unwrap()
        .save(&imported.profile, corridor_profile::SaveMode::CreateNew)
        .unwrap();
    let id = imported.profile.id.to_string();
    let psk = lab.credentials().psk;
    let daemon = start_service_for(&lab, dir.path(), Some(GROUP));
    let socket = daemon.socket.clone();

    let (code, out, err) = corridor_as(ALICE, GROUP, &socket, &["profile", "list", "--json"], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&id) && out.contains("\"managed\": true"),
        "{out}"
    );
    let (code, out, err) = corridor_as(
        ALICE,
        GROUP,
        &socket,
        &["profile", "show", &id, "--json"],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !out.contains(psk),
        "the pre-shared key reached a member:\n{out}"
    );
    let (code, _, err) = corridor_as(ALICE, GROUP, &socket, &["profile", "remove", &id], "");
    assert_ne!(code, Some(0));
    assert!(err.contains("managed by your IT department"), "{err}");

    let (code, out, err) = corridor_as(ALICE, GROUP, &socket, &["connect", &id], "");
    assert_eq!(code, Some(0), "{out}\n{err}");
    lab.ping(Host::Client, lab.lan_host_addr()).unwrap();
    let (code, _, err) = corridor_as(BOB, GROUP, &socket, &["disconnect"], "");
    assert_ne!(code, Some(0));
    assert!(err.contains("started by another user"), "{err}");
    let (code, out, _) = corridor_as(BOB, GROUP, &socket, &["status", "--json"], "");
    assert_eq!(code, Some(0));
    assert!(
        out.contains("another user") && !out.contains("198.19."),
        "{out}"
    );
    let (code, out, _) = corridor_as(ALICE, GROUP, &socket, &["status", "--json"], "");
    assert_eq!(code, Some(0));
    assert!(out.contains("198.19."), "{out}");

    let (code, _, err) = corridor_as(ALICE, GROUP, &socket, &["disconnect"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(snapshot(&lab), before, "routes, addresses or DNS differ");
    drop(daemon);
}

/// What a laptop's network does to a tunnel: the link goes down for 15 s and comes back
/// (the service is connected again within 10 s), then 20% of the packets are lost for
/// 30 s (the tunnel stays up or recovers by itself).
#[test]
fn the_service_rides_out_a_link_outage_and_heavy_loss() {
    let ConnectedLab {
        lab,
        before,
        dir: _dir,
        daemon,
    } = connected_lab(LabConfig::new(Scenario::Psk));
    let socket = daemon.socket.clone();
    let lan = lab.lan_host_addr().to_string();
    let mut ping = lab
        .command(Host::Client, "ping")
        .args(["-q", "-i", "0.2", "-w", "90", &lan])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The link goes down for 15 s (keeping its IPv6 address, as the IPv4 one is kept,
    // so that the namespace can be compared with its state before).
    lab.exec(
        Host::Client,
        &[
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.eth0.keep_addr_on_down=1",
        ],
    )
    .unwrap();
    lab.exec(Host::Client, &["ip", "link", "set", "eth0", "down"])
        .unwrap();
    std::thread::sleep(Duration::from_secs(15));
    let events = subscribe(&socket);
    lab.exec(Host::Client, &["ip", "link", "set", "eth0", "up"])
        .unwrap();
    let back = Instant::now();
    wait_carrying(&lab, &socket, 30, "back after the link returned");
    let back_after = back.elapsed();
    drop(events);
    eprintln!("traffic through the tunnel again {back_after:?} after the link returned");
    assert!(
        back_after <= Duration::from_secs(10),
        "the tunnel carried traffic again only {back_after:?} after the link returned"
    );

    // 20% loss both ways for 30 s.
    lab.set_impairment(&lab::Impairment::loss(200)).unwrap();
    std::thread::sleep(Duration::from_secs(30));
    lab.clear_impairment().unwrap();
    wait_carrying(&lab, &socket, 20, "recovered after the loss");
    let _ = ping.kill();
    let _ = ping.wait();

    let (code, _, err) = corridor(&socket, &["disconnect"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(snapshot(&lab), before, "routes, addresses or DNS differ");
    drop(daemon);
}

/// In a full tunnel nothing may leave the machine outside it while the connection is
/// re-established: a capture on the client's only link, taken while the gateway first
/// drops the connection and then dies and comes back, with traffic to the internet
/// flowing all along, holds nothing but IKE and ESP with the gateway (and the link's
/// own address resolution).
#[test]
fn a_full_tunnel_leaks_nothing_while_it_reconnects() {
    // Behind the NAT router, as at home: the internet is beyond the client's own link
    // (hosts on that link stay reachable directly, by design).
    let config = LabConfig::new(Scenario::Psk).nat(true).full_tunnel(true);
    let ConnectedLab {
        mut lab,
        before,
        dir,
        daemon,
    } = connected_lab(config);
    let socket = daemon.socket.clone();

    let gateway = lab.gateway_addr().to_string();
    let pcap = dir.path().join("leaks.pcapng");
    // What leaves the client: not what the gateway sends it (such as its "port
    // unreachable" while it is down), not IKE and ESP with the gateway.
    let filter = format!(
        "not arp and not (ip6 and src net fe80::/10) and not src host {gateway} \
         and not (host {gateway} and udp and (port 500 or port 4500))"
    );
    let mut capture = lab
        .command(Host::Client, "tshark")
        .env("HOME", dir.path())
        .args(["-i", "eth0", "-f", &filter, "-w"])
        .arg(&pcap)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tshark is needed (scripts/setup-system installs it)");
    let stderr = capture.stderr.take().unwrap();
    let (said_tx, said_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { break };
            if said_tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        match said_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.contains("Capturing on") => break,
            Ok(_) => {}
            Err(_) => panic!("tshark did not start capturing"),
        }
    }

    // Traffic to the internet all along: through the tunnel, or nowhere.
    let outside = lab.outside_addr().to_string();
    let mut ping = lab
        .command(Host::Client, "ping")
        .args(["-q", "-i", "0.2", "-w", "60", &outside])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    lab.ping(Host::Client, lab.outside_addr()).unwrap();

    let events = subscribe(&socket);
    lab.swanctl(&["--terminate", "--ike", "corridor", "--timeout", "10"])
        .unwrap();
    let seen = collect_until_connected(events, Duration::from_secs(30));
    assert!(
        seen.iter()
            .any(|s| matches!(s.state, ConnectionState::Reconnecting { .. })),
        "{seen:?}"
    );
    lab.ping(Host::Client, lab.outside_addr()).unwrap();

    let events = subscribe(&socket);
    lab.kill_gateway();
    std::thread::sleep(Duration::from_secs(2));
    lab.start_gateway().expect("restart the gateway");
    collect_until_connected(events, Duration::from_secs(40));
    lab.ping(Host::Client, lab.outside_addr()).unwrap();

    let _ = ping.kill();
    let _ = ping.wait();
    let _ = std::process::Command::new("kill")
        .args(["-INT", &capture.id().to_string()])
        .status();
    let _ = capture.wait();
    let read = std::process::Command::new("tshark")
        .env("HOME", dir.path())
        .arg("-r")
        .arg(&pcap)
        .output()
        .expect("tshark -r");
    let leaked = String::from_utf8_lossy(&read.stdout).into_owned();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert!(
        leaked.trim().is_empty(),
        "packets left outside the tunnel:\n{leaked}"
    );

    let (code, _, err) = corridor(&socket, &["disconnect"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(snapshot(&lab), before, "routes, addresses or DNS differ");
    drop(daemon);
}

/// What IT hands out, end to end through the service: a `.mobileconfig` with the
/// client's PKCS#12 container and its password is imported with `--remember` (the
/// password goes to the user's keychain, never into the profile), and the first
/// `corridor connect` needs nothing typed.
#[test]
fn an_it_mobileconfig_imported_into_the_service_connects_without_a_prompt() {
    let lab = match Lab::start(LabConfig::new(Scenario::Cert)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let before = snapshot(&lab);
    let dir = tempfile::tempdir().unwrap();
    let keychain = lab::secret_service::SecretService::start(dir.path())
        .expect("start a private Secret Service (gnome-keyring and dbus-daemon are needed)");
    let bus = keychain.bus_address();
    let daemon = start_service(&lab, dir.path());
    let socket = daemon.socket.clone();
    let file = lab::profile_apple::write_mobileconfig(&lab).unwrap();

    let (code, out, err) = corridor_with_keychain(
        &socket,
        &bus,
        &["profile", "import", file.to_str().unwrap(), "--remember"],
        "",
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Apple configuration profile"), "{out}");
    assert!(
        out.contains("kept the PKCS#12 password in your keychain"),
        "{out}"
    );
    let (_, listed, _) = corridor_with_keychain(&socket, &bus, &["profile", "list", "--json"], "");
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let id = listed["profiles"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(listed["profiles"][0]["posture"], "strong", "{listed}");

    let (code, out, err) = corridor_with_keychain(&socket, &bus, &["connect", &id], "");
    assert_eq!(
        code,
        Some(0),
        "{out}\n{err}\n{}",
        tail(&lab.gateway_log(), 40)
    );
    assert!(out.contains("connected"), "{out}");
    lab.ping(Host::Client, lab.lan_host_addr()).unwrap();
    let page = lab
        .http_get(Host::Client, lab.lan_host_addr(), "/")
        .unwrap();
    assert_eq!(page.status, 200);

    let (code, _, err) = corridor_with_keychain(&socket, &bus, &["disconnect"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(snapshot(&lab), before, "routes, addresses or DNS differ");
    drop(daemon);
}
