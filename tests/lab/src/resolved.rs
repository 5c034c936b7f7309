//! A real systemd-resolved inside a lab namespace, on a private D-Bus, for split-DNS
//! tests.
//!
//! The host's systemd-resolved is never used or installed: installing the package
//! rewrites `/etc/resolv.conf`. `scripts/setup-system` unpacks the package into
//! [`DEFAULT_PREFIX`] instead; its binary links `libsystemd-shared` of the installed
//! systemd package, so the two versions must match (the script sees to that).
//!
//! [`SystemdResolved::start`] runs, inside the namespace:
//! - a `dbus-daemon` with a system-bus-like configuration that allows everything,
//!   listening on a socket under the given directory;
//! - `systemd-resolved` with `DBUS_SYSTEM_BUS_ADDRESS` pointing at that socket. It runs
//!   in its own mount namespace (every `ip netns exec` gets one) with a fresh tmpfs on
//!   `/run` for its state, its configuration as a drop-in there, and an empty
//!   `/etc/resolv.conf` bound over the host's so no host resolver leaks into its global
//!   state. Started as root it would switch to the `systemd-resolve` user, which hosts
//!   without the package lack, so it is started as `nobody` with the three capabilities
//!   its unit grants it (bind port 53, raw sockets, drop capabilities).
//!
//! Both are stopped by pid when the value is dropped.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, ExecOutput};
use crate::netns;
use crate::process::{self, Proc};
use crate::services::{self, Proto};

/// Where `scripts/setup-system` unpacks the systemd-resolved package.
pub const DEFAULT_PREFIX: &str = "/opt/corridor-lab/systemd-resolved";

/// The bus name systemd-resolved owns once it is ready.
const SERVICE: &str = "org.freedesktop.resolve1";
/// How long the bus and resolved get to come up.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// `nobody`: resolved refuses to keep running as root without its own user.
const RESOLVED_UID: u32 = 65534;
/// The capabilities systemd-resolved.service grants (CapabilityBoundingSet=).
const RESOLVED_CAPS: &str = "+setpcap,+net_raw,+net_bind_service";

