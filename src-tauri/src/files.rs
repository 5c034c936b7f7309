//! Profile files handed to the app: on its command line (a file manager's "open
//! with", a file association) or by a second launch, which forwards them here and
//! quits.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tauri::AppHandle;

use crate::link::emit;
use crate::state::show_main_window;

/// The `open-file` event's payload.
#[derive(Debug, Clone, Serialize)]
struct OpenFile {
    path: String,
}

/// The existing files among `args` (the program name left out), made absolute
/// against `cwd`. Options (`--hidden`) are skipped; `file://` URLs become paths.
pub(crate) fn profile_paths(args: &[String], cwd: &Path) -> Vec<String> {
    args.iter()
        .filter(|a| !a.starts_with('-') && !a.is_empty())
        .map(|a| {
            let text = a.strip_prefix("file://").unwrap_or(a);
            let path = PathBuf::from(percent_decode(text));
            if path.is_absolute() {
                path
            } else {
                cwd.join(path)
            }
        })
        .filter(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// `%20` and friends in a `file://` URL.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A second launch: show the window and hand its files to the page.
pub(crate) fn second_instance(app: &AppHandle, argv: &[String], cwd: &str) {
    let files = profile_paths(argv.get(1..).unwrap_or_default(), Path::new(cwd));
    tracing::info!("a second launch asked to open {} file(s)", files.len());
    show_main_window(app);
    for path in files {
        emit(app, "open-file", &OpenFile { path });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_existing_files_made_absolute() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("work.sswan"), b"{}").unwrap();
        std::fs::write(dir.path().join("my profile.corridor"), b"{}").unwrap();
        let args = vec![
            "--hidden".to_string(),
            "work.sswan".to_string(),
            "missing.sswan".to_string(),
            format!("file://{}/my%20profile.corridor", dir.path().display()),
        ];
        let paths = profile_paths(&args, dir.path());
        assert_eq!(
            paths,
            vec![
                dir.path().join("work.sswan").display().to_string(),
                dir.path().join("my profile.corridor").display().to_string(),
            ]
        );
    }

    #[test]
    fn directories_are_no_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let args = vec![dir.path().display().to_string()];
        assert!(profile_paths(&args, dir.path()).is_empty());
    }
}
