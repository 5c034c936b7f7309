//! One connection from "connect" to "disconnected", through everything a laptop goes
//! through in between: the session driver for each attempt, the host's network set up
//! once the gateway answers, and new attempts with [`Backoff`] when the gateway goes
//! away or restarts, when the local network changes or after the machine slept.
//!
//! While the connection is re-established the TUN device, its routes and DNS stay in
//! place (the device is not read), so in a full tunnel nothing leaks outside the tunnel
//! while it is down. A reconnection that brings different addresses, routes or MTU
//! rebuilds the host side from scratch.
//!
//! The caller owns the [`Platform`] and restores it after [`run`] returns, so the same
//! code serves `corridor up` (which prints what it restored) and the service.

use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::time::{Duration, Instant, SystemTime};

use corridor_ike::IkeConfig;
use corridor_model::Profile;
use corridor_platform::{Platform, RouteEvents, awake_time};
use corridor_tunnel::session_driver::{
    ConnectionInfo, DisconnectReason, SessionError, SessionEvent, SessionOptions,
};
use corridor_tunnel::{DriverError, KeyLog, SessionDriver};
use tokio::sync::{mpsc, oneshot, watch};

use crate::backoff::Backoff;
use crate::device::{TrafficCounters, TunSlot};
use crate::host::{self, HostError, HostOptions};

/// How often the local network and the wall clock are looked at.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);
/// How long after the OS reports a route change the local network is looked at.
const ROUTE_SETTLE: Duration = Duration::from_millis(250);
/// A wall clock that moved this much more than the awake clock (which stands still
/// while the machine sleeps) means the machine slept.
const SLEEP_THRESHOLD: Duration = Duration::from_secs(10);

/// What a connection does beyond what the profile says.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The host side.
    pub host: HostOptions,
    /// Try again when the connection is lost for a reason that may pass.
    pub reconnect: bool,
    /// Session timers and limits; `None`: [`session_options`] of the profile.
    pub session: Option<SessionOptions>,
    /// How long to wait for the gateway's answer to our Delete.
    pub delete_wait: Duration,
    /// Open the key log of `CORRIDOR_KEYLOG` for each session.
    pub key_log: bool,
}

/// How long after its rekey time a Child SA still carries traffic when the rekey keeps
/// failing, before it expires (RFC 4301 §4.4.2.1: the hard lifetime follows the soft
/// one, so that the replacement can be negotiated in between).
const CHILD_EXPIRY_AFTER_REKEY: Duration = Duration::from_secs(10 * 60);

/// The session's timers for `profile`.
///
/// The Child SA is rekeyed after `rekey.child_minutes` (default an hour; the session
/// cuts a random share of up to a tenth off, RFC 7296 §2.8's jitter) and expires
/// [`CHILD_EXPIRY_AFTER_REKEY`] later if the rekey keeps failing; the IKE SA is rekeyed
/// every `rekey.ike_minutes` (default four hours). IKEv2 negotiates no lifetimes
/// (RFC 7296 §2.8), so these are only ours: gateways often rekey earlier, which is
/// always accepted; ours only make sure keys never live for days. NAT keepalives go
/// out every `transport.nat_keepalive_secs`. The liveness check interval is part of the
/// IKE configuration (`corridor_tunnel::profile_config::ike_config`), not of these.
pub fn session_options(profile: &Profile) -> SessionOptions {
    let minutes = |m: u32| Duration::from_secs(u64::from(m) * 60);
    let child = minutes(profile.rekey.child_minutes());
    SessionOptions {
        esp_lifetime: corridor_esp::Lifetime {
            soft_age: Some(child),
            hard_age: Some(child + CHILD_EXPIRY_AFTER_REKEY),
            ..corridor_esp::Lifetime::default()
        },
        ike_rekey_interval: Some(minutes(profile.rekey.ike_minutes())),
        nat_keepalive_interval: Duration::from_secs(u64::from(
            profile.transport.nat_keepalive_secs,
        )),
        ..SessionOptions::default()
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            host: HostOptions::default(),
            reconnect: true,
            session: None,
            delete_wait: Duration::from_secs(5),
            key_log: false,
        }
    }
}

