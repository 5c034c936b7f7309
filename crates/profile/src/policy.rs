//! The policy file: where the administrator's [`Policy`] lives and how it is read and
//! written.
//!
//! The file is JSON (the serde form of [`Policy`]); a missing file is the default policy,
//! so a fresh install behaves as before policies existed. Writes are atomic (temporary
//! file in the same directory, fsync, rename) so a crash never leaves half a policy, and
//! the file is world-readable (0644): it holds public keys and switches, no secret.

use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

pub use corridor_model::{Policy, TrustedSigner};

use crate::error::{InputError, InputErrorKind};
use crate::input::MAX_PROFILE_BYTES;

/// Where the service reads the policy by default.
#[cfg(target_os = "macos")]
pub const DEFAULT_POLICY_PATH: &str = "/Library/Application Support/Corridor/policy.json";
/// Where the service reads the policy by default.
#[cfg(windows)]
pub const DEFAULT_POLICY_PATH: &str = r"C:\ProgramData\Corridor\policy.json";
/// Where the service reads the policy by default.
#[cfg(not(any(target_os = "macos", windows)))]
pub const DEFAULT_POLICY_PATH: &str = "/etc/corridor/policy.json";

/// Reading and writing a [`Policy`] file.
pub trait PolicyFile: Sized {
    /// Reads the policy at `path`; a missing file is the default policy.
    ///
    /// # Errors
    /// The file cannot be read, is not JSON, or has a wrong or unknown field (the error
    /// names the file and the field).
    fn load(path: &Path) -> Result<Self, InputError>;

    /// Writes the policy to `path` atomically, mode 0644, creating the directory.
    ///
    /// # Errors
    /// A file system operation failed.
    fn save(&self, path: &Path) -> io::Result<()>;
}

impl PolicyFile for Policy {
    fn load(path: &Path) -> Result<Self, InputError> {
        let origin = path.display().to_string();
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Policy::default()),
            Err(e) => return Err(InputError::new(origin, InputErrorKind::Read(e))),
        };
        if bytes.len() as u64 > MAX_PROFILE_BYTES {
            return Err(InputError::new(
                origin,
                InputErrorKind::TooLarge {
                    size: bytes.len() as u64,
                    limit: MAX_PROFILE_BYTES,
                },
            ));
        }
        from_json(&origin, &bytes)
    }

    fn save(&self, path: &Path) -> io::Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)?;
        let mut text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        text.push('\n');
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(text.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o644))?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        // Best effort: not every file system can fsync a directory.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Parses policy JSON, naming the field of the first problem.
pub(crate) fn from_json(origin: &str, bytes: &[u8]) -> Result<Policy, InputError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        InputError::at_field(origin, path, InputErrorKind::Invalid(inner.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_default_and_save_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/policy.json");
        assert_eq!(Policy::load(&path).unwrap(), Policy::default());
        let policy = Policy {
            allow_unsigned_imports: false,
            trusted_signers: vec![TrustedSigner {
                name: "IT".into(),
                public_key: corridor_model::Base64Bytes(vec![1, 2, 3]),
            }],
            allow_legacy_crypto: true,
        };
        policy.save(&path).unwrap();
        assert_eq!(Policy::load(&path).unwrap(), policy);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[test]
    fn a_bad_file_names_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        fs::write(
            &path,
            r#"{"trusted_signers":[{"name":"IT","public_key":"%%"}]}"#,
        )
        .unwrap();
        let err = Policy::load(&path).unwrap_err();
        assert_eq!(err.field(), Some("trusted_signers[0].public_key"));
        assert!(err.to_string().starts_with(&path.display().to_string()));
        fs::write(&path, r#"{"allow_legacy_crypto":"yes"}"#).unwrap();
        let err = Policy::load(&path).unwrap_err();
        assert_eq!(err.field(), Some("allow_legacy_crypto"));
    }
}
