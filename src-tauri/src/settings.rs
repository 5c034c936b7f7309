//! The app's own settings (`settings.json` in the user's configuration directory):
//! read at start, where a missing or unreadable file means the defaults, and written
//! through a temporary file renamed into place so a crash never leaves half a file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the user chose in the settings page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Settings {
    /// Start the app (in the tray) when the user logs in.
    pub(crate) start_at_login: bool,
    /// A profile (id) to connect once the app reaches the service after starting.
    pub(crate) connect_at_start: Option<String>,
    /// The profile the tray's first item and a left click toggle (id).
    pub(crate) default_profile: Option<String>,
    /// Desktop notifications on connect, drop and reconnect.
    pub(crate) notifications: bool,
}

/// The file's name inside the configuration directory.
pub(crate) const FILE_NAME: &str = "settings.json";

impl Settings {
    /// The defaults for a new user (and for fields a file lacks): notifications on,
    /// nothing automatic.
    pub(crate) fn initial() -> Self {
        Settings {
            start_at_login: false,
            connect_at_start: None,
            default_profile: None,
            notifications: true,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::initial()
    }
}

/// Reads the settings; a missing file gives the defaults quietly, an unreadable or
/// corrupt one gives the defaults and the reason (for the log).
pub(crate) fn load(path: &Path) -> (Settings, Option<String>) {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Settings::initial(), None),
        Err(e) => {
            return (
                Settings::initial(),
                Some(format!(
                    "cannot read the settings file {}: {e}; using the defaults",
                    path.display()
                )),
            );
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(settings) => (settings, None),
        Err(e) => (
            Settings::initial(),
            Some(format!(
                "the settings file {} is not valid ({e}); using the defaults",
                path.display()
            )),
        ),
    }
}

/// Writes the settings atomically (temporary file in the same directory, then rename).
///
/// # Errors
/// The directory cannot be created or the file cannot be written, naming the path.
pub(crate) fn save(path: &Path, settings: &Settings) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(settings)
        .map_err(|e| format!("cannot encode the settings: {e}"))?;
    text.push('\n');
    write_atomically(path, text.as_bytes())
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename.
///
/// # Errors
/// The directory cannot be created or the file written, naming the path.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults_without_warning() {
        let dir = tempfile::tempdir().unwrap();
        let (settings, warning) = load(&dir.path().join(FILE_NAME));
        assert_eq!(settings, Settings::initial());
        assert!(settings.notifications);
        assert_eq!(warning, None);
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        let settings = Settings {
            start_at_login: true,
            connect_at_start: Some("0f0e0d0c-0000-4000-8000-000000000001".into()),
            default_profile: Some("0f0e0d0c-0000-4000-8000-000000000002".into()),
            notifications: false,
        };
        save(&path, &settings).unwrap();
        assert_eq!(load(&path), (settings, None));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn corrupt_file_gives_defaults_and_a_clear_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, b"{\"start_at_login\": tru").unwrap();
        let (settings, warning) = load(&path);
        assert_eq!(settings, Settings::initial());
        let warning = warning.unwrap();
        assert!(warning.contains("is not valid"), "{warning}");
        assert!(warning.contains(&path.display().to_string()), "{warning}");
        assert!(warning.ends_with("using the defaults"), "{warning}");
    }

    #[test]
    fn wrong_type_is_corrupt_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, br#"{"notifications": "yes"}"#).unwrap();
        let (settings, warning) = load(&path);
        assert_eq!(settings, Settings::initial());
        assert!(warning.is_some());
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, br#"{"start_at_login": true}"#).unwrap();
        let (settings, warning) = load(&path);
        assert_eq!(warning, None);
        assert!(settings.start_at_login);
        assert_eq!(settings.default_profile, None);
        assert!(settings.notifications);
    }

    #[test]
    fn unwritable_place_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let path = blocker.join(FILE_NAME);
        let e = save(&path, &Settings::initial()).unwrap_err();
        assert!(e.contains(&blocker.display().to_string()), "{e}");
    }
}
