//! Running `corridor-testpeer` (Corridor's test gateway, crates/testpeer) as the lab's
//! gateway, in place of strongSwan: start the lab with
//! [`LabConfig::gateway_daemon(false)`](crate::LabConfig::gateway_daemon) and
//! [`Scenario::Psk`](crate::Scenario::Psk), then [`Lab::start_testpeer`]. The Corridor
//! profile from [`Lab::write_corridor_profile`] fits it as it is (same PSK, identity,
//! proposals and LAN subnet).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::config::LabConfig;
use crate::credentials::PSK;
use crate::lab::Lab;
use crate::naming::Host;
use crate::paths;
use crate::plan::{GATEWAY_FQDN, GATEWAY_WAN_V4, LAN_HOST_V4, LAN_V4, POOL_V4};
use crate::process::{self, Proc};

/// The TUN device the test peer creates in the gateway namespace.
pub const TESTPEER_TUN: &str = "testpeer0";

/// The command-line arguments that make `corridor-testpeer` the lab's gateway: the
/// gateway's wan address, the lab PSK and identity, the virtual IP pool, the LAN (or
/// everything, with `full_tunnel`) as traffic selector and the LAN DNS server.
pub fn testpeer_args(config: &LabConfig) -> Vec<String> {
    let lan = if config.is_full_tunnel() {
        "0.0.0.0/0".to_string()
    } else {
        LAN_V4.to_string()
    };
    [
        "--listen",
        &GATEWAY_WAN_V4.to_string(),
        "--psk",
        PSK,
        "--identity",
        GATEWAY_FQDN,
        "--pool",
        &POOL_V4.to_string(),
        "--lan",
        &lan,
        "--dns",
        &LAN_HOST_V4.to_string(),
        "--tun-name",
        TESTPEER_TUN,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A running `corridor-testpeer` in the gateway namespace; stopped when dropped.
#[derive(Debug)]
pub struct TestPeer {
    proc: Proc,
}

impl TestPeer {
    /// Its process id (for CPU accounting).
    pub fn pid(&self) -> Option<u32> {
        self.proc.pid()
    }

    /// Its log file (standard output and error).
    pub fn log_path(&self) -> &Path {
        self.proc.log()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.proc.log()).unwrap_or_default()
    }

    /// Waits until `count` clients in total have connected (`connected ...` lines).
    pub fn wait_connected(&mut self, count: usize, timeout: Duration) -> Result<()> {
        let log = self.proc.log().to_path_buf();
        let proc = &mut self.proc;
        process::wait_until("a client to connect to the test peer", timeout, || {
            proc.check_running()?;
            Ok(read(&log)
                .lines()
                .filter(|l| l.starts_with("connected "))
                .count()
                >= count)
        })
    }

    /// Fails with its log if it has exited.
    pub fn check_running(&mut self) -> Result<()> {
        self.proc.check_running()
    }

    /// Stops it (SIGTERM, then SIGKILL).
    pub fn stop(mut self) {
        self.proc.stop();
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

impl Lab {
    /// Starts `corridor-testpeer` (the binary at `bin`) as the gateway, with
    /// [`testpeer_args`] plus `extra` arguments, and waits until it listens. The lab must
    /// run without strongSwan on the gateway (`gateway_daemon(false)`), which would hold
    /// the same ports.
    pub fn start_testpeer(&self, bin: &Path, extra: &[&str]) -> Result<TestPeer> {
        if self.config().has_gateway_daemon() {
            bail!("the lab runs strongSwan on the gateway; start it with gateway_daemon(false)");
        }
        let dir: PathBuf = self.dir().join("testpeer");
        paths::create_private_dir(&dir)?;
        let mut cmd = self.command(Host::Gateway, bin);
        cmd.args(testpeer_args(self.config())).args(extra);
        let log = dir.join("testpeer.log");
        let mut proc = Proc::spawn("corridor-testpeer", &mut cmd, &log)
            .with_context(|| format!("starting {}", bin.display()))?;
        process::wait_until(
            "corridor-testpeer to listen",
            Duration::from_secs(15),
            || {
                proc.check_running()?;
                Ok(read(&log).lines().any(|l| l.starts_with("ready:")))
            },
        )?;
        Ok(TestPeer { proc })
    }
}
