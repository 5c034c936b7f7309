//! The sans-IO IKEv2 initiator.
//!
//! # Call order and time contract
//!
//! The driver owns two UDP sockets towards the gateway (one for port 500, one for
//! port 4500), the clock and the timer. It calls:
//!
//! 1. [`Initiator::new`], then [`Initiator::connect`] once;
//! 2. [`Initiator::handle_datagram`] for every datagram from the gateway on either socket
//!    (IKE messages only: a driver that also carries ESP on port 4500 hands ESP packets
//!    and NAT-keepalives elsewhere; if it does not, they are dropped here);
//! 3. [`Initiator::handle_timeout`] when the instant from [`Initiator::poll_timeout`]
//!    has come;
//! 4. after each of the above, drains [`Initiator::poll_transmit`] (sending each
//!    datagram to the gateway's address on [`Transmit::destination_port`], from the
//!    socket bound for that port) and [`Initiator::poll_event`], then asks
//!    [`Initiator::poll_timeout`] again;
//! 5. once established: [`Initiator::note_peer_alive`] for every authentic ESP packet
//!    (it postpones liveness checks), [`Initiator::rekey_child`] and
//!    [`Initiator::rekey_ike`] at the soft lifetimes it keeps itself; rekeys report
//!    [`Event::ChildSaRekeyed`] / [`Event::ChildSaRetired`] / [`Event::IkeSaRekeyed`];
//! 6. [`Initiator::disconnect`] to close the IKE SA politely.
//!
//! `now` is a monotonic [`Instant`] supplied by the driver; it must never go backwards.
//! Nothing in here reads a clock, opens a socket or draws randomness except from the
//! injected [`Random`].

mod auth;
mod child_rekey;
mod eap;
mod established;
mod ike_rekey;
mod informational;
mod sa_init;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use established::Task;

use corridor_crypto::Random;
use corridor_wire::payload::Payload;
use corridor_wire::{ExchangeType, Flags, Message, MessageBuilder, PayloadBuilder};
use rustls_pki_types::UnixTime;

pub use established::{Established, Event, KeyMaterial, RekeyedChild};

use crate::Error;
use crate::config::IkeConfig;
use crate::fragment::{Added, Reassembly};
use crate::keys::IkeSaSecrets;
use crate::nat::NAT_T_PORT;
use crate::protect::{self, Opened};
use crate::retransmit::{Expiry, Outstanding};

/// A datagram to send to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The gateway's UDP port: 500, or 4500 once NAT traversal is in use.
    pub destination_port: u16,
    /// Whether `payload` starts with the four-zero-octet non-ESP marker (RFC 3948 §2.2),
    /// as every IKE message on port 4500 must.
    pub non_esp_marker: bool,
    /// The UDP payload, exactly as it must be sent.
    pub payload: Vec<u8>,
}

/// The injected RNG, shared with the EAP peer (which takes its own boxed RNG).
#[derive(Clone)]
pub(crate) struct SharedRng(Arc<Mutex<Box<dyn Random + Send>>>);

impl SharedRng {
    fn fill_bytes(&self, dest: &mut [u8]) {
        let mut rng = self.0.lock().unwrap_or_else(|e| e.into_inner());
        rng.fill(dest);
    }
}

impl Random for SharedRng {
    fn fill(&mut self, dest: &mut [u8]) {
        self.fill_bytes(dest);
    }
}

impl corridor_eap::Random for SharedRng {
    fn fill(&mut self, dest: &mut [u8]) {
        self.fill_bytes(dest);
    }
}

