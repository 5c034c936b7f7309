//! The `lab` command's implementation (Linux only: it drives network namespaces).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use lab::{ClientCert, Host, Lab, LabConfig, RelaySettings, Scenario};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

#[derive(Parser, Debug)]
#[command(
    name = "lab",
    about = "Corridor's strongSwan lab in network namespaces"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Bring a lab up, print where everything is, and keep it until Ctrl-C or SIGTERM.
    Up(UpArgs),
    /// Remove a lab's processes, namespaces and files (also leftovers of a crashed run).
    Down {
        /// Lab names, as printed by `lab list`.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List the labs on this machine.
    List,
    /// Check that this machine can run a lab.
    Check,
    /// Serve a fixed page over HTTP on every path (runs inside a lab namespace).
    HttpServe {
        /// Address and port to listen on; repeat for several.
        #[arg(long = "addr", required = true)]
        addrs: Vec<SocketAddr>,
        /// The page's text.
        #[arg(long, default_value = "corridor lab intranet\n")]
        body: String,
    },
    /// Relay UDP with delay, jitter, reordering and loss (runs inside a lab namespace).
    Relay(RelayArgs),
}

#[derive(clap::Args, Debug)]
struct UpArgs {
    /// eap-mschapv2, cert, eap-tls or psk.
    scenario: Scenario,
    /// Put the client behind a NAT router.
    #[arg(long)]
    nat: bool,
    /// Offer 0.0.0.0/0 (and ::/0) instead of the LAN subnets.
    #[arg(long)]
    full_tunnel: bool,
    /// Carry IPv6 inside the tunnel (IPv6 pool and traffic selectors).
    #[arg(long)]
    ipv6: bool,
    /// IKE proposal the gateway accepts (repeat; replaces the defaults).
    #[arg(long = "proposal", alias = "ike-proposal")]
    ike_proposals: Vec<String>,
    /// ESP proposal the gateway accepts (repeat; replaces the defaults).
    #[arg(long = "esp-proposal")]
    esp_proposals: Vec<String>,
    /// Gateway certificate under an RSA-4096 chain with two intermediates.
    #[arg(long)]
    long_chain: bool,
    /// IKE SA rekey interval in seconds.
    #[arg(long)]
    ike_rekey: Option<u64>,
    /// CHILD_SA rekey interval in seconds.
    #[arg(long)]
    child_rekey: Option<u64>,
    /// Lab name (default: generated).
    #[arg(long)]
    name: Option<String>,
    /// Also start the strongSwan client in the client namespace and connect it.
    #[arg(long)]
    strongswan_client: bool,
    /// Keep the logs under <target>/lab-logs/<name>/ after teardown.
    #[arg(long)]
    keep_logs: bool,
}

#[derive(clap::Args, Debug)]
struct RelayArgs {
    /// LISTEN=UPSTREAM, e.g. 198.18.0.2:500=198.18.0.1:500; repeat for several.
    #[arg(long = "map", required = true, value_parser = parse_map)]
    maps: Vec<(SocketAddr, SocketAddr)>,
    /// Seed of the random generator (loss, jitter, reordering).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fixed delay in milliseconds, each direction.
    #[arg(long, default_value_t = 0)]
    delay_ms: u32,
    /// Extra random delay up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u32,
    /// Datagrams per thousand held back so that later ones overtake them.
    #[arg(long, default_value_t = 0)]
    reorder_permille: u16,
    /// How long reordered datagrams are held back, in milliseconds.
    #[arg(long, default_value_t = 10)]
    reorder_gap_ms: u32,
    /// Datagrams per thousand dropped.
    #[arg(long, default_value_t = 0)]
    loss_permille: u16,
    /// Unix datagram socket receiving new settings as JSON.
    #[arg(long)]
    control: Option<PathBuf>,
}

fn parse_map(s: &str) -> Result<(SocketAddr, SocketAddr), String> {
    lab::relay::parse_map(s).map_err(|e| format!("{e:#}"))
}

