//! strongSwan instances: one charon daemon per role (gateway, client), fully isolated.
//!
//! Isolation, so that any number of labs can run at once on one machine:
//! - its own `strongswan.conf` through `STRONGSWAN_CONF`, with an explicit plugin list
//!   (`load_modular = no`), so nothing from `/etc/strongswan.d` leaks in;
//! - its own swanctl directory through `SWANCTL_DIR`, and a vici socket in the lab
//!   directory (`swanctl --uri unix://…`);
//! - its own network namespace, and its own mount namespace with a private tmpfs on `/run`
//!   so the pid file `/run/charon.pid` of one instance never blocks another.
//!
//! The kernel has no XFRM, so ESP runs in userspace: `kernel-libipsec` moves packets
//! through a TUN device (`ipsec0`), `kernel-netlink` handles addresses and routes. libipsec
//! only handles ESP in UDP, so charon always negotiates UDP encapsulation (it pretends a
//! NAT is present); clients see NAT-T on port 4500 even without the NAT router.

pub mod client;
pub mod gateway;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, ExecOutput};
use crate::netns;
use crate::paths;
use crate::process::{self, Proc};

/// The charon daemon Debian installs.
pub const CHARON: &str = "/usr/lib/ipsec/charon";
/// Where strongSwan's plugins live.
pub const PLUGIN_DIR: &str = "/usr/lib/ipsec/plugins";

/// The plugins every instance loads, in load order. `kernel-libipsec` comes before
/// `kernel-netlink` so that it provides the IPsec backend; `kdf` provides prf+ (5.9.8+);
/// `openssl` loads OpenSSL's legacy provider for the MD4 and DES that MSCHAPv2 needs.
pub const PLUGINS: &[&str] = &[
    "random",
    "nonce",
    "aes",
    "sha1",
    "sha2",
    "hmac",
    "gcm",
    "ccm",
    "ctr",
    "cmac",
    "xcbc",
    "chapoly",
    "curve25519",
    "gmp",
    "mgf1",
    "openssl",
    "pem",
    "pkcs1",
    "pkcs7",
    "pkcs8",
    "pkcs12",
    "pubkey",
    "x509",
    "constraints",
    "revocation",
    "kdf",
    "kernel-libipsec",
    "kernel-netlink",
    "socket-default",
    "vici",
    "eap-identity",
    "eap-mschapv2",
    "eap-tls",
];

/// How long one swanctl call may take (`--initiate` waits at most 30 s by itself).
const SWANCTL_TIMEOUT: Duration = Duration::from_secs(45);

/// Subdirectories swanctl reads credentials from; created empty so it does not complain.
const SWANCTL_SUBDIRS: &[&str] = &[
    "x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey", "private", "rsa",
    "ecdsa", "bliss", "pkcs8", "pkcs12",
];

/// Credential files an instance loads, by swanctl subdirectory.
#[derive(Debug, Default)]
pub(crate) struct CredFiles {
    pub(crate) x509: Vec<PathBuf>,
    pub(crate) x509ca: Vec<PathBuf>,
    pub(crate) private: Vec<PathBuf>,
}

/// A running charon with its configuration loaded.
#[derive(Debug)]
pub struct Charon {
    role: String,
    dir: PathBuf,
    proc: Proc,
}

impl Charon {
    /// Writes the configuration for `role` into `dir`, starts charon in `netns` and loads
    /// `swanctl_conf` and the credentials.
    pub(crate) fn start(
        role: &str,
        netns_name: &str,
        dir: &Path,
        swanctl_conf: &str,
        creds: &CredFiles,
    ) -> Result<Charon> {
        paths::create_private_dir(dir)?;
        let swanctl_dir = dir.join("swanctl");
        for sub in SWANCTL_SUBDIRS {
            paths::create_private_dir(&swanctl_dir.join(sub))?;
        }
        for (sub, list) in [
            ("x509", &creds.x509),
            ("x509ca", &creds.x509ca),
            ("private", &creds.private),
        ] {
            for file in list {
                let name = file
                    .file_name()
                    .with_context(|| format!("{} has no file name", file.display()))?;
                let to = swanctl_dir.join(sub).join(name);
                fs::copy(file, &to).with_context(|| format!("copying {}", file.display()))?;
            }
        }
        fs::write(swanctl_dir.join("swanctl.conf"), swanctl_conf)
            .context("writing swanctl.conf")?;
        let conf = strongswan_conf(role, dir);
        fs::write(dir.join("strongswan.conf"), conf).context("writing strongswan.conf")?;

        let mut cmd = netns::command(netns_name, "unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("mount -t tmpfs -o mode=0755 tmpfs /run && exec \"$0\"")
            .arg(CHARON)
            .env("STRONGSWAN_CONF", dir.join("strongswan.conf"))
            .env("SWANCTL_DIR", &swanctl_dir);
        let proc = Proc::spawn(
            &format!("charon ({role})"),
            &mut cmd,
            &dir.join("charon.out"),
        )?;
        let mut charon = Charon {
            role: role.to_string(),
            dir: dir.to_path_buf(),
            proc,
        };
        charon.wait_ready()?;
        charon
            .swanctl(&["--load-all", "--noprompt"])
            .with_context(|| format!("loading the {role} configuration"))?;
        Ok(charon)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let socket = self.vici_socket();
        let result = process::wait_until(
            &format!("charon ({}) to open {}", self.role, socket.display()),
            Duration::from_secs(15),
            || {
                self.proc.check_running()?;
                if !socket.exists() {
                    return Ok(false);
                }
                let mut cmd = self.swanctl_command();
                cmd.args(["--stats", "--uri"]).arg(self.vici_uri());
                Ok(cmd::output_timeout(&mut cmd, Duration::from_secs(5))
                    .is_ok_and(|out| out.success()))
            },
        );
        result.with_context(|| format!("charon log:\n{}", process::tail(&self.log_path(), 30)))
    }

