//! The service's connection: at most one tunnel at a time (one TUN device, one set of
//! routes and DNS on the host), started for a user, followed through its states, and
//! reported to subscribers as [`Event::State`] on every change and [`Event::Stats`]
//! once a second while connected.
//!
//! The secrets of a connect request live in memory for as long as the connection does
//! (a reconnection needs them again) and are wiped when it ends; nothing of them is
//! written anywhere.
//!
//! Every change to the host goes through the platform journal in the run directory:
//! the connection restores it when it ends, and the service restores leftovers of a
//! crash when it starts ([`Connections::restore_leftovers`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use corridor_connection::{ConnectOptions, HostOptions, Observer, Status, TrafficCounters};
use corridor_ipc::{
    ConnectSecrets, ConnectedDetails, ConnectionState, ConnectionStatus, ErrorCode, ErrorReply,
    Event, ProfileSummary, Stats,
};
use corridor_model::Profile;
use corridor_platform::Platform;
use tokio::sync::watch;

use crate::authz::{Action, Owner, authorize};
use crate::caller::Caller;
use crate::events::Hub;

/// How long a disconnect request waits for the tunnel to close and the host to be
/// restored before answering.
const DISCONNECT_WAIT: Duration = Duration::from_secs(15);
/// How often a connected tunnel's counters are published.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Where the connection lives on the host.
#[derive(Debug, Clone)]
pub struct ConnectionsConfig {
    /// The platform journal's directory (on a runtime file system: the host's network
    /// state does not survive a reboot either).
    pub run_dir: PathBuf,
    /// TUN device name, DNS file.
    pub host: HostOptions,
}

/// The service's connection, if any, and the last one's final status.
#[derive(Debug)]
pub struct Connections {
    config: ConnectionsConfig,
    hub: Hub,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The connection in progress, or the last one (finished), whose final status and
    /// reason its owner still sees.
    active: Option<Active>,
}

/// A connection.
#[derive(Debug)]
struct Active {
    started_by: u32,
    status: Arc<Mutex<ConnectionStatus>>,
    stop: watch::Sender<bool>,
    /// Turns true once the host is restored.
    finished: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn error(code: ErrorCode, message: impl Into<String>) -> ErrorReply {
    ErrorReply {
        code,
        message: message.into(),
    }
}

impl Connections {
    /// No connection yet.
    pub fn new(config: ConnectionsConfig, hub: Hub) -> Self {
        Self {
            config,
            hub,
            state: Mutex::new(State::default()),
        }
    }

    /// Undoes the network changes a previous run of the service left behind (it was
    /// killed, or the machine lost power mid-connection); returns how many.
    ///
    /// # Errors
    /// The journal cannot be read or a change cannot be undone.
    pub async fn restore_leftovers(&self) -> Result<usize, corridor_platform::Error> {
        let mut platform = Platform::open(&self.config.run_dir).await?;
        platform.restore().await
    }

    /// Starts connecting `profile` for `caller`; progress follows as events.
    ///
    /// # Errors
    /// Another connection is active, the profile cannot be used, or a secret it needs
    /// is missing. Nothing was started then.
    pub fn connect(
        &self,
        caller: &Caller,
        stored: Profile,
        owner: Owner,
        summary: ProfileSummary,
        username: Option<String>,
        secrets: ConnectSecrets,
    ) -> Result<(), ErrorReply> {
        authorize(caller, Action::Connect(owner))?;
        let mut profile = stored;
        if let Some(name) = username {
            if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
                return Err(error(
                    ErrorCode::BadRequest,
                    "the user name must be 1 to 255 printable characters",
                ));
            }
            profile.auth.eap_identity = Some(name);
        }
        let secrets = tunnel_secrets(&profile, secrets)?;
        let config = corridor_tunnel::ike_config(&profile, &secrets)
            .map_err(|e| error(ErrorCode::InvalidProfile, e.to_string()))?;

        let mut state = lock(&self.state);
        if let Some(active) = &state.active
            && !*active.finished.borrow()
        {
            let name = lock(&active.status).profile.name.clone();
            return Err(error(
                ErrorCode::Conflict,
                format!("“{name}” is connected or connecting; disconnect it first"),
            ));
        }
        let status = Arc::new(Mutex::new(ConnectionStatus {
            profile: summary,
            state: ConnectionState::Connecting,
            reason: None,
            details: None,
            stats: None,
        }));
        let (stop, stop_rx) = watch::channel(false);
        let (finished_tx, finished) = watch::channel(false);
        state.active = Some(Active {
            started_by: caller.uid,
            status: Arc::clone(&status),
            stop,
            finished,
        });
        drop(state);
        tracing::info!(who = %caller.describe(), profile = %profile.name, "connecting");

