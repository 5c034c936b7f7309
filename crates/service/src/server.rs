//! The IPC server: a Unix socket that only root and the service's group can open, one
//! task per client, each client authenticated by the kernel (SO_PEERCRED) and every
//! request authorized. A client that sends garbage gets a `Goodbye` naming the problem
//! and is disconnected; the service and its other clients carry on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use corridor_ipc::connection::{Connection, ConnectionError};
use corridor_ipc::{
    ClientMessage, ErrorCode, ErrorReply, Outcome, PROTOCOL_VERSION, Reply, Request, ServerHello,
    ServerMessage,
};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast;

use crate::caller::Caller;
use crate::connections::Connections;
use crate::events::Hub;
use crate::profiles::{Profiles, summary};

/// How long a new client has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// What the server needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The socket path (`/run/corridor/corridord.sock`).
    pub socket: PathBuf,
    /// The group whose members may connect; `None` lets only root (and the service's
    /// own user) in.
    pub group: Option<u32>,
}

/// The shared state every client task sees.
#[derive(Debug)]
pub struct Service {
    /// Profile stores.
    pub profiles: Profiles,
    /// Events and the log ring.
    pub hub: Hub,
    /// The tunnel.
    pub connections: Connections,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding or preparing the socket failed.
    #[error("cannot listen on {path}: {source}")]
    Listen {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another instance answers on the socket.
    #[error("another corridord is already listening on {0}")]
    AlreadyRunning(PathBuf),
}

/// Binds the socket: removes a stale one (nobody answering), refuses to take over a
/// live one, then restricts it to root and the group (mode 0660).
///
/// # Errors
/// [`ServerError`].
pub async fn bind(config: &ServerConfig) -> Result<UnixListener, ServerError> {
    let path = &config.socket;
    let listen_err = |source| ServerError::Listen {
        path: path.clone(),
        source,
    };
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(ServerError::AlreadyRunning(path.clone()));
        }
        std::fs::remove_file(path).map_err(listen_err)?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(listen_err)?;
    }
    let listener = UnixListener::bind(path).map_err(listen_err)?;
    set_socket_access(path, config.group).map_err(listen_err)?;
    Ok(listener)
}

fn set_socket_access(path: &Path, group: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::os::unix::fs::chown(path, None, group)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
}

/// Accepts clients until `shutdown` resolves.
pub async fn serve(
    listener: UnixListener,
    config: ServerConfig,
    service: Arc<Service>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let service = Arc::clone(&service);
                    let group = config.group;
                    tokio::spawn(async move { client(stream, group, service).await });
                }
                Err(e) => tracing::warn!(error = %e, "accept failed"),
            },
        }
    }
}

/// The caller behind `stream`, if the kernel vouches for one allowed in.
fn identify(stream: &UnixStream, group: Option<u32>) -> Result<Caller, String> {
    let cred = stream
        .peer_cred()
        .map_err(|e| format!("cannot read the peer credentials: {e}"))?;
    let caller = Caller {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: cred.pid(),
        user: user_name(cred.uid()),
    };
    let own_uid = std::fs::metadata("/proc/self").map(|m| {
        use std::os::unix::fs::MetadataExt as _;
        m.uid()
    });
    let allowed = caller.is_admin()
        || own_uid.is_ok_and(|uid| uid == caller.uid)
        || group.is_some_and(|g| caller.gid == g || caller_in_group(caller.pid, g));
    if allowed {
        Ok(caller)
    } else {
        Err(format!(
            "{} is not a member of the service's group",
            caller.describe()
        ))
    }
}

/// Whether the process `pid` has `group` among its supplementary groups, read from
/// `/proc/<pid>/status` (what the kernel uses for its checks, unlike /etc/group).
fn caller_in_group(pid: Option<i32>, group: u32) -> bool {
    let Some(pid) = pid else { return false };
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .is_some_and(|groups| {
            groups
                .split_whitespace()
                .any(|g| g.parse::<u32>() == Ok(group))
        })
}

