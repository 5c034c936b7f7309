//! Running external commands (ip, nft, swanctl, ...) with errors that say what failed.

use std::env;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// What a finished command printed and how it ended.
#[derive(Clone, Debug)]
pub struct ExecOutput {
    /// The exit status.
    pub status: ExitStatus,
    /// Standard output, lossily decoded as UTF-8.
    pub stdout: String,
    /// Standard error, lossily decoded as UTF-8.
    pub stderr: String,
}

impl ExecOutput {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

impl fmt::Display for ExecOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        for (label, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let text = text.trim_end();
            if !text.is_empty() {
                write!(f, "\n--- {label}:\n{text}")?;
            }
        }
        Ok(())
    }
}

/// Directories searched for programs in addition to `$PATH`: `ip`, `nft`, `dnsmasq` and
/// `swanctl` live in sbin directories that a non-login or sudo environment may lack.
const EXTRA_PATH: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// `$PATH` with the sbin directories appended.
pub(crate) fn search_path() -> OsString {
    let mut dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in EXTRA_PATH {
        if !dirs.iter().any(|d| d == Path::new(extra)) {
            dirs.push(PathBuf::from(extra));
        }
    }
    env::join_paths(dirs).unwrap_or_else(|_| OsString::from("/usr/sbin:/usr/bin:/sbin:/bin"))
}

/// Finds `program` on [`search_path`].
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    env::split_paths(&search_path())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A command for `program` that searches [`search_path`] (and passes it on, so that
/// `ip netns exec` finds the programs it runs).
pub(crate) fn command(program: impl AsRef<OsStr>) -> Command {
    let path = search_path();
    let program = program.as_ref();
    let resolved = program
        .to_str()
        .filter(|p| !p.contains('/'))
        .and_then(find_program);
    let mut cmd = match resolved {
        Some(p) => Command::new(p),
        None => Command::new(program),
    };
    cmd.env("PATH", path);
    cmd
}

/// A command line as a person would type it, for error messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// How long any command may run before it is killed: a hung helper must fail the test,
/// not stall it.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` to completion with no input and returns its output, whatever the exit status.
pub(crate) fn output(cmd: &mut Command) -> Result<ExecOutput> {
    output_timeout(cmd, DEFAULT_TIMEOUT)
}

/// Like [`output`], but kills the command and fails after `timeout`.
pub(crate) fn output_timeout(cmd: &mut Command, timeout: Duration) -> Result<ExecOutput> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run `{}`", describe(cmd)))?;
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for a command")? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{}` did not finish within {timeout:?}", describe(cmd));
        }
        thread::sleep(Duration::from_millis(5));
    };
    let collect = |h: Option<thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    Ok(ExecOutput {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

/// Reads a pipe to its end on a thread, so a chatty command never blocks on a full pipe.
fn reader<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Runs `cmd` and fails, quoting its output, unless it exits with status 0.
pub(crate) fn run(cmd: &mut Command) -> Result<ExecOutput> {
    let out = output(cmd)?;
    if !out.success() {
        bail!("`{}` failed: {out}", describe(cmd));
    }
    Ok(out)
}

/// Runs a program with arguments and fails unless it exits with status 0.
pub(crate) fn run_args<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Result<ExecOutput> {
    run(command(program).args(args))
}

/// Runs `ip` with the given arguments.
pub(crate) fn ip<S: AsRef<OsStr>>(args: &[S]) -> Result<ExecOutput> {
    run_args("ip", args)
}

/// Runs `nft -f -` inside namespace `netns`, feeding it `script` (one atomic transaction).
pub(crate) fn nft_script(netns: &str, script: &str) -> Result<()> {
    use std::io::Write as _;
    let mut cmd = command("ip");
    cmd.args(["netns", "exec", netns, "nft", "-f", "-"]);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run `{}`", describe(&cmd)))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .context("writing the nftables script")?;
    }
    let out = child.wait_with_output().context("waiting for nft")?;
    if !out.status.success() {
        bail!(
            "nft in {netns} refused the ruleset: {}\n--- script:\n{script}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(())
}

/// Whether `name` has an owner on the D-Bus bus at `address` (the daemon that should
/// own it is up and registered), asked with `busctl`.
pub(crate) fn bus_name_has_owner(address: &str, name: &str) -> Result<bool> {
    let out = output(command("busctl").arg(format!("--address={address}")).args([
        "call",
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameHasOwner",
        "s",
        name,
    ]))?;
    Ok(out.success() && out.stdout.trim() == "b true")
}
