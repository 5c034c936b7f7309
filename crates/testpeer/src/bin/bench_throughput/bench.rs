//! The benchmark itself (Linux only, like the lab it runs in).

use super::{cpu, iperf, losses, report};

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use lab::{Host, Lab, LabConfig, Scenario};

use super::iperf::Amount;
use super::report::{Losses, Row, Which};

/// Throughput and client CPU of Corridor, strongSwan and a bare veth in the lab.
#[derive(Debug, Parser)]
#[command(name = "bench-throughput")]
struct Args {
    /// Seconds of each full-speed iperf3 run.
    #[arg(long, default_value_t = 5)]
    seconds: u32,
    /// Megabytes sent in each fixed-rate run (at --rate Mbit/s).
    #[arg(long, default_value_t = 100)]
    fixed_mb: u64,
    /// The fixed rate for the CPU measurement, in Mbit/s.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Which paths to run: any of a, b, c, d.
    #[arg(long, default_value = "abcd")]
    paths: String,
    /// The `corridor` binary (default: next to this one).
    #[arg(long)]
    corridor: Option<PathBuf>,
    /// The `corridor-testpeer` binary (default: next to this one).
    #[arg(long)]
    testpeer: Option<PathBuf>,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let bin = exe
        .parent()
        .context("this executable has no directory")?
        .join(name);
    if !bin.is_file() {
        bail!(
            "{} is not built (bench/throughput builds it with --release)",
            bin.display()
        );
    }
    Ok(bin)
}

/// `corridor up` in the client namespace, stopped with SIGTERM when dropped.
struct Corridor {
    child: Child,
}

impl Corridor {
    fn up(lab: &Lab, bin: &Path, state: &Path) -> Result<Corridor> {
        let profile = lab.write_corridor_profile()?;
        let mut child = lab
            .command(Host::Client, bin)
            .arg("up")
            .arg(&profile)
            .arg("--state-dir")
            .arg(state)
            .arg("--no-dns")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting corridor up")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut corridor = Corridor { child };
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.starts_with("connected in") => return Ok(corridor),
                Ok(_) => {}
                Err(_) => {
                    corridor.stop();
                    bail!("corridor up did not connect within 60 s");
                }
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Corridor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Both directions at full speed, then both at the fixed rate with CPU accounting.
fn measure(lab: &Lab, args: &Args, which: Which, client: Option<u32>) -> Result<Row> {
    lab.ping(Host::Client, lab.lan_host_addr())
        .context("the path does not carry ping")?;
    let lan = lab.lan_host_addr();
    let mut row = Row::new(which);
    for download in [false, true] {
        let drops0 = losses::udp_receive_drops(lab)?;
        let full = iperf::run(lab, lan, download, Amount::Seconds(args.seconds))?;
        let lost = Losses {
            datagrams_dropped: losses::udp_receive_drops(lab)?.saturating_sub(drops0),
            tcp_retransmits: full.retransmits,
        };
        let fixed_amount = Amount::Bytes {
            bytes: args.fixed_mb * 1_000_000,
            mbit: args.rate,
        };
        let client0 = client.map(cpu::tree_seconds).transpose()?;
        let machine0 = cpu::machine_seconds()?;
        let fixed = iperf::run(lab, lan, download, fixed_amount)?;
        let machine1 = cpu::machine_seconds()?;
        let client1 = client.map(cpu::tree_seconds).transpose()?;
        let gb = fixed.bytes / 1e9;
        let client_cpu = client0.zip(client1).map(|(a, b)| (b - a) / gb);
        let machine_cpu = (machine1 - machine0) / gb;
        eprintln!(
            "  {}: {:.0} Mbit/s ({lost}); at {} Mbit/s {:.0} MB: client {} CPU-s/GB, machine {:.2} CPU-s/GB",
            if download { "download" } else { "upload" },
            full.mbit_per_s,
            args.rate,
            fixed.bytes / 1e6,
            client_cpu.map_or("-".into(), |c| format!("{c:.3}")),
            machine_cpu
        );
        row.set(download, full.mbit_per_s, lost, client_cpu, machine_cpu);
    }
    Ok(row)
}

fn run_path(which: Which, args: &Args, dir: &Path) -> Result<Row> {
    eprintln!("{}", which.title());
    match which {
        Which::CorridorStrongswan => {
            let lab = Lab::start(LabConfig::new(Scenario::Psk))?;
            let bin = args
                .corridor
                .clone()
                .map_or_else(|| sibling("corridor"), Ok)?;
            let corridor = Corridor::up(&lab, &bin, &dir.join("a-state"))?;
            measure(&lab, args, which, Some(corridor.pid()))
        }
        Which::StrongswanStrongswan => {
            let lab = Lab::start(LabConfig::new(Scenario::Psk))?;
            let client = lab.start_strongswan_client()?;
            let pid = client
                .charon()
                .pid()
                .context("the strongSwan client has no pid")?;
            measure(&lab, args, which, Some(pid))
        }
        Which::CorridorTestpeer => {
            let lab = Lab::start(LabConfig::new(Scenario::Psk).gateway_daemon(false))?;
            let peer_bin = args
                .testpeer
                .clone()
                .map_or_else(|| sibling("corridor-testpeer"), Ok)?;
            let mut peer = lab.start_testpeer(&peer_bin, &[])?;
            let bin = args
                .corridor
                .clone()
                .map_or_else(|| sibling("corridor"), Ok)?;
            let corridor = Corridor::up(&lab, &bin, &dir.join("c-state"))?;
            peer.wait_connected(1, Duration::from_secs(10))?;
            let row = measure(&lab, args, which, Some(corridor.pid()));
            peer.check_running()?;
            row
        }
        Which::BareVeth => {
            let lab = Lab::start(LabConfig::new(Scenario::Psk).gateway_daemon(false))?;
            lab.exec(
                Host::Client,
                &[
                    "ip",
                    "route",
                    "add",
                    &lab::plan::LAN_V4.to_string(),
                    "via",
                    &lab.gateway_addr().to_string(),
                ],
            )?;
            measure(&lab, args, which, None)
        }
    }
}

pub(crate) fn main() -> Result<()> {
    let args = Args::parse();
    if args.seconds == 0 || args.fixed_mb == 0 || args.rate == 0 {
        bail!("--seconds, --fixed-mb and --rate must be positive");
    }
    let mut chosen = Vec::new();
    for c in args.paths.chars() {
        chosen.push(
            Which::from_letter(c)
                .with_context(|| format!("--paths takes the letters a, b, c and d, not '{c}'"))?,
        );
    }
    let dir = tempfile::tempdir().context("creating a state directory")?;
    let mut rows = Vec::new();
    for which in chosen {
        match run_path(which, &args, dir.path()) {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("  {} failed: {e:#}", which.title());
                rows.push(Row::failed(which, format!("{e:#}")));
            }
        }
    }
    let table = report::render(&rows, &args_summary(&args));
    println!("{table}");
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report::json(&rows))?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn args_summary(args: &Args) -> String {
    format!(
        "iperf3 TCP, {} s at full speed; CPU over {} MB at {} Mbit/s",
        args.seconds, args.fixed_mb, args.rate
    )
}