/// What a connected tunnel looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// Addresses the gateway assigned, on the TUN device.
    pub virtual_ips: Vec<IpAddr>,
    /// The gateway's address in use.
    pub gateway: IpAddr,
    /// Negotiated IKE suite.
    pub ike_suite: String,
    /// Negotiated ESP suite.
    pub esp_suite: String,
    /// Prefixes routed into the tunnel.
    pub routes: Vec<String>,
    /// DNS servers in use.
    pub dns_servers: Vec<IpAddr>,
    /// Domains resolved through the tunnel.
    pub dns_domains: Vec<String>,
    /// When the tunnel (first) came up; a reconnection that kept the host side keeps it.
    pub since: Instant,
}

/// Where a connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The handshake of the first attempt runs.
    Connecting,
    /// Traffic flows.
    Connected(Box<Details>),
    /// The connection was lost; the next attempt starts after `retry_in`.
    Reconnecting {
        /// 1 for the first retry.
        attempt: u32,
        /// Until the next attempt.
        retry_in: Duration,
        /// Why it was lost, in plain language.
        reason: String,
    },
    /// Deleting the SA (the host is restored by the caller right after).
    Disconnecting,
}

/// Told about each change as it happens.
pub trait Observer: Send {
    /// The connection changed state.
    fn status(&mut self, status: &Status);
    /// A line about what was done (addresses, routes, DNS); `corridor up` prints them.
    fn say(&mut self, line: &str);
}

/// Why a connection ended for good.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The gateway or the network refused us in a way a retry cannot fix (or
    /// reconnecting is off).
    #[error("{0}")]
    Session(String),
    /// The host could not be set up.
    #[error(transparent)]
    Host(#[from] HostError),
}

/// How a connection that was asked to stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Whether the gateway answered our Delete (false: it may keep the SA until its
    /// liveness check gives up).
    pub delete_answered: bool,
    /// Whether the tunnel was up at some point.
    pub was_connected: bool,
}

/// Why one session ended.
enum SessionEnd {
    /// The user asked.
    Stopped { delete_answered: bool },
    /// Lost for a reason a new attempt may fix.
    Lost(String),
    /// Lost for good.
    Failed(ConnectError),
}

/// What ended a session from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    User,
    SetupFailed,
    NetworkChanged,
    Resumed,
}

/// The connection as set up on the host, to tell whether a new session needs a new
/// setup.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    addresses: Vec<IpAddr>,
    routes: Vec<(IpAddr, IpAddr)>,
    mtu: usize,
    gateway: IpAddr,
}

impl Shape {
    fn of(info: &ConnectionInfo, gateway: IpAddr) -> Self {
        let mut addresses: Vec<IpAddr> = info
            .assigned
            .ipv4
            .iter()
            .map(|n| IpAddr::V4(n.addr))
            .chain(info.assigned.ipv6.iter().map(|n| IpAddr::V6(n.addr)))
            .collect();
        addresses.sort();
        let mut routes: Vec<(IpAddr, IpAddr)> =
            info.routes.iter().map(|r| (r.start, r.end)).collect();
        routes.sort();
        Self {
            addresses,
            routes,
            mtu: info.inner_mtu,
            gateway,
        }
    }
}

/// The connection across sessions.
struct Supervisor<'a> {
    profile: &'a Profile,
    config: IkeConfig,
    platform: &'a mut Platform,
    options: &'a ConnectOptions,
    observer: &'a mut dyn Observer,
    stop: watch::Receiver<bool>,
    /// The gateway to dial: its name first, its address once resolved (a full tunnel's
    /// DNS is unreachable while the tunnel is down).
    dial: String,
    shape: Option<Shape>,
    details: Option<Details>,
    was_connected: bool,
    /// Whether the session that runs (or just ended) brought the tunnel up.
    session_connected: bool,
}

