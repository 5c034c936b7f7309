//! iperf3 runs from the client namespace and what their JSON reports say.

use std::net::IpAddr;

use anyhow::{Context, Result, bail};
use lab::{Host, Lab};
use serde_json::Value;

/// One iperf3 TCP test's outcome, as the receiving side counted it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transfer {
    pub(crate) bytes: f64,
    pub(crate) mbit_per_s: f64,
    /// TCP segments the sender sent again (its kernel's count, reported by iperf3).
    pub(crate) retransmits: Option<u64>,
}

/// How long or how much.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Amount {
    /// Unlimited rate for this many seconds.
    Seconds(u32),
    /// This many bytes at a fixed rate (Mbit/s).
    Bytes { bytes: u64, mbit: u32 },
}

/// Runs `iperf3 -c server` in the client namespace; `download` adds `-R` (the server
/// sends).
pub(crate) fn run(lab: &Lab, server: IpAddr, download: bool, amount: Amount) -> Result<Transfer> {
    let server = server.to_string();
    let (flag, len, rate) = match amount {
        Amount::Seconds(s) => ("-t", s.to_string(), None),
        Amount::Bytes { bytes, mbit } => ("-n", bytes.to_string(), Some(format!("{mbit}M"))),
    };
    let mut args = vec![
        "iperf3",
        "-c",
        server.as_str(),
        "-J",
        "--connect-timeout",
        "5000",
    ];
    args.extend([flag, len.as_str()]);
    match &rate {
        // One second of warm-up (TCP slow start) is left out of the unlimited runs.
        None => args.extend(["-O", "1"]),
        Some(rate) => args.extend(["-b", rate.as_str()]),
    }
    if download {
        args.push("-R");
    }
    let out = lab
        .exec_unchecked(Host::Client, &args)
        .context("running iperf3")?;
    let report: Value = serde_json::from_str(&out.stdout)
        .with_context(|| format!("iperf3 printed no JSON report:\n{out}"))?;
    if let Some(err) = report.get("error").and_then(Value::as_str) {
        bail!("iperf3: {err}");
    }
    let received = &report["end"]["sum_received"];
    let bytes = received["bytes"]
        .as_f64()
        .context("no end.sum_received.bytes")?;
    let bps = received["bits_per_second"]
        .as_f64()
        .context("no end.sum_received.bits_per_second")?;
    Ok(Transfer {
        bytes,
        mbit_per_s: bps / 1e6,
        retransmits: report["end"]["sum_sent"]["retransmits"].as_u64(),
    })
}
