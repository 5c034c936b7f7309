//! DNS by replacing a `resolv.conf`-format file, with a durable backup.
//!
//! This is the fallback for hosts without systemd-resolved (see `resolved.rs`). The path is a parameter
//! so tests (and unusual hosts) never touch the real `/etc/resolv.conf`. Writes go to
//! a temporary file in the same directory, are fsync'd and renamed into place, so a
//! reader sees the old or the new file, never half of one. A symlinked file (the
//! usual systemd-resolved stub link) is put back as the same symlink.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Resolvers and search domains learnt from the gateway (RFC 7296 §3.15
/// INTERNAL_IP4_DNS / INTERNAL_IP6_DNS, RFC 8598 INTERNAL_DNS_DOMAIN).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsConfig {
    /// Name servers, in preference order.
    pub servers: Vec<IpAddr>,
    /// Search domains.
    pub search_domains: Vec<String>,
}

/// How name resolution is steered into the tunnel when systemd-resolved configures
/// it per link (the `resolv.conf` fallback has one global list and ignores the mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsMode {
    /// All traffic goes through the tunnel, so every query goes to the tunnel's
    /// servers: the link gets the catch-all routing domain `~.` and DefaultRoute=yes.
    /// The domains are search domains too.
    FullTunnel,
    /// Only the domains go to the tunnel's servers; each is a search domain, which
    /// systemd-resolved also uses as a routing domain. See [`DnsMode::SplitRoutingOnly`].
    Split,
    /// Only the domains go to the tunnel's servers, as routing-only domains
    /// (`~corp.example`): single-label names are not completed with them.
    SplitRoutingOnly,
}

impl DnsMode {
    /// Whether every query (not only the tunnel's domains) goes to the tunnel.
    pub fn is_full_tunnel(self) -> bool {
        self == Self::FullTunnel
    }
}

/// Which mechanism [`crate::Platform::apply_dns`] used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsBackend {
    /// systemd-resolved, configured on the tunnel link.
    Resolved {
        /// Interface index of the link.
        ifindex: u32,
    },
    /// The `resolv.conf`-format file at `path` was replaced.
    ResolvConf {
        /// The file replaced.
        path: PathBuf,
    },
    /// Windows: the servers set on the tunnel interface, and an NRPT rule sending
    /// `namespaces` (`.corp.example`, or `.` for every name) to them.
    Windows {
        /// The tunnel interface.
        interface: String,
        /// The NRPT rule's namespaces; empty when no rule was needed.
        namespaces: Vec<String>,
    },
    /// macOS: a service's DNS entity in the SystemConfiguration dynamic store.
    DynamicStore {
        /// The key written (`State:/Network/Service/<id>/DNS`).
        key: String,
        /// Our own service with supplemental match domains (split DNS), or the
        /// primary service's DNS taken over (every name).
        split: bool,
    },
}

/// Checks that `domain` is a DNS name that fits a `resolv.conf` search line and a
/// systemd-resolved domain list: letters, digits, `-`, `_` and `.`, at most 253 bytes.
pub(crate) fn check_domain(domain: &str) -> Result<()> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: "search domain",
            detail: format!("{domain:?}"),
        })
    }
}

/// The configuration's search domains as the OS DNS layers want them: each checked
/// ([`check_domain`]), without its trailing dot, in lower case (DNS names compare
/// case-insensitively, RFC 4343), each once, in the given order.
pub(crate) fn normalized_search_domains(config: &DnsConfig) -> Result<Vec<String>> {
    let mut domains: Vec<String> = Vec::new();
    for d in &config.search_domains {
        check_domain(d)?;
        let name = d.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return Err(Error::Invalid {
                what: "search domain",
                detail: format!("{d:?}"),
            });
        }
        if !domains.contains(&name) {
            domains.push(name);
        }
    }
    Ok(domains)
}

/// What was in place before the file was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Original {
    /// No file existed: restore removes ours.
    Absent,
    /// A symlink to `target`: restore recreates it.
    Symlink {
        /// Link target as read by `readlink`.
        target: PathBuf,
    },
    /// A regular file whose bytes were copied to `backup`.
    File {
        /// Backup copy under the state directory.
        backup: PathBuf,
    },
}

