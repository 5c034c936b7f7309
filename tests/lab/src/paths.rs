//! Where the lab keeps things on disk.
//!
//! - Each running lab has a private directory `$TMPDIR/corridor-lab/<name>/` holding its
//!   configuration, PKI copies, logs, pid and socket files. `lab down` finds leftovers there.
//! - The test PKI is cached under the cargo target directory (`<target>/lab-cache/`), so the
//!   slow RSA-4096 keys are made once and survive `cargo test` runs.
//! - Logs of a lab that failed (dropped while panicking) are kept under
//!   `<target>/lab-logs/<name>/`.
//!
//! The target directory is found from the running executable: cargo marks the root of
//! every target directory with a `CACHEDIR.TAG` file, and test binaries and the `lab`
//! binary both live below it.

use std::env;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The directory holding one directory per running lab.
pub fn state_root() -> PathBuf {
    env::var_os("LAB_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| env::temp_dir().join("corridor-lab"))
}

/// The private directory of lab `name`.
pub fn lab_dir(name: &str) -> PathBuf {
    state_root().join(name)
}

/// Creates a directory readable only by its owner (it holds private keys and passwords).
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", dir.display()))
}

/// The cargo target directory the running executable was built into, if any.
pub fn target_dir() -> Option<PathBuf> {
    // A relative CARGO_TARGET_DIR is relative to wherever cargo was started, which this
    // process cannot know; the marker file search below finds it anyway.
    let from_env = env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    if let Some(dir) = from_env.filter(|d| d.is_absolute()) {
        return Some(dir);
    }
    let exe = env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

/// Where the generated test PKI is cached across runs.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = env::var_os("LAB_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    match target_dir() {
        Some(t) => t.join("lab-cache"),
        None => env::temp_dir().join("corridor-lab-cache"),
    }
}

/// Where logs of failed labs are kept.
pub fn logs_root() -> PathBuf {
    if let Some(dir) = env::var_os("LAB_LOG_DIR") {
        return PathBuf::from(dir);
    }
    match target_dir() {
        Some(t) => t.join("lab-logs"),
        None => env::temp_dir().join("corridor-lab-logs"),
    }
}

/// The `lab` binary, which serves HTTP and relays UDP inside the namespaces.
///
/// Looked up as `$LAB_BIN`, then next to the running executable (the `lab` binary itself,
/// or a test binary in `target/<profile>/deps/` whose package depends on `lab`). Cargo
/// builds it whenever the lab package's own tests are built, e.g. by `cargo test --workspace`.
pub fn lab_binary() -> Result<PathBuf> {
    if let Some(bin) = env::var_os("LAB_BIN") {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
        bail!("LAB_BIN points at {}, which does not exist", bin.display());
    }
    let exe = env::current_exe().context("finding the running executable")?;
    if exe.file_name().is_some_and(|n| n == "lab") {
        return Ok(exe);
    }
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("lab"))
        .collect();
    if let Some(found) = candidates.iter().find(|c| c.is_file()) {
        return Ok(found.clone());
    }
    bail!(
        "the lab binary is not built (looked for {}); run `cargo build -p lab` or set LAB_BIN",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}