pub(crate) fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Up(args) => up(args),
        Cmd::Down { names } => {
            for name in names {
                let report = lab::down(&name)?;
                println!(
                    "{name}: stopped {} processes, deleted {} namespaces{}",
                    report.stopped_pids.len(),
                    report.deleted_namespaces.len(),
                    if report.removed_dir {
                        ", removed its directory"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        Cmd::List => list(),
        Cmd::Check => {
            lab::preflight::check()?;
            println!("this machine can run the lab");
            Ok(())
        }
        Cmd::HttpServe { addrs, body } => lab::http::serve(&addrs, &body),
        Cmd::Relay(args) => lab::relay::run(lab::relay::RelayConfig {
            maps: args.maps,
            settings: RelaySettings {
                delay_ms: args.delay_ms,
                jitter_ms: args.jitter_ms,
                reorder_permille: args.reorder_permille,
                reorder_gap_ms: args.reorder_gap_ms,
                loss_permille: args.loss_permille,
            },
            seed: args.seed,
            control: args.control,
        }),
    }
}

fn up(args: UpArgs) -> Result<()> {
    // Catch the stop signals first, so that one arriving during start-up still tears down.
    // (Handlers, unlike a blocked signal mask, are not inherited by the lab's children.)
    let stop = watch_signals()?;

    let mut config = LabConfig::new(args.scenario)
        .nat(args.nat)
        .full_tunnel(args.full_tunnel)
        .ipv6(args.ipv6)
        .long_chain(args.long_chain);
    if !args.ike_proposals.is_empty() {
        config = config.ike_proposals(args.ike_proposals);
    }
    if !args.esp_proposals.is_empty() {
        config = config.esp_proposals(args.esp_proposals);
    }
    if let Some(s) = args.ike_rekey {
        config = config.ike_rekey(Duration::from_secs(s));
    }
    if let Some(s) = args.child_rekey {
        config = config.child_rekey(Duration::from_secs(s));
    }
    if let Some(name) = args.name {
        config = config.name(name);
    }
    eprintln!("starting the lab (the first run also generates the test PKI)...");
    let mut lab = Lab::start(config)?;
    lab.keep_logs(args.keep_logs);
    let sswan = match lab.write_sswan_profile() {
        Ok(path) => Some(path),
        Err(e) => {
            eprintln!("note: {e:#}");
            None
        }
    };
    let corridor = lab.write_corridor_profile()?;
    print_summary(&lab, sswan.as_deref(), &corridor)?;
    let client = if args.strongswan_client {
        let client = lab.start_strongswan_client()?;
        let vips = client.virtual_ips()?;
        println!(
            "strongSwan client connected, virtual IPs: {}",
            vips.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        Some(client)
    } else {
        None
    };
    println!(
        "\nlab {} is up; Ctrl-C (or `kill {}`) tears it down.",
        lab.name(),
        std::process::id()
    );
    let sig = stop.recv().context("waiting for a signal")?;
    eprintln!("signal {sig}: tearing lab {} down", lab.name());
    drop(client);
    lab.shutdown()
}

/// Waits for stop signals on a thread. The first one is handed to the main thread, which
/// tears the lab down as soon as it can (after start-up, if that is still running); a
/// second one exits at once, leaving leftovers for `lab down`.
fn watch_signals() -> Result<mpsc::Receiver<i32>> {
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing signal handlers")?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut seen = 0;
        for sig in signals.forever() {
            seen += 1;
            if seen > 1 {
                eprintln!(
                    "signal {sig} again: exiting now; remove leftovers with `lab list` and `lab down`"
                );
                std::process::exit(130);
            }
            let _ = tx.send(sig);
        }
    });
    Ok(rx)
}

fn print_summary(
    lab: &Lab,
    sswan: Option<&std::path::Path>,
    corridor: &std::path::Path,
) -> Result<()> {
    let cfg = lab.config();
    let creds = lab.credentials();
    println!(
        "lab {}: scenario {}{}{}{}{}",
        lab.name(),
        cfg.scenario(),
        if cfg.has_nat() { ", behind NAT" } else { "" },
        if cfg.is_full_tunnel() {
            ", full tunnel"
        } else {
            ", split tunnel"
        },
        if cfg.has_ipv6() {
            ", IPv6 in the tunnel"
        } else {
            ""
        },
        if cfg.has_long_chain() {
            ", long certificate chain"
        } else {
            ""
        }
    );
    println!("\nnamespaces:");
    for ns in lab.namespaces() {
        println!("  {ns}");
    }
    println!("\naddresses:");
    for host in Host::ALL {
        if let (Some(v4), Some(v6)) = (lab.addr(host, false), lab.addr(host, true)) {
            println!("  {:<8} {v4:<15} {v6}", host.role());
        }
    }
    println!("  LAN host services: DNS :53 (intranet.corp.example), HTTP :80, iperf3 :5201");
    println!(
        "\ngateway: {} ({}), IKE proposals: {}",
        lab.gateway_addr(),
        lab.gateway_id(),
        cfg.ike_proposal_list().join(", ")
    );
    println!("  ESP proposals: {}", cfg.esp_proposal_list().join(", "));
    println!(
        "  swanctl: swanctl --list-sas --uri {}",
        lab.gateway()?.vici_uri()
    );
    println!("  log: {}", lab.gateway_log_path().display());
    println!("\ncredentials:");
    match cfg.scenario() {
        Scenario::EapMschapv2 => println!(
            "  EAP identity {} password {}",
            creds.eap_identity, creds.eap_password
        ),
        Scenario::Psk => println!("  PSK {}", creds.psk),
        Scenario::Cert => {
            println!(
                "  ECDSA: {} ({})",
                lab.client_p12(ClientCert::Ecdsa).display(),
                creds.ecdsa_identity
            );
            println!(
                "  RSA:   {} ({})",
                lab.client_p12(ClientCert::Rsa).display(),
                creds.rsa_identity
            );
        }
        Scenario::EapTls => println!(
            "  {} ({})",
            lab.eap_tls_p12().display(),
            creds.eap_tls_identity
        ),
    }
    println!("  PKCS#12 password: {}", creds.p12_password);
    println!("  CA certificate: {}", lab.ca_cert().display());
    println!("\nprofiles:");
    if let Some(path) = sswan {
        println!("  {}", path.display());
    }
    println!("  {}", corridor.display());
    println!(
        "\nenter the client: ip netns exec {} bash",
        lab.netns(Host::Client)
    );
    Ok(())
}

fn list() -> Result<()> {
    let labs = lab::list()?;
    if labs.is_empty() {
        println!("no labs");
        return Ok(());
    }
    for l in labs {
        let owner = match &l.state {
            Some(s) if l.owner_alive => format!("owner pid {} running", s.owner_pid),
            Some(s) => format!(
                "owner pid {} gone: leftover, remove with `lab down {}`",
                s.owner_pid, l.name
            ),
            None => format!("no state file: leftover, remove with `lab down {}`", l.name),
        };
        let scenario = l.state.as_ref().map(|s| s.scenario.as_str()).unwrap_or("?");
        println!(
            "{}  {}  {} namespaces  {}",
            l.name,
            scenario,
            l.namespaces.len(),
            owner
        );
    }
    Ok(())
}
