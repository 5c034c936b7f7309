//! The services of the LAN and outside hosts: DNS (dnsmasq), HTTP (`lab http-serve`) and
//! iperf3. Each runs in the foreground as a child of the lab, logging into the lab
//! directory, and counts as started only once its port is listening.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cmd;
use crate::netns;
use crate::paths;
use crate::plan::{
    GATEWAY_FQDN, GATEWAY_LAN_V4, GATEWAY_LAN_V6, HTTP_PORT, INTRANET_FQDN, IPERF_PORT,
    LAN_HOST_V4, LAN_HOST_V6,
};
use crate::process::{self, Proc};

/// How long a service gets to open its port.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// dnsmasq as the corporate DNS server: authoritative-looking answers for a few
/// `corp.example` names, nothing forwarded anywhere (`--no-resolv`), no host files.
pub(crate) fn start_dnsmasq(ns: &str, dir: &Path) -> Result<Proc> {
    let pid_file = dir.join("dnsmasq.pid");
    let log_file = dir.join("dnsmasq.log");
    let mut cmd = dnsmasq_command(ns);
    cmd.arg("--local=/corp.example/")
        .arg(format!("--listen-address={LAN_HOST_V4}"))
        .arg(format!("--listen-address={LAN_HOST_V6}"))
        .arg(format!(
            "--host-record={INTRANET_FQDN},{LAN_HOST_V4},{LAN_HOST_V6}"
        ))
        .arg(format!(
            "--host-record={GATEWAY_FQDN},{GATEWAY_LAN_V4},{GATEWAY_LAN_V6}"
        ))
        .arg(format!("--pid-file={}", pid_file.display()))
        .arg(format!("--log-facility={}", log_file.display()));
    let mut proc = Proc::spawn("dnsmasq", &mut cmd, &dir.join("dnsmasq.out"))?;
    wait_listening(ns, &mut proc, Proto::Udp, 53)?;
    Ok(proc)
}

/// dnsmasq in namespace `ns` as the lab runs every DNS server: in the foreground, no
/// configuration file, nothing forwarded (`--no-resolv`), no host files, bound only to
/// the addresses given after, logging every query.
pub(crate) fn dnsmasq_command(ns: &str) -> std::process::Command {
    let mut cmd = netns::command(ns, "dnsmasq");
    cmd.args([
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--user=root",
        "--group=root",
        "--log-queries",
    ]);
    cmd
}

/// iperf3 in server mode on the default port, all addresses.
pub(crate) fn start_iperf3(ns: &str, dir: &Path) -> Result<Proc> {
    let mut cmd = netns::command(ns, "iperf3");
    cmd.args(["--server", "--port", &IPERF_PORT.to_string()]);
    let mut proc = Proc::spawn("iperf3", &mut cmd, &dir.join("iperf3.log"))?;
    wait_listening(ns, &mut proc, Proto::Tcp, IPERF_PORT)?;
    Ok(proc)
}

/// The lab binary's HTTP server, answering `page` on port 80 of `addrs`.
pub(crate) fn start_http(
    ns: &str,
    dir: &Path,
    label: &str,
    addrs: &[IpAddr],
    page: &str,
) -> Result<Proc> {
    let bin = paths::lab_binary()?;
    let mut cmd = netns::command(ns, &bin);
    cmd.arg("http-serve");
    for addr in addrs {
        cmd.arg("--addr")
            .arg(SocketAddr::new(*addr, HTTP_PORT).to_string());
    }
    cmd.arg("--body").arg(page);
    let mut proc = Proc::spawn(
        &format!("HTTP server ({label})"),
        &mut cmd,
        &dir.join(format!("http-{label}.log")),
    )?;
    wait_listening(ns, &mut proc, Proto::Tcp, HTTP_PORT)?;
    Ok(proc)
}

/// A transport protocol, for [`crate::Lab::listening`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// TCP (listening sockets).
    Tcp,
    /// UDP (bound sockets).
    Udp,
}

/// The local addresses (`addr:port` as `ss` prints them) of sockets listening in `ns`.
pub(crate) fn listening(ns: &str, proto: Proto) -> Result<Vec<String>> {
    let flag = match proto {
        Proto::Tcp => "-Hlnt",
        Proto::Udp => "-Hlnu",
    };
    let out = cmd::run(netns::command(ns, "ss").arg(flag))?;
    Ok(out
        .stdout
        .lines()
        .filter_map(|line| line.split_whitespace().nth(3).map(str::to_string))
        .collect())
}

/// Whether something in `ns` listens on `port`.
pub(crate) fn is_listening(ns: &str, proto: Proto, port: u16) -> Result<bool> {
    let suffix = format!(":{port}");
    Ok(listening(ns, proto)?.iter().any(|a| a.ends_with(&suffix)))
}

fn wait_listening(ns: &str, proc: &mut Proc, proto: Proto, port: u16) -> Result<()> {
    let name = proc.name().to_string();
    process::wait_until(
        &format!("{name} to listen on port {port}"),
        START_TIMEOUT,
        || {
            proc.check_running()?;
            is_listening(ns, proto, port)
        },
    )
    .with_context(|| format!("starting {name} in {ns} (log: {})", proc.log().display()))
}
