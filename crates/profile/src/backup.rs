//! Moving profiles between machines: the export of one profile (secrets left out, so it
//! can be handed on) and the backup of all of a user's profiles (complete, with their
//! pre-shared keys, so the file is written private to the user).
//!
//! A backup is `{"format": "corridor-backup", "version": 1, "profiles": [...]}`, each
//! profile in Corridor's own format. Reading one checks every profile before any is
//! used; errors name the profile's index and the field (`profiles[2].gateway.port`).

use corridor_model::Profile;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{InputError, InputErrorKind};
use crate::validate::validate;

/// The value of `format` in a backup file.
pub const BACKUP_FORMAT: &str = "corridor-backup";
/// The backup format version this crate reads and writes.
pub const BACKUP_VERSION: u32 = 1;
/// A backup larger than this is refused unread (64 profiles of the largest size).
pub const MAX_BACKUP_BYTES: usize = 64 * 1024 * 1024;

#[derive(Serialize)]
struct BackupOut<'a> {
    format: &'static str,
    version: u32,
    profiles: &'a [Profile],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupIn {
    format: String,
    version: u32,
    profiles: Vec<Value>,
}

/// The backup file of `profiles`, complete with their pre-shared keys.
pub fn backup_json(profiles: &[Profile]) -> String {
    let out = BackupOut {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        profiles,
    };
    // Serializing profiles cannot fail: every key is a string.
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
    text.push('\n');
    text
}

/// Reads a backup file and validates every profile in it, and checks that no two share
/// an id or a name (ignoring case). `origin` names the file in errors.
///
/// # Errors
/// The first problem, naming `profiles[i]` and the field.
pub fn read_backup(origin: &str, bytes: &[u8]) -> Result<Vec<Profile>, InputError> {
    let fail = |field: String, reason: String| {
        InputError::at_field(origin, field, InputErrorKind::Invalid(reason))
    };
    if bytes.len() > MAX_BACKUP_BYTES {
        return Err(InputError::new(
            origin,
            InputErrorKind::TooLarge {
                size: bytes.len() as u64,
                limit: MAX_BACKUP_BYTES as u64,
            },
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let backup: BackupIn = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| fail(e.path().to_string(), e.inner().to_string()))?;
    if backup.format != BACKUP_FORMAT {
        return Err(fail(
            "format".into(),
            format!("expected \"{BACKUP_FORMAT}\", found \"{}\"", backup.format),
        ));
    }
    if backup.version != BACKUP_VERSION {
        return Err(InputError::at_field(
            origin,
            "version",
            InputErrorKind::UnsupportedVersion {
                found: backup.version.to_string(),
                supported: BACKUP_VERSION,
            },
        ));
    }
    let mut profiles: Vec<Profile> = Vec::with_capacity(backup.profiles.len());
    for (i, value) in backup.profiles.iter().enumerate() {
        let mut profile: Profile = serde_path_to_error::deserialize(value)
            .map_err(|e| fail(format!("profiles[{i}].{}", e.path()), e.inner().to_string()))?;
        // A backup is a file like any other: it cannot claim that a signature was
        // verified (whoever holds it could have written that in).
        profile.signed_by = None;
        validate(&format!("{origin}: profiles[{i}]"), &profile)?;
        let lower = profile.name.to_lowercase();
        if let Some(j) = profiles.iter().position(|p| p.id == profile.id) {
            return Err(fail(
                format!("profiles[{i}].id"),
                format!("{} is also the id of profiles[{j}]", profile.id),
            ));
        }
        if let Some(j) = profiles.iter().position(|p| p.name.to_lowercase() == lower) {
            return Err(fail(
                format!("profiles[{i}].name"),
                format!("\"{}\" is also the name of profiles[{j}]", profile.name),
            ));
        }
        profiles.push(profile);
    }
    Ok(profiles)
}

/// A profile as a Corridor JSON file to hand on: the pre-shared key is left out, and so
/// is the `managed` section unless `keep_managed`. Importing the file gives the same
/// profile without its secret.
pub fn to_json_export(profile: &Profile, keep_managed: bool) -> String {
    let mut out = profile.clone();
    out.auth.psk = None;
    // Only an import that verifies a signature records one.
    out.signed_by = None;
    if !keep_managed {
        out.managed = None;
    }
    crate::format::to_json(&out)
}

/// A file name for exporting `profile`: its name with anything but letters, digits,
/// `-` and `_` replaced, and `.json`.
pub fn export_file_name(profile: &Profile) -> String {
    let stem: String = profile
        .name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-');
    if stem.is_empty() {
        format!("{}.json", profile.id)
    } else {
        format!("{stem}.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_model::{AuthMethod, Managed, Secret, Uuid};

    fn psk(id: u128, name: &str) -> Profile {
        let mut p = Profile::new(
            Uuid::from_u128(id),
            name,
            "vpn.example.com",
            AuthMethod::Psk,
        );
        p.auth.psk = Some(Secret::new("a long pre-shared key"));
        p
    }

    #[test]
    fn a_backup_reads_back_complete() {
        let profiles = [psk(1, "Work"), psk(2, "Home")];
        let text = backup_json(&profiles);
        assert!(text.contains("\"format\": \"corridor-backup\""));
        assert_eq!(read_backup("b", text.as_bytes()).unwrap(), profiles);
    }

    #[test]
    fn errors_name_the_profile_and_the_field() {
        let mut value: Value =
            serde_json::from_str(&backup_json(&[psk(1, "Work"), psk(2, "Home")])).unwrap();
        value["profiles"][1]["gateway"]["port"] = Value::from("x");
        let err = read_backup("b.json", value.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.field(), Some("profiles[1].gateway.port"), "{err}");
        value["profiles"][1]["gateway"]["port"] = Value::from(500);
        value["profiles"][1]["transport"]["mtu"] = Value::from(100);
        let err = read_backup("b.json", value.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("profiles[1]"), "{err}");
        assert_eq!(err.field(), Some("transport.mtu"), "{err}");

        let dup = backup_json(&[psk(1, "Work"), psk(2, "WORK")]);
        let err = read_backup("b.json", dup.as_bytes()).unwrap_err();
        assert_eq!(err.field(), Some("profiles[1].name"), "{err}");
        let dup = backup_json(&[psk(1, "Work"), psk(1, "Home")]);
        let err = read_backup("b.json", dup.as_bytes()).unwrap_err();
        assert_eq!(err.field(), Some("profiles[1].id"), "{err}");

        let err =
            read_backup("b.json", br#"{"format":"x","version":1,"profiles":[]}"#).unwrap_err();
        assert_eq!(err.field(), Some("format"));
        let err = read_backup(
            "b.json",
            br#"{"format":"corridor-backup","version":2,"profiles":[]}"#,
        )
        .unwrap_err();
        assert_eq!(err.field(), Some("version"));
        assert!(read_backup("b.json", b"{").is_err());
    }

    #[test]
    fn an_export_has_no_secret_and_reads_back() {
        let mut p = psk(1, "Work / VPN");
        p.managed = Some(Managed::default());
        let text = to_json_export(&p, false);
        assert!(!text.contains("pre-shared"), "{text}");
        assert!(!text.contains("managed"), "{text}");
        assert!(to_json_export(&p, true).contains("\"managed\""));
        let back: Profile = serde_json::from_str(&text).unwrap();
        assert_eq!(back.auth.psk, None);
        assert_eq!(back.name, p.name);
        assert_eq!(export_file_name(&p), "Work---VPN.json");
    }
}
