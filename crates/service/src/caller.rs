//! The peer of an IPC connection as the OS reports it.

/// Who is asking: taken from the connection's peer credentials (SO_PEERCRED on Linux,
/// getpeereid on macOS, the pipe client's token on Windows), never from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User id. On Windows, where accounts are SIDs, the number the service's
    /// account map gave the caller's SID (see [`crate::accounts`]).
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Process id, when the OS tells it (for logs).
    pub pid: Option<i32>,
    /// Account name, when it can be looked up.
    pub user: Option<String>,
    /// Whether the OS says the caller administers the machine: root on Unix; on
    /// Windows LocalSystem or a token with the Administrators group enabled (an
    /// elevated process).
    pub admin: bool,
}

impl Caller {
    /// Whether the caller administers the machine. Administrators may change managed
    /// profiles and service settings.
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// What the hello tells the client about itself.
    pub fn to_ipc(&self) -> corridor_ipc::Caller {
        corridor_ipc::Caller {
            uid: self.uid,
            user: self.user.clone(),
            admin: self.is_admin(),
        }
    }

    /// `alice (uid 1000, pid 4242)`, for logs.
    pub fn describe(&self) -> String {
        let name = self.user.as_deref().unwrap_or("?");
        match self.pid {
            Some(pid) => format!("{name} (uid {}, pid {pid})", self.uid),
            None => format!("{name} (uid {})", self.uid),
        }
    }
}
