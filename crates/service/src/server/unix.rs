//! The Unix transport: a socket only root and the service's group can open, each
//! client identified by the kernel (SO_PEERCRED on Linux, getpeereid on macOS).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::{UnixListener, UnixStream};

use super::{ServerError, Service};
use crate::caller::Caller;

/// What the server needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The socket path (`/run/corridor/corridord.sock`).
    pub socket: PathBuf,
    /// The group whose members may connect; `None` lets only root (and the service's
    /// own user) in.
    pub group: Option<u32>,
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
                    let caller = identify(&stream, group);
                    tokio::spawn(async move { super::client(stream, caller, service).await });
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
    let user = user_name(cred.uid());
    let caller = Caller {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: cred.pid(),
        admin: cred.uid() == 0,
        user,
    };
    let allowed = caller.is_admin()
        || caller.uid == nix::unistd::geteuid().as_raw()
        || group.is_some_and(|g| caller.gid == g || caller_in_group(&caller, g));
    if allowed {
        Ok(caller)
    } else {
        Err(format!(
            "{} is not a member of the service's group",
            caller.describe()
        ))
    }
}

/// Whether the caller's process has `group` among its supplementary groups, read from
/// `/proc/<pid>/status` (what the kernel uses for its checks, unlike /etc/group).
#[cfg(target_os = "linux")]
fn caller_in_group(caller: &Caller, group: u32) -> bool {
    let Some(pid) = caller.pid else { return false };
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

/// Whether the caller's account is a member of `group` in the directory (macOS keeps
/// no per-process group list a peer can read; the directory is what `id` shows).
#[cfg(not(target_os = "linux"))]
fn caller_in_group(caller: &Caller, group: u32) -> bool {
    let Some(user) = caller.user.as_deref() else {
        return false;
    };
    matches!(
        nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(group)),
        Ok(Some(g)) if g.mem.iter().any(|m| m == user)
    )
}

/// The account name of `uid` from the user database, for logs and the hello.
fn user_name(uid: u32) -> Option<String> {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => Some(user.name),
        _ => None,
    }
}
