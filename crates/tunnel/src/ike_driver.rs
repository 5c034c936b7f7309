//! The tokio driver around the sans-IO [`Initiator`]: sockets, the clock and the timer.
//!
//! Following the initiator's call order (see `corridor_ike::initiator`), the driver keeps
//! two UDP sockets connected to the gateway, one to its IKE port (normally 500) and one
//! to 4500, and passes the address the kernel routes from as our local address, which
//! NAT detection hashes (RFC 7296 §2.23). Progress is reported to a callback so that a
//! caller can show each step while it happens.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corridor_ike::{
    Established, Event, IkeConfig, IkeSuite, Initiator, KeyMaterial, NatStatus, Transmit,
};
use tokio::net::UdpSocket;

use crate::keylog::KeyLog;
use crate::profile_config::PSK_IDENTITY_FROM_LOCAL_ADDRESS;

/// The NAT traversal port (RFC 3948).
pub const NAT_T_PORT: u16 = 4500;

/// Why connecting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The gateway's name does not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The name.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// A socket could not be set up.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        source: io::Error,
    },
    /// The IKE exchange failed.
    #[error(transparent)]
    Ike(#[from] corridor_ike::Error),
    /// The gateway deleted the IKE SA.
    #[error("the gateway deleted the IKE SA")]
    ClosedByGateway,
    /// The session (IKE SA or its Child SA) failed.
    #[error(transparent)]
    Session(#[from] corridor_session::SessionError),
}

fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> DriverError {
    let context = context.into();
    move |source| DriverError::Io { context, source }
}

/// Something the caller may want to show while the handshake runs.
#[derive(Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// The gateway's name resolved and the sockets are ready.
    Resolved {
        /// The name or address in the profile.
        host: &'a str,
        /// The gateway's IKE address.
        gateway: SocketAddr,
        /// The address we send from.
        local: SocketAddr,
    },
    /// The gateway answered IKE_SA_INIT.
    SaInitAnswered {
        /// The gateway port that answered.
        port: u16,
        /// Time from sending our first IKE_SA_INIT to the answer (retransmissions
        /// included).
        elapsed: Duration,
        /// The suite it chose.
        suite: IkeSuite,
        /// What NAT detection found.
        nat: NatStatus,
        /// The port IKE continues on (4500 after a NAT or when encapsulation is forced).
        next_port: u16,
    },
    /// Keys were derived (already written to the key log when one is open).
    Keys(&'a KeyMaterial),
}

/// Counters of what went over the sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams sent, per port: `[500 (or the profile's port), 4500]`.
    pub sent: [u64; 2],
    /// Datagrams received, per socket.
    pub received: [u64; 2],
    /// Sends the OS refused (no route, an ICMP error reported on the socket).
    pub send_errors: u64,
}

/// A running IKE SA and its sockets.
#[derive(Debug)]
pub struct IkeDriver {
    ike: Initiator,
    ike_socket: UdpSocket,
    nat_t_socket: UdpSocket,
    gateway: SocketAddr,
    local: SocketAddr,
    keylog: Option<KeyLog>,
    stats: Stats,
    buf: Vec<u8>,
}

