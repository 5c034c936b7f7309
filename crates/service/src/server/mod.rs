//! The IPC server: one task per client, each client identified by the OS (peer
//! credentials of a Unix socket, the token of a named pipe's client process) and every
//! request authorized. A client that sends garbage gets a `Goodbye` naming the problem
//! and is disconnected; the service and its other clients carry on.
//!
//! The transport is per OS: [`unix`] (a socket only root and the service's group can
//! open) and [`windows`] (a named pipe whose DACL admits SYSTEM, Administrators and
//! the service's users group). Everything after the caller is known is shared.

use std::sync::Arc;
use std::time::Duration;

use corridor_ipc::connection::{Connection, ConnectionError};
use corridor_ipc::{
    ClientMessage, ErrorCode, ErrorReply, Outcome, PROTOCOL_VERSION, Reply, Request, ServerHello,
    ServerMessage,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast;

use crate::caller::Caller;
use crate::connections::Connections;
use crate::events::Hub;
use crate::profiles::{Profiles, summary};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::{ServerConfig, bind, serve};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{Listener, ServerConfig, bind, serve};

/// How long a new client has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// Binding or preparing the socket (or pipe) failed.
    #[error("cannot listen on {path}: {source}")]
    Listen {
        /// The socket path or pipe name.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another instance answers on the socket.
    #[error("another corridord is already listening on {0}")]
    AlreadyRunning(std::path::PathBuf),
}

fn goodbye(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Goodbye {
        error: ErrorReply {
            code,
            message: message.into(),
        },
    }
}

/// Serves one client until it leaves: `caller` is who the OS says it is, or why it
/// may not use the service (then it gets a goodbye saying so).
async fn client<S>(stream: S, caller: Result<Caller, String>, service: Arc<Service>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
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