/// The state that every handshake stage shares: addresses, SPIs, message IDs, the
/// retransmission slot, keys once derived, and the output queues.
pub(crate) struct Shared {
    pub(crate) config: Arc<IkeConfig>,
    pub(crate) rng: SharedRng,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    created: Instant,
    unix_at_creation: UnixTime,
    /// The IKE SPIs in header order (the original initiator's first).
    pub(crate) spi_i: u64,
    pub(crate) spi_r: u64,
    /// Whether we are the original initiator of the current IKE SA: true until the
    /// gateway rekeys it (RFC 7296 §2.18), which makes the gateway the initiator.
    pub(crate) we_initiator: bool,
    /// The IKE SA a rekey replaced, until the gateway deletes it.
    pub(crate) old_ike: Option<ike_rekey::OldIkeSa>,
    /// The gateway port in use: 500, or 4500 after the switch.
    pub(crate) port: u16,
    pub(crate) outstanding: Option<Outstanding>,
    pub(crate) next_message_id: u32,
    /// The Message ID we expect in the gateway's next request.
    pub(crate) peer_next_id: u32,
    /// Our answer to the gateway's last request, resent when the request is repeated.
    pub(crate) last_response: Option<(u32, Vec<Vec<u8>>)>,
    pub(crate) secrets: Option<IkeSaSecrets>,
    /// The suite of the current IKE SA.
    pub(crate) ike_suite: Option<crate::IkeSuite>,
    /// The gateway sent IKEV2_FRAGMENTATION_SUPPORTED.
    pub(crate) fragmentation: bool,
    pub(crate) reassembly: Reassembly,
    /// When the last authentic message (IKE, or ESP reported by the driver) came from
    /// the gateway: the start of the liveness check interval.
    pub(crate) last_heard: Instant,
    /// The first packet sent to the gateway after `last_heard`, if any: traffic that
    /// has gone unanswered since then.
    pub(crate) unanswered_since: Option<Instant>,
    transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<Event>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("spi_i", &format_args!("{:016x}", self.spi_i))
            .field("spi_r", &format_args!("{:016x}", self.spi_r))
            .field("port", &self.port)
            .field("next_message_id", &self.next_message_id)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn random_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.rng.fill_bytes(&mut v);
        v
    }

    /// The wall-clock time now, for certificate validity.
    pub(crate) fn unix_time(&self, now: Instant) -> UnixTime {
        let base = self.unix_at_creation.as_secs();
        let elapsed = now.saturating_duration_since(self.created).as_secs();
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(base.saturating_add(elapsed)))
    }

    fn header(&self, exchange: ExchangeType, response: bool, message_id: u32) -> MessageBuilder {
        MessageBuilder::new(
            exchange,
            Flags::new(self.we_initiator, response),
            self.spi_i,
            self.spi_r,
            message_id,
        )
    }

    /// Queues datagrams for the current port, adding the non-ESP marker on 4500.
    pub(crate) fn queue(&mut self, datagrams: &[Vec<u8>], port: u16) {
        for d in datagrams {
            self.transmits.push_back(Transmit {
                destination_port: port,
                non_esp_marker: port == NAT_T_PORT,
                payload: d.clone(),
            });
        }
    }

    /// Frames IKE messages for `port`.
    pub(crate) fn frame(&self, messages: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        if self.port != NAT_T_PORT {
            return messages;
        }
        messages
            .into_iter()
            .map(|m| {
                let mut d = Vec::with_capacity(m.len() + 4);
                corridor_wire::udp_encap::add_non_esp_marker(&m, &mut d);
                d
            })
            .collect()
    }

    fn start_request(&mut self, now: Instant, message_id: u32, messages: Vec<Vec<u8>>) {
        let datagrams = self.frame(messages);
        let port = self.port;
        self.transmits.extend(datagrams.iter().map(|d| Transmit {
            destination_port: port,
            non_esp_marker: port == NAT_T_PORT,
            payload: d.clone(),
        }));
        self.outstanding = Some(Outstanding::new(
            message_id,
            datagrams,
            port,
            now,
            &self.config.retransmit,
        ));
    }

    /// Sends an unencrypted request (IKE_SA_INIT) with Message ID 0.
    pub(crate) fn send_plain_request(&mut self, now: Instant, message: Vec<u8>) {
        self.start_request(now, 0, vec![message]);
    }

    /// Seals and sends a request of `exchange` with the next Message ID.
    ///
    /// RFC 7296 §2.3: "An IKE endpoint MUST NOT exceed the peer's stated window size for
    /// transmitted IKE requests"; we never rely on a SET_WINDOW_SIZE, so callers send only
    /// when nothing is outstanding. Retransmissions resend these exact datagrams (§2.1: "A
    /// retransmission from the initiator MUST be bitwise identical to the original
    /// request.").
    pub(crate) fn send_request(
        &mut self,
        now: Instant,
        exchange: ExchangeType,
        inner: &[PayloadBuilder],
    ) -> Result<(), Error> {
        let message_id = self.next_message_id;
        let messages = self.seal(exchange, false, message_id, inner)?;
        self.next_message_id = self.next_message_id.wrapping_add(1);
        self.start_request(now, message_id, messages);
        Ok(())
    }

    /// Sends a Delete for the IKE SA once, without waiting for the answer: used when we
    /// give up on an IKE SA that the gateway already considers established.
    pub(crate) fn delete_best_effort(&mut self, now: Instant) {
        self.inform_best_effort(
            now,
            PayloadBuilder::Delete(corridor_wire::payload::DeleteBuilder::ike()),
        );
    }

    /// Sends one INFORMATIONAL request with `payload`, once, without waiting.
    pub(crate) fn inform_best_effort(&mut self, now: Instant, payload: PayloadBuilder) {
        if let Err(e) = self.send_request(now, ExchangeType::INFORMATIONAL, &[payload]) {
            tracing::debug!(error = %e, "cannot send the INFORMATIONAL request");
        }
        self.outstanding = None;
    }

    /// Seals and sends our response to the gateway's request `message_id`, and keeps it
    /// for retransmitted requests.
    pub(crate) fn send_response(
        &mut self,
        exchange: ExchangeType,
        message_id: u32,
        inner: &[PayloadBuilder],
    ) -> Result<(), Error> {
        let messages = self.seal(exchange, true, message_id, inner)?;
        let datagrams = self.frame(messages);
        self.queue(&datagrams, self.port);
        self.last_response = Some((message_id, datagrams));
        Ok(())
    }

    fn seal(
        &mut self,
        exchange: ExchangeType,
        response: bool,
        message_id: u32,
        inner: &[PayloadBuilder],
    ) -> Result<Vec<Vec<u8>>, Error> {
        let header = self.header(exchange, response, message_id);
        let secrets = self
            .secrets
            .as_ref()
            .ok_or_else(|| Error::internal("no keys to protect the message with"))?;
        // RFC 7383 §2.5.3: fragment only when the peer announced support, and the
        // marker's four bytes count against the size on port 4500.
        let size = self
            .fragmentation
            .then(|| self.config.fragment_size - if self.port == NAT_T_PORT { 4 } else { 0 });
        let mut rng = self.rng.clone();
        protect::seal(&header, inner, &secrets.protection.outbound, &mut rng, size)
    }
}

