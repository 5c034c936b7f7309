//! The tokio driver around the sans-IO [`Session`]: the IKE SA and its ESP Child SA
//! over real UDP sockets, with inner packets exchanged with a packet device.
//!
//! The device is a pair of channels ([`DeviceChannels`]) so that a TUN device, or a
//! test, can be plugged in without this module knowing which. Following the session's
//! call order (see `corridor_session::Session`), the driver keeps one UDP socket
//! connected to the gateway's IKE port (normally 500) and one to 4500, which carries
//! ESP in UDP and IKE after NAT detection (RFC 3948). Each wakeup drains several
//! datagrams or device packets before polling the session again, so that a burst costs
//! one pass through the loop rather than one per packet.
//!
//! Next steps for throughput: batched receive (`recvmmsg`) and segmented send (UDP GSO,
//! [`DatagramBatch::gso_segment_size`]) on the 4500 socket.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corridor_esp::DatagramBatch;
use corridor_ike::{IkeConfig, Transmit};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub use corridor_session::{
    ConnectionInfo, DisconnectReason, Session, SessionError, SessionEvent, SessionOptions,
    SessionStats,
};

use crate::ike_driver::{DriverError, NAT_T_PORT, connected_socket, resolve, send_to_gateway};
use crate::keylog::KeyLog;
use crate::profile_config::PSK_IDENTITY_FROM_LOCAL_ADDRESS;

/// At most this many datagrams are read from one socket per wakeup, so that a flood on
/// one socket cannot starve the device, the other socket or the timer.
const MAX_DATAGRAMS_PER_WAKEUP: usize = 64;
/// At most this many device packets are encapsulated per wakeup.
const MAX_PACKETS_PER_WAKEUP: usize = 64;
/// Receive buffer: the largest UDP payload.
const RECV_BUFFER: usize = 65_536;

/// The packet device side of a session: inner IP packets, one per `Vec`.
#[derive(Debug)]
pub struct DeviceChannels {
    /// Packets to send through the tunnel (what a TUN device reads from the OS).
    pub to_tunnel: mpsc::Receiver<Vec<u8>>,
    /// Packets that came out of the tunnel (what a TUN device writes to the OS).
    pub from_tunnel: mpsc::Sender<Vec<u8>>,
}

/// Counters of what went over the sockets and the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Datagrams sent, per socket: `[IKE port, 4500]`.
    pub sent: [u64; 2],
    /// Datagrams received, per socket.
    pub received: [u64; 2],
    /// Sends the OS refused (no route, an ICMP error reported on the socket).
    pub send_errors: u64,
    /// Inner packets dropped because the device did not take them (full or closed).
    pub device_drops: u64,
}

/// How a session that ran to its end ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionEnd {
    /// Why it ended; `None` when we asked to disconnect and the gateway did not answer
    /// our Delete in time.
    pub reason: Option<DisconnectReason>,
    /// The session's counters at the end.
    pub session: SessionStats,
    /// The driver's counters at the end.
    pub driver: DriverStats,
}

