//! [`Session`]: one IKE SA and its Child SA's data plane as one state machine.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use corridor_crypto::Random;
use corridor_esp::{DatagramBatch, Received, classify, nat_keepalive};
use corridor_ike::nat::NAT_T_PORT;
use corridor_ike::{Event, IkeConfig, Initiator, RekeyedChild, Transmit};
use rustls_pki_types::UnixTime;

use crate::data_plane::DataPlane;
use crate::event::{
    ChildRekeyInfo, ConnectionInfo, DisconnectReason, IkeRekeyInfo, SessionError, SessionEvent,
    SessionOptions,
};
use crate::rng::SharedRng;
use crate::stats::SessionStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting,
    Connected,
    /// `disconnect` called; waiting for the IKE SA's Delete to be answered.
    Closing,
    Closed,
}

/// A whole VPN session with one gateway: the IKE SA ([`Initiator`]) and the ESP
/// Child SA it negotiates, joined so that a driver runs one object.
///
/// # Call order
///
/// The driver owns the UDP sockets (towards the gateway's port 500 and 4500), the TUN
/// device, the clock and one timer. It calls:
///
/// 1. [`Session::new`], then [`Session::connect`] once;
/// 2. [`Session::handle_datagram`] for every datagram from the gateway, on either
///    socket; an inner packet it returns goes to the TUN device;
/// 3. [`Session::handle_tun_packets`] with packets read from the TUN device, sending the
///    datagrams it appends to the gateway's port 4500;
/// 4. [`Session::handle_timeout`] when the instant of [`Session::poll_timeout`] has come;
/// 5. after each of the above: drains [`Session::poll_transmit`] (IKE messages and
///    NAT-keepalives, each to the gateway's [`Transmit::destination_port`]) and
///    [`Session::poll_event`], then asks [`Session::poll_timeout`] again;
/// 6. [`Session::disconnect`] to end the session politely, then keeps going until
///    [`SessionEvent::Disconnected`] (or [`SessionEvent::Failed`]).
///
/// # Time
///
/// `now` is a monotonic instant from the driver and must never go backwards; the
/// session reads no clock. `unix_time` in [`Session::new`] is the wall-clock time at
/// the same moment as `now`, for certificate validity.
///
/// # Failures
///
/// Unauthenticated or malformed input never ends a session: it is dropped and counted
/// in [`SessionStats::drops`]. Only the IKE SA failing, or a Child SA that cannot be
/// used, ends it with [`SessionEvent::Failed`].
#[derive(Debug)]
pub struct Session {
    ike: Initiator,
    rng: SharedRng,
    options: SessionOptions,
    remote: SocketAddr,
    phase: Phase,
    data: Option<DataPlane>,
    /// When the next NAT-keepalive is due, while a NAT is between us and the gateway.
    keepalive_due: Option<Instant>,
    /// When to rekey the IKE SA ([`SessionOptions::ike_rekey_interval`]).
    ike_rekey_due: Option<Instant>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    stats: SessionStats,
}

impl Session {
    /// A session for `config` from `local` to the gateway at `remote` (its IKE port,
    /// normally 500).
    ///
    /// # Errors
    /// The IKE configuration is not usable ([`corridor_ike::Error`]).
    pub fn new(
        config: Arc<IkeConfig>,
        rng: Box<dyn Random + Send>,
        local: SocketAddr,
        remote: SocketAddr,
        now: Instant,
        unix_time: UnixTime,
        options: SessionOptions,
    ) -> Result<Self, SessionError> {
        let rng = SharedRng::new(rng);
        let ike = Initiator::new(config, Box::new(rng.clone()), local, remote, now, unix_time)?;
        Ok(Self {
            ike,
            rng,
            options,
            remote,
            phase: Phase::Idle,
            data: None,
            keepalive_due: None,
            ike_rekey_due: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: SessionStats::default(),
        })
    }

