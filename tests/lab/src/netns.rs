//! Network namespaces: create, delete, list, run commands and code inside them.
//!
//! Named namespaces are the bind mounts `ip netns` keeps under `/run/netns`. Code runs
//! inside one on a fresh thread that joins it with `setns(2)`: a network namespace belongs
//! to a thread, so the caller's thread (and the rest of the process) stays where it was.

use std::fs::{self, File};
use std::path::Path;
use std::process::Command;
use std::thread;

use anyhow::{Context, Result, anyhow};
use nix::sched::{CloneFlags, setns};

use crate::cmd;

const NETNS_DIR: &str = "/run/netns";

/// Creates namespace `name` with its loopback interface up and IPv6 duplicate address
/// detection off. With DAD on, every new interface (the veths, and the TUN device charon
/// creates) keeps a tentative link-local address for a second or two, and neighbour
/// discovery in that window loses the first IPv6 packets through a fresh gateway.
pub(crate) fn create(name: &str) -> Result<()> {
    cmd::ip(&["netns", "add", name]).with_context(|| format!("creating namespace {name}"))?;
    write_resolv_conf(name)?;
    cmd::ip(&["-n", name, "link", "set", "lo", "up"])?;
    sysctl(
        name,
        &[
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
        ],
    )
}

/// Deletes namespace `name`; its interfaces (veths, bridges, TUN devices) go with it.
pub(crate) fn delete(name: &str) -> Result<()> {
    let etc = Path::new(ETC_NETNS_DIR).join(name);
    if etc.exists() {
        fs::remove_dir_all(&etc).with_context(|| format!("removing {}", etc.display()))?;
    }
    if !exists(name) {
        return Ok(());
    }
    cmd::ip(&["netns", "del", name]).with_context(|| format!("deleting namespace {name}"))?;
    Ok(())
}

/// Where `ip netns exec` finds per-namespace files to bind-mount over `/etc`.
const ETC_NETNS_DIR: &str = "/etc/netns";

/// The namespace's own `/etc/resolv.conf` (what `ip netns exec` mounts over the host's),
/// so that name resolution inside never reaches the host's resolver and a tunnel's DNS
/// change is seen by every command run there. The placeholder server is an address of
/// the lab's range that nothing answers, with short timeouts.
pub(crate) const PLACEHOLDER_RESOLV_CONF: &str = "# lab namespace: no resolver until a tunnel sets one\n\
     nameserver 198.18.255.254\n\
     options timeout:1 attempts:1\n";

fn write_resolv_conf(name: &str) -> Result<()> {
    let dir = Path::new(ETC_NETNS_DIR).join(name);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("resolv.conf");
    fs::write(&path, PLACEHOLDER_RESOLV_CONF).with_context(|| format!("writing {}", path.display()))
}

/// The host path of namespace `name`'s own resolv.conf (see [`PLACEHOLDER_RESOLV_CONF`]).
pub(crate) fn resolv_conf_path(name: &str) -> std::path::PathBuf {
    Path::new(ETC_NETNS_DIR).join(name).join("resolv.conf")
}

/// Whether namespace `name` exists.
pub(crate) fn exists(name: &str) -> bool {
    Path::new(NETNS_DIR).join(name).exists()
}

/// All named namespaces on the machine.
pub(crate) fn list() -> Result<Vec<String>> {
    let entries = match fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context("listing /run/netns"),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.context("listing /run/netns")?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The processes whose network namespace is `name`.
pub(crate) fn pids(name: &str) -> Result<Vec<i32>> {
    if !exists(name) {
        return Ok(Vec::new());
    }
    let out = cmd::ip(&["netns", "pids", name])?;
    out.stdout
        .split_whitespace()
        .map(|p| {
            p.parse::<i32>()
                .with_context(|| format!("`ip netns pids {name}` printed '{p}', not a pid"))
        })
        .collect()
}

/// A command that runs `program` inside namespace `name`.
pub(crate) fn command(name: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = cmd::command("ip");
    cmd.args(["netns", "exec", name]).arg(program);
    cmd
}

/// Sets sysctls inside namespace `name` (only `net.*` keys are per namespace).
pub(crate) fn sysctl(name: &str, settings: &[(&str, &str)]) -> Result<()> {
    let mut cmd = command(name, "sysctl");
    cmd.arg("-qw");
    for (key, value) in settings {
        cmd.arg(format!("{key}={value}"));
    }
    cmd::run(&mut cmd)?;
    Ok(())
}

/// Runs `f` on a new thread inside namespace `name` and returns its result.
pub(crate) fn run_in<F, R>(name: &str, f: F) -> Result<R>
where
    F: FnOnce() -> Result<R> + Send + 'static,
    R: Send + 'static,
{
    let path = Path::new(NETNS_DIR).join(name);
    let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let label = name.to_string();
    let handle = thread::Builder::new()
        .name(format!("netns-{name}"))
        .spawn(move || -> Result<R> {
            setns(&file, CloneFlags::CLONE_NEWNET)
                .with_context(|| format!("entering namespace {label}"))?;
            f()
        })
        .context("spawning a thread")?;
    handle
        .join()
        .map_err(|_| anyhow!("the thread running in namespace {name} panicked"))?
}
