//! `corridord`: Corridor's privileged service. `corridord run` runs it in the
//! foreground (systemd and launchd start it that way; tests run isolated instances with
//! their own `--socket` and `--state-dir`); on Windows the service control manager
//! starts `corridord service`, which runs the same service under its control.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use corridor_connection::HostOptions;
use corridor_ipc::DEFAULT_SOCKET;
use corridor_service::connections::{Connections, ConnectionsConfig};
use corridor_service::events::Hub;
use corridor_service::profiles::Profiles;
use corridor_service::server::ServerConfig;
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
    /// Runs the service in the foreground until SIGINT or SIGTERM (Ctrl-C on Windows).
    Run(RunArgs),
    /// Runs as the Windows service "corridord" under the service control manager
    /// (what the service's registration starts; not for use from a console).
    #[cfg(windows)]
    Service(RunArgs),
}

/// Users' profiles.
#[cfg(target_os = "macos")]
const DEFAULT_STATE_DIR: &str = "/Library/Application Support/Corridor/State";
#[cfg(windows)]
const DEFAULT_STATE_DIR: &str = r"C:\ProgramData\Corridor\State";
#[cfg(not(any(target_os = "macos", windows)))]
const DEFAULT_STATE_DIR: &str = "/var/lib/corridor";
/// The network-change journal: somewhere that does not outlive a reboot where the OS
/// offers one (the changes do not either).
#[cfg(target_os = "macos")]
const DEFAULT_RUN_DIR: &str = "/var/run/corridor/corridord";
#[cfg(windows)]
const DEFAULT_RUN_DIR: &str = r"C:\ProgramData\Corridor\Run";
#[cfg(not(any(target_os = "macos", windows)))]
const DEFAULT_RUN_DIR: &str = "/run/corridor/corridord";
/// Who may use the service: a Unix group, or on Windows a group SID or SDDL alias
/// (`BU`: the computer's users).
#[cfg(unix)]
const DEFAULT_GROUP: &str = "corridor";
#[cfg(windows)]
const DEFAULT_GROUP: &str = "BU";

#[derive(clap::Args)]
struct RunArgs {
    /// The IPC socket (on Windows: the named pipe).
    #[arg(long, default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Where the service keeps users' profiles.
    #[arg(long, default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Where the journal of the tunnel's network changes lives (a runtime directory:
    /// the changes do not survive a reboot either). Not the directory of `corridor up`'s
    /// journal: each restores only its own leftovers.
    #[arg(long, default_value = DEFAULT_RUN_DIR)]
    run_dir: PathBuf,
    /// The TUN interface's name. macOS names utun interfaces itself: `utunN` asks for
    /// that unit, `utun` (the default there) for the next free one.
    #[arg(long, value_name = "NAME", default_value = corridor_platform::DEFAULT_TUN_NAME)]
    tun_name: String,
    /// The resolv.conf-format file to point at the tunnel's DNS servers when
    /// systemd-resolved is not running.
    #[arg(long, value_name = "PATH", default_value = "/etc/resolv.conf")]
    resolv_conf: PathBuf,
    /// IT's managed profiles (read-only to users; they take precedence over a user's
    /// profile with the same id).
    #[arg(long, default_value = corridor_service::profiles::DEFAULT_MANAGED_DIR)]
    managed_dir: PathBuf,
    /// The group whose members may use the service; `-` for none (root only). On
    /// Windows a SID or one of the aliases BU, AU, IU, BA.
    #[arg(long, default_value = DEFAULT_GROUP)]
    group: String,
    /// The computer's profile policy (trusted signing keys, unsigned imports, legacy
    /// algorithms); a missing file is the default policy. `corridor policy set` and
    /// `trust-key` write it.
    #[arg(long, value_name = "PATH", default_value = corridor_profile::DEFAULT_POLICY_PATH)]
    policy: PathBuf,
}

