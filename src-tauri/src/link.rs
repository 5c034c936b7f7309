//! The link to corridord: one connection subscribed to events (state changes, 1 s
//! statistics, log lines at info and above) and one for the page's requests. When
//! the service is not running, stops or restarts, the link tries again every 2 s and
//! tells the page through the `service` event. It keeps the latest status per profile
//! and the profile list for the tray, and a ring of recent events for diagnostics.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use corridor_client::{Client, ClientError};
use corridor_ipc::{
    ConnectionState, ConnectionStatus, Event, LogLevel, ProfileSummary, Reply, Request, Secret,
    ServerHello,
};
use serde::Serialize;
use tauri::{AppHandle, Emitter as _};
use uuid::Uuid;

use crate::errors::{Code, SERVICE_DOWN, UiError, unavailable_message};

/// How long to wait before trying the service again.
const RETRY: Duration = Duration::from_secs(2);
/// A request the service has not answered in this time counts as a lost connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Recent events kept for the diagnostics archive.
const EVENT_RING: usize = 500;

/// What the page shows about the service (`service_info`, the `service` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ServiceInfo {
    pub(crate) connected: bool,
    pub(crate) server: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) admin: bool,
    /// Why the service cannot be reached, in plain words.
    pub(crate) message: Option<String>,
}

/// Secrets the user typed for a connect, stored in the keychain once it is up.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub(crate) password: Option<Secret>,
    pub(crate) key_passphrase: Option<Secret>,
}

/// What the link knows; read by commands and the tray.
#[derive(Debug, Default)]
pub(crate) struct Known {
    pub(crate) hello: Option<ServerHello>,
    pub(crate) down_reason: Option<String>,
    pub(crate) profiles: Vec<ProfileSummary>,
    pub(crate) statuses: HashMap<Uuid, ConnectionStatus>,
    /// Recent events, one JSON line each, oldest first.
    pub(crate) events: VecDeque<String>,
    pub(crate) remember: HashMap<Uuid, Pending>,
}

impl Known {
    pub(crate) fn service_info(&self) -> ServiceInfo {
        match &self.hello {
            Some(hello) => ServiceInfo {
                connected: true,
                server: Some(hello.server.clone()),
                user: hello.caller.user.clone(),
                admin: hello.caller.admin,
                message: None,
            },
            None => ServiceInfo {
                connected: false,
                server: None,
                user: None,
                admin: false,
                message: Some(
                    self.down_reason
                        .clone()
                        .unwrap_or_else(|| SERVICE_DOWN.to_string()),
                ),
            },
        }
    }

    pub(crate) fn states(&self) -> HashMap<Uuid, ConnectionState> {
        self.statuses.iter().map(|(id, s)| (*id, s.state)).collect()
    }

    /// Adds an event to the ring, dropping the oldest beyond its size.
    pub(crate) fn record(&mut self, kind: &str, value: &impl Serialize) {
        let line = serde_json::json!({
            "unix_ms": unix_ms(),
            "event": kind,
            "data": value,
        });
        self.events.push_back(line.to_string());
        while self.events.len() > EVENT_RING {
            self.events.pop_front();
        }
    }
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The two connections and what they learnt.
#[derive(Debug)]
pub(crate) struct Link {
    socket: PathBuf,
    program: String,
    requests: tokio::sync::Mutex<Option<Client>>,
    known: Mutex<Known>,
}

impl Link {
    pub(crate) fn new(socket: PathBuf) -> Arc<Link> {
        Arc::new(Link {
            socket,
            program: format!("corridor-app {}", env!("CARGO_PKG_VERSION")),
            requests: tokio::sync::Mutex::new(None),
            known: Mutex::new(Known::default()),
        })
    }

    /// What the link knows (a poisoned lock still holds usable data).
    pub(crate) fn known(&self) -> MutexGuard<'_, Known> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks the service on the request connection, opening it when needed; a broken
    /// connection is dropped so the next request opens a new one.
    pub(crate) async fn ask(&self, request: Request) -> Result<Reply, UiError> {
        let mut slot = self.requests.lock().await;
        if slot.is_none() {
            let (client, _hello) = Client::open(&self.socket, &self.program).await?;
            *slot = Some(client);
        }
        let Some(client) = slot.as_mut() else {
            return Err(UiError::internal("the request connection vanished"));
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, client.ask(request)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => {
                if !matches!(e, ClientError::Refused(_)) {
                    *slot = None;
                }
                Err(e.into())
            }
            Err(_) => {
                *slot = None;
                Err(UiError::new(
                    Code::ServiceUnavailable,
                    "The Corridor service did not answer in time.",
                ))
            }
        }
    }

    /// The profile list, fresh from the service; also kept for the tray.
    pub(crate) async fn refresh_profiles(&self) -> Result<Vec<ProfileSummary>, UiError> {
        match self.ask(Request::ListProfiles).await? {
            Reply::Profiles { profiles } => {
                self.known().profiles.clone_from(&profiles);
                Ok(profiles)
            }
            other => Err(unexpected(&other)),
        }
    }

