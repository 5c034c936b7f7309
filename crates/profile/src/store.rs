//! The per-user profile store: one `<id>.json` file per profile in one directory.
//!
//! Writes go to a temporary file in the same directory, are flushed to disk, and are
//! renamed over the target, so a crash or a full disk leaves either the old profile or
//! the new one, never half of one. The directory is private to the user (0700 on Unix)
//! because profiles may hold a PSK and PKCS#12 containers. A damaged file is reported by
//! [`Store::list`] and does not hide the other profiles.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use corridor_model::{Profile, Uuid};

use crate::error::{InputError, InputErrorKind, StoreError};
use crate::format::to_json;
use crate::import::read_stored;
use crate::validate::validate;

/// A profile in the store and the file it is kept in.
#[derive(Debug, Clone)]
pub struct StoredProfile {
    /// The profile.
    pub profile: Profile,
    /// Its file.
    pub path: PathBuf,
}

/// Everything in the store: the readable profiles and the files that could not be read.
#[derive(Debug, Default)]
pub struct Listing {
    /// Valid profiles, sorted by name (ignoring case), then id.
    pub profiles: Vec<StoredProfile>,
    /// One error per damaged or foreign `.json` file, sorted by file name.
    pub problems: Vec<InputError>,
}

/// What to do when a profile with the same id or name is stored already.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SaveMode {
    /// Refuse with [`StoreError::DuplicateId`] or [`StoreError::DuplicateName`].
    #[default]
    CreateNew,
    /// Overwrite the profile with the same id, and remove a different profile that has
    /// the same name.
    Replace,
}

/// The outcome of [`Store::save`].
#[derive(Debug, Clone)]
pub struct Saved {
    /// The file the profile was written to.
    pub path: PathBuf,
    /// Profiles that were overwritten or removed to make room (empty for a new profile).
    pub replaced: Vec<(Uuid, String)>,
}

/// The outcome of [`Store::backup`].
#[derive(Debug)]
pub struct Backup {
    /// The backup file (see [`crate::backup_json`]); it holds pre-shared keys, so write
    /// it private to the user.
    pub contents: Vec<u8>,
    /// The profiles in it.
    pub profiles: Vec<(Uuid, String)>,
    /// Damaged files of the store, left out.
    pub skipped: Vec<InputError>,
}

/// The outcome of [`Store::restore`].
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// The profiles written, in the backup's order.
    pub profiles: Vec<StoredProfile>,
    /// Stored profiles that were overwritten or removed to make room.
    pub replaced: Vec<(Uuid, String)>,
}

