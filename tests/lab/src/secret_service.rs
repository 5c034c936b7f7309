//! A desktop user's keychain for tests: GNOME Keyring's Secret Service on a private
//! session bus, with its keyrings in a directory of the test's own, so that what
//! Corridor remembers can be checked without touching anyone's real keychain.
//!
//! Both daemons are started here and stopped (by pid) when the value is dropped.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::cmd;
use crate::process::{self, Proc};

/// How long the daemons get to come up.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// The well-known name of the Secret Service (freedesktop.org Secret Service API).
const SERVICE: &str = "org.freedesktop.secrets";
/// The password of the test user's login keyring.
const LOGIN_PASSWORD: &str = "corridor-lab-login";

/// A running Secret Service on its own session bus.
#[derive(Debug)]
pub struct SecretService {
    dir: PathBuf,
    bus: PathBuf,
    keyring: Proc,
    dbus: Proc,
}

impl SecretService {
    /// Starts a session bus and an unlocked GNOME Keyring on it, under `dir/keychain/`.
    pub fn start(dir: &Path) -> Result<SecretService> {
        let dir = dir.join("keychain");
        let home = dir.join("home");
        let runtime = dir.join("run");
        for d in [&home, &runtime] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            fs::set_permissions(d, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restricting {}", d.display()))?;
        }
        let bus = dir.join("bus");
        let _ = fs::remove_file(&bus);
        let mut cmd = cmd::command("dbus-daemon");
        cmd.args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address=unix:path={}", bus.display()));
        let mut dbus = Proc::spawn("dbus-daemon (session)", &mut cmd, &dir.join("dbus.log"))?;
        process::wait_until("the session bus socket", START_TIMEOUT, || {
            dbus.check_running()?;
            Ok(bus.exists())
        })?;

        // `--unlock` reads the login keyring's password from standard input (created
        // with it when missing); `exec` keeps the pid ours to stop.
        let password = dir.join("login-password");
        fs::write(&password, LOGIN_PASSWORD)
            .with_context(|| format!("writing {}", password.display()))?;
        let mut cmd = cmd::command("sh");
        cmd.arg("-c")
            .arg(r#"exec gnome-keyring-daemon --foreground --unlock --components=secrets < "$1""#)
            .arg("gnome-keyring")
            .arg(&password)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", bus.display()),
            )
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("DISPLAY");
        let keyring = Proc::spawn("gnome-keyring-daemon", &mut cmd, &dir.join("keyring.log"))?;
        let mut this = SecretService {
            dir,
            bus,
            keyring,
            dbus,
        };
        let address = this.bus_address();
        process::wait_until(&format!("{SERVICE} on the bus"), START_TIMEOUT, || {
            this.keyring.check_running()?;
            this.dbus.check_running()?;
            cmd::bus_name_has_owner(&address, SERVICE)
        })?;
        Ok(this)
    }

    /// The session bus address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn bus_address(&self) -> String {
        format!("unix:path={}", self.bus.display())
    }

    /// Where the keyrings and logs are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The daemons' process ids.
    pub fn pids(&self) -> Vec<u32> {
        [self.keyring.pid(), self.dbus.pid()]
            .into_iter()
            .flatten()
            .collect()
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        self.keyring.stop();
        self.dbus.stop();
    }
}
