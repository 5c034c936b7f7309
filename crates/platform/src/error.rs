//! One error type for every OS-facing operation.

use std::path::PathBuf;

/// Why an OS-facing operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The running OS has no implementation of this operation yet.
    #[error("{0} is not supported on this operating system")]
    Unsupported(&'static str),
    /// A value handed in (prefix length, interface name, ...) is not valid.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// Which value was rejected.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A named network interface does not exist.
    #[error("no network interface named {0:?}")]
    NoSuchInterface(String),
    /// No default route exists for the family the gateway needs.
    #[error("no default route for {0}; cannot pin the gateway host route")]
    NoDefaultRoute(&'static str),
    /// Creating or driving the TUN device failed.
    #[error("TUN device {name:?}: {source}")]
    Tun {
        /// Interface name.
        name: String,
        /// Underlying OS error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel rejected a routing/address request.
    #[error("{op}: {detail}")]
    Netlink {
        /// The operation attempted (e.g. "add route 0.0.0.0/1").
        op: String,
        /// The kernel's answer.
        detail: String,
    },
    /// The OS refused a network change (Windows IP Helper, the macOS routing socket).
    #[error("{op}: {detail}")]
    Os {
        /// The operation attempted (e.g. "add route 0.0.0.0/1 dev corridor0").
        op: String,
        /// The OS's answer.
        detail: String,
    },
    /// systemd-resolved (or the D-Bus system bus in front of it) refused or failed a
    /// request.
    #[error("systemd-resolved: {op}: {detail}")]
    Resolved {
        /// The request (e.g. "SetLinkDNS on link 7").
        op: String,
        /// The bus's or the service's answer.
        detail: String,
    },
    /// Reading or writing the change journal failed.
    #[error("journal {path}: {source}")]
    JournalIo {
        /// Journal file path.
        path: PathBuf,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A journal line could not be parsed.
    #[error("journal {path} line {line}: {detail}")]
    JournalCorrupt {
        /// Journal file path.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Parser message.
        detail: String,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
