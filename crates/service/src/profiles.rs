//! The profiles the service keeps: one store per user under the service's state
//! directory (`<state>/profiles/<uid>/`, owned by the service, never by the user) and
//! the managed store IT installs (read by the service; changed only by administrators).
//!
//! A profile with the same id in both is the managed one: the user's copy is hidden.
//! The service imports only self-contained profiles: a file reference would make the
//! service (root) read a path on the caller's behalf, which a user could aim at a file
//! they cannot read themselves. Clients embed referenced files before sending.

use std::path::{Path, PathBuf};

use corridor_ipc::{ErrorCode, ErrorReply, ImportNote, ProfileSummary};
use corridor_model::Profile;
use corridor_profile::{ImportOptions, SaveMode, Store, StoreError, StoredProfile};

use crate::authz::{Action, Owner, authorize};
use crate::caller::Caller;

/// The profile stores of the service.
#[derive(Debug, Clone)]
pub struct Profiles {
    users_dir: PathBuf,
    managed_dir: Option<PathBuf>,
}

fn reply(code: ErrorCode, message: impl Into<String>) -> ErrorReply {
    ErrorReply {
        code,
        message: message.into(),
    }
}

fn store_error(e: &StoreError) -> ErrorReply {
    let code = match e {
        StoreError::NotFound(_) => ErrorCode::NotFound,
        StoreError::Ambiguous { .. }
        | StoreError::DuplicateId { .. }
        | StoreError::DuplicateName { .. } => ErrorCode::Conflict,
        _ => ErrorCode::Internal,
    };
    reply(code, e.to_string())
}

/// The summary clients list.
pub fn summary(profile: &Profile, managed: bool) -> ProfileSummary {
    ProfileSummary {
        id: profile.id,
        name: profile.name.clone(),
        gateway: profile.gateway.host.clone(),
        auth: profile.auth.method.as_str().to_string(),
        managed,
    }
}

impl Profiles {
    /// User stores live in `users_dir/<uid>`; `managed_dir`, when given and present,
    /// holds IT's profiles.
    pub fn new(users_dir: impl Into<PathBuf>, managed_dir: Option<PathBuf>) -> Self {
        Self {
            users_dir: users_dir.into(),
            managed_dir,
        }
    }

    fn user_store(&self, uid: u32) -> Result<Store, ErrorReply> {
        Store::open(self.users_dir.join(uid.to_string())).map_err(|e| store_error(&e))
    }

    fn managed_store(&self) -> Option<Store> {
        let dir = self.managed_dir.as_deref()?;
        dir.is_dir().then(|| Store::open(dir).ok()).flatten()
    }

    /// The managed profiles and the caller's own, sorted by name; damaged files are
    /// logged and skipped.
    ///
    /// # Errors
    /// A store directory cannot be read.
    pub fn list(&self, caller: &Caller) -> Result<Vec<ProfileSummary>, ErrorReply> {
        authorize(caller, Action::Observe)?;
        let mut out: Vec<ProfileSummary> = Vec::new();
        if let Some(managed) = self.managed_store() {
            let listing = managed.list().map_err(|e| store_error(&e))?;
            for problem in &listing.problems {
                tracing::warn!(%problem, "skipping a damaged managed profile");
            }
            out.extend(listing.profiles.iter().map(|p| summary(&p.profile, true)));
        }
        let listing = self
            .user_store(caller.uid)?
            .list()
            .map_err(|e| store_error(&e))?;
        for problem in &listing.problems {
            tracing::warn!(%problem, uid = caller.uid, "skipping a damaged profile");
        }
        for p in &listing.profiles {
            if !out.iter().any(|s| s.id == p.profile.id) {
                out.push(summary(&p.profile, false));
            }
        }
        out.sort_by_key(|s| s.name.to_lowercase());
        Ok(out)
    }

