//! The profiles the service keeps: one store per user under the service's state
//! directory (`<state>/profiles/<uid>/`, owned by the service, never by the user) and
//! the managed store IT installs (read by the service; changed only by administrators).
//!
//! A profile with the same id in both is the managed one: the user's copy is hidden.
//! The service imports only self-contained profiles: a file reference would make the
//! service (root) read a path on the caller's behalf, which a user could aim at a file
//! they cannot read themselves. Clients embed referenced files before sending.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use corridor_ipc::{ErrorCode, ErrorReply, ImportNote, ProfileSummary};
use corridor_model::Profile;
use corridor_profile::{ImportOptions, SaveMode, Store, StoreError, StoredProfile};

use crate::authz::{Action, Owner, authorize};
use crate::caller::Caller;
use crate::policy::PolicyState;

/// Where IT installs managed profiles on this platform: a system directory that only
/// administrators can write.
#[cfg(target_os = "macos")]
pub const DEFAULT_MANAGED_DIR: &str = "/Library/Application Support/Corridor/Profiles";
/// Where IT installs managed profiles on this platform (`%ProgramData%` at its usual
/// place): a system directory that only administrators can write.
#[cfg(windows)]
pub const DEFAULT_MANAGED_DIR: &str = r"C:\ProgramData\Corridor\Profiles";
/// Where IT installs managed profiles on this platform: a system directory that only
/// administrators can write.
#[cfg(not(any(target_os = "macos", windows)))]
pub const DEFAULT_MANAGED_DIR: &str = "/etc/corridor/profiles.d";

/// The profile stores of the service.
#[derive(Debug, Clone)]
pub struct Profiles {
    pub(crate) users_dir: PathBuf,
    pub(crate) managed_dir: Option<PathBuf>,
    /// The computer's profile policy, shared with the server.
    policy: Arc<PolicyState>,
}

pub(crate) fn reply(code: ErrorCode, message: impl Into<String>) -> ErrorReply {
    ErrorReply {
        code,
        message: message.into(),
    }
}

pub(crate) fn store_error(e: &StoreError) -> ErrorReply {
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
        posture: corridor_profile::assess(profile).to_string(),
    }
}

impl Profiles {
    /// User stores live in `users_dir/<uid>`; `managed_dir`, when given and present,
    /// holds IT's profiles.
    pub fn new(users_dir: impl Into<PathBuf>, managed_dir: Option<PathBuf>) -> Self {
        Self {
            users_dir: users_dir.into(),
            managed_dir,
            policy: Arc::new(PolicyState::default()),
        }
    }

    /// The same stores under `policy` (by default: the default policy, in memory).
    #[must_use]
    pub fn with_policy(mut self, policy: Arc<PolicyState>) -> Self {
        self.policy = policy;
        self
    }

    /// The computer's profile policy.
    pub fn policy(&self) -> &PolicyState {
        &self.policy
    }

    /// The summary with the posture as the policy sees it: `legacy: modp1024 allowed by
    /// policy`, or for a user's own profile that the policy now refuses, `…; refused by
    /// this computer's policy`.
    fn summarize(&self, profile: &Profile, managed: bool) -> ProfileSummary {
        let mut out = summary(profile, managed);
        let mut posture = corridor_profile::assess(profile);
        if posture.grade == corridor_profile::Grade::Legacy {
            if self.policy.get().allow_legacy_crypto {
                posture.allowed_by_policy = true;
                out.posture = posture.to_string();
            } else if !managed {
                out.posture = format!("{posture}; refused by this computer's policy");
            }
        }
        out
    }