/// The gid of the group `name` from the user database; `None` for `-`.
#[cfg(unix)]
fn group_id(name: &str) -> Result<Option<u32>, String> {
    if name == "-" {
        return Ok(None);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(Some(group.gid.as_raw())),
        Ok(None) => Err(format!(
            "no group named '{name}' (create it, or pass --group -)"
        )),
        Err(e) => Err(format!("cannot look up the group '{name}': {e}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One command on Unix, two on Windows.
    #[allow(clippy::infallible_destructuring_match)]
    let args = match cli.command {
        Command::Run(args) => args,
        #[cfg(windows)]
        Command::Service(args) => return scm::run_as_service(args),
    };
    let hub = init_logging();
    match run(args, hub, interrupted()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corridord: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr (the journal, under systemd) at `CORRIDOR_LOG` (default info), and
/// into the hub that serves recent logs and log events to clients.
fn init_logging() -> Hub {
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
    hub
}

/// Resolves on SIGINT or SIGTERM.
#[cfg(unix)]
async fn interrupted() {
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
}

/// Resolves on Ctrl-C or Ctrl-Break in the console.
#[cfg(windows)]
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

use tracing_subscriber::Layer as _;

/// The server's settings for this OS.
#[cfg(unix)]
fn server_config(args: &RunArgs) -> Result<ServerConfig, String> {
    Ok(ServerConfig {
        socket: args.socket.clone(),
        group: group_id(&args.group)?,
    })
}

/// The server's settings for this OS.
#[cfg(windows)]
fn server_config(args: &RunArgs) -> Result<ServerConfig, String> {
    let accounts = corridor_service::accounts::Accounts::open(args.state_dir.join("accounts.json"))
        .map_err(|e| e.to_string())?;
    Ok(ServerConfig {
        pipe: args.socket.clone(),
        group_sid: corridor_service::pipe_access::group_sid(&args.group)?,
        accounts: Arc::new(accounts),
    })
}

/// Runs the service until `shutdown` resolves, then ends the tunnel (restoring the
/// network) and removes the socket.
fn run(
    args: RunArgs,
    hub: Hub,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let config = server_config(&args)?;
    let policy = corridor_service::policy::PolicyState::load(&args.policy)
        .map_err(|e| format!("cannot read the policy: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
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
            shutdown.await;
            tracing::info!("stopping");
        };
        corridor_service::server::serve(listener, config, Arc::clone(&service), shutdown).await;
        service.connections.shutdown().await;
        if cfg!(unix) {
            let _ = std::fs::remove_file(&args.socket);
        }
        Ok(())
    })
}

/// corridord under the Windows service control manager: reports its state to the SCM
/// and stops the way `run` stops on Ctrl-C when the SCM asks (service stop, system
/// shutdown).
#[cfg(windows)]
mod scm {
    use std::ffi::OsString;
    use std::process::ExitCode;
    use std::sync::{Mutex, OnceLock};
    use std::time::Duration;

    use windows_service::service::{
        ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus,
        ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::{define_windows_service, service_dispatcher};

    use super::RunArgs;

    /// The service's name in the SCM (installers/windows registers it).
    pub(crate) const SERVICE_NAME: &str = "corridord";

    /// The arguments of `corridord service`, handed to the service's main function,
    /// which the SCM calls on its own thread without them.
    static ARGS: OnceLock<Mutex<Option<RunArgs>>> = OnceLock::new();

    define_windows_service!(ffi_service_main, service_main);

    /// Connects to the SCM and runs the service until it is stopped.
    pub(crate) fn run_as_service(args: RunArgs) -> ExitCode {
        let _ = ARGS.set(Mutex::new(Some(args)));
        match service_dispatcher::start(SERVICE_NAME, ffi_service_main) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!(
                    "corridord: cannot reach the service control manager ({e}); \
                     `corridord service` is started by Windows, use `corridord run` in a console"
                );
                ExitCode::FAILURE
            }
        }
    }

    fn status(state: ServiceState, exit: u32) -> ServiceStatus {
        ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: if state == ServiceState::Running {
                ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
            } else {
                ServiceControlAccept::empty()
            },
            exit_code: ServiceExitCode::ServiceSpecific(exit),
            checkpoint: 0,
            wait_hint: Duration::from_secs(10),
            process_id: None,
        }
    }

    fn service_main(_arguments: Vec<OsString>) {
        let args = ARGS
            .get()
            .and_then(|args| args.lock().ok().and_then(|mut args| args.take()));
        let Some(args) = args else { return };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stop_tx = Mutex::new(Some(stop_tx));
        let handler = move |control| match control {
            ServiceControl::Stop | ServiceControl::Shutdown => {
                if let Some(tx) = stop_tx.lock().ok().and_then(|mut tx| tx.take()) {
                    let _ = tx.send(());
                }
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        };
        let Ok(scm) = service_control_handler::register(SERVICE_NAME, handler) else {
            return;
        };
        let _ = scm.set_service_status(status(ServiceState::Running, 0));
        let hub = super::init_logging();
        let result = super::run(args, hub, async {
            let _ = stop_rx.await;
        });
        let exit = match result {
            Ok(()) => 0,
            Err(e) => {
                tracing::error!("{e}");
                1
            }
        };
        let _ = scm.set_service_status(status(ServiceState::Stopped, exit));
    }
}
