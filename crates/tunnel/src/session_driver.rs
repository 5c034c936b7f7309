//! The tokio driver around the sans-IO [`Session`]: the IKE SA and its ESP Child SA
//! over real UDP sockets, with inner packets exchanged with a packet device.
//!
//! The device is anything that implements [`PacketDevice`] (a TUN device, or
//! [`DeviceChannels`] in a test), so that this module does not know which. Following the
//! session's call order (see `corridor_session::Session`), the driver keeps one UDP
//! socket connected to the gateway's IKE port (normally 500) and one to 4500, which
//! carries ESP in UDP and IKE after NAT detection (RFC 3948).
//!
//! Everything moves in batches through buffers allocated once: the device hands over
//! up to [`DEVICE_BATCH`] packets per read, their ESP datagrams leave in runs of equal
//! size with one system call each (UDP GSO), and once the Child SA is up datagrams
//! arrive many per system call (`recvmmsg`, UDP GRO; see [`crate::udp_batch`]). A
//! burst costs one pass through the loop rather than one per packet.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use corridor_esp::DatagramBatch;
use corridor_ike::{IkeConfig, Transmit};
use tokio::net::UdpSocket;

pub use corridor_session::{
    ConnectionInfo, DisconnectReason, Session, SessionError, SessionEvent, SessionOptions,
    SessionStats,
};

pub use crate::packet_device::{DEVICE_BATCH, DeviceChannels, MAX_PACKET, PacketDevice};

use crate::ike_driver::{DriverError, NAT_T_PORT, connected_socket, resolve, send_to_gateway};
use crate::keylog::KeyLog;
use crate::profile_config::PSK_IDENTITY_FROM_LOCAL_ADDRESS;
use crate::udp_batch::EspSocket;

/// At most this many datagrams are read from one socket per wakeup, so that a flood on
/// one socket cannot starve the device, the other socket or the timer.
const MAX_DATAGRAMS_PER_WAKEUP: usize = 64;
/// With batched receives, at most this many system calls per wakeup (each up to
/// `quinn_udp::BATCH_SIZE` buffers of coalesced datagrams).
const MAX_BATCHED_RECEIVES_PER_WAKEUP: usize = 4;
/// Receive buffer: the largest UDP payload.
const RECV_BUFFER: usize = 65_536;

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
    /// Device reads dropped because the device reported a bad packet.
    pub device_read_errors: u64,
    /// Whether the 4500 socket switched to batched I/O (GSO, GRO, `recvmmsg`) once the
    /// Child SA was up.
    pub batched_udp: bool,
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
    /// Inner packets decapsulated from single-datagram receives (the IKE port, or 4500
    /// before batched I/O is on), for the device.
    inbound: DatagramBatch,
    /// ESP datagrams encapsulated in this wakeup, for the 4500 socket.
    outbound: DatagramBatch,
    /// Batched I/O on the 4500 socket, from the first ESP packet on.
    esp_socket: Option<EspSocket>,
    /// Whether switching to batched I/O was tried (it is tried once).
    esp_socket_tried: bool,
}

/// The driver's receive buffers for the device: [`DEVICE_BATCH`] packets of at most
/// [`MAX_PACKET`] bytes, allocated once (and only touched where packets land).
///
/// The buffers lie [`DEVICE_SLOT`] bytes apart, not [`MAX_PACKET`]: at a stride of
/// 64 KiB every packet of a burst would start in the same cache sets (the set index
/// comes from the low 12 to 16 address bits), so that the packets a device read just
/// wrote evicted each other from L1 and L2 before they were encrypted. The skew moves
/// each buffer on by about one MTU-sized packet's worth of cache lines.
struct DeviceBuffers {
    storage: Vec<u8>,
    sizes: Vec<usize>,
}

/// The distance between two of the driver's device buffers (see [`DeviceBuffers`]).
const DEVICE_SLOT: usize = MAX_PACKET + 1 + SLOT_SKEW;
/// 25 cache lines: a 1500-byte packet's worth, and an odd number of lines so that the
/// buffers go round every set before one repeats.
const SLOT_SKEW: usize = 25 * 64;