    /// Refuses to use a user's own profile whose algorithms the policy (perhaps tightened
    /// since the import) no longer allows. IT's managed profiles are installed by an
    /// administrator and not checked again.
    ///
    /// # Errors
    /// `InvalidProfile` naming the proposal, the algorithm and the way out.
    pub fn check_policy(&self, owner: Owner, profile: &Profile) -> Result<(), ErrorReply> {
        if owner == Owner::Managed {
            return Ok(());
        }
        let policy = self.policy.get();
        corridor_profile::enforce(&policy, &profile.name, profile)
            .map_err(|e| reply(ErrorCode::InvalidProfile, e.to_string()))?;
        // A policy that takes only signed imports also holds for profiles imported
        // before it was set, or whose signer it no longer trusts.
        let trusted = |fingerprint: &str| {
            policy
                .trusted_signers
                .iter()
                .any(|t| corridor_profile::signed::fingerprint(&t.public_key.0) == fingerprint)
        };
        if !policy.allow_unsigned_imports
            && !profile
                .signed_by
                .as_ref()
                .is_some_and(|s| trusted(&s.fingerprint))
        {
            return Err(reply(
                ErrorCode::InvalidProfile,
                format!(
                    "\"{}\" was not imported from a file signed by a key this computer trusts, \
                     and the administrator's policy now takes signed profiles only; import \
                     IT's signed copy again",
                    profile.name
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn user_store(&self, uid: u32) -> Result<Store, ErrorReply> {
        Store::open(self.users_dir.join(uid.to_string())).map_err(|e| store_error(&e))
    }

    pub(crate) fn managed_store(&self) -> Option<Store> {
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
            out.extend(
                listing
                    .profiles
                    .iter()
                    .map(|p| self.summarize(&self.with_overlay(caller, &p.profile), true)),
            );
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
                out.push(self.summarize(&p.profile, false));
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
    /// A managed profile comes with the caller's own changes to its unlocked fields
    /// applied (see [`Profiles::edit`]).
    pub fn find(&self, caller: &Caller, query: &str) -> Result<(StoredProfile, Owner), ErrorReply> {
        let (mut found, owner) = self.find_base(caller, query)?;
        if owner == Owner::Managed {
            found.profile = self.with_overlay(caller, &found.profile);
        }
        Ok((found, owner))
    }

    /// As [`Profiles::find`], but a managed profile as its file holds it.
    pub(crate) fn find_base(
        &self,
        caller: &Caller,
        query: &str,
    ) -> Result<(StoredProfile, Owner), ErrorReply> {
        if let Some(managed) = self.managed_store() {
            if let Some(found) = self.find_renamed(caller, &managed, query)? {
                return Ok((found, Owner::Managed));
            }
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
        self.get_with_locks(caller, query)
            .map(|(profile, managed, _)| (profile, managed))
    }

    /// As [`Profiles::get`], and the field locks in force for the caller.
    ///
    /// # Errors
    /// As [`Profiles::find`].
    pub fn get_with_locks(
        &self,
        caller: &Caller,
        query: &str,
    ) -> Result<(Profile, bool, Vec<String>), ErrorReply> {
        let (found, owner) = self.find(caller, query)?;
        authorize(caller, Action::ReadProfile(owner))?;
        let mut profile = found.profile;
        profile.auth.psk = None;
        let locks = crate::authz::effective_locks(caller, owner, profile.managed.as_ref());
        Ok((profile, owner == Owner::Managed, locks))
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
        self.import_checked(caller, file_name, contents, replace, false)
    }

    /// Checks `contents` exactly as [`Profiles::import`] does (format, policy, a
    /// managed profile with the same id, the caller's profiles with the same id or
    /// name) and answers the same, but saves nothing: the preview a client shows before
    /// the user confirms.
    ///
    /// # Errors
    /// As [`Profiles::import`].
    pub fn preview_import(
        &self,
        caller: &Caller,
        file_name: &str,
        contents: &[u8],
        replace: bool,
    ) -> Result<(ProfileSummary, Vec<ImportNote>), ErrorReply> {
        self.import_checked(caller, file_name, contents, replace, true)
    }

    fn import_checked(
        &self,
        caller: &Caller,
        file_name: &str,
        contents: &[u8],
        replace: bool,
        dry_run: bool,
    ) -> Result<(ProfileSummary, Vec<ImportNote>), ErrorReply> {
        authorize(caller, Action::ImportOwn)?;
        // A signed profile's file is checked as well (without its signature: that is the
        // import's job, and a reference is refused either way).
        let signed_payload = std::str::from_utf8(contents)
            .ok()
            .filter(|text| corridor_profile::is_envelope(text))
            .and_then(corridor_profile::signed::payload);
        if let Some(path) =
            file_reference(contents).or_else(|| signed_payload.as_deref().and_then(file_reference))
        {
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
            policy: self.policy.get(),
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
        let store = self.user_store(caller.uid)?;
        if dry_run {
            store.check_save(&imported.profile, mode)
        } else {
            store.save(&imported.profile, mode).map(|_| ())
        }
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
        Ok((self.summarize(&imported.profile, false), report))
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
pub(crate) fn file_reference(contents: &[u8]) -> Option<String> {
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
