//! DNS by replacing a `resolv.conf`-format file, with a durable backup.
//!
//! This is the fallback for hosts without systemd-resolved. The path is a parameter
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
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !ok {
            return Err(Error::Invalid {
                what: "search domain",
                detail: format!("{d:?}"),
            });
        }
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
    let mut f = fs::File::create(&tmp).map_err(&err)?;
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