    /// Finds `query` (id, name or id prefix) among the managed profiles, then the
    /// caller's own.
    ///
    /// # Errors
    /// Not found, ambiguous, or not the caller's to see.
    pub fn find(&self, caller: &Caller, query: &str) -> Result<(StoredProfile, Owner), ErrorReply> {
        if let Some(managed) = self.managed_store() {
            match managed.get(query) {
                Ok(found) => return Ok((found, Owner::Managed)),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(store_error(&e)),
            }
        }
        let found = self
            .user_store(caller.uid)?
            .get(query)
            .map_err(|e| store_error(&e))?;
        let owner = Owner::User(caller.uid);
        authorize(caller, Action::ReadProfile(owner))?;
        Ok((found, owner))
    }

    /// One profile without its secrets, and whether it is managed.
    ///
    /// # Errors
    /// As [`Profiles::find`].
    pub fn get(&self, caller: &Caller, query: &str) -> Result<(Profile, bool), ErrorReply> {
        let (found, owner) = self.find(caller, query)?;
        authorize(caller, Action::ReadProfile(owner))?;
        let mut profile = found.profile;
        profile.auth.psk = None;
        Ok((profile, owner == Owner::Managed))
    }

    /// Imports `contents` (any supported format) into the caller's store.
    ///
    /// # Errors
    /// The file references other files, is invalid (the message names the field), or
    /// clashes with a stored profile (unless `replace`); nothing is stored then.
    pub fn import(
        &self,
        caller: &Caller,
        file_name: &str,
        contents: &[u8],
        replace: bool,
    ) -> Result<(ProfileSummary, Vec<ImportNote>), ErrorReply> {
        authorize(caller, Action::ImportOwn)?;
        if let Some(path) = file_reference(contents) {
            return Err(reply(
                ErrorCode::InvalidProfile,
                format!(
                    "{file_name}: {path} refers to a file; the service takes self-contained \
                     profiles only (`corridor profile import` embeds referenced files)"
                ),
            ));
        }
        let options = ImportOptions {
            // Nothing may be resolved on the caller's behalf (see the module docs).
            base_dir: Some(PathBuf::from("/nonexistent")),
            ..ImportOptions::default()
        };
        let imported = corridor_profile::import_bytes(file_name, contents, &options)
            .map_err(|e| reply(ErrorCode::InvalidProfile, e.to_string()))?;
        if let Some(managed) = self.managed_store()
            && managed.path_for(imported.profile.id).exists()
        {
            return Err(reply(
                ErrorCode::Conflict,
                format!(
                    "{file_name}: a managed profile has the same id ({}); it takes precedence",
                    imported.profile.id
                ),
            ));
        }
        let mode = if replace {
            SaveMode::Replace
        } else {
            SaveMode::CreateNew
        };
        self.user_store(caller.uid)?
            .save(&imported.profile, mode)
            .map_err(|e| store_error(&e))?;
        let report = imported
            .report
            .entries
            .iter()
            .map(|entry| {
                let line = entry.to_string();
                ImportNote {
                    source: entry.key.clone(),
                    outcome: line,
                }
            })
            .collect();
        Ok((summary(&imported.profile, false), report))
    }

    /// Removes `query` if the caller may.
    ///
    /// # Errors
    /// As [`Profiles::find`], or the profile is managed and the caller no administrator.
    pub fn remove(&self, caller: &Caller, query: &str) -> Result<ProfileSummary, ErrorReply> {
        let (found, owner) = self.find(caller, query)?;
        authorize(caller, Action::RemoveProfile(owner))?;
        let store = match owner {
            Owner::Managed => self.managed_store().ok_or_else(|| {
                reply(ErrorCode::Internal, "the managed profile directory is gone")
            })?,
            Owner::User(uid) => self.user_store(uid)?,
        };
        let removed = store
            .remove(&found.profile.id.to_string())
            .map_err(|e| store_error(&e))?;
        Ok(summary(&removed.profile, owner == Owner::Managed))
    }

    /// The directory holding the user stores.
    pub fn users_dir(&self) -> &Path {
        &self.users_dir
    }
}

/// The JSON path of the first `"file"` key in `contents`, if it is JSON at all.
fn file_reference(contents: &[u8]) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        match value {
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k == "file" {
                    Some(here)
                } else {
                    walk(v, &here)
                }
            }),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(contents).ok()?;
    walk(&value, "")
}
