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
use corridor_model::Profile;
use corridor_platform::{Platform, Tun as _, TunDevice};
use corridor_tunnel::session_driver::DatagramBatch;
use corridor_tunnel::session_driver::{SessionDriver, SessionEvent, SessionOptions};
use corridor_tunnel::{KeyLog, PacketDevice, ike_config};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

use crate::Failure;
use crate::args::UpArgs;
use crate::diagnose::{load, read_secrets};
use crate::pidfile::PidFile;

/// How long we wait for the gateway to answer our Delete.
const DELETE_WAIT: Duration = Duration::from_secs(5);

/// The TUN device as the session driver's packet device. It exists only once the
/// gateway has answered (its addresses and MTU come from the answer), so the driver
/// gets a device that waits for it: reads wait, writes drop what comes before it.
#[derive(Debug)]
struct LateTun {
    arrives: oneshot::Receiver<TunDevice>,
    tun: Option<TunDevice>,
}

/// The platform's error as an I/O error, keeping the OS error code the driver uses to
/// tell a failed device from a dropped packet.
fn io_error(e: corridor_platform::Error) -> std::io::Error {
    match e {
        corridor_platform::Error::Tun { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    }
}

impl PacketDevice for LateTun {
    async fn recv_batch(
        &mut self,
        bufs: &mut [&mut [u8]],
        sizes: &mut [usize],
    ) -> std::io::Result<usize> {
        if self.tun.is_none() {
            // Waiting on the receiver by reference is cancel-safe.
            match (&mut self.arrives).await {
                Ok(tun) => self.tun = Some(tun),
                // The device will never come: setting up the network failed.
                Err(_) => return Ok(0),
            }
        }
        match &mut self.tun {
            Some(tun) => tun.recv_batch(bufs, sizes).await.map_err(io_error),
            None => Ok(0),
        }
    }

    async fn send_batch(&mut self, packets: &DatagramBatch) -> std::io::Result<usize> {
        match &mut self.tun {
            Some(tun) => tun
                .send_batch(packets.as_bytes(), packets.segments())
                .await
                .map_err(io_error),
            None => Ok(0),
        }
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

async fn up(
    profile: Profile,
    config: corridor_ike::IkeConfig,
    args: UpArgs,
) -> Result<(), Failure> {
    // Registered before anything else, so a signal during the handshake is not lost.
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| Failure::System(anyhow!("cannot handle SIGINT: {e}")))?;
    let mut sigterm = signal(SignalKind::terminate())
        .map_err(|e| Failure::System(anyhow!("cannot handle SIGTERM: {e}")))?;

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
    let keylog = KeyLog::from_env().map_err(|e| {
        Failure::System(anyhow!(
            "cannot open the key log of {}: {e}",
            corridor_tunnel::keylog::ENV_VAR
        ))
    })?;

    let started = Instant::now();
    let driver = SessionDriver::open(
        config,
        &profile.gateway.host,
        profile.gateway.port,
        SessionOptions::default(),
        keylog,
    )
    .await
    .map_err(|e| Failure::Conflict(anyhow!(e)))?;
    let gateway = driver.gateway().ip();
    out(&format!(
        "connecting to {} ({gateway})",
        profile.gateway.host
    ));

    let (tun_tx, arrives) = oneshot::channel::<TunDevice>();
    let (connected_tx, mut connected_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let shutdown = async move {
        tokio::select! {
            _ = sigint.recv() => out("SIGINT: disconnecting"),
            _ = sigterm.recv() => out("SIGTERM: disconnecting"),
            _ = stop_rx => {}
        }
    };
    let mut session = tokio::spawn(async move {
        let mut on_event = move |event: &SessionEvent| {
            if let SessionEvent::Connected(info) = event {
                let _ = connected_tx.send((**info).clone());
            }
        };
        driver
            .run(
                LateTun { arrives, tun: None },
                shutdown,
                DELETE_WAIT,
                &mut on_event,
            )
            .await
    });

    let mut stop_tx = Some(stop_tx);
    let connected = tokio::select! {
        info = connected_rx.recv() => info,
        end = &mut session => {
            // Ended before connecting; nothing was changed yet.
            return match end {
                Ok(Ok(_)) => { out("disconnected before the tunnel was up"); Ok(()) }
                Ok(Err(e)) => Err(Failure::Conflict(anyhow!("the session failed: {e}"))),
                Err(e) => Err(Failure::System(anyhow!("the session task failed: {e}"))),
            };
        }
    };
    let mut setup_error = None;
    if let Some(info) = connected {
        match crate::up_network::configure(&mut platform, &profile, &args, gateway, &info).await {
            Ok(tun) => {
                out(&format!(
                    "connected in {} ms",
                    started.elapsed().as_millis()
                ));
                // If the session already ended, it drops the device with the driver.
                let _ = tun_tx.send(tun);
            }
            Err(e) => {
                setup_error = Some(e);
                if let Some(stop) = stop_tx.take() {
                    let _ = stop.send(());
                }
            }
        }
    }

    let end = (&mut session).await;
    drop(stop_tx);
    let restored = platform.restore().await;
    match &restored {
        Ok(n) => out(&format!("network restored ({n} change(s) undone)")),
        Err(e) => out(&format!("could not restore the network: {e}")),
    }
    if let Some(e) = setup_error {
        return Err(e);
    }
    let end = match end {
        Ok(Ok(end)) => end,
        Ok(Err(e)) => return Err(Failure::Conflict(anyhow!("the session failed: {e}"))),
        Err(e) => return Err(Failure::System(anyhow!("the session task failed: {e}"))),
    };
    out(&format!(
        "disconnected ({}); packets out {}, in {}",
        match end.reason {
            Some(reason) => format!("{reason:?}"),
            None => "the gateway did not answer our Delete".to_string(),
        },
        end.session.packets_out,
        end.session.packets_in,
    ));
    restored.map_err(system("cannot restore the network"))?;
    Ok(())
}