/// Resolves `host`, preferring the first address the resolver returns.
pub async fn resolve(host: &str, port: u16) -> Result<SocketAddr, DriverError> {
    let host_only = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host_only.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let mut addrs = tokio::net::lookup_host((host_only, port))
        .await
        .map_err(|e| DriverError::Resolve {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
    addrs.next().ok_or_else(|| DriverError::Resolve {
        host: host.to_string(),
        reason: "no address".to_string(),
    })
}

pub(crate) async fn connected_socket(gateway: SocketAddr) -> Result<UdpSocket, DriverError> {
    let bind: SocketAddr = if gateway.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind)
        .await
        .map_err(io_error("cannot open a UDP socket"))?;
    socket
        .connect(gateway)
        .await
        .map_err(io_error(format!("no route to the gateway {gateway}")))?;
    Ok(socket)
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl IkeDriver {
    /// Resolves the gateway, opens the sockets and runs the handshake until the IKE SA
    /// and its Child SA are up. Returns them with the live driver, which must be kept
    /// (and eventually [`IkeDriver::disconnect`]ed) for the SA to stay up.
    pub async fn connect(
        mut config: IkeConfig,
        host: &str,
        port: u16,
        keylog: Option<KeyLog>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(Box<Established>, IkeDriver), DriverError> {
        let gateway = resolve(host, port).await?;
        let ike_socket = connected_socket(gateway).await?;
        let nat_t_socket = connected_socket(SocketAddr::new(gateway.ip(), NAT_T_PORT)).await?;
        let local = ike_socket
            .local_addr()
            .map_err(io_error("cannot read the local address"))?;
        progress(Progress::Resolved {
            host,
            gateway,
            local,
        });
        if config.local_identity == PSK_IDENTITY_FROM_LOCAL_ADDRESS {
            config.local_identity = corridor_ike::Identity::Ip(local.ip());
        }
        let start = now();
        let ike = Initiator::new(
            Arc::new(config),
            Box::new(corridor_crypto::SystemRandom::new()),
            local,
            gateway,
            start,
            rustls_pki_types::UnixTime::now(),
        )?;
        let mut driver = IkeDriver {
            ike,
            ike_socket,
            nat_t_socket,
            gateway,
            local,
            keylog,
            stats: Stats::default(),
            buf: vec![0; 65_536],
        };
        driver.ike.connect(start);
        driver.flush().await;
        // Measured from the first datagram, so that our own key generation is not
        // counted as the gateway's answer time.
        let sent_at = now();
        let mut sa_init_reported = false;
        loop {
            driver.flush().await;
            if !sa_init_reported && let Some((suite, nat)) = driver.ike.sa_init_outcome() {
                sa_init_reported = true;
                progress(Progress::SaInitAnswered {
                    port: gateway.port(),
                    elapsed: now().saturating_duration_since(sent_at),
                    suite,
                    nat,
                    next_port: driver.ike.remote_port(),
                });
            }
            while let Some(event) = driver.ike.poll_event() {
                match event {
                    Event::KeyMaterial(keys) => {
                        driver.log_keys(&keys);
                        progress(Progress::Keys(&keys));
                    }
                    Event::Established(established) => return Ok((established, driver)),
                    Event::Failed(error) => return Err(error.into()),
                    Event::Closed { .. } => return Err(DriverError::ClosedByGateway),
                    other => tracing::debug!(?other, "event during the handshake"),
                }
            }
            driver.wait_once(None).await;
        }
    }

    /// Our address as the kernel routes it.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The gateway's IKE address.
    pub fn gateway(&self) -> SocketAddr {
        self.gateway
    }

    /// What went over the sockets so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Keeps the IKE SA running (answering the gateway's liveness checks) for `duration`.
    pub async fn hold(&mut self, duration: Duration) -> Result<(), DriverError> {
        let until = now() + duration;
        loop {
            self.flush().await;
            while let Some(event) = self.ike.poll_event() {
                match event {
                    Event::KeyMaterial(keys) => self.log_keys(&keys),
                    Event::Failed(error) => return Err(error.into()),
                    Event::Closed { .. } => return Err(DriverError::ClosedByGateway),
                    other => tracing::debug!(?other, "event while holding the SA"),
                }
            }
            if now() >= until {
                return Ok(());
            }
            self.wait_once(Some(until)).await;
        }
    }

    /// Deletes the IKE SA and waits at most `wait` for the gateway's answer. Returns
    /// whether the gateway answered.
    pub async fn disconnect(mut self, wait: Duration) -> Result<bool, DriverError> {
        let until = now() + wait;
        let received_before = self.stats.received;
        self.ike.disconnect(now());
        loop {
            self.flush().await;
            while let Some(event) = self.ike.poll_event() {
                match event {
                    Event::Closed { by_gateway } => {
                        let answered = by_gateway || self.stats.received != received_before;
                        return Ok(answered);
                    }
                    Event::Failed(error) => return Err(error.into()),
                    _ => {}
                }
            }
            if now() >= until {
                return Ok(false);
            }
            self.wait_once(Some(until)).await;
        }
    }

    fn log_keys(&mut self, keys: &KeyMaterial) {
        if let Some(log) = &mut self.keylog
            && let Err(e) = log.log(keys, self.gateway.is_ipv6())
        {
            tracing::warn!(error = %e, "cannot write the key log");
        }
    }

    /// Sends everything the initiator queued. Send failures (no route, an ICMP error
    /// reported on the socket) are not fatal: retransmission and its time limit decide.
    async fn flush(&mut self) {
        while let Some(Transmit {
            destination_port,
            payload,
            ..
        }) = self.ike.poll_transmit()
        {
            send_to_gateway(
                [&self.ike_socket, &self.nat_t_socket],
                destination_port,
                &payload,
                &mut self.stats.sent,
                &mut self.stats.send_errors,
            )
            .await;
        }
    }

    /// Waits for one datagram or the next timer (or `until`), and feeds it in.
    async fn wait_once(&mut self, until: Option<Instant>) {
        let deadline = match (self.ike.poll_timeout(), until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                None => std::future::pending().await,
            }
        };
        let (half_a, half_b) = self.buf.split_at_mut(32_768);
        let received = tokio::select! {
            r = self.ike_socket.recv(half_a) => r.map(|n| (0usize, n)),
            r = self.nat_t_socket.recv(half_b) => r.map(|n| (1usize, n)),
            () = sleep => {
                self.ike.handle_timeout(now());
                return;
            }
        };
        match received {
            Ok((slot, n)) => {
                self.stats.received[slot] += 1;
                let (from, data) = if slot == 0 {
                    (self.gateway, &self.buf[..n])
                } else {
                    (
                        SocketAddr::new(self.gateway.ip(), NAT_T_PORT),
                        &self.buf[32_768..32_768 + n],
                    )
                };
                self.ike.handle_datagram(now(), from, data);
            }
            // ICMP errors (port unreachable) surface here on connected sockets; the
            // retransmission timer decides when to give up.
            Err(e) => {
                tracing::debug!(error = %e, "receive error");
                // Avoid spinning on a socket that keeps reporting the same error.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Sends a throwaway IKE_SA_INIT to the gateway's UDP port 4500 (with the non-ESP
/// marker, RFC 3948 §2.2) and reports how long the answer took, or `None` when nothing
/// answered within `wait`. The half-open SA it leaves on the gateway expires there.
pub async fn probe_nat_t(
    config: IkeConfig,
    gateway: IpAddr,
    wait: Duration,
) -> Result<Option<Duration>, DriverError> {
    let target = SocketAddr::new(gateway, NAT_T_PORT);
    let socket = connected_socket(target).await?;
    let local = socket
        .local_addr()
        .map_err(io_error("cannot read the local address"))?;
    let start = now();
    let mut ike = Initiator::new(
        Arc::new(config),
        Box::new(corridor_crypto::SystemRandom::new()),
        local,
        target,
        start,
        rustls_pki_types::UnixTime::now(),
    )?;
    ike.connect(start);
    while let Some(t) = ike.poll_transmit() {
        // A failed send shows as no answer.
        let _ = socket.send(&t.payload).await;
    }
    let mut buf = vec![0u8; 65_536];
    let answer = tokio::time::timeout(wait, async {
        loop {
            match socket.recv(&mut buf).await {
                // Anything starting with the non-ESP marker is an IKE answer.
                Ok(n) if n > 4 && buf[..4] == [0; 4] => return Some(now()),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    })
    .await;
    Ok(match answer {
        Ok(Some(at)) => Some(at.saturating_duration_since(start)),
        _ => None,
    })
}

/// Sends one datagram to the gateway from the socket connected to `port` (`sockets` is
/// `[IKE port, NAT-T port]`) and counts it. A failure (no route, an ICMP error reported
/// on the socket) is counted, not fatal: retransmission and its time limit decide.
pub(crate) async fn send_to_gateway(
    sockets: [&UdpSocket; 2],
    port: u16,
    payload: &[u8],
    sent: &mut [u64; 2],
    send_errors: &mut u64,
) {
    let slot = usize::from(port == NAT_T_PORT);
    match sockets[slot].send(payload).await {
        Ok(_) => sent[slot] += 1,
        Err(e) => {
            *send_errors += 1;
            tracing::debug!(error = %e, port, "send failed");
        }
    }
}