        let task = Task {
            hub: self.hub.clone(),
            status,
            config: self.config.clone(),
        };
        tokio::spawn(async move {
            task.run(profile, config, stop_rx).await;
            let _ = finished_tx.send(true);
        });
        Ok(())
    }

    /// Asks the caller's connection (or, for an administrator, any) to end, and waits
    /// until the host is restored. `query` must name the connected profile when given.
    ///
    /// # Errors
    /// Nothing to disconnect, not the caller's, or it did not end in time.
    pub async fn disconnect(&self, caller: &Caller, query: Option<&str>) -> Result<(), ErrorReply> {
        let (stop, mut finished) = {
            let state = lock(&self.state);
            let Some(active) = state.active.as_ref().filter(|a| !*a.finished.borrow()) else {
                return Err(error(ErrorCode::NotFound, "nothing is connected"));
            };
            if let Some(query) = query {
                let status = lock(&active.status);
                let profile = &status.profile;
                let q = query.to_lowercase();
                if profile.name.to_lowercase() != q && !profile.id.to_string().starts_with(&q) {
                    return Err(error(
                        ErrorCode::NotFound,
                        format!("“{query}” is not connected"),
                    ));
                }
            }
            authorize(
                caller,
                Action::Disconnect {
                    started_by: active.started_by,
                },
            )?;
            (active.stop.clone(), active.finished.clone())
        };
        tracing::info!(who = %caller.describe(), "disconnect requested");
        let _ = stop.send(true);
        match tokio::time::timeout(DISCONNECT_WAIT, finished.wait_for(|f| *f)).await {
            Ok(_) => Ok(()),
            Err(_) => Err(error(
                ErrorCode::Internal,
                "the connection did not close in time; it is still being torn down",
            )),
        }
    }

    /// The connections `caller` can see: the one in progress (with every detail for its
    /// owner and administrators; others only see that the tunnel is in use), else the
    /// last one's final status for its owner.
    pub fn status(&self, caller: &Caller) -> Vec<ConnectionStatus> {
        let state = lock(&self.state);
        let mut out = Vec::new();
        if let Some(active) = &state.active
            && !*active.finished.borrow()
        {
            let status = lock(&active.status).clone();
            if caller.is_admin() || caller.uid == active.started_by {
                out.push(status);
            } else {
                out.push(ConnectionStatus {
                    profile: ProfileSummary {
                        id: uuid::Uuid::nil(),
                        name: "(another user's connection)".to_string(),
                        gateway: String::new(),
                        auth: String::new(),
                        managed: false,
                        posture: String::new(),
                    },
                    details: None,
                    stats: None,
                    reason: None,
                    ..status
                });
            }
            return out;
        }
        if let Some(active) = &state.active
            && (caller.is_admin() || caller.uid == active.started_by)
        {
            out.push(lock(&active.status).clone());
        }
        out
    }

    /// Ends the connection, if any, and waits until the host is restored (the service
    /// is stopping).
    pub async fn shutdown(&self) {
        let finished = lock(&self.state).active.as_ref().map(|a| {
            let _ = a.stop.send(true);
            a.finished.clone()
        });
        if let Some(mut finished) = finished {
            let _ = tokio::time::timeout(DISCONNECT_WAIT, finished.wait_for(|f| *f)).await;
        }
    }
}

/// The secrets the profile's method needs, from the request.
fn tunnel_secrets(
    profile: &Profile,
    secrets: ConnectSecrets,
) -> Result<corridor_tunnel::ConnectSecrets, ErrorReply> {
    let method = profile.auth.method;
    if method.uses_password() && secrets.password.is_none() {
        return Err(error(
            ErrorCode::SecretRequired,
            format!(
                "“{}” signs in with a password ({}); none was given",
                profile.name,
                method.as_str()
            ),
        ));
    }
    if profile.needs_pkcs12_password() && secrets.key_passphrase.is_none() {
        return Err(error(
            ErrorCode::SecretRequired,
            format!(
                "“{}” needs the password of its client certificate (PKCS#12); none was given",
                profile.name
            ),
        ));
    }
    Ok(corridor_tunnel::ConnectSecrets {
        eap_password: secrets.password,
        p12_password: secrets.key_passphrase,
    })
}

/// One connection's task.
struct Task {
    hub: Hub,
    status: Arc<Mutex<ConnectionStatus>>,
    config: ConnectionsConfig,
}

/// Publishes each state change of the connection.
struct Publisher {
    hub: Hub,
    status: Arc<Mutex<ConnectionStatus>>,
    connected_since: Arc<Mutex<Option<Instant>>>,
}