/// The account name of `uid` from /etc/passwd, for logs and the hello.
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

fn goodbye(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Goodbye {
        error: ErrorReply {
            code,
            message: message.into(),
        },
    }
}

async fn client(stream: UnixStream, group: Option<u32>, service: Arc<Service>) {
    let caller = identify(&stream, group);
    let mut conn = Connection::new(stream);
    let caller = match caller {
        Ok(caller) => caller,
        Err(why) => {
            tracing::warn!(%why, "refused a client");
            let _ = conn.send(&goodbye(ErrorCode::Unauthorized, why)).await;
            return;
        }
    };
    let who = caller.describe();
    match tokio::time::timeout(HELLO_TIMEOUT, conn.recv::<ClientMessage>()).await {
        Ok(Ok(Some(ClientMessage::Hello(hello)))) if hello.protocol == PROTOCOL_VERSION => {
            tracing::debug!(client = %hello.client, %who, "client connected");
        }
        Ok(Ok(Some(ClientMessage::Hello(hello)))) => {
            let message = format!(
                "protocol version {} is not supported; this service speaks {PROTOCOL_VERSION}",
                hello.protocol
            );
            let _ = conn
                .send(&goodbye(ErrorCode::UnsupportedVersion, message))
                .await;
            return;
        }
        Ok(Ok(Some(ClientMessage::Request { .. }))) => {
            let _ = conn
                .send(&goodbye(
                    ErrorCode::BadRequest,
                    "the first message must be a hello",
                ))
                .await;
            return;
        }
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            let _ = conn
                .send(&goodbye(ErrorCode::BadRequest, e.to_string()))
                .await;
            return;
        }
        Err(_) => {
            let _ = conn
                .send(&goodbye(ErrorCode::BadRequest, "no hello within 5 seconds"))
                .await;
            return;
        }
    }
    let hello = ServerMessage::Hello(ServerHello {
        protocol: PROTOCOL_VERSION,
        server: format!("corridord {}", env!("CARGO_PKG_VERSION")),
        caller: caller.to_ipc(),
    });
    if conn.send(&hello).await.is_err() {
        return;
    }

    let mut events: Option<broadcast::Receiver<corridor_ipc::Event>> = None;
    let mut log_level = None;
    loop {
        let next_event = async {
            match events.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = conn.recv::<ClientMessage>() => {
                let (id, request) = match message {
                    Ok(Some(ClientMessage::Request { id, request })) => (id, request),
                    Ok(Some(ClientMessage::Hello(_))) => {
                        let _ = conn.send(&goodbye(ErrorCode::BadRequest, "hello sent twice")).await;
                        return;
                    }
                    Ok(None) => return,
                    Err(ConnectionError::Io(_)) => return,
                    Err(e) => {
                        tracing::info!(%who, error = %e, "closing a client that sent bad input");
                        let _ = conn.send(&goodbye(ErrorCode::BadRequest, e.to_string())).await;
                        return;
                    }
                };
                match &request {
                    Request::Subscribe { log_level: level } => {
                        events = Some(service.hub.subscribe());
                        log_level = *level;
                    }
                    Request::Unsubscribe => events = None,
                    _ => {}
                }
                let outcome = handle(&service, &caller, request).await;
                let response = ServerMessage::Response { id, outcome: Box::new(outcome) };
                if conn.send(&response).await.is_err() {
                    return;
                }
            }
            event = next_event => match event {
                Ok(event) => {
                    if !crate::events::wanted(&event, log_level) {
                        continue;
                    }
                    if conn.send(&ServerMessage::Event { event }).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(%who, missed = n, "a slow subscriber missed events");
                }
                Err(broadcast::error::RecvError::Closed) => events = None,
            },
        }
    }
}

