//! Finding and removing labs, including leftovers of a process that died without tearing
//! its lab down (killed test run, `kill -9` of `lab up`).
//!
//! A lab is known by its directory under [`paths::state_root`] (with a `lab.json` state
//! file) and by its namespaces, all named `<lab>-<role>`. Removing a lab stops every
//! process inside its namespaces, by pid, deletes the namespaces and then the directory.
//! Nothing outside the lab's namespaces is touched.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::naming::{self, Host};
use crate::netns;
use crate::paths;
use crate::process;

/// What `lab.json` records about a running lab.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabState {
    /// The lab's name.
    pub name: String,
    /// The process that owns (and will tear down) the lab.
    pub owner_pid: u32,
    /// The gateway scenario.
    pub scenario: String,
    /// Whether the NAT router is present.
    pub nat: bool,
    /// The lab's namespaces.
    pub namespaces: Vec<String>,
    /// When the lab was started (seconds since the Unix epoch).
    pub started: u64,
}

impl LabState {
    pub(crate) fn new(name: &str, scenario: &str, nat: bool, namespaces: Vec<String>) -> Self {
        Self {
            name: name.to_string(),
            owner_pid: std::process::id(),
            scenario: scenario.to_string(),
            nat,
            namespaces,
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    /// Writes the state file into the lab's directory.
    pub(crate) fn save(&self) -> Result<()> {
        let path = paths::lab_dir(&self.name).join("lab.json");
        let text = serde_json::to_string_pretty(self).context("encoding the lab state")?;
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// Reads lab `name`'s state file, if it has a readable one.
    pub(crate) fn load(name: &str) -> Option<Self> {
        let text = fs::read_to_string(paths::lab_dir(name).join("lab.json")).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// A lab found on this machine.
#[derive(Clone, Debug)]
pub struct LabListing {
    /// The lab's name.
    pub name: String,
    /// Its state file, if the directory still has one.
    pub state: Option<LabState>,
    /// Whether the owning process is still running.
    pub owner_alive: bool,
    /// The lab's namespaces that exist now.
    pub namespaces: Vec<String>,
    /// The lab's directory, if it exists.
    pub dir: Option<PathBuf>,
}

/// Whether a namespace name looks like one of a generated lab (`lab<pid>-<n>-<role>`).
fn is_generated_lab(lab: &str) -> bool {
    lab.strip_prefix("lab")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(pid, n)| {
            !pid.is_empty()
                && pid.chars().all(|c| c.is_ascii_digit())
                && !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
        })
}

/// Every lab with a directory under the state root, plus generated labs that left only
/// namespaces behind.
pub fn list() -> Result<Vec<LabListing>> {
    let mut labs: BTreeMap<String, LabListing> = BTreeMap::new();
    let root = paths::state_root();
    if let Ok(entries) = fs::read_dir(&root) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                labs.insert(name.clone(), listing(&name));
            }
        }
    }
    for ns in netns::list()? {
        if let Some(lab) = naming::lab_of_netns(&ns).filter(|l| is_generated_lab(l)) {
            labs.entry(lab.to_string()).or_insert_with(|| listing(lab));
        }
    }
    Ok(labs.into_values().collect())
}

fn listing(name: &str) -> LabListing {
    let state = LabState::load(name);
    let owner_alive = state
        .as_ref()
        .and_then(|s| i32::try_from(s.owner_pid).ok())
        .is_some_and(process::alive);
    let dir = paths::lab_dir(name);
    LabListing {
        name: name.to_string(),
        owner_alive,
        namespaces: namespaces_of(name, state.as_ref()),
        state,
        dir: dir.is_dir().then_some(dir),
    }
}

/// The existing namespaces of lab `name`: those in its state file and any `<name>-<role>`.
fn namespaces_of(name: &str, state: Option<&LabState>) -> Vec<String> {
    let mut names: Vec<String> = Host::ALL.iter().map(|h| h.netns(name)).collect();
    if let Some(state) = state {
        for ns in &state.namespaces {
            if !names.contains(ns) {
                names.push(ns.clone());
            }
        }
    }
    names.retain(|ns| netns::exists(ns));
    names
}

/// What [`down`] removed.
#[derive(Clone, Debug, Default)]
pub struct DownReport {
    /// Processes stopped.
    pub stopped_pids: Vec<i32>,
    /// Namespaces deleted.
    pub deleted_namespaces: Vec<String>,
    /// Whether the lab directory was removed.
    pub removed_dir: bool,
}

/// Stops the processes in the given namespaces (never this process), by pid.
pub(crate) fn stop_processes_in(namespaces: &[String]) -> Vec<i32> {
    let me = i32::try_from(std::process::id()).unwrap_or(-1);
    let mut stopped = Vec::new();
    for ns in namespaces {
        for pid in netns::pids(ns).unwrap_or_default() {
            if pid != me && !stopped.contains(&pid) {
                process::terminate(pid);
                stopped.push(pid);
            }
        }
    }
    stopped
}

/// Removes lab `name`: its processes, namespaces and directory.
pub fn down(name: &str) -> Result<DownReport> {
    naming::validate_name(name)?;
    let state = LabState::load(name);
    let namespaces = namespaces_of(name, state.as_ref());
    let mut report = DownReport {
        stopped_pids: stop_processes_in(&namespaces),
        ..DownReport::default()
    };
    for ns in namespaces.iter().rev() {
        netns::delete(ns)?;
        report.deleted_namespaces.push(ns.clone());
    }
    let dir = paths::lab_dir(name);
    if dir.is_dir() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        report.removed_dir = true;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_generated_lab_names() {
        assert!(is_generated_lab("lab123-0"));
        assert!(!is_generated_lab("lab-0"));
        assert!(!is_generated_lab("mylab"));
        assert!(!is_generated_lab("lab12-x"));
    }
}