/// A session and its sockets, ready to [`SessionDriver::run`].
#[derive(Debug)]
pub struct SessionDriver {
    session: Session,
    ike_socket: UdpSocket,
    nat_t_socket: UdpSocket,
    gateway: SocketAddr,
    local: SocketAddr,
    keylog: Option<KeyLog>,
    stats: DriverStats,
    buf: Vec<u8>,
    /// Inner packets decapsulated in this wakeup, for the device.
    inbound: DatagramBatch,
    /// ESP datagrams encapsulated in this wakeup, for the 4500 socket.
    outbound: DatagramBatch,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl SessionDriver {
    /// Resolves the gateway, opens the sockets and creates the session (not started:
    /// [`SessionDriver::run`] starts it).
    pub async fn open(
        mut config: IkeConfig,
        host: &str,
        port: u16,
        options: SessionOptions,
        keylog: Option<KeyLog>,
    ) -> Result<Self, DriverError> {
        let gateway = resolve(host, port).await?;
        let ike_socket = connected_socket(gateway).await?;
        let nat_t_socket = connected_socket(SocketAddr::new(gateway.ip(), NAT_T_PORT)).await?;
        let local = ike_socket.local_addr().map_err(|source| DriverError::Io {
            context: "cannot read the local address".to_string(),
            source,
        })?;
        if config.local_identity == PSK_IDENTITY_FROM_LOCAL_ADDRESS {
            config.local_identity = corridor_ike::Identity::Ip(local.ip());
        }
        let session = Session::new(
            Arc::new(config),
            Box::new(corridor_crypto::SystemRandom::new()),
            local,
            gateway,
            now(),
            rustls_pki_types::UnixTime::now(),
            options,
        )?;
        Ok(Self {
            session,
            ike_socket,
            nat_t_socket,
            gateway,
            local,
            keylog,
            stats: DriverStats::default(),
            buf: vec![0; RECV_BUFFER],
            inbound: DatagramBatch::new(),
            outbound: DatagramBatch::new(),
        })
    }

    /// Our address as the kernel routes it.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The gateway's IKE address.
    pub fn gateway(&self) -> SocketAddr {
        self.gateway
    }

    /// Connects and carries packets between `device` and the gateway until the session
    /// ends. When `shutdown` completes (or the device's sending side is dropped), deletes
    /// the IKE SA and waits at most `delete_wait` for the gateway's answer.
    ///
    /// `on_event` sees every session event as it happens (`Connected` carries what the
    /// device and routes need).
    ///
    /// # Errors
    /// The session failed ([`DriverError::Session`]).
    pub async fn run(
        mut self,
        mut device: DeviceChannels,
        shutdown: impl Future<Output = ()>,
        delete_wait: Duration,
        on_event: &mut (dyn FnMut(&SessionEvent) + Send),
    ) -> Result<SessionEnd, DriverError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut closing_until: Option<Instant> = None;
        let mut device_open = true;
        let mut packets: Vec<Vec<u8>> = Vec::with_capacity(MAX_PACKETS_PER_WAKEUP);
        self.session.connect(now());
        loop {
            self.flush().await;
            while let Some(event) = self.session.poll_event() {
                on_event(&event);
                match event {
                    SessionEvent::KeyMaterial(keys) => self.log_keys(&keys),
                    SessionEvent::Disconnected { reason } => return Ok(self.end(Some(reason))),
                    SessionEvent::Failed(e) => return Err(DriverError::Session(e)),
                    SessionEvent::RekeyNeeded(reason) => {
                        tracing::warn!(?reason, "the Child SA needs rekeying (not supported)");
                    }
                    SessionEvent::ChildSaExpired => {
                        tracing::warn!("the Child SA expired; data is dropped");
                    }
                    _ => {}
                }
            }
            if self.session.is_closed() {
                return Ok(self.end(None));
            }
            if let Some(until) = closing_until
                && now() >= until
            {
                return Ok(self.end(None));
            }
            let deadline = match (self.session.poll_timeout(), closing_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending().await,
                }
            };
            let read_device = device_open && self.session.is_connected();
            tokio::select! {
                () = &mut shutdown, if closing_until.is_none() => {
                    closing_until = Some(now() + delete_wait);
                    self.session.disconnect(now());
                }
                r = self.ike_socket.readable() => self.drain_socket(0, r),
                r = self.nat_t_socket.readable() => self.drain_socket(1, r),
                n = device.to_tunnel.recv_many(&mut packets, MAX_PACKETS_PER_WAKEUP),
                    if read_device =>
                {
                    if n == 0 {
                        // The device went away: end the session as if asked to.
                        device_open = false;
                        if closing_until.is_none() {
                            closing_until = Some(now() + delete_wait);
                            self.session.disconnect(now());
                        }
                    } else {
                        self.encapsulate(&packets).await;
                        packets.clear();
                    }
                }
                () = sleep => self.session.handle_timeout(now()),
            }
            self.deliver(&device.from_tunnel);
        }
    }

    fn end(&self, reason: Option<DisconnectReason>) -> SessionEnd {
        SessionEnd {
            reason,
            session: *self.session.stats(),
            driver: self.stats,
        }
    }

    fn log_keys(&mut self, keys: &corridor_ike::KeyMaterial) {
        if let Some(log) = &mut self.keylog
            && let Err(e) = log.log(keys, self.gateway.is_ipv6())
        {
            tracing::warn!(error = %e, "cannot write the key log");
        }
    }

    /// Reads up to [`MAX_DATAGRAMS_PER_WAKEUP`] datagrams from socket `slot` without
    /// waiting, feeding each to the session. Inner packets collect in `self.inbound`
    /// until [`Self::deliver`] hands them to the device.
    fn drain_socket(&mut self, slot: usize, readiness: io::Result<()>) {
        if let Err(e) = readiness {
            tracing::debug!(error = %e, "socket readiness error");
            return;
        }
        let (socket, from) = if slot == 0 {
            (&self.ike_socket, self.gateway)
        } else {
            (
                &self.nat_t_socket,
                SocketAddr::new(self.gateway.ip(), NAT_T_PORT),
            )
        };
        for _ in 0..MAX_DATAGRAMS_PER_WAKEUP {
            match socket.try_recv(&mut self.buf) {
                Ok(n) => {
                    self.stats.received[slot] += 1;
                    let datagram = &mut self.buf[..n];
                    if let Some(inner) = self
                        .session
                        .handle_datagram(now(), from, datagram)
                        .and_then(|range| datagram.get(range))
                    {
                        self.inbound.push(inner);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // ICMP errors (port unreachable) surface here on connected sockets;
                // the session's timers decide when to give up.
                Err(e) => {
                    tracing::debug!(error = %e, slot, "receive error");
                    return;
                }
            }
        }
    }

    /// Hands the inner packets collected in `self.inbound` to the device. A full or
    /// closed device drops them (as a TUN device's queue would) rather than stalling
    /// the session.
    fn deliver(&mut self, to_device: &mpsc::Sender<Vec<u8>>) {
        for packet in self.inbound.iter() {
            if to_device.try_send(packet.to_vec()).is_err() {
                self.stats.device_drops += 1;
            }
        }
        self.inbound.clear();
    }

    /// Encapsulates `packets` and sends the ESP datagrams to the gateway's port 4500.
    async fn encapsulate(&mut self, packets: &[Vec<u8>]) {
        self.outbound.clear();
        self.session.handle_tun_packets(
            now(),
            packets.iter().map(Vec::as_slice),
            &mut self.outbound,
        );
        for datagram in self.outbound.iter() {
            send_to_gateway(
                [&self.ike_socket, &self.nat_t_socket],
                NAT_T_PORT,
                datagram,
                &mut self.stats.sent,
                &mut self.stats.send_errors,
            )
            .await;
        }
    }

    /// Sends everything the session queued (IKE messages, NAT-keepalives). Send
    /// failures are not fatal: retransmission and its time limit decide.
    async fn flush(&mut self) {
        while let Some(Transmit {
            destination_port,
            payload,
            ..
        }) = self.session.poll_transmit()
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
}