/// The unpacked package: `$LAB_RESOLVED_PREFIX`, else [`DEFAULT_PREFIX`].
pub fn prefix() -> PathBuf {
    std::env::var_os("LAB_RESOLVED_PREFIX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PREFIX))
}

/// The unpacked `systemd-resolved` daemon.
pub fn daemon_path() -> PathBuf {
    prefix().join("lib/systemd/systemd-resolved")
}

/// The unpacked `resolvectl`.
pub fn resolvectl_path() -> PathBuf {
    prefix().join("usr/bin/resolvectl")
}

/// What is missing to run systemd-resolved in a lab, one line each; empty when ready.
pub fn missing() -> Vec<String> {
    let mut out = Vec::new();
    for path in [daemon_path(), resolvectl_path()] {
        if !path.is_file() {
            out.push(format!(
                "{} is missing: run scripts/setup-system (unpacks systemd-resolved)",
                path.display()
            ));
        }
    }
    for (program, package) in [
        ("dbus-daemon", "dbus-daemon"),
        ("busctl", "systemd"),
        ("setpriv", "util-linux"),
    ] {
        if cmd::find_program(program).is_none() {
            out.push(format!("{program} is missing (Debian package {package})"));
        }
    }
    out
}

/// systemd-resolved and its private bus, running in one namespace.
#[derive(Debug)]
pub struct SystemdResolved {
    ns: String,
    dir: PathBuf,
    // Declared before `dbus` so it is stopped first.
    resolved: Proc,
    dbus: Proc,
}

impl SystemdResolved {
    /// Starts a bus and systemd-resolved in namespace `ns`, keeping sockets,
    /// configuration and logs under `dir/resolved/`. `global_dns` become resolved's
    /// global servers (`DNS=` in resolved.conf); fallback servers, LLMNR, mDNS,
    /// DNSSEC and the cache are off so answers come only from servers the test controls.
    pub fn start(ns: &str, dir: &Path, global_dns: &[IpAddr]) -> Result<SystemdResolved> {
        let missing = missing();
        if !missing.is_empty() {
            bail!(
                "cannot run systemd-resolved in the lab:\n  {}",
                missing.join("\n  ")
            );
        }
        let dir = dir.join("resolved");
        let bus_dir = dir.join("bus");
        fs::create_dir_all(&bus_dir).with_context(|| format!("creating {}", bus_dir.display()))?;
        // `nobody` must reach the socket through the bind mount.
        fs::set_permissions(&bus_dir, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("opening up {}", bus_dir.display()))?;
        let socket = bus_dir.join("socket");
        let _ = fs::remove_file(&socket);

        let bus_conf = dir.join("bus.conf");
        fs::write(&bus_conf, bus_config(&socket))
            .with_context(|| format!("writing {}", bus_conf.display()))?;
        let mut cmd = netns::command(ns, "dbus-daemon");
        cmd.args(["--nofork", "--nopidfile"])
            .arg(format!("--config-file={}", bus_conf.display()));
        let mut dbus = Proc::spawn("dbus-daemon", &mut cmd, &dir.join("dbus.log"))?;
        process::wait_until("the private D-Bus socket", START_TIMEOUT, || {
            dbus.check_running()?;
            Ok(socket.exists())
        })?;

        let conf = dir.join("resolved.conf");
        fs::write(&conf, resolved_config(global_dns))
            .with_context(|| format!("writing {}", conf.display()))?;
        let empty_resolv = dir.join("resolv.conf");
        fs::write(&empty_resolv, "# no host resolvers inside the lab\n")
            .with_context(|| format!("writing {}", empty_resolv.display()))?;
        let mut cmd = netns::command(ns, "sh");
        cmd.arg("-c")
            .arg(LAUNCH_SCRIPT)
            .arg("resolved-launch")
            .arg(&bus_dir)
            .arg(&conf)
            .arg(&empty_resolv)
            .arg(daemon_path())
            .arg(RESOLVED_UID.to_string())
            .arg(RESOLVED_CAPS)
            .env("SYSTEMD_LOG_LEVEL", "debug");
        let resolved = Proc::spawn("systemd-resolved", &mut cmd, &dir.join("resolved.log"))?;
        let mut this = SystemdResolved {
            ns: ns.to_string(),
            dir,
            resolved,
            dbus,
        };
        let address = this.bus_address();
        process::wait_until(&format!("{SERVICE} on the bus"), START_TIMEOUT, || {
            this.resolved.check_running()?;
            this.dbus.check_running()?;
            cmd::bus_name_has_owner(&address, SERVICE)
        })
        .with_context(|| {
            format!(
                "starting systemd-resolved in {ns} (log: {})",
                this.log_path().display()
            )
        })?;
        Ok(this)
    }

    /// The D-Bus address of the private system bus (for `DBUS_SYSTEM_BUS_ADDRESS`).
    pub fn bus_address(&self) -> String {
        format!("unix:path={}", self.dir.join("bus/socket").display())
    }

    /// The namespace it runs in.
    pub fn netns(&self) -> &str {
        &self.ns
    }

    /// Runs the unpacked `resolvectl` in the namespace against this instance; fails
    /// unless it exits with status 0.
    pub fn resolvectl(&self, args: &[&str]) -> Result<ExecOutput> {
        let out = self.resolvectl_unchecked(args)?;
        if !out.success() {
            bail!("resolvectl {} failed: {out}", args.join(" "));
        }
        Ok(out)
    }

    /// Like [`SystemdResolved::resolvectl`], whatever the exit status.
    pub fn resolvectl_unchecked(&self, args: &[&str]) -> Result<ExecOutput> {
        let mut cmd = netns::command(&self.ns, resolvectl_path());
        cmd.args(["--no-pager"])
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", self.bus_address())
            .env("SYSTEMD_COLORS", "0");
        cmd::output(&mut cmd)
    }

    /// resolved's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("resolved.log")
    }

    /// Process ids of resolved and the bus.
    pub fn pids(&self) -> Vec<u32> {
        [self.resolved.pid(), self.dbus.pid()]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Mounts resolved's private state and configuration, then runs it unprivileged.
/// Arguments: bus directory, resolved.conf, empty resolv.conf, daemon, uid, capabilities.
/// The bus directory is bind-mounted to `/run/corridor-lab-bus` because the lab
/// directory is private to root and resolved runs as `nobody`.
const LAUNCH_SCRIPT: &str = r#"set -eu
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/resolve /run/systemd/resolved.conf.d /run/corridor-lab-bus
chown "$5:$5" /run/systemd/resolve
cp "$2" /run/systemd/resolved.conf.d/corridor-lab.conf
mount --bind "$1" /run/corridor-lab-bus
if [ -e /etc/resolv.conf ]; then mount --bind "$3" /etc/resolv.conf; fi
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/corridor-lab-bus/socket
exec setpriv --reuid="$5" --regid="$5" --clear-groups --inh-caps="$6" --ambient-caps="$6" "$4"
"#;

/// A bus configuration like the system bus's, minus every restriction.
fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

fn resolved_config(global_dns: &[IpAddr]) -> String {
    let mut text = String::from("[Resolve]\n");
    let servers: Vec<String> = global_dns.iter().map(IpAddr::to_string).collect();
    let _ = writeln!(text, "DNS={}", servers.join(" "));
    text.push_str(
        "FallbackDNS=\nLLMNR=no\nMulticastDNS=no\nDNSSEC=no\nDNSOverTLS=no\nCache=no\nReadEtcHosts=no\n",
    );
    text
}

/// A small authoritative DNS server (dnsmasq) on one address, logging every query.
#[derive(Debug)]
pub struct DnsServer {
    proc: Proc,
    log: PathBuf,
}

impl DnsServer {
    /// Starts dnsmasq in `ns` on `listen` port 53, answering `records` (name, address)
    /// and nothing else (`--no-resolv`, no host files); logs go to `dir/dns-<label>.log`.
    pub fn start(
        ns: &str,
        dir: &Path,
        label: &str,
        listen: IpAddr,
        records: &[(&str, IpAddr)],
    ) -> Result<DnsServer> {
        let log = dir.join(format!("dns-{label}.log"));
        let mut cmd = services::dnsmasq_command(ns);
        cmd.arg(format!("--listen-address={listen}"))
            .arg(format!(
                "--pid-file={}",
                dir.join(format!("dns-{label}.pid")).display()
            ))
            .arg(format!("--log-facility={}", log.display()));
        for (name, addr) in records {
            cmd.arg(format!("--host-record={name},{addr}"));
            // Answer authoritatively (NXDOMAIN for other names) instead of REFUSED.
            if let Some((_, parent)) = name.split_once('.') {
                cmd.arg(format!("--local=/{parent}/"));
            }
        }
        let mut proc = Proc::spawn(
            &format!("dnsmasq ({label})"),
            &mut cmd,
            &dir.join(format!("dns-{label}.out")),
        )?;
        let want = match listen {
            IpAddr::V4(a) => format!("{a}:53"),
            IpAddr::V6(a) => format!("[{a}]:53"),
        };
        process::wait_until(&format!("dnsmasq on {want}"), START_TIMEOUT, || {
            proc.check_running()?;
            Ok(services::listening(ns, Proto::Udp)?.contains(&want))
        })?;
        Ok(DnsServer { proc, log })
    }

    /// The query log so far (dnsmasq's `query[A] name from addr` lines).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether a query for `name` has reached this server.
    pub fn was_asked(&self, name: &str) -> bool {
        self.log()
            .lines()
            .any(|l| l.contains("query[") && l.contains(&format!(" {name} ")))
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.proc.pid()
    }
}