/// A message from the gateway that passed integrity checks, with its inner payloads.
pub(crate) struct Inbound<'a> {
    pub(crate) exchange: ExchangeType,
    pub(crate) payloads: &'a [Payload<'a>],
}

impl<'a> Inbound<'a> {
    pub(crate) fn notifies(
        &self,
    ) -> impl Iterator<Item = &'a corridor_wire::payload::Notify<'a>> + 'a {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Notify(n) => Some(n),
            _ => None,
        })
    }
}

/// Where the handshake stands. Each stage owns exactly the data it needs and is
/// consumed by the transition to the next (rustls's `hs.rs` shape).
#[derive(Debug)]
enum State {
    /// Created, `connect` not yet called.
    Idle,
    /// IKE_SA_INIT sent.
    SaInit(Box<sa_init::ExpectSaInit>),
    /// First (or only) IKE_AUTH request sent.
    Auth(Box<auth::ExpectAuth>),
    /// EAP in progress inside IKE_AUTH.
    Eap(Box<eap::ExpectEap>),
    /// The IKE SA and its Child SA are up.
    Established(Box<established::EstablishedSa>),
    /// Our Delete sent; waiting for the answer.
    Deleting,
    /// Finished, one way or another.
    Closed,
}

/// The IKEv2 initiator state machine for one IKE SA. See the [module docs](self) for
/// the call order.
#[derive(Debug)]
pub struct Initiator {
    shared: Shared,
    state: State,
}

