//! Changing profiles through the service: edits (a JSON merge patch, checked against the
//! field locks of managed profiles before anything is written), exports without
//! secrets, and the backup and restore of a user's own profiles.
//!
//! A member's change to an unlocked field of a managed profile (their user name, say) is
//! kept for them alone, as an overlay in `<users>/<uid>/overrides/<id>.json`: the merge
//! patch from IT's profile to theirs. It is applied whenever they list, show or connect
//! the profile; a field IT locks later is taken from IT's profile again.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use corridor_ipc::{ErrorCode, ErrorReply, ProfileSummary};
use corridor_model::{Profile, Uuid};
use corridor_profile::{
    SaveMode, StoreError, apply_edit, changed_paths, export_file_name, merge_patch, patch_for,
    read_backup, to_json_export,
};
use serde_json::Value;

use crate::authz::{Action, EditTarget, Owner, authorize, authorize_edit, effective_locks};
use crate::caller::Caller;
use crate::profiles::{Profiles, file_reference, reply, store_error, summary};

fn to_value(profile: &Profile) -> Value {
    // Serializing a profile cannot fail: every key is a string.
    serde_json::to_value(profile).unwrap_or(Value::Null)
}

impl Profiles {
    fn overlay_path(&self, uid: u32, id: Uuid) -> PathBuf {
        self.users_dir
            .join(uid.to_string())
            .join("overrides")
            .join(format!("{id}.json"))
    }

    /// The managed profile `base` with the caller's overlay applied, if they have one.
    /// An overlay that no longer applies (IT changed the profile so that it is invalid)
    /// is logged and ignored.
    pub(crate) fn with_overlay(&self, caller: &Caller, base: &Profile) -> Profile {
        let path = self.overlay_path(caller.uid, base.id);
        let Ok(bytes) = fs::read(&path) else {
            return base.clone();
        };
        match apply_overlay(caller, base, &bytes) {
            Ok(profile) => profile,
            Err(why) => {
                tracing::warn!(uid = caller.uid, id = %base.id, %why, "ignoring a user's changes to a managed profile");
                base.clone()
            }
        }
    }

    /// The managed profile the caller renamed to `query` (exactly, else ignoring case
    /// when that is unique), as its file holds it.
    pub(crate) fn find_renamed(
        &self,
        caller: &Caller,
        managed: &corridor_profile::Store,
        query: &str,
    ) -> Result<Option<corridor_profile::StoredProfile>, ErrorReply> {
        let overrides = self
            .users_dir
            .join(caller.uid.to_string())
            .join("overrides");
        if !overrides.is_dir() {
            return Ok(None);
        }
        let listing = managed.list().map_err(|e| store_error(&e))?;
        let renamed: Vec<(String, corridor_profile::StoredProfile)> = listing
            .profiles
            .into_iter()
            .filter(|s| self.overlay_path(caller.uid, s.profile.id).exists())
            .map(|s| (self.with_overlay(caller, &s.profile).name, s))
            .filter(|(name, s)| *name != s.profile.name)
            .collect();
        if let Some((_, found)) = renamed.iter().find(|(name, _)| name == query) {
            return Ok(Some(found.clone()));
        }
        let lower = query.to_lowercase();
        let folded: Vec<_> = renamed
            .iter()
            .filter(|(name, _)| name.to_lowercase() == lower)
            .collect();
        Ok(match folded.as_slice() {
            [(_, found)] => Some(found.clone()),
            _ => None,
        })
    }

