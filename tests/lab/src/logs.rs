//! Keeping a failed lab's logs after its directory is removed.
//!
//! Copies logs (`*.log`, `*.out`), generated configuration (`*.conf`) and the state file,
//! keeping the directory structure; never the PKI (private keys) or sockets.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

const KEPT_EXTENSIONS: &[&str] = &["log", "out", "conf", "json", "sswan"];

/// Copies the interesting files of lab directory `src` to `dest` (replacing it).
pub(crate) fn keep(src: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    copy_tree(src, dest)
}

fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    let entries = fs::read_dir(src).with_context(|| format!("reading {}", src.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", src.display()))?;
        let path = entry.path();
        let file_type = entry.file_type().context("reading a file type")?;
        if file_type.is_dir() {
            if entry.file_name() != "pki" {
                copy_tree(&path, &dest.join(entry.file_name()))?;
            }
        } else if file_type.is_file()
            && path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| KEPT_EXTENSIONS.contains(&e))
        {
            fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
            let to = dest.join(entry.file_name());
            fs::copy(&path, &to).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}
