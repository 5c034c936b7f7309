//! One tunnel per state directory: `corridor up` holds a lock there for as long as it
//! runs and records its process id beside it, so that a second `up` is refused (instead
//! of undoing the first one's routes as "leftovers") and `corridor down` knows whom to
//! stop.
//!
//! Liveness is the lock, not the process table: the OS releases it when the process
//! ends however it ends (kill -9 included), it cannot be confused with a recycled
//! process id, and it works the same on every OS (no `/proc` on macOS or Windows). The
//! pid lives in a file of its own because Windows locks are mandatory: a locked file
//! cannot be read by anyone else.
//!
//! Stopping: on Unix `down` sends SIGTERM. Windows has no signal a console program can
//! send to another console's process, so there `down` leaves a stop request file that
//! the running `up` watches for ([`stop_requested`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::anyhow;

use crate::Failure;

const LOCK_FILE: &str = "corridor-up.lock";
const PID_FILE: &str = "corridor-up.pid";
/// Written by `corridor down` on Windows; removed by the `up` that obeys it.
const STOP_FILE: &str = "corridor-up.stop";
/// How often a waiting `down`, and `up` on Windows, look again.
const POLL: Duration = Duration::from_millis(100);

/// The claim of a running `corridor up` on its state directory: the lock is held (and
/// the pid file kept) until it is dropped or the process ends.
#[derive(Debug)]
pub(crate) struct PidFile {
    /// Holds the lock; closing it releases the lock.
    lock: File,
    pid_path: PathBuf,
}

impl PidFile {
    /// Claims `state_dir` for this process, refusing when a live `corridor up` holds it.
    /// What a process that is gone left behind is replaced.
    pub(crate) fn acquire(state_dir: &Path) -> Result<PidFile, Failure> {
        let lock_path = state_dir.join(LOCK_FILE);
        let lock = open_lock(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_pid(&state_dir.join(PID_FILE))
                    .map(|pid| format!("pid {pid}, "))
                    .unwrap_or_default();
                return Err(Failure::Conflict(anyhow!(
                    "a tunnel is already up (corridor up, {holder}state in {}); stop it with \
                     `corridor down` first",
                    state_dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Failure::System(anyhow!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )));
            }
        }
        // A stop request nobody obeyed (its `up` ended first) must not stop this one.
        let _ = std::fs::remove_file(state_dir.join(STOP_FILE));
        let pid_path = state_dir.join(PID_FILE);
        let temp = state_dir.join(format!("{PID_FILE}.{}", std::process::id()));
        std::fs::write(&temp, format!("{}\n", std::process::id()))
            .and_then(|()| std::fs::rename(&temp, &pid_path))
            .map_err(|e| Failure::System(anyhow!("cannot write {}: {e}", pid_path.display())))?;
        Ok(PidFile { lock, pid_path })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Still holding the lock, so no other `up` has written its pid yet. A failure
        // leaves a stale pid file, which nobody believes without the lock.
        let _ = std::fs::remove_file(&self.pid_path);
        let _ = self.lock.unlock();
    }
}

fn open_lock(path: &Path) -> Result<File, Failure> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Failure::System(anyhow!("cannot open {}: {e}", path.display())))
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether a `corridor up` holds `state_dir` now. `None` when that cannot be told (the
/// directory is unreadable): callers treat it as "not running" and say so elsewhere.
fn is_held(state_dir: &Path) -> Option<bool> {
    let path = state_dir.join(LOCK_FILE);
    let file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(false),
        Err(_) => return None,
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Some(false)
        }
        Err(TryLockError::WouldBlock) => Some(true),
        Err(TryLockError::Error(_)) => None,
    }
}

/// The pid of the live `corridor up` recorded in `state_dir`, if any (0 when one holds
/// the lock but its pid file is not written yet).
pub(crate) fn running(state_dir: &Path) -> Option<u32> {
    is_held(state_dir)?
        .then(|| read_pid(&state_dir.join(PID_FILE)).unwrap_or(0))
        .filter(|pid| *pid != std::process::id())
}

