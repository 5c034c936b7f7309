//! macOS: the kill switch's rules in a pf anchor, loaded and undone by running
//! `/sbin/pfctl`.
//!
//! Why the pfctl program rather than the `pfctl` crate (which drives /dev/pf with
//! ioctls): the rules are pf.conf text ([`crate::pf_rules`]), rendered and tested on
//! every OS, and pfctl parses them with the same parser as /etc/pf.conf, so what is
//! tested is exactly what is loaded; the crate would need a second description of the
//! same rules in its own types. And Apple's pfctl(8) offers the reference-counted
//! enable that lets pf users coexist: "-E Enable the packet filter and increment the
//! pf enable reference count", "-X token Release the pf enable reference represented
//! by the token passed", and Apple's /etc/pf.conf asks for it: "each component which
//! utilizes PF is responsible for enabling and disabling PF via -E and -X as
//! documented in pfctl(8). That will ensure that PF is disabled only when the last
//! enable reference is released." Each call runs for milliseconds.
//!
//! The anchor is reached without editing /etc/pf.conf: see [`crate::pf_rules::ANCHOR`].

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Apple's pfctl, by full path (never through `PATH`).
const PFCTL: &str = "/sbin/pfctl";

/// What pfctl printed, both streams.
struct Ran {
    success: bool,
    output: String,
}

fn run(op: &str, args: &[&str], stdin: Option<&str>) -> Result<Ran> {
    let os = |detail: String| Error::Os {
        op: op.to_string(),
        detail,
    };
    let mut child = Command::new(PFCTL)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| os(format!("cannot run {PFCTL}: {e}")))?;
    if let Some(text) = stdin {
        let mut pipe = child
            .stdin
            .take()
            .ok_or_else(|| os("no pipe to pfctl's input".into()))?;
        pipe.write_all(text.as_bytes())
            .map_err(|e| os(format!("cannot hand the rules to pfctl: {e}")))?;
        // Closing the pipe ends pfctl's input.
        drop(pipe);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| os(format!("pfctl did not finish: {e}")))?;
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(Ran {
        success: out.status.success(),
        output,
    })
}

fn failed(op: &str, ran: &Ran) -> Error {
    Error::Os {
        op: op.to_string(),
        detail: format!("pfctl: {}", ran.output.trim()),
    }
}

/// Replaces the rules of `anchor` with `rules` (`pfctl -a anchor -f -`).
pub(crate) fn load(anchor: &str, rules: &str) -> Result<()> {
    let op = format!("load the kill switch rules into pf anchor {anchor}");
    let ran = run(&op, &["-a", anchor, "-f", "-"], Some(rules))?;
    if !ran.success {
        return Err(failed(&op, &ran));
    }
    Ok(())
}

/// Enables pf holding a reference (`pfctl -E`); returns the reference's token.
pub(crate) fn enable() -> Result<String> {
    let op = "enable pf (pfctl -E)";
    let ran = run(op, &["-E"], None)?;
    if !ran.success {
        return Err(failed(op, &ran));
    }
    crate::pf_rules::parse_enable_token(&ran.output).ok_or_else(|| Error::Os {
        op: op.to_string(),
        detail: format!("no token in pfctl's answer: {}", ran.output.trim()),
    })
}

/// Empties the filter rules of `anchor` (`pfctl -a anchor -F rules`). Only the rules:
/// `-F all` would also flush pf's state table, which is global, not the anchor's.
/// pfctl flushes through a ruleset transaction, which finds or creates the anchor, so
/// flushing one that is gone (after a reboot) succeeds too.
pub(crate) fn flush(anchor: &str) -> Result<bool> {
    let op = format!("flush pf anchor {anchor}");
    let ran = run(&op, &["-a", anchor, "-F", "rules"], None)?;
    if !ran.success {
        return Err(failed(&op, &ran));
    }
    Ok(true)
}

/// Releases the pf enable reference `token` (`pfctl -X token`). `Ok(false)` when pf
/// does not know the token: it was released already, or the Mac restarted since (pf
/// references do not survive a restart), so there is nothing left to release.
pub(crate) fn release(token: &str) -> Result<bool> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Invalid {
            what: "pf enable token",
            detail: format!("{token:?} is not a number"),
        });
    }
    let op = format!("release pf enable reference {token}");
    let ran = run(&op, &["-X", token], None)?;
    if !ran.success {
        tracing::warn!(token, output = %ran.output.trim(), "pf did not release the reference; taking it as gone");
        return Ok(false);
    }
    Ok(true)
}