impl Publisher {
    fn set(
        &self,
        state: ConnectionState,
        reason: Option<String>,
        details: Option<ConnectedDetails>,
    ) {
        let snapshot = {
            let mut status = lock(&self.status);
            status.state = state;
            status.reason = reason;
            status.details = details;
            if status.state != ConnectionState::Connected {
                status.stats = None;
            }
            status.clone()
        };
        self.hub.publish(Event::State {
            status: Box::new(snapshot),
        });
    }
}

impl Observer for Publisher {
    fn status(&mut self, status: &Status) {
        match status {
            Status::Connecting => self.set(ConnectionState::Connecting, None, None),
            Status::Connected(d) => {
                *lock(&self.connected_since) = Some(d.since);
                self.set(
                    ConnectionState::Connected,
                    None,
                    Some(ConnectedDetails {
                        virtual_ips: d.virtual_ips.clone(),
                        gateway: d.gateway,
                        ike_suite: d.ike_suite.clone(),
                        esp_suite: d.esp_suite.clone(),
                        routes: d.routes.clone(),
                        dns_servers: d.dns_servers.clone(),
                        dns_domains: d.dns_domains.clone(),
                    }),
                );
            }
            Status::Reconnecting {
                attempt,
                retry_in,
                reason,
            } => {
                *lock(&self.connected_since) = None;
                self.set(
                    ConnectionState::Reconnecting {
                        attempt: *attempt,
                        retry_in_secs: u32::try_from(retry_in.as_secs()).unwrap_or(u32::MAX),
                    },
                    Some(reason.clone()),
                    None,
                );
            }
            Status::Disconnecting => {
                *lock(&self.connected_since) = None;
                self.set(
                    ConnectionState::Disconnecting,
                    Some("disconnected by the user".to_string()),
                    None,
                );
            }
        }
    }

    fn say(&mut self, line: &str) {
        tracing::info!("{}", line.trim());
    }
}

impl Task {
    async fn run(
        self,
        profile: Profile,
        config: corridor_ike::IkeConfig,
        stop: watch::Receiver<bool>,
    ) {
        let connected_since = Arc::new(Mutex::new(None));
        let mut publisher = Publisher {
            hub: self.hub.clone(),
            status: Arc::clone(&self.status),
            connected_since: Arc::clone(&connected_since),
        };
        let counters = TrafficCounters::default();
        let ticker = tokio::spawn(publish_stats(
            self.hub.clone(),
            Arc::clone(&self.status),
            counters.clone(),
            connected_since,
        ));
        let (ended, restored) = match Platform::open(&self.config.run_dir).await {
            Ok(mut platform) => {
                let options = ConnectOptions {
                    host: self.config.host.clone(),
                    ..ConnectOptions::default()
                };
                let ended = corridor_connection::run(
                    &profile,
                    config,
                    &mut platform,
                    &options,
                    counters,
                    &mut publisher,
                    stop,
                )
                .await
                .map_err(|e| e.to_string());
                (ended, platform.restore().await.map_err(|e| e.to_string()))
            }
            Err(e) => (Err(format!("cannot open the network state: {e}")), Ok(0)),
        };
        ticker.abort();
        let reason = match (&ended, &restored) {
            (_, Err(e)) => format!("could not restore the network: {e}"),
            (Ok(_), Ok(_)) => "disconnected by the user".to_string(),
            (Err(e), Ok(_)) => e.clone(),
        };
        match &ended {
            Ok(_) => tracing::info!(profile = %profile.name, "disconnected"),
            Err(e) => tracing::warn!(profile = %profile.name, "connection failed: {e}"),
        }
        publisher.set(ConnectionState::Disconnected, Some(reason), None);
    }
}

/// Publishes the counters once a second while the tunnel is up.
async fn publish_stats(
    hub: Hub,
    status: Arc<Mutex<ConnectionStatus>>,
    counters: TrafficCounters,
    connected_since: Arc<Mutex<Option<Instant>>>,
) {
    let mut tick = tokio::time::interval(STATS_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(since) = *lock(&connected_since) else {
            continue;
        };
        let traffic = counters.snapshot();
        let stats = Stats {
            bytes_in: traffic.bytes_in,
            bytes_out: traffic.bytes_out,
            packets_in: traffic.packets_in,
            packets_out: traffic.packets_out,
            uptime_secs: since.elapsed().as_secs(),
        };
        let profile = {
            let mut status = lock(&status);
            status.stats = Some(stats);
            status.profile.id
        };
        hub.publish(Event::Stats { profile, stats });
    }
}
