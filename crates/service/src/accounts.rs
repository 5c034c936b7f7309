//! The service's account map: a stable number for every Windows account (SID) that has
//! used the service, so that the rest of the service keys users' profiles, overlays and
//! connections by a number on every OS.
//!
//! A hash of the SID would be shorter but could collide, and a collision would hand one
//! user's profiles to another. Numbers are handed out in order instead and recorded in
//! a file before they are used; a number is never given to a second SID. A damaged
//! file stops the service rather than starting a fresh map (which would renumber
//! accounts and mix their profiles up).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The first number given to an account: far above any Unix uid a profile directory
/// copied from another machine could carry.
pub const FIRST_ACCOUNT_NUMBER: u32 = 1_000_000;

/// Why the map could not be read or extended.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The file exists but is not a map this service wrote.
    #[error("the account map {path} is damaged ({detail}); restore it from a backup")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Reading or writing the file failed.
    #[error("cannot {action} the account map {path}: {source}")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not a SID in its string form (`S-1-5-21-…`).
    #[error("{0:?} is not a security identifier")]
    NotASid(String),
    /// Every number has been handed out.
    #[error("the account map is full")]
    Full,
}

/// SIDs and their numbers, kept in one JSON file.
#[derive(Debug)]
pub struct Accounts {
    path: PathBuf,
    map: Mutex<BTreeMap<String, u32>>,
}

impl Accounts {
    /// Reads the map at `path`; a missing file is an empty map.
    ///
    /// # Errors
    /// [`AccountsError::Damaged`] for a file that does not hold a valid map (a SID
    /// that is not one, a number below [`FIRST_ACCOUNT_NUMBER`] or given twice), or
    /// [`AccountsError::Io`].
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, AccountsError> {
        let path = path.into();
        let map = match fs::read(&path) {
            Ok(bytes) => parse(&path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(AccountsError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        Ok(Self {
            path,
            map: Mutex::new(map),
        })
    }

    /// The number of `sid`, giving it the next free one (and recording that on disk
    /// before returning it) the first time.
    ///
    /// # Errors
    /// [`AccountsError::NotASid`], [`AccountsError::Full`], or the write failing (then
    /// nothing changed, on disk or in memory).
    pub fn number_of(&self, sid: &str) -> Result<u32, AccountsError> {
        if !is_sid(sid) {
            return Err(AccountsError::NotASid(sid.to_string()));
        }
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(number) = map.get(sid) {
            return Ok(*number);
        }
        let next = match map.values().max() {
            Some(max) => max.checked_add(1).ok_or(AccountsError::Full)?,
            None => FIRST_ACCOUNT_NUMBER,
        };
        let mut updated = map.clone();
        updated.insert(sid.to_string(), next);
        write_atomically(&self.path, &updated)?;
        *map = updated;
        Ok(next)
    }
}

/// Whether `s` is a SID in string form: `S-1-` then dash-separated decimal numbers
/// (MS-DTYP §2.4.2.1). Only such strings become keys, so a key is also safe in paths
/// and logs.
pub fn is_sid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("S-1-") else {
        return false;
    };
    s.len() <= 184
        && rest
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

fn parse(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, u32>, AccountsError> {
    let damaged = |detail: String| AccountsError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    let map: BTreeMap<String, u32> =
        serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
    let mut seen = std::collections::BTreeSet::new();
    for (sid, number) in &map {
        if !is_sid(sid) {
            return Err(damaged(format!("{sid:?} is not a security identifier")));
        }
        if *number < FIRST_ACCOUNT_NUMBER {
            return Err(damaged(format!(
                "{sid} has the number {number}, below {FIRST_ACCOUNT_NUMBER}"
            )));
        }
        if !seen.insert(*number) {
            return Err(damaged(format!("the number {number} is given twice")));
        }
    }
    Ok(map)
}

/// Writes the map to a temporary file beside `path`, flushes it and renames it over
/// `path`, so a crash leaves the old map or the new one, never half of one.
fn write_atomically(path: &Path, map: &BTreeMap<String, u32>) -> Result<(), AccountsError> {
    let io = |source| AccountsError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut text = serde_json::to_string_pretty(map).unwrap_or_default();
    text.push('\n');
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "S-1-5-21-3623811015-3361044348-30300820-1013";
    const BOB: &str = "S-1-5-21-3623811015-3361044348-30300820-1014";

    #[test]
    fn numbers_are_stable_across_restarts_and_never_shared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.json");
        let accounts = Accounts::open(&path).unwrap();
        let alice = accounts.number_of(ALICE).unwrap();
        let bob = accounts.number_of(BOB).unwrap();
        assert_eq!(alice, FIRST_ACCOUNT_NUMBER);
        assert_eq!(bob, FIRST_ACCOUNT_NUMBER + 1);
        assert_eq!(accounts.number_of(ALICE).unwrap(), alice);

        let reopened = Accounts::open(&path).unwrap();
        assert_eq!(reopened.number_of(BOB).unwrap(), bob);
        assert_eq!(reopened.number_of("S-1-5-18").unwrap(), bob + 1);
    }

    #[test]
    fn only_sids_get_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(dir.path().join("accounts.json")).unwrap();
        for bad in [
            "",
            "S-1-",
            "S-1-5-",
            "S-1-5-x",
            "..\\S-1-5-18",
            "S-1-5-18/..",
            "s-1-5-18",
        ] {
            assert!(
                matches!(accounts.number_of(bad), Err(AccountsError::NotASid(_))),
                "{bad:?}"
            );
        }
        assert!(!dir.path().join("accounts.json").exists());
    }

    #[test]
    fn a_damaged_map_stops_the_service_instead_of_renumbering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.json");
        for (text, why) in [
            ("{", "EOF"),
            (r#"{"not a sid": 1000000}"#, "not a security identifier"),
            (r#"{"S-1-5-18": 5}"#, "below"),
            (
                r#"{"S-1-5-18": 1000000, "S-1-5-19": 1000000}"#,
                "given twice",
            ),
        ] {
            fs::write(&path, text).unwrap();
            let err = Accounts::open(&path).unwrap_err().to_string();
            assert!(
                err.contains("damaged") && err.contains(why),
                "{text}: {err}"
            );
        }
    }
}
