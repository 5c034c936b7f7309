//! `corridord`: Corridor's privileged service. `corridord run` runs it in the
//! foreground (systemd starts it that way; tests run isolated instances with their own
//! `--socket` and `--state-dir`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use corridor_connection::HostOptions;
use corridor_service::connections::{Connections, ConnectionsConfig};
use corridor_service::events::Hub;
use corridor_service::profiles::Profiles;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[derive(Parser)]
#[command(name = "corridord", version, about = "Corridor's VPN service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the service in the foreground until SIGINT or SIGTERM.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// The IPC socket.
    #[arg(long, default_value = "/run/corridor/corridord.sock")]
    socket: PathBuf,
    /// Where the service keeps users' profiles.
    #[arg(long, default_value = "/var/lib/corridor")]
    state_dir: PathBuf,
    /// Where the journal of the tunnel's network changes lives (a runtime directory:
    /// the changes do not survive a reboot either). Not the directory of `corridor up`'s
    /// journal: each restores only its own leftovers.
    #[arg(long, default_value = "/run/corridor/corridord")]
    run_dir: PathBuf,
    /// The TUN interface's name.
    #[arg(long, value_name = "NAME", default_value = "corridor0")]
    tun_name: String,
    /// The resolv.conf-format file to point at the tunnel's DNS servers when
    /// systemd-resolved is not running.
    #[arg(long, value_name = "PATH", default_value = "/etc/resolv.conf")]
    resolv_conf: PathBuf,
    /// IT's managed profiles (read-only to users; they take precedence over a user's
    /// profile with the same id).
    #[arg(long, default_value = corridor_service::profiles::DEFAULT_MANAGED_DIR)]
    managed_dir: PathBuf,
    /// The group whose members may use the service; `-` for none (root only).
    #[arg(long, default_value = "corridor")]
    group: String,
    /// The computer's profile policy (trusted signing keys, unsigned imports, legacy
    /// algorithms); a missing file is the default policy. `corridor policy set` and
    /// `trust-key` write it.
    #[arg(long, value_name = "PATH", default_value = corridor_profile::DEFAULT_POLICY_PATH)]
    policy: PathBuf,
}

fn group_id(name: &str) -> Result<Option<u32>, String> {
    if name == "-" {
        return Ok(None);
    }
    let groups = std::fs::read_to_string("/etc/group")
        .map_err(|e| format!("cannot read /etc/group: {e}"))?;
    groups
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == name).then(|| fields.nth(1)?.parse::<u32>().ok())?
        })
        .map(Some)
        .ok_or_else(|| format!("no group named '{name}' (create it, or pass --group -)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Run(args) = cli.command;
    let hub = Hub::new();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    EnvFilter::try_from_env("CORRIDOR_LOG")
                        .unwrap_or_else(|_| EnvFilter::new("info")),
                ),
        )
        .with(hub.layer().with_filter(EnvFilter::new("debug")))
        .init();
    match run(args, hub) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corridord: {e}");
            ExitCode::FAILURE
        }
    }
}

use tracing_subscriber::Layer as _;

fn run(args: RunArgs, hub: Hub) -> Result<(), String> {
    let group = group_id(&args.group)?;
    let policy = corridor_service::policy::PolicyState::load(&args.policy)
        .map_err(|e| format!("cannot read the policy: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let config = corridor_service::server::ServerConfig {
            socket: args.socket.clone(),
            group,
        };
        let listener = corridor_service::server::bind(&config)
            .await
            .map_err(|e| e.to_string())?;
        let connections = Connections::new(
            ConnectionsConfig {
                run_dir: args.run_dir.clone(),
                host: HostOptions {
                    tun_name: args.tun_name.clone(),
                    no_dns: false,
                    resolv_conf: args.resolv_conf.clone(),
                },
            },
            hub.clone(),
        );
        match connections.restore_leftovers().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("restored {n} network change(s) left by an earlier run"),
            Err(e) => {
                return Err(format!(
                    "cannot undo the network changes of an earlier run: {e}"
                ));
            }
        }
        let service = Arc::new(corridor_service::server::Service {
            profiles: Profiles::new(args.state_dir.join("profiles"), Some(args.managed_dir))
                .with_policy(Arc::new(policy)),
            hub,
            connections,
        });
        tracing::info!(socket = %args.socket.display(), "corridord listening");
        let shutdown = async {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return std::future::pending().await;
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            tracing::info!("stopping");
        };
        corridor_service::server::serve(listener, config, Arc::clone(&service), shutdown).await;
        service.connections.shutdown().await;
        let _ = std::fs::remove_file(&args.socket);
        Ok(())
    })
}