    /// Changes `query` with the JSON merge patch `changes` and returns the profile and the
    /// leaf fields that changed.
    ///
    /// A member's own profile is changed in place; a managed profile is changed in its
    /// file by an administrator, and for a member only in their overlay, and only when
    /// no field they change is locked.
    ///
    /// # Errors
    /// `Unauthorized` naming the first locked field, `InvalidProfile` naming the field
    /// the change makes invalid, `Conflict` for a name another profile has; nothing is
    /// written then.
    pub fn edit(
        &self,
        caller: &Caller,
        query: &str,
        changes: &Value,
    ) -> Result<(ProfileSummary, Vec<String>), ErrorReply> {
        let (base, owner) = self.find_base(caller, query)?;
        authorize(caller, Action::ReadProfile(owner))?;
        let current = if owner == Owner::Managed {
            self.with_overlay(caller, &base.profile)
        } else {
            base.profile.clone()
        };
        // Locks are checked on the change as asked, before it is even read as a profile,
        // so a locked field is refused whatever value it is given.
        let before = to_value(&current);
        let mut raw = before.clone();
        merge_patch(&mut raw, changes);
        let asked = changed_paths(&before, &raw);
        let locks = effective_locks(caller, owner, base.profile.managed.as_ref());
        let target = authorize_edit(caller, owner, &locks, &asked)?;
        let origin = format!("profile \"{}\"", current.name);
        let edited = apply_edit(&origin, &current, changes)
            .map_err(|e| reply(ErrorCode::InvalidProfile, e.to_string()))?;
        let managed = owner == Owner::Managed;
        if !matches!(target, EditTarget::ManagedFile) {
            // An edit must not bring in what an import would refuse (legacy algorithms);
            // an administrator changing IT's file sets the policy anyway.
            self.check_policy(Owner::User(caller.uid), &edited.profile)?;
        }
        if edited.changed.is_empty() {
            return Ok((summary(&edited.profile, managed), Vec::new()));
        }
        if edited.changed.iter().any(|p| p == "name") {
            let lower = edited.profile.name.to_lowercase();
            if let Some(other) = self
                .list(caller)?
                .into_iter()
                .find(|s| s.id != current.id && s.name.to_lowercase() == lower)
            {
                return Err(reply(
                    ErrorCode::Conflict,
                    format!(
                        "another profile is named \"{}\" ({}); choose another name",
                        other.name, other.id
                    ),
                ));
            }
        }
        match target {
            EditTarget::OwnProfile => {
                self.user_store(caller.uid)?
                    .save(&edited.profile, SaveMode::Replace)
                    .map_err(|e| edit_error(&e))?;
            }
            EditTarget::ManagedFile => {
                self.managed_store()
                    .ok_or_else(|| {
                        reply(ErrorCode::Internal, "the managed profile directory is gone")
                    })?
                    .save(&edited.profile, SaveMode::Replace)
                    .map_err(|e| edit_error(&e))?;
            }
            EditTarget::UserOverlay => {
                let mine = changed_paths(&to_value(&base.profile), &to_value(&edited.profile));
                let path = self.overlay_path(caller.uid, base.profile.id);
                if mine.is_empty() {
                    remove_overlay(&path)?;
                } else {
                    let patch = patch_for(&edited.profile, &mine);
                    write_private(&path, &patch)?;
                }
            }
        }
        Ok((summary(&edited.profile, managed), edited.changed))
    }

    /// `query` as a Corridor JSON file to hand on: a file name and its contents, without
    /// the pre-shared key, and without the `managed` section unless the caller is an
    /// administrator. A managed profile is exported as the caller uses it.
    ///
    /// # Errors
    /// As [`Profiles::find`].
    pub fn export(&self, caller: &Caller, query: &str) -> Result<(String, Vec<u8>), ErrorReply> {
        let (found, owner) = self.find(caller, query)?;
        authorize(caller, Action::ReadProfile(owner))?;
        let contents = to_json_export(&found.profile, caller.is_admin());
        Ok((export_file_name(&found.profile), contents.into_bytes()))
    }

    /// A backup file of all the caller's own profiles, complete with their pre-shared
    /// keys (managed profiles are IT's and not in it), and how many it holds.
    ///
    /// # Errors
    /// The caller's store cannot be read.
    pub fn backup(&self, caller: &Caller) -> Result<(Vec<u8>, usize), ErrorReply> {
        authorize(caller, Action::Observe)?;
        let backup = self
            .user_store(caller.uid)?
            .backup()
            .map_err(|e| store_error(&e))?;
        for problem in &backup.skipped {
            tracing::warn!(%problem, uid = caller.uid, "a damaged profile is not in the backup");
        }
        Ok((backup.contents, backup.profiles.len()))
    }