/// A directory of profiles.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The default directory: `$XDG_DATA_HOME/corridor/profiles`, or
    /// `~/.local/share/corridor/profiles` when `XDG_DATA_HOME` is unset or not absolute
    /// (the XDG Base Directory specification says to ignore relative values).
    pub fn default_dir() -> Result<PathBuf, StoreError> {
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .map(|h| h.join(".local").join("share"))
            })
            .ok_or(StoreError::NoDataDir)?;
        Ok(data.join("corridor").join("profiles"))
    }

    /// Opens the store in the default directory, creating it if needed.
    pub fn open_default() -> Result<Store, StoreError> {
        Store::open(Store::default_dir()?)
    }

    /// Opens the store in `dir`, creating it (private to the user) if needed.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let dir = dir.into();
        if !dir.is_dir() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(&dir).map_err(|source| StoreError::Io {
                action: "create",
                path: dir.clone(),
                source,
            })?;
        }
        Ok(Store { dir })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a profile with this id is kept in.
    pub fn path_for(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Reads every profile. Damaged files are listed in [`Listing::problems`]; only a
    /// failure to read the directory itself is an error.
    pub fn list(&self) -> Result<Listing, StoreError> {
        let io_err = |source| StoreError::Io {
            action: "list",
            path: self.dir.clone(),
            source,
        };
        let mut listing = Listing::default();
        for entry in fs::read_dir(&self.dir).map_err(io_err)? {
            let path = entry.map_err(io_err)?.path();
            let name = path.file_name().and_then(OsStr::to_str).unwrap_or_default();
            // Temporary files of a write in progress start with a dot.
            if name.starts_with('.') || path.extension() != Some(OsStr::new("json")) {
                continue;
            }
            match read_stored(&path) {
                Ok(profile) if path.file_stem() == Some(OsStr::new(&profile.id.to_string())) => {
                    listing.profiles.push(StoredProfile { profile, path });
                }
                Ok(profile) => listing.problems.push(InputError::at_field(
                    path.display().to_string(),
                    "id",
                    InputErrorKind::Invalid(format!(
                        "{} does not match the file name; stored profiles are named <id>.json",
                        profile.id
                    )),
                )),
                Err(e) => listing.problems.push(e),
            }
        }
        listing.profiles.sort_by(|a, b| {
            (a.profile.name.to_lowercase(), a.profile.id)
                .cmp(&(b.profile.name.to_lowercase(), b.profile.id))
        });
        listing.problems.sort_by(|a, b| a.origin().cmp(b.origin()));
        Ok(listing)
    }

    /// Finds a profile by id, by exact name, or by name ignoring case when that is
    /// unique.
    pub fn get(&self, query: &str) -> Result<StoredProfile, StoreError> {
        if let Ok(id) = Uuid::parse_str(query.trim()) {
            let path = self.path_for(id);
            if !path.exists() {
                return Err(StoreError::NotFound(query.to_string()));
            }
            let profile = read_stored(&path)?;
            return Ok(StoredProfile { profile, path });
        }
        let listing = self.list()?;
        let pick = |matches: Vec<&StoredProfile>| match matches.as_slice() {
            [] => None,
            [one] => Some(Ok((*one).clone())),
            many => Some(Err(StoreError::Ambiguous {
                query: query.to_string(),
                matches: many
                    .iter()
                    .map(|s| (s.profile.id, s.profile.name.clone()))
                    .collect(),
            })),
        };
        let exact = listing
            .profiles
            .iter()
            .filter(|s| s.profile.name == query)
            .collect();
        if let Some(found) = pick(exact) {
            return found;
        }
        let lower = query.to_lowercase();
        let folded = listing
            .profiles
            .iter()
            .filter(|s| s.profile.name.to_lowercase() == lower)
            .collect();
        pick(folded).unwrap_or_else(|| Err(StoreError::NotFound(query.to_string())))
    }

    /// Whether [`Store::save`] would accept `profile` in `mode`, without writing: the
    /// same validation and the same conflicts (a profile with this id, or another with
    /// this name, for [`SaveMode::CreateNew`]).
    ///
    /// # Errors
    /// As [`Store::save`], but never a write error.
    pub fn check_save(&self, profile: &Profile, mode: SaveMode) -> Result<(), StoreError> {
        validate(&format!("profile \"{}\"", profile.name), profile)?;
        if mode != SaveMode::CreateNew {
            return Ok(());
        }
        self.refuse_clash(&self.list()?, profile)
    }

    /// The [`SaveMode::CreateNew`] rule: no stored profile (nor a damaged file) with
    /// `profile`'s id, and no other with its name, ignoring case.
    fn refuse_clash(&self, listing: &Listing, profile: &Profile) -> Result<(), StoreError> {
        if let Some(existing) = listing.profiles.iter().find(|s| s.profile.id == profile.id) {
            return Err(StoreError::DuplicateId {
                id: profile.id,
                name: existing.profile.name.clone(),
            });
        }
        if self.path_for(profile.id).exists() {
            // A damaged file holds this id; do not overwrite it silently.
            return Err(StoreError::DuplicateId {
                id: profile.id,
                name: "(unreadable file)".to_string(),
            });
        }
        let lower = profile.name.to_lowercase();
        if let Some(existing) = listing
            .profiles
            .iter()
            .find(|s| s.profile.id != profile.id && s.profile.name.to_lowercase() == lower)
        {
            return Err(StoreError::DuplicateName {
                name: existing.profile.name.clone(),
                id: existing.profile.id,
            });
        }
        Ok(())
    }

    /// Validates and writes a profile atomically. With [`SaveMode::CreateNew`] a profile
    /// with the same id or name (ignoring case) is an error and nothing is written.
    pub fn save(&self, profile: &Profile, mode: SaveMode) -> Result<Saved, StoreError> {
        self.check_save(profile, mode)?;
        let path = self.path_for(profile.id);
        let listing = self.list()?;
        let same_id = listing.profiles.iter().find(|s| s.profile.id == profile.id);
        let lower = profile.name.to_lowercase();
        let same_name: Vec<&StoredProfile> = listing
            .profiles
            .iter()
            .filter(|s| s.profile.id != profile.id && s.profile.name.to_lowercase() == lower)
            .collect();
        self.write_atomic(&path, to_json(profile).as_bytes())?;
        let mut replaced: Vec<(Uuid, String)> = same_id
            .map(|s| (s.profile.id, s.profile.name.clone()))
            .into_iter()
            .collect();
        for other in same_name {
            self.remove_file(&other.path)?;
            replaced.push((other.profile.id, other.profile.name.clone()));
        }
        Ok(Saved { path, replaced })
    }

    /// Every readable profile of the store, complete, as one backup file.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn backup(&self) -> Result<Backup, StoreError> {
        let listing = self.list()?;
        let profiles: Vec<Profile> = listing.profiles.into_iter().map(|s| s.profile).collect();
        Ok(Backup {
            contents: crate::backup::backup_json(&profiles).into_bytes(),
            profiles: profiles.iter().map(|p| (p.id, p.name.clone())).collect(),
            skipped: listing.problems,
        })
    }

    /// Restores the profiles of a backup file, all or none: every profile is read and
    /// validated, and (with [`SaveMode::CreateNew`]) checked against the stored ones for
    /// the same id or name, before anything is written; if a write fails midway, the
    /// files written so far are put back as they were. With [`SaveMode::Replace`] stored
    /// profiles with the same id are overwritten and others with the same name removed.
    ///
    /// # Errors
    /// The backup is invalid (naming `profiles[i]` and the field), clashes with a stored
    /// profile, or a write failed; the store is unchanged then.
    pub fn restore(&self, contents: &[u8], mode: SaveMode) -> Result<Restored, StoreError> {
        let profiles = crate::backup::read_backup("backup", contents)?;
        let listing = self.list()?;
        let mut removed: Vec<&StoredProfile> = Vec::new();
        let mut replaced = Vec::new();
        for profile in &profiles {
            let lower = profile.name.to_lowercase();
            let same_id = listing.profiles.iter().find(|s| s.profile.id == profile.id);
            let same_name = listing.profiles.iter().filter(|s| {
                s.profile.name.to_lowercase() == lower
                    && profiles.iter().all(|p| p.id != s.profile.id)
            });
            if mode == SaveMode::CreateNew {
                self.refuse_clash(&listing, profile)?;
            } else {
                if let Some(existing) = same_id {
                    replaced.push((existing.profile.id, existing.profile.name.clone()));
                }
                for other in same_name {
                    if !removed.iter().any(|r| r.profile.id == other.profile.id) {
                        removed.push(other);
                        replaced.push((other.profile.id, other.profile.name.clone()));
                    }
                }
            }
        }
        // What each touched file held before, to put back if a write fails.
        let mut undo: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
        let mut written = Vec::new();
        let result = (|| {
            for profile in &profiles {
                let path = self.path_for(profile.id);
                let before = fs::read(&path).ok();
                self.write_atomic(&path, to_json(profile).as_bytes())?;
                undo.push((path.clone(), before));
                written.push(StoredProfile {
                    profile: profile.clone(),
                    path,
                });
            }
            for other in &removed {
                let before = fs::read(&other.path).ok();
                self.remove_file(&other.path)?;
                undo.push((other.path.clone(), before));
            }
            Ok(())
        })();
        if let Err(e) = result {
            for (path, before) in undo.into_iter().rev() {
                // Best effort: the write that failed is what the caller reports.
                let _ = match before {
                    Some(bytes) => self.write_atomic(&path, &bytes),
                    None => self.remove_file(&path),
                };
            }
            return Err(e);
        }
        Ok(Restored {
            profiles: written,
            replaced,
        })
    }

    /// Removes a profile found as by [`Store::get`] and returns it.
    pub fn remove(&self, query: &str) -> Result<StoredProfile, StoreError> {
        let found = self.get(query)?;
        self.remove_file(&found.path)?;
        Ok(found)
    }

    fn remove_file(&self, path: &Path) -> Result<(), StoreError> {
        fs::remove_file(path).map_err(|source| StoreError::Io {
            action: "remove",
            path: path.to_path_buf(),
            source,
        })?;
        self.sync_dir();
        Ok(())
    }

    /// Writes through a temporary file in the same directory: write, fsync, rename,
    /// fsync the directory. The temporary file is created with mode 0600 and deleted if
    /// anything fails before the rename.
    fn write_atomic(&self, path: &Path, data: &[u8]) -> Result<(), StoreError> {
        let fail = |source: io::Error| StoreError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".json")
            .tempfile_in(&self.dir)
            .map_err(fail)?;
        tmp.write_all(data).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        tmp.persist(path).map_err(|e| fail(e.error))?;
        self.sync_dir();
        Ok(())
    }

    /// Flushes the directory entry after a rename or removal so that it survives a crash.
    /// Best effort: not every platform or file system can fsync a directory.
    fn sync_dir(&self) {
        #[cfg(unix)]
        if let Ok(dir) = fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
    }
}