impl Initiator {
    /// An initiator for `config`, talking from `local` to the gateway at `remote` (its
    /// IKE port, normally 500). `now` and `unix_time` are the same moment on the
    /// monotonic and the wall clock; the latter checks certificate validity.
    pub fn new(
        config: Arc<IkeConfig>,
        rng: Box<dyn Random + Send>,
        local: SocketAddr,
        remote: SocketAddr,
        now: Instant,
        unix_time: UnixTime,
    ) -> Result<Self, Error> {
        config.validate()?;
        let rng = SharedRng(Arc::new(Mutex::new(rng)));
        let mut spi = [0u8; 8];
        // Our SPI must not be zero (RFC 7296 §3.1), and we keep its first four octets
        // non-zero so that an IKE message can never be mistaken for a non-ESP marker.
        while spi[..4] == [0; 4] {
            rng.fill_bytes(&mut spi);
        }
        Ok(Self {
            shared: Shared {
                config,
                rng,
                local,
                remote,
                created: now,
                unix_at_creation: unix_time,
                spi_i: u64::from_be_bytes(spi),
                spi_r: 0,
                we_initiator: true,
                old_ike: None,
                port: remote.port(),
                outstanding: None,
                next_message_id: 0,
                peer_next_id: 0,
                last_response: None,
                secrets: None,
                ike_suite: None,
                fragmentation: false,
                reassembly: Reassembly::default(),
                last_heard: now,
                unanswered_since: None,
                transmits: VecDeque::new(),
                events: VecDeque::new(),
            },
            state: State::Idle,
        })
    }

    /// Our IKE SPI (it changes when the IKE SA is rekeyed).
    pub fn spi_i(&self) -> u64 {
        if self.shared.we_initiator {
            self.shared.spi_i
        } else {
            self.shared.spi_r
        }
    }

    /// Updates our address as seen locally (before `connect`), for NAT detection.
    pub fn set_local_address(&mut self, local: SocketAddr) {
        self.shared.local = local;
    }

    /// The gateway port currently in use (500, or 4500 after NAT detection).
    pub fn remote_port(&self) -> u16 {
        self.shared.port
    }

    /// The IKE suite and NAT status that IKE_SA_INIT settled on, while IKE_AUTH runs
    /// (for progress reports; [`Established`] carries both once the SA is up).
    pub fn sa_init_outcome(&self) -> Option<(crate::IkeSuite, crate::NatStatus)> {
        match &self.state {
            State::Auth(s) => Some(s.sa_init_outcome()),
            State::Eap(s) => Some(s.sa_init_outcome()),
            _ => None,
        }
    }

