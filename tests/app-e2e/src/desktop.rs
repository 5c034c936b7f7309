//! What every run of the app needs around it: the built binaries, corridord in the lab's
//! client namespace, and the environment of a desktop session of the test's own (display,
//! session bus, home and runtime directories) for the app.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use lab::process::{Proc, wait_until};
use lab::{Host, Lab};

/// A built binary: `$var` when set, else `name` in the cargo profile directory this
/// program runs from (`target/debug` for tests, which run from `target/debug/deps`).
pub fn artifact(var: &str, name: &str) -> Result<PathBuf> {
    let path = match std::env::var_os(var) {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe()?;
            let mut dir = exe.parent().context("the program has no directory")?;
            if dir.ends_with("deps") {
                dir = dir.parent().context("deps has no parent")?;
            }
            dir.join(name)
        }
    };
    ensure!(
        path.is_file(),
        "{} is missing: build it first (`scripts/build-app --debug` builds the app, corridord \
         and the CLI), or point {var} at it",
        path.display()
    );
    Ok(path)
}

/// corridord (the real binary) in the lab's client namespace, as root, with its socket,
/// state and logs in `dir`; returns it once its socket exists.
pub fn start_corridord(lab: &Lab, corridord: &Path, dir: &Path) -> Result<(Proc, PathBuf)> {
    let socket = dir.join("corridord.sock");
    let mut command = lab.command(Host::Client, corridord);
    command
        .arg("run")
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--run-dir")
        .arg(dir.join("run"))
        .arg("--managed-dir")
        .arg(dir.join("managed"))
        .arg("--policy")
        .arg(dir.join("policy.json"))
        .arg("--resolv-conf")
        .arg(lab.resolv_conf(Host::Client))
        .arg("--group")
        .arg("-")
        .env("RUST_LOG", "info");
    let mut service = Proc::spawn("corridord", &mut command, &dir.join("corridord.log"))?;
    wait_until("corridord's socket", Duration::from_secs(15), || {
        service.check_running()?;
        Ok(socket.exists())
    })?;
    Ok((service, socket))
}

/// The IPv4 address on the tunnel interface in the client namespace, if there is one.
pub fn tunnel_address(lab: &Lab) -> Option<String> {
    let out = lab
        .exec_unchecked(
            Host::Client,
            &["ip", "-j", "-4", "addr", "show", "dev", "corridor0"],
        )
        .ok()?;
    let json: serde_json::Value = serde_json::from_str(&out.stdout).ok()?;
    json[0]["addr_info"][0]["local"]
        .as_str()
        .map(str::to_string)
}

/// The app's environment: the display and session bus, corridord's socket, the
/// keychain on that bus, its own home and runtime directories under `dir`, automation
/// allowed, and software rendering (a virtual display has no GPU).
pub fn app_env(
    display: &str,
    bus: &str,
    socket: &Path,
    dir: &Path,
) -> Result<Vec<(String, String)>> {
    let home = dir.join("home");
    let runtime = dir.join("xdg-runtime");
    for d in [&home, &runtime] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    let text = |p: &Path| p.to_string_lossy().into_owned();
    Ok(vec![
        ("DISPLAY".into(), display.into()),
        ("DBUS_SESSION_BUS_ADDRESS".into(), bus.into()),
        ("TAURI_WEBVIEW_AUTOMATION".into(), "true".into()),
        ("CORRIDOR_SOCKET".into(), text(socket)),
        ("CORRIDOR_KEYCHAIN".into(), "secret-service".into()),
        ("HOME".into(), text(&home)),
        ("XDG_CONFIG_HOME".into(), text(&home.join(".config"))),
        ("XDG_DATA_HOME".into(), text(&home.join(".local/share"))),
        ("XDG_CACHE_HOME".into(), text(&home.join(".cache"))),
        ("XDG_RUNTIME_DIR".into(), text(&runtime)),
        ("WEBKIT_DISABLE_DMABUF_RENDERER".into(), "1".into()),
        ("LIBGL_ALWAYS_SOFTWARE".into(), "1".into()),
        ("NO_AT_BRIDGE".into(), "1".into()),
    ])
}