    /// The status of every connection, fresh from the service; also kept.
    pub(crate) async fn refresh_status(&self) -> Result<Vec<ConnectionStatus>, UiError> {
        match self.ask(Request::Status).await? {
            Reply::Status { connections } => {
                let mut known = self.known();
                for status in &connections {
                    known.statuses.insert(status.profile.id, status.clone());
                }
                Ok(connections)
            }
            other => Err(unexpected(&other)),
        }
    }
}

/// An answer of the wrong kind.
pub(crate) fn unexpected(reply: &Reply) -> UiError {
    UiError::internal("The Corridor service gave an unexpected answer.")
        .with_details(format!("{reply:?}"))
}

/// What the rest of the app does with what the link sees.
pub(crate) trait Observer: Send + Sync + 'static {
    /// The service came up (`true`) or went away (`false`).
    fn service_changed(&self, app: &AppHandle, up: bool);
    /// A connection changed from `old` to `status`.
    fn state_changed(
        &self,
        app: &AppHandle,
        old: Option<ConnectionState>,
        status: &ConnectionStatus,
    );
}

/// Runs the event connection for the app's lifetime.
pub(crate) async fn run(app: AppHandle, link: Arc<Link>, observer: Arc<dyn Observer>) {
    let mut was_up: Option<bool> = None;
    loop {
        match session(&app, &link, observer.as_ref(), &mut was_up).await {
            Ok(()) => tracing::info!("the Corridor service closed the connection"),
            Err(e) => tracing::debug!("service link: {e}"),
        }
        let reason = {
            let mut known = link.known();
            let changed = known.hello.take().is_some() || was_up != Some(false);
            known.statuses.clear();
            changed.then(|| known.service_info())
        };
        *link.requests.lock().await = None;
        if let Some(info) = reason {
            tracing::info!(
                "service not available: {}",
                info.message.as_deref().unwrap_or("")
            );
            link.known().record("service", &info);
            emit(&app, "service", &info);
            observer.service_changed(&app, false);
        }
        was_up = Some(false);
        tokio::time::sleep(RETRY).await;
    }
}

/// One life of the event connection: subscribe, take stock, then follow events.
async fn session(
    app: &AppHandle,
    link: &Link,
    observer: &dyn Observer,
    was_up: &mut Option<bool>,
) -> Result<(), String> {
    let (mut events, hello) = match Client::open(&link.socket, &link.program).await {
        Ok(opened) => opened,
        Err(ClientError::Unavailable { reason, .. }) => {
            link.known().down_reason = Some(unavailable_message(&reason));
            return Err(reason);
        }
        Err(e) => {
            link.known().down_reason = Some(format!("{SERVICE_DOWN} ({e})"));
            return Err(e.to_string());
        }
    };
    events
        .ask(Request::Subscribe {
            log_level: Some(LogLevel::Info),
        })
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("connected to {}", hello.server);
    let info = {
        let mut known = link.known();
        known.hello = Some(hello);
        known.down_reason = None;
        known.service_info()
    };
    *was_up = Some(true);
    link.known().record("service", &info);
    emit(app, "service", &info);
    if let Err(e) = link.refresh_profiles().await {
        tracing::warn!("cannot list the profiles: {e}");
    }
    match link.refresh_status().await {
        Ok(statuses) => {
            for status in statuses {
                emit(app, "state", &status);
            }
        }
        Err(e) => tracing::warn!("cannot read the connections' status: {e}"),
    }
    observer.service_changed(app, true);
    loop {
        let Some(event) = events.next_event().await.map_err(|e| e.to_string())? else {
            return Ok(());
        };
        match event {
            Event::State { status } => {
                let (old, unknown) = {
                    let mut known = link.known();
                    known.record("state", &status);
                    let old = known
                        .statuses
                        .insert(status.profile.id, (*status).clone())
                        .map(|s| s.state);
                    let unknown = !known.profiles.iter().any(|p| p.id == status.profile.id);
                    (old, unknown)
                };
                if unknown && let Err(e) = link.refresh_profiles().await {
                    tracing::debug!("cannot list the profiles: {e}");
                }
                emit(app, "state", &status);
                observer.state_changed(app, old, &status);
            }
            Event::Stats { profile, stats } => {
                if let Some(status) = link.known().statuses.get_mut(&profile) {
                    status.stats = Some(stats);
                }
                emit(
                    app,
                    "stats",
                    &serde_json::json!({ "profile": profile, "stats": stats }),
                );
            }
            Event::Log { line } => {
                link.known().record("log", &line);
                emit(app, "log", &line);
            }
        }
    }
}

/// Emits `event` to every window; a failure (no window yet) is only logged.
pub(crate) fn emit(app: &AppHandle, event: &str, payload: &impl Serialize) {
    if let Err(e) = app.emit(event, payload) {
        tracing::debug!("cannot emit {event}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_events() {
        let mut known = Known::default();
        for i in 0..(EVENT_RING + 10) {
            known.record("log", &i);
        }
        assert_eq!(known.events.len(), EVENT_RING);
        let first: serde_json::Value = serde_json::from_str(&known.events[0]).unwrap();
        assert_eq!(first["data"], 10);
        assert_eq!(first["event"], "log");
    }

    #[test]
    fn service_info_without_a_service_says_why() {
        let known = Known::default();
        let info = known.service_info();
        assert!(!info.connected);
        assert_eq!(info.message.as_deref(), Some(SERVICE_DOWN));
    }
}