    /// Whether the IKE SA is up.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Established(_))
    }

    /// Whether the initiator has finished (closed or failed); it will do nothing more.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Starts the IKE_SA_INIT exchange. Does nothing if already started.
    pub fn connect(&mut self, now: Instant) {
        if !matches!(self.state, State::Idle) {
            return;
        }
        match sa_init::ExpectSaInit::start(&mut self.shared, now) {
            Ok(s) => self.state = State::SaInit(Box::new(s)),
            Err(e) => self.fail(e),
        }
    }

    /// Closes the IKE SA: sends a Delete and reports [`Event::Closed`] when the gateway
    /// answers or the retransmissions run out. Before keys exist it closes at once.
    pub fn disconnect(&mut self, now: Instant) {
        match self.state {
            State::Closed | State::Deleting => {}
            _ if self.shared.secrets.is_none() => {
                self.shared.outstanding = None;
                self.state = State::Closed;
                self.shared
                    .events
                    .push_back(Event::Closed { by_gateway: false });
            }
            _ => {
                // RFC 7296 §1.4.1: "To delete an SA, an INFORMATIONAL exchange with one
                // or more Delete payloads is sent".
                self.shared.outstanding = None;
                let delete = [PayloadBuilder::Delete(
                    corridor_wire::payload::DeleteBuilder::ike(),
                )];
                match self
                    .shared
                    .send_request(now, ExchangeType::INFORMATIONAL, &delete)
                {
                    Ok(()) => self.state = State::Deleting,
                    Err(e) => self.fail(e),
                }
            }
        }
    }

    /// Handles a datagram from the gateway (`from` is its source address, for logs).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let span = tracing::trace_span!("ike", spi_i = %format_args!("{:016x}", self.shared.spi_i));
        let _guard = span.enter();
        if matches!(self.state, State::Closed | State::Idle) {
            tracing::debug!(%from, "datagram while not connected: dropped");
            return;
        }
        // Our SPI never starts with four zero octets, so four zero octets are the non-ESP
        // marker of port 4500 (RFC 3948 §2.2).
        let ike = match corridor_wire::udp_encap::strip_non_esp_marker(datagram) {
            Some(rest) => rest,
            None if datagram.len() < corridor_wire::HEADER_LEN => {
                tracing::trace!(%from, len = datagram.len(), "keepalive or runt datagram: dropped");
                return;
            }
            None => datagram,
        };
        let msg = match Message::parse(ike) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(%from, error = %e, "unparsable datagram dropped");
                return;
            }
        };
        let h = msg.header();
        if let Some(old) = &self.shared.old_ike
            && old.owns(&msg)
        {
            ike_rekey::handle_old(&mut self.shared, &msg);
            return;
        }
        if h.spi_i != self.shared.spi_i {
            tracing::debug!(%from, "message for another IKE SA dropped");
            return;
        }
        // RFC 7296 §3.1: the I flag "MUST be set in messages sent by the original
        // initiator of the IKE SA and MUST be cleared in messages sent by the original
        // responder".
        if h.flags.is_initiator() == self.shared.we_initiator {
            tracing::debug!(%from, "message with the I flag set dropped");
            return;
        }
        if self.shared.spi_r != 0 && h.spi_r != self.shared.spi_r {
            tracing::debug!(%from, "message with a wrong responder SPI dropped");
            return;
        }
        if msg.is_response() {
            self.handle_response(now, &msg);
        } else {
            self.handle_request(now, &msg);
        }
    }

    fn handle_response(&mut self, now: Instant, msg: &Message<'_>) {
        let Some(outstanding) = &self.shared.outstanding else {
            tracing::debug!("response without an outstanding request dropped");
            return;
        };
        let message_id = msg.header().message_id;
        if message_id != outstanding.message_id {
            tracing::debug!(
                message_id,
                expected = outstanding.message_id,
                "response with an unexpected Message ID dropped"
            );
            return;
        }
        if let State::SaInit(_) = self.state {
            let State::SaInit(s) = std::mem::replace(&mut self.state, State::Closed) else {
                return;
            };
            match s.handle(&mut self.shared, now, msg) {
                Ok(next) => self.state = next,
                Err(e) => self.fail(e),
            }
            return;
        }
        let Some(secrets) = &self.shared.secrets else {
            return;
        };
        let (first, plaintext) = match protect::open(msg, &secrets.protection.inbound) {
            Ok(Opened::Whole(first, plaintext)) => (first, plaintext),
            Ok(Opened::Fragment(f)) => match self.shared.reassembly.add(f) {
                Added::Complete(first, plaintext) => (first, plaintext),
                Added::Incomplete => return,
                Added::Dropped(why) => {
                    tracing::debug!(why, "fragment dropped");
                    return;
                }
            },
            Err(why) => {
                tracing::debug!(%why, "unauthenticated response dropped");
                return;
            }
        };
        self.shared.reassembly.clear();
        self.shared.outstanding = None;
        self.shared.last_heard = now;
        let payloads = match corridor_wire::parse_inner_payloads(first, &plaintext) {
            Ok(p) => p,
            Err(e) if matches!(self.state, State::Established(_)) => {
                // Once the SA is up, a broken answer costs only the request it answers.
                tracing::warn!(error = %e, "malformed response from the gateway dropped");
                if let State::Established(sa) = &mut self.state {
                    sa.pending = None;
                    self.kick(now);
                }
                return;
            }
            Err(e) => {
                self.fail(Error::InvalidMessage(e));
                return;
            }
        };
        let inbound = Inbound {
            exchange: msg.exchange_type(),
            payloads: &payloads,
        };
        let state = std::mem::replace(&mut self.state, State::Closed);
        let next = match state {
            State::Auth(s) => s.handle(&mut self.shared, now, &inbound),
            State::Eap(s) => s.handle(&mut self.shared, now, &inbound),
            State::Deleting => {
                self.shared
                    .events
                    .push_back(Event::Closed { by_gateway: false });
                Ok(State::Closed)
            }
            State::Established(mut sa) => {
                established::handle_response(&mut self.shared, now, &mut sa, &inbound)
                    .map(|()| State::Established(sa))
            }
            other => {
                tracing::debug!("response in a state that expects none dropped");
                Ok(other)
            }
        };
        match next {
            Ok(s) => self.state = s,
            Err(e) => self.fail(e),
        }
        self.kick(now);
    }

    fn handle_request(&mut self, now: Instant, msg: &Message<'_>) {
        let established = matches!(self.state, State::Established(_) | State::Deleting);
        if !established {
            tracing::debug!(exchange = %msg.exchange_type(), "gateway request before the IKE SA is up dropped");
            return;
        }
        let result = informational::handle_request(&mut self.shared, now, msg, &mut self.state);
        if let Err(e) = result {
            self.fail(e);
        }
        self.kick(now);
    }

    /// Asks for the current Child SA to be rekeyed (at its soft lifetime): a
    /// CREATE_CHILD_SA exchange with REKEY_SA (RFC 7296 §1.3.3) starts as soon as no
    /// other request is outstanding, and [`Event::ChildSaRekeyed`] reports the result.
    /// Does nothing unless the IKE SA is up.
    pub fn rekey_child(&mut self, now: Instant) {
        if let State::Established(sa) = &mut self.state {
            sa.push_task(Task::RekeyChild);
        }
        self.kick(now);
    }

    /// Asks for the IKE SA to be rekeyed (at its soft lifetime, RFC 7296 §2.18);
    /// [`Event::IkeSaRekeyed`] reports the result.
    pub fn rekey_ike(&mut self, now: Instant) {
        if let State::Established(sa) = &mut self.state {
            sa.push_task(Task::RekeyIke);
        }
        self.kick(now);
    }

    /// Tells the initiator that an authentic packet of one of its Child SAs came from
    /// the gateway, which proves it alive (RFC 7296 §2.4: liveness checks are needed
    /// only when "there has only been outgoing traffic on all of the SAs").
    pub fn note_peer_alive(&mut self, now: Instant) {
        if now > self.shared.last_heard {
            self.shared.last_heard = now;
        }
    }

    /// Tells the initiator that a packet of one of its Child SAs went to the gateway.
    /// RFC 7296 §2.4: "If there has only been outgoing traffic on all of the SAs
    /// associated with an IKE SA, it is essential to confirm liveness of the other
    /// endpoint to avoid black holes"; traffic unanswered for
    /// [`crate::IkeConfig::dpd_on_one_way_traffic`] brings the liveness check forward.
    pub fn note_sent(&mut self, now: Instant) {
        let shared = &mut self.shared;
        if shared
            .unanswered_since
            .is_none_or(|t| t <= shared.last_heard)
        {
            shared.unanswered_since = Some(now.max(shared.last_heard));
        }
    }

    /// When the next liveness check is due, if one could be sent.
    fn dpd_due(&self) -> Option<Instant> {
        let interval = self.shared.config.dpd_interval;
        if interval.is_zero() || !matches!(self.state, State::Established(_)) {
            return None;
        }
        if self.shared.outstanding.is_some() {
            // An outstanding request is itself retransmitted until answered.
            return None;
        }
        let idle = self.shared.last_heard.checked_add(interval);
        let one_way = self.shared.config.dpd_on_one_way_traffic;
        let unanswered = self
            .shared
            .unanswered_since
            .filter(|since| *since >= self.shared.last_heard && !one_way.is_zero())
            .and_then(|since| since.checked_add(one_way));
        match (idle, unanswered) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Starts the next piece of queued work (a rekey, a Delete, a liveness check) when
    /// the request window is free.
    fn kick(&mut self, now: Instant) {
        let due = self.dpd_due();
        let State::Established(sa) = &mut self.state else {
            return;
        };
        if let Some(at) = sa.rekey_retry_at
            && now >= at
        {
            sa.rekey_retry_at = None;
            sa.push_task(Task::RekeyChild);
        }
        if let Some(at) = sa.ike_rekey_retry_at
            && now >= at
        {
            sa.ike_rekey_retry_at = None;
            sa.push_task(Task::RekeyIke);
        }
        if self.shared.outstanding.is_some() || sa.pending.is_some() {
            return;
        }
        let result = established::next_request(&mut self.shared, now, sa, due);
        match result {
            Ok(pending) => sa.pending = pending,
            Err(e) => self.fail(e),
        }
    }

    /// Handles the timers: retransmissions, liveness checks, rekey retries.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.retransmit(now);
        self.kick(now);
    }

    fn retransmit(&mut self, now: Instant) {
        let Some(out) = &mut self.shared.outstanding else {
            return;
        };
        if now < out.deadline() {
            return;
        }
        let checking_liveness = matches!(
            &self.state,
            State::Established(sa) if matches!(sa.pending, Some(established::Pending::Dpd))
        );
        let policy = if checking_liveness {
            &self.shared.config.liveness_retransmit
        } else {
            &self.shared.config.retransmit
        };
        match out.on_timeout(now, policy) {
            Expiry::Retransmit => {
                tracing::debug!(
                    message_id = out.message_id,
                    tries = out.tries(),
                    "retransmitting"
                );
                let datagrams = out.datagrams.clone();
                let port = out.port;
                self.shared.queue(&datagrams, port);
            }
            Expiry::GiveUp { tries, elapsed } => {
                let port = out.port;
                self.shared.outstanding = None;
                if matches!(self.state, State::Established(_)) {
                    // RFC 7296 §2.4: "If no cryptographically protected messages have
                    // been received on an IKE SA or any of its Child SAs recently, the
                    // system needs to perform a liveness check in order to prevent
                    // sending messages to a dead peer"; when the retransmissions of a
                    // request run out, "the IKE SA is deleted" (§2.1: "the IKE SA
                    // MUST be abandoned").
                    tracing::debug!(tries, ?elapsed, "the gateway stopped answering");
                    self.state = State::Closed;
                    self.shared
                        .events
                        .push_back(Event::PeerDead { tries, elapsed });
                    return;
                }
                if matches!(self.state, State::Deleting) {
                    self.state = State::Closed;
                    self.shared
                        .events
                        .push_back(Event::Closed { by_gateway: false });
                    return;
                }
                let exchange = match self.state {
                    State::SaInit(_) => ExchangeType::IKE_SA_INIT,
                    State::Auth(_) | State::Eap(_) => ExchangeType::IKE_AUTH,
                    _ => ExchangeType::INFORMATIONAL,
                };
                self.fail(Error::Timeout {
                    exchange,
                    port,
                    tries,
                    elapsed,
                });
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.shared.transmits.pop_front()
    }

    /// When [`Initiator::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let (retry, ike_retry) = match &self.state {
            State::Established(sa) => (sa.rekey_retry_at, sa.ike_rekey_retry_at),
            _ => (None, None),
        };
        [
            self.shared.outstanding.as_ref().map(Outstanding::deadline),
            self.dpd_due(),
            retry,
            ike_retry,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.shared.events.pop_front()
    }

    fn fail(&mut self, error: Error) {
        tracing::debug!(%error, "IKE SA failed");
        self.shared.outstanding = None;
        self.state = State::Closed;
        self.shared.events.push_back(Event::Failed(error));
    }
}

/// The first payload of each type, for exchanges where a payload appears once.
pub(crate) fn find<'a, T>(
    payloads: &'a [Payload<'a>],
    pick: impl Fn(&'a Payload<'a>) -> Option<T>,
) -> Option<T> {
    payloads.iter().find_map(pick)
}