    /// Restores a backup file into the caller's store, all or nothing.
    ///
    /// # Errors
    /// The backup is invalid (the message names `profiles[i]` and the field), refers to
    /// files, has a profile with a managed profile's id, or clashes with a stored profile
    /// (unless `replace`); the store is unchanged then.
    pub fn restore(
        &self,
        caller: &Caller,
        contents: &[u8],
        replace: bool,
    ) -> Result<Vec<ProfileSummary>, ErrorReply> {
        authorize(caller, Action::ImportOwn)?;
        if let Some(path) = file_reference(contents) {
            return Err(reply(
                ErrorCode::InvalidProfile,
                format!(
                    "backup: {path} refers to a file; the service takes self-contained \
                     profiles only"
                ),
            ));
        }
        let profiles = read_backup("backup", contents)
            .map_err(|e| reply(ErrorCode::InvalidProfile, e.to_string()))?;
        if let Some(managed) = self.managed_store() {
            for (i, profile) in profiles.iter().enumerate() {
                if managed.path_for(profile.id).exists() {
                    return Err(reply(
                        ErrorCode::Conflict,
                        format!(
                            "backup: profiles[{i}].id: a managed profile has the same id ({}); \
                             it takes precedence",
                            profile.id
                        ),
                    ));
                }
            }
        }
        let mode = if replace {
            SaveMode::Replace
        } else {
            SaveMode::CreateNew
        };
        let restored = self
            .user_store(caller.uid)?
            .restore(contents, mode)
            .map_err(|e| edit_error(&e))?;
        Ok(restored
            .profiles
            .iter()
            .map(|s| summary(&s.profile, false))
            .collect())
    }
}

/// Store errors of a change: an invalid profile is the caller's problem, not ours.
fn edit_error(e: &StoreError) -> ErrorReply {
    match e {
        StoreError::Invalid(_) => reply(ErrorCode::InvalidProfile, e.to_string()),
        _ => store_error(e),
    }
}

/// Applies an overlay to `base`, leaving out fields the caller may not change (IT may
/// have locked them since).
fn apply_overlay(caller: &Caller, base: &Profile, bytes: &[u8]) -> Result<Profile, String> {
    let patch: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let origin = format!("overlay of \"{}\"", base.name);
    let edited = apply_edit(&origin, base, &patch).map_err(|e| e.to_string())?;
    let locks = effective_locks(caller, Owner::Managed, base.managed.as_ref());
    let free: Vec<String> = edited
        .changed
        .iter()
        .filter(|p| {
            authorize_edit(caller, Owner::Managed, &locks, std::slice::from_ref(*p)).is_ok()
        })
        .cloned()
        .collect();
    if free.len() == edited.changed.len() {
        return Ok(edited.profile);
    }
    apply_edit(&origin, base, &patch_for(&edited.profile, &free))
        .map(|e| e.profile)
        .map_err(|e| e.to_string())
}

fn io_error(action: &str, path: &Path, e: &std::io::Error) -> ErrorReply {
    reply(
        ErrorCode::Internal,
        format!("cannot {action} {}: {e}", path.display()),
    )
}

/// Writes `value` to `path` atomically (a private temporary file in the same directory,
/// flushed, then renamed), creating the directory private to the service.
fn write_private(path: &Path, value: &Value) -> Result<(), ErrorReply> {
    let dir = path
        .parent()
        .ok_or_else(|| reply(ErrorCode::Internal, "an overlay path without a directory"))?;
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| io_error("create", dir, &e))?;
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".tmp-{name}"));
    let written = (|| {
        let mut file = fs::OpenOptions::new();
        file.write(true).create(true).truncate(true);
        let mut file = corridor_platform::private_file::open_private(&mut file, &tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    written.map_err(|e: std::io::Error| {
        let _ = fs::remove_file(&tmp);
        io_error("write", path, &e)
    })
}

fn remove_overlay(path: &Path) -> Result<(), ErrorReply> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("remove", path, &e)),
    }
}