    /// The vici socket's path.
    pub fn vici_socket(&self) -> PathBuf {
        self.dir.join("charon.vici")
    }

    /// The URI to pass to `swanctl --uri`.
    pub fn vici_uri(&self) -> String {
        format!("unix://{}", self.vici_socket().display())
    }

    /// The directory with `strongswan.conf`, `swanctl/` and the logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// charon's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("charon.log")
    }

    /// charon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// charon's process id.
    pub fn pid(&self) -> Option<u32> {
        self.proc.pid()
    }

    /// A `swanctl` command talking to this instance.
    pub fn swanctl_command(&self) -> Command {
        let mut cmd = cmd::command("swanctl");
        cmd.env("STRONGSWAN_CONF", self.dir.join("strongswan.conf"))
            .env("SWANCTL_DIR", self.dir.join("swanctl"));
        cmd
    }

    /// Runs `swanctl ARGS --uri …` and fails unless it succeeds.
    pub fn swanctl(&self, args: &[&str]) -> Result<ExecOutput> {
        let out = self.swanctl_unchecked(args)?;
        if !out.success() {
            bail!("swanctl {} ({}) failed: {out}", args.join(" "), self.role);
        }
        Ok(out)
    }

    /// Runs `swanctl ARGS --uri …` and returns its output whatever the exit status.
    pub fn swanctl_unchecked(&self, args: &[&str]) -> Result<ExecOutput> {
        let mut cmd = self.swanctl_command();
        cmd.args(args).arg("--uri").arg(self.vici_uri());
        cmd::output_timeout(&mut cmd, SWANCTL_TIMEOUT)
    }

    /// Fails if charon has exited.
    pub fn check_running(&mut self) -> Result<()> {
        self.proc.check_running()
    }

    /// Kills charon (SIGKILL): no Delete goes out and nothing is cleaned up, as when the
    /// machine dies.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Stops charon (SIGTERM: it removes its routes and TUN device on the way out).
    pub fn stop(&mut self) {
        self.proc.stop();
    }
}

/// The `strongswan.conf` of one instance.
fn strongswan_conf(role: &str, dir: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# strongSwan settings of the lab {role}; generated, do not edit."
    );
    let _ = writeln!(s, "charon {{");
    let _ = writeln!(s, "  load_modular = no");
    let _ = writeln!(s, "  load = {}", PLUGINS.join(" "));
    let _ = writeln!(s, "  port = 500");
    let _ = writeln!(s, "  port_nat_t = 4500");
    let _ = writeln!(s, "  install_virtual_ip = yes");
    let _ = writeln!(s, "  install_routes = yes");
    let _ = writeln!(s, "  plugins {{");
    let _ = writeln!(
        s,
        "    vici {{\n      socket = \"unix://{}\"\n    }}",
        dir.join("charon.vici").display()
    );
    let _ = writeln!(s, "    openssl {{\n      load_legacy = yes\n    }}");
    let _ = writeln!(s, "  }}");
    let _ = writeln!(s, "  filelog {{");
    let _ = writeln!(s, "    lab {{");
    let _ = writeln!(s, "      path = \"{}\"", dir.join("charon.log").display());
    let _ = writeln!(s, "      time_format = %H:%M:%S");
    let _ = writeln!(s, "      ike_name = yes");
    let _ = writeln!(s, "      append = no");
    let _ = writeln!(s, "      flush_line = yes");
    let _ = writeln!(s, "      default = 1");
    let _ = writeln!(s, "      ike = 2");
    let _ = writeln!(s, "      cfg = 2");
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "  }}");
    let _ = writeln!(
        s,
        "  syslog {{\n    daemon {{\n      default = -1\n    }}\n  }}"
    );
    let _ = writeln!(s, "}}");
    s
}

/// Quotes a value for swanctl.conf.
pub(crate) fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A comma-separated list for swanctl.conf.
pub(crate) fn list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join(", ")
}