impl DeviceBuffers {
    fn new() -> Self {
        Self {
            storage: vec![0; DEVICE_BATCH * DEVICE_SLOT],
            sizes: vec![0; DEVICE_BATCH],
        }
    }
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
            inbound: DatagramBatch::with_capacity(DEVICE_BATCH, DEVICE_BATCH * 1500),
            outbound: DatagramBatch::with_capacity(DEVICE_BATCH, DEVICE_BATCH * 1600),
            esp_socket: None,
            esp_socket_tried: false,
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
    /// ends. When `shutdown` completes (or the device goes away), deletes the IKE SA and
    /// waits at most `delete_wait` for the gateway's answer.
    ///
    /// `on_event` sees every session event as it happens (`Connected` carries what the
    /// device and routes need).
    ///
    /// # Errors
    /// The session failed ([`DriverError::Session`]).
    pub async fn run<D: PacketDevice>(
        mut self,
        mut device: D,
        shutdown: impl Future<Output = ()>,
        delete_wait: Duration,
        on_event: &mut (dyn FnMut(&SessionEvent) + Send),
    ) -> Result<SessionEnd, DriverError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut closing_until: Option<Instant> = None;
        let mut device_open = true;
        let mut buffers = DeviceBuffers::new();
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
            if read_device && !self.esp_socket_tried {
                self.enable_batched_udp();
            }
            let DeviceBuffers { storage, sizes } = &mut buffers;
            let mut bufs: [&mut [u8]; DEVICE_BATCH] = {
                let mut chunks = storage.chunks_exact_mut(DEVICE_SLOT);
                std::array::from_fn(|_| {
                    chunks
                        .next()
                        .and_then(|slot| slot.get_mut(..MAX_PACKET))
                        .unwrap_or_default()
                })
            };
            tokio::select! {
                () = &mut shutdown, if closing_until.is_none() => {
                    closing_until = Some(now() + delete_wait);
                    self.session.disconnect(now());
                }
                r = self.ike_socket.readable() => self.drain_socket(0, r),
                r = self.nat_t_socket.readable() => {
                    self.drain_nat_t_socket(r, &mut device).await;
                }
                r = device.recv_batch(&mut bufs, sizes), if read_device => match r {
                    Ok(0) => {
                        // The device went away: end the session as if asked to.
                        device_open = false;
                        if closing_until.is_none() {
                            closing_until = Some(now() + delete_wait);
                            self.session.disconnect(now());
                        }
                    }
                    Ok(n) => {
                        let packets = bufs
                            .iter()
                            .zip(sizes.iter())
                            .take(n)
                            .map(|(buf, size)| buf.get(..*size).unwrap_or_default());
                        self.encapsulate(packets).await;
                    }
                    Err(e) if e.raw_os_error().is_some() => {
                        tracing::warn!(error = %e, "the packet device failed");
                        device_open = false;
                        if closing_until.is_none() {
                            closing_until = Some(now() + delete_wait);
                            self.session.disconnect(now());
                        }
                    }
                    Err(e) => {
                        tracing::trace!(error = %e, "dropped a device read");
                        self.stats.device_read_errors += 1;
                    }
                },
                () = sleep => self.session.handle_timeout(now()),
            }
            self.deliver(&mut device).await;
        }
    }

    /// Switches the 4500 socket to batched I/O; on failure it stays as it is.
    fn enable_batched_udp(&mut self) {
        self.esp_socket_tried = true;
        match EspSocket::new(&self.nat_t_socket) {
            Ok(socket) => {
                self.esp_socket = Some(socket);
                self.stats.batched_udp = true;
            }
            Err(e) => tracing::debug!(error = %e, "no batched I/O on the ESP socket"),
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
                    tracing::trace!(error = %e, slot, "receive error");
                    return;
                }
            }
        }
    }

    /// Reads what the 4500 socket holds: in batches once [`EspSocket`] is on (handing
    /// the inner packets to the device after each system call), else one datagram at a
    /// time.
    async fn drain_nat_t_socket(
        &mut self,
        readiness: io::Result<()>,
        device: &mut impl PacketDevice,
    ) {
        if let Err(e) = readiness {
            tracing::debug!(error = %e, "socket readiness error");
            return;
        }
        if self.esp_socket.is_none() {
            self.drain_socket(1, Ok(()));
            return;
        }
        let from = SocketAddr::new(self.gateway.ip(), NAT_T_PORT);
        for _ in 0..MAX_BATCHED_RECEIVES_PER_WAKEUP {
            let Some(esp_socket) = &mut self.esp_socket else {
                return;
            };
            let now = now();
            let session = &mut self.session;
            // Inner packets are decrypted in place and stay in the receive buffers,
            // which go to the device as they are.
            match esp_socket.try_recv(&self.nat_t_socket, |datagram| {
                session.handle_datagram(now, from, datagram)
            }) {
                Ok(n) => self.stats.received[1] += n as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::trace!(error = %e, "receive error");
                    return;
                }
            }
            deliver_batch(device, esp_socket.kept(), &mut self.stats).await;
        }
    }

    /// Hands the inner packets collected in `self.inbound` to the device.
    async fn deliver(&mut self, device: &mut impl PacketDevice) {
        deliver_batch(device, &self.inbound, &mut self.stats).await;
        self.inbound.clear();
    }

    /// Encapsulates `packets` and sends the ESP datagrams to the gateway's port 4500.
    async fn encapsulate<'p>(&mut self, packets: impl Iterator<Item = &'p [u8]>) {
        self.outbound.clear();
        self.session
            .handle_tun_packets(now(), packets, &mut self.outbound);
        if let Some(esp_socket) = &self.esp_socket {
            let to = SocketAddr::new(self.gateway.ip(), NAT_T_PORT);
            let sent = esp_socket
                .send(&self.nat_t_socket, to, &self.outbound)
                .await;
            self.stats.sent[1] += sent.datagrams;
            self.stats.send_errors += sent.errors;
            return;
        }
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

/// Hands `packets` (inner packets out of the tunnel) to the device. A full or closed
/// device drops them (as a TUN device's queue would) rather than stalling the session.
async fn deliver_batch(
    device: &mut impl PacketDevice,
    packets: &DatagramBatch,
    stats: &mut DriverStats,
) {
    if packets.is_empty() {
        return;
    }
    let count = packets.len();
    let taken = match device.send_batch(packets).await {
        Ok(taken) => taken.min(count),
        Err(e) => {
            tracing::trace!(error = %e, "the device refused packets");
            0
        }
    };
    stats.device_drops += (count - taken) as u64;
}
