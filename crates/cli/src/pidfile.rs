//! One tunnel per state directory: `corridor up` records its process id there, so that a
//! second `up` is refused (instead of undoing the first one's routes as "leftovers") and
//! `corridor down` knows whom to stop.

use std::path::{Path, PathBuf};
use std::time::Duration;
#[cfg(unix)]
use std::time::Instant;

use anyhow::anyhow;

use crate::Failure;

const FILE_NAME: &str = "corridor-up.pid";

/// The pid file of a running `corridor up`; removed when dropped.
#[derive(Debug)]
pub(crate) struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Claims `state_dir` for this process, refusing when a live `corridor up` holds it.
    /// A file left by a process that is gone is replaced.
    pub(crate) fn acquire(state_dir: &Path) -> Result<PidFile, Failure> {
        if let Some(pid) = running(state_dir) {
            return Err(Failure::Conflict(anyhow!(
                "a tunnel is already up (corridor up, pid {pid}, state in {}); stop it with \
                 `corridor down` first",
                state_dir.display()
            )));
        }
        let path = state_dir.join(FILE_NAME);
        let temp = state_dir.join(format!("{FILE_NAME}.{}", std::process::id()));
        std::fs::write(&temp, format!("{}\n", std::process::id()))
            .and_then(|()| std::fs::rename(&temp, &path))
            .map_err(|e| Failure::System(anyhow!("cannot write {}: {e}", path.display())))?;
        Ok(PidFile { path })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only our own record is removed; a failure leaves a stale file, which the next
        // `up` or `down` recognises as stale.
        if read_pid(&self.path) == Some(std::process::id()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The pid of the live `corridor up` recorded in `state_dir`, if any.
pub(crate) fn running(state_dir: &Path) -> Option<u32> {
    let pid = read_pid(&state_dir.join(FILE_NAME))?;
    (pid != std::process::id() && is_corridor(pid)).then_some(pid)
}

/// Whether `pid` is alive and runs the corridor binary (a recycled pid of some other
/// program is not ours to signal).
fn is_corridor(pid: u32) -> bool {
    let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
        return false;
    };
    comm.trim() == "corridor" && !is_zombie(pid)
}

/// Whether `pid` has exited and only waits for its parent to collect it (state `Z` in
/// `/proc/PID/stat`, the field after the parenthesised command name).
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.trim_start().chars().next()
        })
        .is_none_or(|state| state == 'Z' || state == 'X')
}

/// `corridor down`: asks the `corridor up` of `state_dir` to disconnect (SIGTERM, which
/// makes it delete the SA and restore the network) and waits until it has exited.
#[cfg(unix)]
pub(crate) fn down(state_dir: &Path, wait: Duration) -> Result<u32, Failure> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let Some(pid) = running(state_dir) else {
        return Err(Failure::Conflict(anyhow!(
            "no tunnel is up (no running corridor up recorded in {})",
            state_dir.display()
        )));
    };
    let target = Pid::from_raw(
        i32::try_from(pid).map_err(|_| Failure::System(anyhow!("impossible pid {pid}")))?,
    );
    kill(target, Signal::SIGTERM)
        .map_err(|e| Failure::System(anyhow!("cannot signal corridor up (pid {pid}): {e}")))?;
    let deadline = Instant::now() + wait;
    while is_corridor(pid) {
        if Instant::now() >= deadline {
            return Err(Failure::System(anyhow!(
                "corridor up (pid {pid}) is still running after {} s",
                wait.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(pid)
}

#[cfg(not(unix))]
pub(crate) fn down(_state_dir: &Path, _wait: Duration) -> Result<u32, Failure> {
    Err(Failure::System(anyhow!(
        "corridor down is not available on this system yet"
    )))
}