/// Runs the connection until `stop` turns true or it fails for good. The host side is
/// left in the journal of `platform`; the caller restores it.
///
/// # Errors
/// The connection failed and will not be retried ([`ConnectError`]).
pub async fn run(
    profile: &Profile,
    config: IkeConfig,
    platform: &mut Platform,
    options: &ConnectOptions,
    counters: TrafficCounters,
    observer: &mut dyn Observer,
    stop: watch::Receiver<bool>,
) -> Result<Stopped, ConnectError> {
    let mut supervisor = Supervisor {
        profile,
        config,
        platform,
        options,
        observer,
        stop,
        dial: profile.gateway.host.clone(),
        shape: None,
        details: None,
        was_connected: false,
        session_connected: false,
    };
    let mut slot = TunSlot::new(counters);
    let result = supervisor.run(&mut slot).await;
    // The device goes before the caller restores the journal.
    drop(slot.remove());
    result
}

impl Supervisor<'_> {
    async fn run(&mut self, slot: &mut TunSlot) -> Result<Stopped, ConnectError> {
        let mut backoff = Backoff::new();
        self.observer.status(&Status::Connecting);
        loop {
            self.session_connected = false;
            let end = self.session(slot).await;
            let reason = match end {
                SessionEnd::Stopped { delete_answered } => {
                    return Ok(Stopped {
                        delete_answered,
                        was_connected: self.was_connected,
                    });
                }
                SessionEnd::Failed(e) => return Err(e),
                SessionEnd::Lost(reason) if !self.options.reconnect => {
                    return Err(ConnectError::Session(reason));
                }
                SessionEnd::Lost(reason) => reason,
            };
            if self.session_connected {
                // It was up: the first retry comes fast again.
                backoff.reset();
            }
            let retry_in = backoff.next_wait(jitter());
            tracing::info!(%reason, "connection lost; trying again in {} s", retry_in.as_secs());
            self.observer.status(&Status::Reconnecting {
                attempt: backoff.attempts(),
                retry_in,
                reason,
            });
            let mut stop = self.stop.clone();
            tokio::select! {
                () = tokio::time::sleep(retry_in) => {}
                _ = stop.wait_for(|s| *s) => {
                    return Ok(Stopped { delete_answered: true, was_connected: self.was_connected });
                }
            }
        }
    }

    /// One session: handshake, host setup (or reuse), traffic, end.
    async fn session(&mut self, slot: &mut TunSlot) -> SessionEnd {
        let key_log = if self.options.key_log {
            match KeyLog::from_env() {
                Ok(log) => log,
                Err(e) => {
                    return SessionEnd::Failed(ConnectError::Session(format!(
                        "cannot open the key log: {e}"
                    )));
                }
            }
        } else {
            None
        };
        let driver = match SessionDriver::open(
            self.config.clone(),
            &self.dial,
            self.profile.gateway.port,
            self.options
                .session
                .unwrap_or_else(|| session_options(self.profile)),
            key_log,
        )
        .await
        {
            Ok(driver) => driver,
            Err(e) => return classify_driver_error(&e),
        };
        let gateway = driver.gateway();
        let local = driver.local_addr();
        self.dial = gateway.ip().to_string();
        tracing::info!(%gateway, "connecting to {}", self.profile.gateway.host);

        let (interrupt_tx, mut interrupt_rx) = mpsc::unbounded_channel::<Interrupt>();
        let (cause_tx, cause_rx) = oneshot::channel::<Interrupt>();
        let stop = self.stop.clone();
        let shutdown = async move {
            let cause = wait_for_interrupt(stop, &mut interrupt_rx, gateway, local).await;
            let _ = cause_tx.send(cause);
        };
        let (connected_tx, mut connected_rx) = mpsc::unbounded_channel();
        let (rekeyed_tx, mut rekeyed_rx) = mpsc::unbounded_channel::<String>();
        let mut on_event = move |event: &SessionEvent| match event {
            SessionEvent::Connected(info) => {
                let _ = connected_tx.send(info.clone());
            }
            SessionEvent::ChildSaRekeyed(info) => {
                tracing::info!(
                    suite = %info.esp_suite,
                    pfs = ?info.pfs_group,
                    by_gateway = info.by_gateway,
                    "Child SA rekeyed: SPIs {:08x}/{:08x} replace {:08x}/{:08x}",
                    info.inbound_spi,
                    info.outbound_spi,
                    info.old_inbound_spi,
                    info.old_outbound_spi,
                );
                let _ = rekeyed_tx.send(info.esp_suite.to_string());
            }
            SessionEvent::IkeSaRekeyed(info) => tracing::info!(
                suite = %info.ike_suite,
                by_gateway = info.by_gateway,
                "IKE SA rekeyed: SPIs {:016x}/{:016x}",
                info.spi_local,
                info.spi_remote,
            ),
            _ => {}
        };
        let installer = slot.installer();
        let device_needed = !slot.is_installed();
        let delete_wait = self.options.delete_wait;
        let run = SessionDriver::run(driver, slot.lease(), shutdown, delete_wait, &mut on_event);
        let mut run = pin!(run);
        let mut setup_error = None;
        let outcome = loop {
            tokio::select! {
                end = &mut run => break end,
                Some(suite) = rekeyed_rx.recv() => {
                    if let Some(details) = &mut self.details
                        && details.esp_suite != suite
                    {
                        details.esp_suite = suite;
                        self.observer.status(&Status::Connected(Box::new(details.clone())));
                    }
                }
                Some(info) = connected_rx.recv() => {
                    let shape = Shape::of(&info, gateway.ip());
                    let reuse = !device_needed && self.shape.as_ref() == Some(&shape);
                    match self.set_up_host(&info, gateway.ip(), reuse, &installer).await {
                        Ok(details) => {
                            self.shape = Some(shape);
                            self.was_connected = true;
                            self.session_connected = true;
                            self.observer.status(&Status::Connected(Box::new(details.clone())));
                            self.details = Some(details);
                        }
                        Err(e) => {
                            setup_error = Some(e);
                            let _ = interrupt_tx.send(Interrupt::SetupFailed);
                        }
                    }
                }
            }
        };
        if let Some(e) = setup_error {
            return SessionEnd::Failed(ConnectError::Host(e));
        }
        let interrupt = cause_rx.await.ok();
        if interrupt == Some(Interrupt::User) {
            self.observer.status(&Status::Disconnecting);
        }
        match (outcome, interrupt) {
            (Ok(end), Some(Interrupt::User)) => SessionEnd::Stopped {
                delete_answered: end.reason.is_some(),
            },
            (Err(_), Some(Interrupt::User)) => SessionEnd::Stopped {
                delete_answered: false,
            },
            (_, Some(Interrupt::NetworkChanged)) => {
                SessionEnd::Lost("the local network changed".to_string())
            }
            (_, Some(Interrupt::Resumed)) => {
                SessionEnd::Lost("the computer woke up from sleep".to_string())
            }
            (Ok(end), _) => match end.reason {
                Some(DisconnectReason::Requested) | None => {
                    SessionEnd::Lost("the session ended".to_string())
                }
                Some(DisconnectReason::ByGateway) => {
                    SessionEnd::Lost("the gateway closed the connection".to_string())
                }
                Some(DisconnectReason::ChildSaDeleted) => {
                    SessionEnd::Lost("the gateway deleted the tunnel's Child SA".to_string())
                }
                Some(DisconnectReason::PeerDead) => SessionEnd::Lost(
                    "the gateway stopped answering (liveness check failed)".to_string(),
                ),
                Some(other) => SessionEnd::Lost(format!("the session ended: {other:?}")),
            },
            (Err(e), _) => classify_driver_error(&e),
        }
    }

    /// Sets the host up for `info`, or keeps what a previous session set up when it
    /// has the same shape.
    async fn set_up_host(
        &mut self,
        info: &ConnectionInfo,
        gateway: IpAddr,
        reuse: bool,
        installer: &crate::device::Installer,
    ) -> Result<Details, HostError> {
        let since = match (&self.details, reuse) {
            (Some(d), true) => d.since,
            _ => Instant::now(),
        };
        let mut details = Details {
            virtual_ips: Vec::new(),
            gateway,
            ike_suite: info.ike_suite.to_string(),
            esp_suite: info.esp_suite.to_string(),
            routes: Vec::new(),
            dns_servers: Vec::new(),
            dns_domains: Vec::new(),
            since,
        };
        if reuse && let Some(previous) = &self.details {
            details.virtual_ips.clone_from(&previous.virtual_ips);
            details.routes.clone_from(&previous.routes);
            details.dns_servers.clone_from(&previous.dns_servers);
            details.dns_domains.clone_from(&previous.dns_domains);
            self.observer
                .say("  host     unchanged since the last session (same addresses and routes)");
            return Ok(details);
        }
        if self.shape.is_some() {
            // A different shape: start the host side over. The session drops the old
            // device before it reads again, and picks up the new one.
            installer.remove();
            if let Err(e) = self.platform.restore().await {
                return Err(HostError::Platform {
                    step: "cannot undo the previous session's network changes",
                    source: e,
                });
            }
            self.observer
                .say("  host     the gateway assigned a different network; set up again");
        }
        let observer = &mut *self.observer;
        let mut say = |line: &str| observer.say(line);
        let applied = host::configure(
            self.platform,
            self.profile,
            &self.options.host,
            gateway,
            info,
            &mut say,
        )
        .await?;
        details.virtual_ips = applied.addresses;
        details.routes = applied.routes;
        details.dns_servers = applied.dns_servers;
        details.dns_domains = applied.dns_domains;
        installer.install(applied.tun);
        Ok(details)
    }
}