    /// Starts the IKE handshake. Does nothing if already started.
    pub fn connect(&mut self, now: Instant) {
        if self.phase != Phase::Idle {
            return;
        }
        self.phase = Phase::Connecting;
        self.ike.connect(now);
        self.pump(now);
    }

    /// Stops the data plane at once and deletes the IKE SA (RFC 7296 §1.4.1). Emits
    /// [`SessionEvent::Disconnected`] when the gateway answers or gives up.
    pub fn disconnect(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Closed | Phase::Closing) {
            return;
        }
        self.phase = Phase::Closing;
        self.data = None;
        self.keepalive_due = None;
        self.ike.disconnect(now);
        self.pump(now);
    }

    /// Whether the tunnel carries data.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected && self.data.is_some()
    }

    /// Whether the session has ended; it will do nothing more.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The counters.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// Handles a datagram from the gateway. `from` is its source; datagrams from the
    /// gateway's port 4500 may be ESP, IKE or keepalives (RFC 3948 §2), all others IKE.
    ///
    /// An ESP packet is decapsulated in place: the returned range of `datagram` is the
    /// inner IP packet for the TUN device. Anything else returns `None`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &mut [u8],
    ) -> Option<Range<usize>> {
        if from.ip() != self.remote.ip() {
            self.stats.drops.unknown_source += 1;
            return None;
        }
        if from.port() != NAT_T_PORT {
            self.handle_ike(now, from, datagram);
            return None;
        }
        match classify(datagram) {
            Ok(Received::Esp { .. }) => {
                let Some(data) = &mut self.data else {
                    self.stats.drops.not_connected += 1;
                    return None;
                };
                let inner = data.decapsulate(now, datagram, &mut self.stats);
                if inner.is_some() {
                    // Authentic ESP proves the gateway alive (RFC 7296 §2.4).
                    self.ike.note_peer_alive(now);
                }
                self.check_lifetimes(now);
                self.pump(now);
                inner
            }
            // The initiator strips the non-ESP marker itself.
            Ok(Received::Ike { .. }) => {
                self.handle_ike(now, from, datagram);
                None
            }
            // RFC 3948 §2.3: "The receiver SHOULD ignore a received NAT-keepalive
            // packet."
            Ok(Received::Keepalive) => None,
            Err(_) => {
                self.stats.drops.malformed += 1;
                None
            }
        }
    }

    /// [`Session::handle_datagram`] for several datagrams from `from` (one batched
    /// receive), appending each inner packet to `out` (not cleared first) for one
    /// batched write to the TUN device. Returns how many were appended.
    pub fn handle_datagrams<'d>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagrams: impl IntoIterator<Item = &'d mut [u8]>,
        out: &mut DatagramBatch,
    ) -> usize {
        let mut count = 0;
        for datagram in datagrams {
            if let Some(inner) = self
                .handle_datagram(now, from, datagram)
                .and_then(|range| datagram.get(range))
            {
                out.push(inner);
                count += 1;
            }
        }
        count
    }

    fn handle_ike(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.stats.ike_datagrams_in += 1;
        self.ike.handle_datagram(now, from, datagram);
        self.pump(now);
    }

    /// Encapsulates inner IP packets read from the TUN device, appending one ESP
    /// datagram per packet to `out` (not cleared first; send each to the gateway's port
    /// 4500). Returns how many were appended.
    ///
    /// Packets are dropped and counted while the tunnel is down, when they lie outside
    /// the negotiated traffic selectors, or when the Child SA has expired.
    pub fn handle_tun_packets<'p>(
        &mut self,
        now: Instant,
        packets: impl IntoIterator<Item = &'p [u8]>,
        out: &mut DatagramBatch,
    ) -> usize {
        let Some(data) = &mut self.data else {
            let dropped = packets.into_iter().count() as u64;
            self.stats.drops.not_connected += dropped;
            return 0;
        };
        let sent = data.encapsulate(now, packets, out, &mut self.stats);
        if sent > 0 {
            self.note_sent_on_nat_t(now);
            self.ike.note_sent(now);
        }
        self.check_lifetimes(now);
        // A soft limit may have started a rekey.
        self.pump(now);
        sent
    }

    /// Handles the timer: IKE retransmissions, NAT-keepalives and SA lifetimes.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ike.handle_timeout(now);
        if let Some(due) = self.keepalive_due
            && now >= due
        {
            // RFC 3948 §2.3: "The sender MUST use a one-octet-long payload with the
            // value 0xFF."
            self.transmits.push_back(Transmit {
                destination_port: NAT_T_PORT,
                non_esp_marker: false,
                payload: nat_keepalive().to_vec(),
            });
            self.stats.keepalives_sent += 1;
            self.keepalive_due = now.checked_add(self.options.nat_keepalive_interval);
        }
        self.check_lifetimes(now);
        self.pump(now);
    }

    /// The next IKE datagram or NAT-keepalive to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.ike.poll_timeout(),
            self.keepalive_due,
            self.data.as_ref().and_then(DataPlane::next_deadline),
            self.ike_rekey_due,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// A NAT-keepalive only keeps the NAT mapping open when nothing else does (RFC 3948
    /// §4 sends one after an idle interval), so any datagram to port 4500 pushes the
    /// next one back.
    fn note_sent_on_nat_t(&mut self, now: Instant) {
        if self.keepalive_due.is_some() {
            self.keepalive_due = now.checked_add(self.options.nat_keepalive_interval);
        }
    }

    fn check_lifetimes(&mut self, now: Instant) {
        let Some(data) = &mut self.data else {
            return;
        };
        for event in data.check_lifetimes(now) {
            match event {
                // RFC 7296 §2.8: rekeying "create[s] a new, equivalent SA [...] and when
                // the new one is established, delete[s] the old one".
                SessionEvent::RekeyNeeded(reason) => {
                    tracing::debug!(?reason, "Child SA soft lifetime reached: rekeying");
                    self.ike.rekey_child(now);
                }
                other => self.events.push_back(other),
            }
        }
        if let Some(at) = self.ike_rekey_due
            && now >= at
        {
            self.ike_rekey_due = None;
            self.ike.rekey_ike(now);
        }
    }

    /// Moves the initiator's datagrams and events into the session's queues, reacting
    /// to each event (which may make the initiator send more).
    fn pump(&mut self, now: Instant) {
        loop {
            while let Some(t) = self.ike.poll_transmit() {
                if t.destination_port == NAT_T_PORT {
                    self.note_sent_on_nat_t(now);
                }
                self.transmits.push_back(t);
            }
            let Some(event) = self.ike.poll_event() else {
                break;
            };
            self.on_ike_event(now, event);
        }
    }

    fn on_ike_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::KeyMaterial(k) => self.events.push_back(SessionEvent::KeyMaterial(k)),
            Event::Established(established) => self.on_established(now, &established),
            Event::ChildSaRekeyed(child) => self.on_child_rekeyed(now, &child),
            Event::ChildSaRetired {
                inbound_spi,
                outbound_spi,
            } => {
                if let Some(data) = &mut self.data {
                    data.retire(inbound_spi, outbound_spi);
                }
            }
            Event::IkeSaRekeyed {
                spi_local,
                spi_remote,
                suite,
                by_gateway,
            } => {
                self.ike_rekey_due = self
                    .options
                    .ike_rekey_interval
                    .and_then(|d| now.checked_add(d));
                self.events
                    .push_back(SessionEvent::IkeSaRekeyed(Box::new(IkeRekeyInfo {
                        ike_suite: suite,
                        spi_local,
                        spi_remote,
                        by_gateway,
                    })));
            }
            Event::PeerDead { tries, .. } => {
                tracing::debug!(tries, "the gateway is not answering");
                self.end(SessionEvent::Disconnected {
                    reason: DisconnectReason::PeerDead,
                });
            }
            Event::ChildSaDeleted {
                recreating: true, ..
            } => {
                // Packets sent meanwhile go on the deleted SA and are lost; the new
                // one arrives as a rekey of it.
                tracing::info!("the gateway deleted the Child SA; a new one is being negotiated");
            }
            Event::ChildSaDeleted { .. } => {
                if self.phase == Phase::Connected {
                    self.end(SessionEvent::Disconnected {
                        reason: DisconnectReason::ChildSaDeleted,
                    });
                    self.ike.disconnect(now);
                }
            }
            Event::Failed(e) => self.end(SessionEvent::Failed(SessionError::Ike(e))),
            Event::Closed { by_gateway } => {
                let reason = if by_gateway {
                    DisconnectReason::ByGateway
                } else {
                    DisconnectReason::Requested
                };
                self.end(SessionEvent::Disconnected { reason });
            }
            other => tracing::debug!(?other, "IKE event not handled"),
        }
    }

    fn on_established(&mut self, now: Instant, established: &corridor_ike::Established) {
        if self.phase != Phase::Connecting {
            return;
        }
        // corridor-esp speaks ESP in UDP only (RFC 3948).
        if !established.udp_encapsulation {
            self.end(SessionEvent::Failed(SessionError::NotEncapsulated));
            self.ike.disconnect(now);
            return;
        }
        let data = match DataPlane::new(
            established,
            self.options.esp_lifetime,
            self.rng.clone(),
            now,
        ) {
            Ok(d) => d,
            Err(e) => {
                self.end(SessionEvent::Failed(SessionError::Esp(e)));
                self.ike.disconnect(now);
                return;
            }
        };
        let info = ConnectionInfo {
            assigned: established.assigned.clone(),
            routes: established.remote_traffic_selectors.clone(),
            local_traffic_selectors: established.local_traffic_selectors.clone(),
            ike_suite: established.ike_suite,
            esp_suite: established.esp_suite,
            gateway_identity: established.gateway_identity.clone(),
            nat: established.nat,
            remote_port: established.remote_port,
            inbound_spi: established.inbound_spi,
            outbound_spi: established.outbound_spi,
            inner_mtu: data.inner_mtu(self.options.path_mtu, self.remote),
        };
        // Keepalives keep a NAT's mapping alive (RFC 3948 §4); without a NAT on the
        // path they would only cost traffic.
        if established.nat.detected() {
            self.keepalive_due = now.checked_add(self.options.nat_keepalive_interval);
        }
        self.data = Some(data);
        self.ike_rekey_due = self
            .options
            .ike_rekey_interval
            .and_then(|d| now.checked_add(d));
        self.phase = Phase::Connected;
        self.events
            .push_back(SessionEvent::Connected(Box::new(info)));
    }

    fn on_child_rekeyed(&mut self, now: Instant, child: &RekeyedChild) {
        let Some(data) = &mut self.data else {
            return;
        };
        if let Err(e) = data.install(child, now) {
            // The negotiated suite cannot be set up: keep the old Child SA, which
            // lives until its hard lifetime.
            tracing::warn!(error = %e, "cannot install the rekeyed Child SA");
            return;
        }
        self.events
            .push_back(SessionEvent::ChildSaRekeyed(Box::new(ChildRekeyInfo {
                esp_suite: child.esp_suite,
                pfs_group: child.pfs_group,
                inbound_spi: child.inbound_spi,
                outbound_spi: child.outbound_spi,
                old_inbound_spi: child.old_inbound_spi,
                old_outbound_spi: child.old_outbound_spi,
                by_gateway: child.by_gateway,
            })));
    }

    /// The SPIs (inbound, outbound) of the Child SA that carries our traffic now.
    pub fn current_child_spis(&self) -> Option<(u32, u32)> {
        self.data.as_ref().map(DataPlane::current_spis)
    }

    /// Ends the session with `event`, once.
    fn end(&mut self, event: SessionEvent) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.data = None;
        self.keepalive_due = None;
        self.events.push_back(event);
    }
}