/// Answers one request.
async fn handle(service: &Service, caller: &Caller, request: Request) -> Outcome {
    let result = match request {
        Request::ListProfiles => service
            .profiles
            .list(caller)
            .map(|profiles| Reply::Profiles { profiles }),
        Request::GetProfile { profile } => service
            .profiles
            .get_with_locks(caller, &profile)
            .map(|(profile, managed, locked)| Reply::Profile {
                profile: Box::new(profile),
                managed,
                locked,
            }),
        Request::EditProfile { profile, changes } => service
            .profiles
            .edit(caller, &profile, &changes)
            .map(|(profile, changed)| {
                tracing::info!(who = %caller.describe(), id = %profile.id, ?changed, "changed a profile");
                Reply::Edited { profile, changed }
            }),
        Request::ExportProfile { profile } => service
            .profiles
            .export(caller, &profile)
            .map(|(file_name, contents)| Reply::Exported {
                file_name,
                contents: corridor_model::Base64Bytes(contents),
            }),
        Request::BackupProfiles => {
            service
                .profiles
                .backup(caller)
                .map(|(contents, count)| Reply::Backup {
                    contents: corridor_model::Base64Bytes(contents),
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                })
        }
        Request::RestoreProfiles { contents, replace } => service
            .profiles
            .restore(caller, contents.as_slice(), replace)
            .map(|profiles| {
                tracing::info!(who = %caller.describe(), count = profiles.len(), "restored profiles");
                Reply::Restored { profiles }
            }),
        Request::ImportProfile {
            file_name,
            contents,
            replace,
            dry_run,
        } => if dry_run {
            service
                .profiles
                .preview_import(caller, &file_name, contents.as_slice(), replace)
        } else {
            service
                .profiles
                .import(caller, &file_name, contents.as_slice(), replace)
        }
        .map(|(profile, report)| {
                if dry_run {
                    tracing::debug!(who = %caller.describe(), id = %profile.id, "checked a profile for import");
                } else {
                    tracing::info!(who = %caller.describe(), id = %profile.id, "imported a profile");
                }
                Reply::Imported { profile, report }
            }),
        Request::RemoveProfile { profile } => {
            service.profiles.remove(caller, &profile).map(|profile| {
                tracing::info!(who = %caller.describe(), id = %profile.id, "removed a profile");
                Reply::Removed { profile }
            })
        }
        Request::Status => Ok(Reply::Status {
            connections: service.connections.status(caller),
        }),
        Request::Subscribe { .. } => Ok(Reply::Subscription { active: true }),
        Request::Unsubscribe => Ok(Reply::Subscription { active: false }),
        Request::RecentLogs { max_lines } => Ok(Reply::Logs {
            lines: service.hub.recent_logs(max_lines as usize),
        }),
        Request::GetPolicy => service
            .profiles
            .policy()
            .read(caller)
            .map(|policy| Reply::Policy { policy }),
        Request::SetPolicy { policy } => {
            service
                .profiles
                .policy()
                .set(caller, policy)
                .map(|policy| {
                    tracing::info!(who = %caller.describe(), "changed the profile policy");
                    Reply::Policy { policy }
                })
        }
        Request::Connect {
            profile,
            username,
            secrets,
        } => service
            .profiles
            .find(caller, &profile)
            .and_then(|(stored, owner)| {
                service.profiles.check_policy(owner, &stored.profile)?;
                let managed = owner == crate::authz::Owner::Managed;
                let about = summary(&stored.profile, managed);
                service
                    .connections
                    .connect(caller, stored.profile, owner, about, username, secrets)
            })
            .map(|()| Reply::Accepted),
        Request::Disconnect { profile } => service
            .connections
            .disconnect(caller, profile.as_deref())
            .await
            .map(|()| Reply::Accepted),
    };
    match result {
        Ok(reply) => Outcome::Ok { reply },
        Err(error) => Outcome::Error { error },
    }
}