/// Completes with the first of: the user's stop, a host setup failure, a change of the
/// address we reach the gateway from, a jump of the wall clock past the monotonic one.
async fn wait_for_interrupt(
    mut stop: watch::Receiver<bool>,
    interrupts: &mut mpsc::UnboundedReceiver<Interrupt>,
    gateway: SocketAddr,
    local: SocketAddr,
) -> Interrupt {
    let watch = async {
        let mut last = (awake_time(), SystemTime::now());
        let mut tick = tokio::time::interval(WATCH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The OS's word that routes changed gets the check done at once instead of at
        // the next tick; the tick stays for sleep and for OSes without notifications.
        let mut route_events = RouteEvents::subscribe();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = route_events.changed() => {
                    // Changes come in bursts (a new network brings an address, then
                    // routes): look once they have settled.
                    tokio::time::sleep(ROUTE_SETTLE).await;
                }
            }
            let now = (awake_time(), SystemTime::now());
            if slept(last, now) {
                return Interrupt::Resumed;
            }
            last = now;
            if let Some(source) = source_address(gateway)
                && source != local.ip()
            {
                tracing::info!(old = %local.ip(), new = %source, "the route to the gateway changed");
                return Interrupt::NetworkChanged;
            }
        }
    };
    tokio::select! {
        _ = stop.wait_for(|s| *s) => Interrupt::User,
        Some(i) = interrupts.recv() => i,
        i = watch => i,
    }
}

