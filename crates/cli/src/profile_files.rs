//! What `corridor profile set`, `export`, `backup` and `restore` share between the
//! service and a local store: reading `PATH=VALUE` changes, and writing the files they
//! produce without clobbering one by accident.

use std::io::Write as _;
use std::path::Path;

use anyhow::anyhow;
use serde_json::Value;

use crate::Failure;

/// The merge patch of `PATH=VALUE` assignments: VALUE is JSON when it parses as JSON
/// (`4500`, `true`, `null`, `["a","b"]`), else the text itself (`alice`).
pub(crate) fn patch(assignments: &[String]) -> Result<Value, Failure> {
    let mut parsed = Vec::with_capacity(assignments.len());
    for assignment in assignments {
        let Some((path, value)) = assignment.split_once('=') else {
            return Err(Failure::BadInput(anyhow!(
                "{assignment}: expected PATH=VALUE, such as auth.eap_identity=alice"
            )));
        };
        let path = path.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(Failure::BadInput(anyhow!(
                "{assignment}: \"{path}\" is not a field path such as gateway.port"
            )));
        }
        let value = serde_json::from_str::<Value>(value)
            .unwrap_or_else(|_| Value::String(value.to_string()));
        parsed.push((path, value));
    }
    Ok(corridor_profile::patch_from_assignments(parsed))
}

/// What `set` prints: the fields that changed, one a line.
pub(crate) fn changed_text(name: &str, changed: &[String]) -> String {
    if changed.is_empty() {
        return format!("\"{name}\": nothing changed");
    }
    let mut text = format!("changed \"{name}\":");
    for path in changed {
        text.push_str("\n  ");
        text.push_str(path);
    }
    text
}

/// Writes `contents` to `path`, refusing to replace an existing file unless `force`.
/// A `private` file (a backup with pre-shared keys) is readable by its owner only
/// (0600), also when it replaces an existing file. On Windows it takes the ACL of its
/// folder (a user's own folders are private to them); docs/platforms.md notes this.
pub(crate) fn write_file(
    path: &Path,
    contents: &[u8],
    force: bool,
    private: bool,
) -> Result<(), Failure> {
    if !force && path.exists() {
        return Err(Failure::Conflict(anyhow!(
            "{} exists; use --force to overwrite it",
            path.display()
        )));
    }
    let fail = |e: std::io::Error| Failure::System(anyhow!("cannot write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = if private {
        corridor_platform::private_file::open_private(&mut options, path)
    } else {
        options.open(path)
    }
    .map_err(fail)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(fail)
}

/// Writes an exported profile to `output`, or to standard output without one.
pub(crate) fn write_export(
    output: Option<&Path>,
    contents: &[u8],
    force: bool,
) -> Result<(), Failure> {
    match output {
        Some(path) => {
            write_file(path, contents, force, false)?;
            eprintln!("wrote {} (without secrets)", path.display());
            Ok(())
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(contents)
                .and_then(|()| out.flush())
                .map_err(|e| Failure::System(anyhow!("cannot write to standard output: {e}")))
        }
    }
}

/// Reads a backup file to restore.
pub(crate) fn read_backup_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::System(anyhow!("cannot read {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_json_when_they_parse_and_text_otherwise() {
        let args: Vec<String> = [
            "auth.eap_identity=alice",
            "gateway.port=4500",
            "dns.servers=[\"10.0.0.53\"]",
            "gateway.identity=null",
            "name=a=b",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        let Ok(patch) = patch(&args) else {
            panic!("the assignments are valid")
        };
        assert_eq!(
            patch,
            json!({
                "auth": {"eap_identity": "alice"},
                "gateway": {"port": 4500, "identity": null},
                "dns": {"servers": ["10.0.0.53"]},
                "name": "a=b",
            })
        );
        assert!(patch_err("gateway.port"));
        assert!(patch_err("=x"));
        assert!(patch_err("gateway..port=1"));
    }

    fn patch_err(arg: &str) -> bool {
        matches!(patch(&[arg.to_string()]), Err(Failure::BadInput(_)))
    }
}