/// Renders `config` in `resolv.conf(5)` syntax; rejects names that would break it.
pub fn render(config: &DnsConfig) -> Result<String> {
    if config.servers.is_empty() {
        return Err(Error::Invalid {
            what: "DNS configuration",
            detail: "no name servers".into(),
        });
    }
    let mut out = String::from("# Written by Corridor while the tunnel is up; restored after.\n");
    for s in &config.servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    for d in &config.search_domains {
        check_domain(d)?;
    }
    if !config.search_domains.is_empty() {
        out.push_str(&format!("search {}\n", config.search_domains.join(" ")));
    }
    Ok(out)
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::JournalIo {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically (temporary sibling, fsync, rename, fsync dir).
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.corridor-tmp"));
    let err = io_err(path);
    let mut f = match fs::File::create(&tmp) {
        Ok(f) => f,
        // A read-only directory around a writable file: the service's sandbox
        // (systemd's ProtectSystem=strict with ReadWritePaths=/etc/resolv.conf) makes
        // /etc so. Only an in-place rewrite is possible there.
        Err(e)
            if e.raw_os_error() == Some(EROFS)
                && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) =>
        {
            return write_in_place(path, bytes).map_err(&err);
        }
        Err(e) => return Err(err(e)),
    };
    f.write_all(bytes).map_err(&err)?;
    f.sync_all().map_err(&err)?;
    drop(f);
    match fs::rename(&tmp, path) {
        Ok(()) => fs::File::open(dir).and_then(|d| d.sync_all()).map_err(&err),
        // A file that is itself a mount point (a container's or `ip netns exec`'s
        // bind-mounted /etc/resolv.conf) cannot be replaced, only rewritten in place.
        Err(e) if e.raw_os_error() == Some(EBUSY) => {
            let _ = fs::remove_file(&tmp);
            write_in_place(path, bytes).map_err(&err)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(err(e))
        }
    }
}

/// `EBUSY`, what rename(2) answers when the target is a mount point (the same number
/// on every Linux architecture).
const EBUSY: i32 = 16;
/// `EROFS`: a read-only file system (same number on every Linux architecture).
const EROFS: i32 = 30;

/// Truncates and rewrites `path` through its existing inode, then syncs it.
fn write_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Saves what is at `path` so it can be put back; the backup lands in `state_dir`.
pub(crate) fn save_original(path: &Path, state_dir: &Path) -> Result<Original> {
    let err = io_err(path);
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Original::Absent),
        Err(e) => Err(err(e)),
        Ok(m) if m.file_type().is_symlink() => Ok(Original::Symlink {
            target: fs::read_link(path).map_err(&err)?,
        }),
        Ok(_) => {
            let bytes = fs::read(path).map_err(&err)?;
            let backup = state_dir.join("resolv.conf.backup");
            atomic_write(&backup, &bytes)?;
            Ok(Original::File { backup })
        }
    }
}

/// Puts back what [`save_original`] saved. `Ok(false)` if there was nothing left to
/// do (a restore already ran).
pub(crate) fn put_back(path: &Path, original: &Original) -> Result<bool> {
    let err = io_err(path);
    match original {
        Original::Absent => match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(err(e)),
        },
        Original::Symlink { target } => {
            if fs::read_link(path).ok().as_deref() == Some(target.as_path()) {
                return Ok(false);
            }
            let dir = path.parent().unwrap_or(Path::new("."));
            let tmp = dir.join(".resolv.corridor-link");
            let _ = fs::remove_file(&tmp);
            symlink(target, &tmp).map_err(&err)?;
            fs::rename(&tmp, path).map_err(&err)?;
            Ok(true)
        }
        Original::File { backup } => match fs::read(backup) {
            Ok(bytes) => {
                atomic_write(path, &bytes)?;
                fs::remove_file(backup).map_err(&err)?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(err(e)),
        },
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "symlinks are not restored on this system",
    ))
}