/// Whether the wall clock moved [`SLEEP_THRESHOLD`] more than the awake clock
/// ([`awake_time`], which stands still during sleep on every OS) between two readings.
fn slept(before: (Duration, SystemTime), after: (Duration, SystemTime)) -> bool {
    let monotonic = after.0.saturating_sub(before.0);
    match after.1.duration_since(before.1) {
        Ok(wall) => wall.saturating_sub(monotonic) > SLEEP_THRESHOLD,
        // The wall clock went back: not sleep (someone set the clock).
        Err(_) => false,
    }
}

/// The address the host would send from to reach `gateway` now, without sending
/// anything (a UDP connect only consults the routing table).
fn source_address(gateway: SocketAddr) -> Option<IpAddr> {
    let unspecified: SocketAddr = if gateway.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(unspecified).ok()?;
    socket.connect(gateway).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

fn jitter() -> f64 {
    use corridor_crypto::Random as _;
    let mut byte = [0u8; 1];
    corridor_crypto::SystemRandom::new().fill(&mut byte);
    f64::from(byte[0]) / 255.0
}

/// Whether a failed session is worth another attempt: a gateway that does not answer,
/// a network that is down, a gateway that restarted may all pass; a refused login or
/// proposals the gateway will never accept do not.
fn classify_driver_error(e: &DriverError) -> SessionEnd {
    let text = e.to_string();
    let permanent = match e {
        DriverError::Ike(ike) | DriverError::Session(SessionError::Ike(ike)) => matches!(
            ike,
            corridor_ike::Error::Authentication(_) | corridor_ike::Error::PeerIncompatible(_)
        ),
        DriverError::Session(_) => true,
        _ => false,
    };
    if permanent {
        SessionEnd::Failed(ConnectError::Session(text))
    } else {
        SessionEnd::Lost(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_model::{AuthMethod, Uuid};

    fn profile() -> Profile {
        Profile::new(
            Uuid::from_u128(1),
            "t",
            "vpn.example.com",
            AuthMethod::EapMschapv2,
        )
    }

    #[test]
    fn session_options_without_settings_are_the_defaults() {
        let o = session_options(&profile());
        assert_eq!(o.esp_lifetime.soft_age, Some(Duration::from_secs(3600)));
        assert_eq!(o.esp_lifetime.hard_age, Some(Duration::from_secs(4200)));
        assert_eq!(o.esp_lifetime.soft_bytes, None);
        assert_eq!(o.ike_rekey_interval, Some(Duration::from_secs(4 * 3600)));
        assert_eq!(o.nat_keepalive_interval, Duration::from_secs(20));
        assert_eq!(o.path_mtu, SessionOptions::default().path_mtu);
        assert!(ConnectOptions::default().session.is_none());
    }

    #[test]
    fn session_options_follow_the_profile() {
        let mut p = profile();
        p.rekey.ike_minutes = Some(1440);
        p.rekey.child_minutes = Some(30);
        p.transport.nat_keepalive_secs = 45;
        let o = session_options(&p);
        assert_eq!(o.esp_lifetime.soft_age, Some(Duration::from_secs(30 * 60)));
        assert_eq!(o.esp_lifetime.hard_age, Some(Duration::from_secs(40 * 60)));
        assert_eq!(o.ike_rekey_interval, Some(Duration::from_secs(24 * 3600)));
        assert_eq!(o.nat_keepalive_interval, Duration::from_secs(45));

        // Only the Child SA set: the IKE SA keeps its default.
        let mut p = profile();
        p.rekey.child_minutes = Some(10);
        let o = session_options(&p);
        assert_eq!(o.esp_lifetime.soft_age, Some(Duration::from_secs(600)));
        assert_eq!(o.esp_lifetime.hard_age, Some(Duration::from_secs(1200)));
        assert_eq!(o.ike_rekey_interval, Some(Duration::from_secs(4 * 3600)));
    }

    #[test]
    fn sleep_is_a_wall_clock_jump_past_the_monotonic_clock() {
        let t0 = awake_time();
        let w0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let after = |mono: u64, wall: u64| {
            (
                t0 + Duration::from_secs(mono),
                w0 + Duration::from_secs(wall),
            )
        };
        assert!(!slept((t0, w0), after(2, 2)));
        assert!(!slept((t0, w0), after(2, 11)), "9 s of drift is not sleep");
        assert!(slept((t0, w0), after(2, 600)));
        assert!(!slept((t0, w0 + Duration::from_secs(600)), after(2, 0)));
    }

    #[test]
    fn the_source_address_towards_loopback_is_loopback() {
        let gateway: SocketAddr = "127.0.0.1:500".parse().unwrap();
        assert_eq!(source_address(gateway), Some(IpAddr::from([127, 0, 0, 1])));
    }

    #[test]
    fn refused_logins_are_final_timeouts_are_not() {
        let timeout = DriverError::Ike(corridor_ike::Error::Timeout {
            exchange: corridor_wire::ExchangeType::IKE_SA_INIT,
            port: 500,
            tries: 5,
            elapsed: Duration::from_secs(30),
        });
        assert!(matches!(
            classify_driver_error(&timeout),
            SessionEnd::Lost(_)
        ));
        assert!(matches!(
            classify_driver_error(&DriverError::ClosedByGateway),
            SessionEnd::Lost(_)
        ));
        let refused = DriverError::Session(SessionError::NotEncapsulated);
        assert!(matches!(
            classify_driver_error(&refused),
            SessionEnd::Failed(_)
        ));
    }
}
