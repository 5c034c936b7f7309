//! Crash-safe record of every change made to the host's network state.
//!
//! Each change is recorded *before* it is made, so a crash (even `kill -9`) between
//! the record and the change leaves at worst an entry whose undo finds nothing to do.
//! Undo steps are therefore idempotent. The file is JSON lines, rewritten whole to a
//! temporary file, fsync'd and renamed over the old one, and the directory fsync'd:
//! a reader sees either the old or the new journal, never a torn line.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dns::Original;
use crate::error::{Error, Result};
use crate::types::{IpNet, Route};

const FILE_NAME: &str = "network-journal.jsonl";
const TMP_NAME: &str = "network-journal.jsonl.tmp";

/// One change to undo on restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A TUN interface was created; undo deletes the link (its addresses and routes
    /// go with it).
    TunCreated {
        /// Interface name.
        name: String,
    },
    /// An address was assigned to an interface; undo removes it.
    AddressAdded {
        /// Interface name.
        device: String,
        /// The address and prefix.
        net: IpNet,
    },
    /// A `resolv.conf`-format file was replaced; undo puts the original back.
    ResolvConfReplaced {
        /// The file replaced.
        path: PathBuf,
        /// What was there before.
        original: Original,
    },
    /// DNS was configured on a link through systemd-resolved; undo is `RevertLink`,
    /// skipped when the link is gone (resolved drops its settings with it) or the
    /// index now names another link.
    ResolvedLink {
        /// Interface index the settings were made on.
        ifindex: u32,
        /// Interface name, to tell a reused index from the original link.
        ifname: String,
    },
    /// A route was added; undo deletes it.
    RouteAdded {
        /// The route as added.
        route: Route,
    },
    /// A Windows NRPT rule (split DNS) was written; undo deletes its registry key.
    NrptRule {
        /// The rule's key under the NRPT key (see `nrpt::NRPT_KEY`).
        key: String,
    },
    /// A macOS SystemConfiguration dynamic-store key (a service's DNS entity) was
    /// written; undo puts `original` back, or removes the key when there was none. A
    /// value that no longer carries our mark (see `dynstore.rs`) is left as it is.
    DynamicStoreKey {
        /// The key, e.g. `State:/Network/Service/corridor-utun4/DNS`.
        key: String,
        /// The dictionary the key held before, as JSON.
        original: Option<serde_json::Value>,
    },
    /// The kill switch's rules were loaded into a pf anchor on macOS. Recorded before
    /// loading, with no token; recorded again with the token once `pfctl -E` has
    /// enabled pf holding a reference. pf keeps both when the process dies, so undo
    /// flushes the anchor's rules and, given a token, releases that reference.
    PfAnchor {
        /// The anchor's path (`com.apple/corridor`).
        anchor: String,
        /// The enable reference `pfctl -E` returned, if it had answered yet.
        token: Option<String>,
    },
}

/// The on-disk journal plus its in-memory copy.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    entries: Vec<Change>,
}

impl Journal {
    /// Opens (creating `state_dir` if needed) and reads any journal left by an earlier run.
    pub fn open(state_dir: &Path) -> Result<Self> {
        fs::create_dir_all(state_dir).map_err(|source| Error::JournalIo {
            path: state_dir.to_path_buf(),
            source,
        })?;
        let path = state_dir.join(FILE_NAME);
        let entries = match fs::read_to_string(&path) {
            Ok(text) => parse(&path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(Error::JournalIo { path, source }),
        };
        Ok(Self {
            dir: state_dir.to_path_buf(),
            entries,
        })
    }

    /// The state directory holding the journal (and backups).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the journal file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Changes recorded and not yet undone, oldest first.
    pub fn entries(&self) -> &[Change] {
        &self.entries
    }

    /// Durably appends `change`; returns only once it is on disk.
    pub fn record(&mut self, change: Change) -> Result<()> {
        self.entries.push(change);
        if let Err(e) = self.persist() {
            self.entries.pop();
            return Err(e);
        }
        Ok(())
    }

    /// Durably drops the entry equal to `change` (the newest such), after its undo.
    pub fn forget(&mut self, change: &Change) -> Result<()> {
        if let Some(i) = self.entries.iter().rposition(|c| c == change) {
            self.entries.remove(i);
            self.persist()?;
        }
        Ok(())
    }

    /// Removes the newest entry and returns it, durably.
    pub(crate) fn pop(&mut self) -> Result<Option<Change>> {
        let last = self.entries.pop();
        if last.is_some() {
            self.persist()?;
        }
        Ok(last)
    }

    fn persist(&self) -> Result<()> {
        let path = self.path();
        let io = |source| Error::JournalIo {
            path: path.clone(),
            source,
        };
        if self.entries.is_empty() {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io(e)),
            }
            return sync_dir(&self.dir).map_err(io);
        }
        let mut text = String::new();
        for entry in &self.entries {
            let line = serde_json::to_string(entry)
                .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
            text.push_str(&line);
            text.push('\n');
        }
        let tmp = self.dir.join(TMP_NAME);
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        fs::rename(&tmp, &path).map_err(io)?;
        sync_dir(&self.dir).map_err(io)
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<Change>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::JournalCorrupt {
                path: path.to_path_buf(),
                line: i + 1,
                detail: e.to_string(),
            })
        })
        .collect()
}

/// Makes a rename or removal inside `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn route() -> Route {
        Route::via_device(
            IpNet::new("198.19.0.0".parse().unwrap(), 16).unwrap(),
            "corridor0",
        )
    }

    #[test]
    fn survives_reopen_and_empties_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        j.record(Change::TunCreated {
            name: "corridor0".into(),
        })
        .unwrap();
        j.record(Change::RouteAdded { route: route() }).unwrap();
        let text = fs::read_to_string(j.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with(r#"{"change":"tun_created","name":"corridor0"}"#));

        let mut again = Journal::open(dir.path()).unwrap();
        assert_eq!(again.entries(), j.entries());
        again
            .forget(&Change::RouteAdded { route: route() })
            .unwrap();
        assert_eq!(
            again.pop().unwrap(),
            Some(Change::TunCreated {
                name: "corridor0".into()
            })
        );
        assert!(!again.path().exists());
        assert!(!dir.path().join(TMP_NAME).exists());
    }

    #[test]
    fn pf_anchor_entries_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let loaded = Change::PfAnchor {
            anchor: "com.apple/corridor".into(),
            token: None,
        };
        let enabled = Change::PfAnchor {
            anchor: "com.apple/corridor".into(),
            token: Some("8345372914573".into()),
        };
        j.record(loaded.clone()).unwrap();
        j.record(enabled.clone()).unwrap();
        let text = fs::read_to_string(j.path()).unwrap();
        assert!(text.contains(
            r#"{"change":"pf_anchor","anchor":"com.apple/corridor","token":"8345372914573"}"#
        ));
        assert_eq!(
            Journal::open(dir.path()).unwrap().entries(),
            &[loaded, enabled]
        );
    }

    #[test]
    fn corrupt_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(FILE_NAME),
            "{\"change\":\"tun_created\",\"name\":\"x\"}\n{\"change\":\"bogus\"}\n",
        )
        .unwrap();
        match Journal::open(dir.path()) {
            Err(Error::JournalCorrupt { line, .. }) => assert_eq!(line, 2),
            other => panic!("unexpected {other:?}"),
        }
    }
}