/// `corridor down`: asks the `corridor up` of `state_dir` to disconnect (it then
/// deletes the SA and restores the network) and waits until it has exited.
pub(crate) fn down(state_dir: &Path, wait: Duration) -> Result<u32, Failure> {
    let Some(pid) = running(state_dir) else {
        return Err(Failure::Conflict(anyhow!(
            "no tunnel is up (no running corridor up recorded in {})",
            state_dir.display()
        )));
    };
    ask_to_stop(state_dir, pid)?;
    let deadline = Instant::now() + wait;
    while is_held(state_dir) == Some(true) {
        if Instant::now() >= deadline {
            return Err(Failure::System(anyhow!(
                "corridor up (pid {pid}) is still running after {} s",
                wait.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
    Ok(pid)
}

/// SIGTERM, which `up` answers like Ctrl-C.
#[cfg(unix)]
fn ask_to_stop(_state_dir: &Path, pid: u32) -> Result<(), Failure> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let target = i32::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Failure::System(anyhow!("corridor up has not recorded its pid yet")))?;
    kill(Pid::from_raw(target), Signal::SIGTERM)
        .map_err(|e| Failure::System(anyhow!("cannot signal corridor up (pid {pid}): {e}")))
}

/// A stop request file in the state directory (writable by administrators only, like
/// the rest of it), which the running `up` polls for.
#[cfg(not(unix))]
fn ask_to_stop(state_dir: &Path, pid: u32) -> Result<(), Failure> {
    let path = state_dir.join(STOP_FILE);
    std::fs::write(&path, format!("{pid}\n")).map_err(|e| {
        Failure::System(anyhow!(
            "cannot ask corridor up (pid {pid}) to stop: {}: {e}",
            path.display()
        ))
    })
}

/// Resolves when `corridor down` has left a stop request in `state_dir` (consuming
/// it). Used where there are no signals to send (Windows); built and tested everywhere.
#[cfg_attr(unix, allow(dead_code))]
pub(crate) async fn stop_requested(state_dir: PathBuf) {
    let path = state_dir.join(STOP_FILE);
    let mut tick = tokio::time::interval(POLL);
    loop {
        tick.tick().await;
        if std::fs::remove_file(&path).is_ok() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_lock_is_what_makes_a_tunnel_running() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running(dir.path()), None, "nothing there yet");
        // A pid file without the lock (left by a process that was killed) is stale.
        std::fs::write(dir.path().join(PID_FILE), "4242\n").unwrap();
        assert_eq!(running(dir.path()), None);

        let held = PidFile::acquire(dir.path()).unwrap();
        assert_eq!(
            read_pid(&dir.path().join(PID_FILE)),
            Some(std::process::id())
        );
        // Our own claim is not "another tunnel".
        assert_eq!(running(dir.path()), None);
        assert_eq!(is_held(dir.path()), Some(true));
        drop(held);
        assert_eq!(is_held(dir.path()), Some(false));
        assert!(
            !dir.path().join(PID_FILE).exists(),
            "the pid file goes with the claim"
        );
    }

    #[test]
    fn a_second_claim_is_refused_while_the_first_holds() {
        let dir = tempfile::tempdir().unwrap();
        let _first = PidFile::acquire(dir.path()).unwrap();
        // Another open file description of the same lock file: the lock is per open
        // file, so this is what a second process sees.
        let err = PidFile::acquire(dir.path()).unwrap_err();
        assert!(matches!(err, Failure::Conflict(_)), "{err:?}");
        let message = err.error().to_string();
        assert!(message.contains("already up"), "{message}");
        assert!(
            message.contains(&std::process::id().to_string()),
            "{message}"
        );
    }

    #[test]
    fn a_stale_stop_request_is_dropped_when_a_tunnel_starts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STOP_FILE), "1\n").unwrap();
        let _held = PidFile::acquire(dir.path()).unwrap();
        assert!(!dir.path().join(STOP_FILE).exists());
    }

    #[tokio::test]
    async fn a_stop_request_is_seen_and_consumed() {
        let dir = tempfile::tempdir().unwrap();
        let watcher = tokio::spawn(stop_requested(dir.path().to_path_buf()));
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(!watcher.is_finished());
        std::fs::write(dir.path().join(STOP_FILE), "1\n").unwrap();
        tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .unwrap()
            .unwrap();
        assert!(!dir.path().join(STOP_FILE).exists());
    }
}
