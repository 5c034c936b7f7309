//! `corridor up PROFILE`: connect and carry traffic through a TUN device until SIGINT or
//! SIGTERM, then delete the SA and undo every network change.
//!
//! Order matters: leftovers of a crashed run are restored first; the TUN device, its
//! addresses, the routes and the DNS file only appear once the gateway has answered
//! (they depend on what it assigned), so packets start to flow after the handshake.
//! Every change goes through the journal of [`Platform`], so whatever way this process
//! ends, the next start (or the exit path here) puts the host back as it was.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use corridor_connection::{
    ConnectError, ConnectOptions, HostOptions, Observer, Status, TrafficCounters,
};
use corridor_model::Profile;
use corridor_platform::Platform;
use corridor_tunnel::ike_config;
use tokio::sync::watch;

use crate::Failure;
use crate::args::UpArgs;
use crate::diagnose::{load, read_secrets};
use crate::pidfile::PidFile;

/// How long we wait for the gateway to answer our Delete.
const DELETE_WAIT: Duration = Duration::from_secs(5);

/// Prints the connection's progress, one line each (scripts and tests wait for them).
struct Printer {
    host: String,
    started: Instant,
}

impl Observer for Printer {
    fn status(&mut self, status: &Status) {
        match status {
            Status::Connecting => out(&format!("connecting to {}", self.host)),
            Status::Connected(details) => out(&format!(
                "connected in {} ms (gateway {})",
                self.started.elapsed().as_millis(),
                details.gateway
            )),
            Status::Reconnecting {
                attempt,
                retry_in,
                reason,
            } => {
                out(&format!(
                    "connection lost ({reason}); attempt {attempt} in {} s",
                    retry_in.as_secs()
                ));
                self.started = Instant::now() + *retry_in;
            }
            Status::Disconnecting => out("disconnecting"),
        }
    }

    fn say(&mut self, line: &str) {
        out(line);
    }
}

/// Runs `corridor up`.
pub(crate) fn run(dir: Option<std::path::PathBuf>, args: UpArgs) -> Result<(), Failure> {
    let (profile, carried_password) = load(dir, &args.profile)?;
    let secrets = read_secrets(
        &profile,
        args.password_stdin,
        args.p12_password_stdin,
        carried_password,
    )?;
    let config = ike_config(&profile, &secrets).map_err(|e| Failure::BadInput(anyhow!(e)))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::System(anyhow!("cannot start the runtime: {e}")))?;
    runtime.block_on(up(profile, config, args))
}

pub(crate) fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

pub(crate) fn system(what: &str) -> impl FnOnce(corridor_platform::Error) -> Failure + '_ {
    move |e| Failure::System(anyhow!("{what}: {e}"))
}

/// Registers for the signals that end `up` (SIGINT and SIGTERM; on Windows Ctrl-C,
/// Ctrl-Break and the console closing) and returns a future that resolves with the
/// name of the first one to arrive.
#[cfg(unix)]
fn stop_signals() -> Result<impl Future<Output = &'static str> + Send + 'static, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| Failure::System(anyhow!("cannot handle SIGINT: {e}")))?;
    let mut sigterm = signal(SignalKind::terminate())
        .map_err(|e| Failure::System(anyhow!("cannot handle SIGTERM: {e}")))?;
    Ok(async move {
        tokio::select! {
            _ = sigint.recv() => "SIGINT",
            _ = sigterm.recv() => "SIGTERM",
        }
    })
}

/// See the Unix version.
#[cfg(windows)]
fn stop_signals() -> Result<impl Future<Output = &'static str> + Send + 'static, Failure> {
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
    let fail = |e: std::io::Error| Failure::System(anyhow!("cannot handle console events: {e}"));
    let mut c = ctrl_c().map_err(fail)?;
    let mut brk = ctrl_break().map_err(fail)?;
    let mut close = ctrl_close().map_err(fail)?;
    Ok(async move {
        tokio::select! {
            _ = c.recv() => "Ctrl-C",
            _ = brk.recv() => "Ctrl-Break",
            _ = close.recv() => "console closed",
        }
    })
}

async fn up(
    profile: Profile,
    config: corridor_ike::IkeConfig,
    args: UpArgs,
) -> Result<(), Failure> {
    // Registered before anything else, so a signal during the handshake is not lost.
    let stop_requested = stop_signals()?;

    let mut platform = Platform::open(&args.state_dir)
        .await
        .map_err(system("cannot open the network state"))?;
    // Before restoring leftovers: those of a running tunnel are not leftovers.
    let _pid_file = PidFile::acquire(&args.state_dir)?;
    let leftovers = platform
        .restore()
        .await
        .map_err(system("cannot undo the changes of an earlier run"))?;
    if leftovers > 0 {
        out(&format!(
            "restored {leftovers} network change(s) left by an earlier run"
        ));
    }

    let (stop_tx, stop) = watch::channel(false);
    #[cfg(not(unix))]
    let stop_requested = {
        // No signals here: `corridor down` leaves a stop request instead.
        let by_down = crate::pidfile::stop_requested(args.state_dir.clone());
        async move {
            tokio::select! {
                signal = stop_requested => signal,
                () = by_down => "corridor down",
            }
        }
    };
    tokio::spawn(async move {
        let signal = stop_requested.await;
        out(&format!("{signal}: disconnecting"));
        let _ = stop_tx.send(true);
    });
    let options = ConnectOptions {
        host: HostOptions {
            tun_name: args.tun_name.clone(),
            no_dns: args.no_dns,
            resolv_conf: args.resolv_conf.clone(),
        },
        reconnect: !args.no_reconnect,
        delete_wait: DELETE_WAIT,
        key_log: true,
        ..ConnectOptions::default()
    };
    let counters = TrafficCounters::default();
    let mut printer = Printer {
        host: profile.gateway.host.clone(),
        started: Instant::now(),
    };
    let ended = corridor_connection::run(
        &profile,
        config,
        &mut platform,
        &options,
        counters.clone(),
        &mut printer,
        stop,
    )
    .await;

    let restored = platform.restore().await;
    match &restored {
        Ok(n) => out(&format!("network restored ({n} change(s) undone)")),
        Err(e) => out(&format!("could not restore the network: {e}")),
    }
    let traffic = counters.snapshot();
    match ended {
        Ok(stopped) => out(&format!(
            "disconnected ({}); packets out {}, in {}",
            if stopped.delete_answered {
                "the gateway confirmed"
            } else {
                "the gateway did not answer our Delete"
            },
            traffic.packets_out,
            traffic.packets_in,
        )),
        Err(ConnectError::Host(e)) => {
            return Err(Failure::System(anyhow!(e)));
        }
        Err(e) => return Err(Failure::Conflict(anyhow!("the session failed: {e}"))),
    }
    restored.map_err(system("cannot restore the network"))?;
    Ok(())
}
