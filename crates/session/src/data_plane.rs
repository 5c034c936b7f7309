//! The Child SA's ESP data plane: both SA directions, the traffic selectors they may
//! carry, and their lifetimes; across a rekey, the old and the new inbound SA side by
//! side (make-before-break) and the switch of the outbound one.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use corridor_crypto::Random;
use corridor_esp::{
    ChildSa, ChildSaParams, DatagramBatch, EspError, InboundSa, Lifetime, NEXT_HEADER_IPV4,
    NEXT_HEADER_IPV6, OutboundSa, spi_of,
};
use corridor_ike::{Established, RekeyedChild};
use corridor_wire::payload::IpRange;

use crate::event::{RekeyReason, SessionEvent};
use crate::rng::SharedRng;
use crate::selectors::{Flow, inbound_allowed, outbound_allowed};
use crate::stats::SessionStats;

/// Outer IPv4 header without options, IPv6 header, UDP header.
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;

/// At most this share (in thousandths) of the soft age lifetime is cut off at random.
/// RFC 7296 §2.8.1: "to reduce the chance of this happening, the timing of rekey
/// requests SHOULD be jittered (delayed by a random amount of time after the need for
/// rekeying is noticed)"; starting earlier by a random amount has the same effect and
/// keeps the hard limit out of reach.
const JITTER_PER_MILLE: u32 = 100;

/// An outbound SA of a Child SA the gateway rekeyed, held back until the gateway
/// deletes the one it replaces.
struct PendingOutbound {
    /// The outbound SPI of the SA it replaces.
    replaces: u32,
    /// The inbound SPI of its own Child SA.
    inbound_spi: u32,
    sa: OutboundSa,
    created: Instant,
}

pub(crate) struct DataPlane {
    /// The one SA we send on.
    outbound: OutboundSa,
    /// Every SA we accept packets on: the current one, and those replaced by a rekey
    /// until their Delete is done.
    inbound: Vec<InboundSa>,
    /// The inbound SPI of the Child SA we send on.
    current_inbound_spi: u32,
    pending_outbound: Vec<PendingOutbound>,
    local_ts: Vec<IpRange>,
    remote_ts: Vec<IpRange>,
    /// When the Child SA we send on was made.
    created: Instant,
    /// The configured lifetimes; each Child SA gets its own jittered copy.
    base_lifetime: Lifetime,
    lifetime: Lifetime,
    rng: SharedRng,
    rekey_reported: bool,
    expiry_reported: bool,
}

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlane")
            .field("outbound", &self.outbound)
            .field("inbound", &self.inbound)
            .field("pending_outbound", &self.pending_outbound.len())
            .field("rekey_reported", &self.rekey_reported)
            .field("expiry_reported", &self.expiry_reported)
            .finish_non_exhaustive()
    }
}

/// `base` with the soft age cut by a random share of at most [`JITTER_PER_MILLE`].
fn jittered(base: Lifetime, rng: &mut SharedRng) -> Lifetime {
    let Some(soft) = base.soft_age else {
        return base;
    };
    let mut b = [0u8; 4];
    rng.fill(&mut b);
    let cut = u32::from_be_bytes(b) % (JITTER_PER_MILLE + 1);
    Lifetime {
        soft_age: Some(soft.saturating_sub(soft * cut / 1000)),
        ..base
    }
}

impl DataPlane {
    /// The initiator's side of the Child SA that `established` describes.
    pub(crate) fn new(
        established: &Established,
        base_lifetime: Lifetime,
        mut rng: SharedRng,
        now: Instant,
    ) -> Result<Self, EspError> {
        let lifetime = jittered(base_lifetime, &mut rng);
        let params = ChildSaParams {
            inbound_spi: established.inbound_spi,
            outbound_spi: established.outbound_spi,
            encr: established.esp_suite.encr,
            integ: established.esp_suite.integ,
            esn: established.esp_suite.esn,
            lifetime,
        };
        let sa =
            ChildSa::new_initiator(&params, &established.child_keys, Box::new(rng.clone()), now)?;
        Ok(Self {
            outbound: sa.outbound,
            inbound: vec![sa.inbound],
            current_inbound_spi: established.inbound_spi,
            pending_outbound: Vec::new(),
            local_ts: established.local_traffic_selectors.clone(),
            remote_ts: established.remote_traffic_selectors.clone(),
            created: now,
            base_lifetime,
            lifetime,
            rng,
            rekey_reported: false,
            expiry_reported: false,
        })
    }

    /// Installs a Child SA made by a rekey: its inbound SA at once (both old and new
    /// are accepted until the old one is retired), its outbound SA now or when the SA
    /// it replaces is retired.
    pub(crate) fn install(&mut self, child: &RekeyedChild, now: Instant) -> Result<(), EspError> {
        let lifetime = jittered(self.base_lifetime, &mut self.rng);
        let params = ChildSaParams {
            inbound_spi: child.inbound_spi,
            outbound_spi: child.outbound_spi,
            encr: child.esp_suite.encr,
            integ: child.esp_suite.integ,
            esn: child.esp_suite.esn,
            lifetime,
        };
        let sa =
            ChildSa::new_initiator(&params, &child.child_keys, Box::new(self.rng.clone()), now)?;
        self.inbound.push(sa.inbound);
        if child.outbound_now {
            self.switch(sa.outbound, child.inbound_spi, now, lifetime);
        } else {
            self.pending_outbound.push(PendingOutbound {
                replaces: child.old_outbound_spi,
                inbound_spi: child.inbound_spi,
                sa: sa.outbound,
                created: now,
            });
        }
        Ok(())
    }

    fn switch(
        &mut self,
        outbound: OutboundSa,
        inbound_spi: u32,
        created: Instant,
        lifetime: Lifetime,
    ) {
        self.outbound = outbound;
        self.current_inbound_spi = inbound_spi;
        self.created = created;
        self.lifetime = lifetime;
        self.rekey_reported = false;
        self.expiry_reported = false;
    }

    /// Forgets a Child SA deleted after a rekey. When we were still sending on it, we
    /// switch to the Child SA that replaced it: there is always exactly one outbound SA.
    pub(crate) fn retire(&mut self, inbound_spi: u32, outbound_spi: u32) {
        self.inbound.retain(|sa| sa.spi() != inbound_spi);
        self.pending_outbound.retain(|p| p.sa.spi() != outbound_spi);
        if self.outbound.spi() != outbound_spi {
            return;
        }
        match self
            .pending_outbound
            .iter()
            .position(|p| p.replaces == outbound_spi)
        {
            Some(i) => {
                let p = self.pending_outbound.remove(i);
                let lifetime = jittered(self.base_lifetime, &mut self.rng);
                self.switch(p.sa, p.inbound_spi, p.created, lifetime);
            }
            None => {
                tracing::warn!(
                    spi = %format_args!("{outbound_spi:08x}"),
                    "the Child SA we send on was retired without a replacement"
                );
            }
        }
    }

    /// The SPIs (inbound, outbound) of the Child SA we send on.
    pub(crate) fn current_spis(&self) -> (u32, u32) {
        (self.current_inbound_spi, self.outbound.spi())
    }

    /// The largest inner packet whose ESP-in-UDP datagram fits `path_mtu` towards
    /// `remote`.
    pub(crate) fn inner_mtu(&self, path_mtu: usize, remote: SocketAddr) -> usize {
        let ip = if remote.is_ipv4() {
            IPV4_HEADER
        } else {
            IPV6_HEADER
        };
        self.outbound
            .max_inner_len(path_mtu.saturating_sub(ip + UDP_HEADER))
    }

    fn current_inbound(&self) -> Option<&InboundSa> {
        self.inbound
            .iter()
            .find(|sa| sa.spi() == self.current_inbound_spi)
    }

    fn expired(&self, now: Instant) -> bool {
        self.outbound.is_expired(now) || self.current_inbound().is_some_and(|sa| sa.is_expired(now))
    }

    /// Encapsulates the packets that fit the traffic selectors into `out`; returns how
    /// many datagrams were appended.
    pub(crate) fn encapsulate<'p>(
        &mut self,
        now: Instant,
        packets: impl IntoIterator<Item = &'p [u8]>,
        out: &mut DatagramBatch,
        stats: &mut SessionStats,
    ) -> usize {
        let expired = self.expired(now);
        let mut count = 0;
        for packet in packets {
            if expired {
                stats.drops.expired += 1;
                continue;
            }
            let Some(flow) = Flow::parse(packet) else {
                stats.drops.malformed += 1;
                continue;
            };
            // RFC 4301 §5.1: an SA carries only traffic its selectors cover; a VPN
            // client discards the rest rather than leak it.
            if !outbound_allowed(&flow, &self.local_ts, &self.remote_ts) {
                stats.drops.outside_traffic_selectors += 1;
                continue;
            }
            let outbound = &mut self.outbound;
            let max = outbound.encapsulated_len(packet.len());
            match out.push_with(max, |buf| outbound.encapsulate(packet, buf)) {
                Ok(()) => {
                    count += 1;
                    stats.packets_out += 1;
                    stats.bytes_out += packet.len() as u64;
                }
                Err(EspError::SequenceExhausted | EspError::LifetimeExpired { .. }) => {
                    stats.drops.expired += 1;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "inner packet not encapsulated");
                    stats.drops.malformed += 1;
                }
            }
        }
        count
    }

    /// Decapsulates an ESP datagram in place; returns where its inner packet lies.
    pub(crate) fn decapsulate(
        &mut self,
        now: Instant,
        datagram: &mut [u8],
        stats: &mut SessionStats,
    ) -> Option<Range<usize>> {
        if self.expired(now) {
            stats.drops.expired += 1;
            return None;
        }
        // The SA the packet names; an unknown SPI is refused by the newest SA.
        let spi = spi_of(datagram);
        let index = self
            .inbound
            .iter()
            .position(|sa| Some(sa.spi()) == spi)
            .unwrap_or(self.inbound.len().saturating_sub(1));
        let Some(sa) = self.inbound.get_mut(index) else {
            stats.drops.unknown_spi += 1;
            return None;
        };
        let d = match sa.decapsulate(datagram) {
            Ok(d) => d,
            Err(e) => {
                match e {
                    EspError::Replay { .. } => stats.drops.replay += 1,
                    EspError::IntegrityFailed => stats.drops.auth += 1,
                    EspError::UnknownSpi { .. } => stats.drops.unknown_spi += 1,
                    _ => stats.drops.malformed += 1,
                }
                tracing::trace!(error = %e, "ESP packet dropped");
                return None;
            }
        };
        if d.is_dummy() {
            stats.drops.dummy += 1;
            return None;
        }
        let inner = d.inner(datagram);
        let version_matches = match d.next_header {
            NEXT_HEADER_IPV4 => inner.first().map(|b| b >> 4) == Some(4),
            NEXT_HEADER_IPV6 => inner.first().map(|b| b >> 4) == Some(6),
            _ => false,
        };
        let Some(flow) = Flow::parse(inner).filter(|_| version_matches) else {
            stats.drops.malformed += 1;
            return None;
        };
        // RFC 4301 §5.2 (step 4) has the receiver check the decrypted packet against
        // the SA's selectors and discard it on a mismatch: a gateway must not inject
        // traffic it did not negotiate.
        if !inbound_allowed(&flow, &self.local_ts, &self.remote_ts) {
            stats.drops.outside_traffic_selectors += 1;
            return None;
        }
        stats.packets_in += 1;
        stats.bytes_in += inner.len() as u64;
        Some(d.inner)
    }

    /// The events a lifetime check produces now, each once per Child SA.
    pub(crate) fn check_lifetimes(&mut self, now: Instant) -> Vec<SessionEvent> {
        let mut events = Vec::new();
        let soft = self.outbound.needs_rekey(now)
            || self.current_inbound().is_some_and(|sa| sa.needs_rekey(now));
        if soft && !self.rekey_reported {
            self.rekey_reported = true;
            events.push(SessionEvent::RekeyNeeded(RekeyReason::SoftLifetime));
        }
        if self.expired(now) && !self.expiry_reported {
            self.expiry_reported = true;
            events.push(SessionEvent::ChildSaExpired);
        }
        events
    }

    /// When an age lifetime will be reached next (byte and packet limits are checked
    /// as traffic flows).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let soft = self
            .lifetime
            .soft_age
            .filter(|_| !self.rekey_reported)
            .and_then(|age| self.created.checked_add(age));
        let hard = self
            .lifetime
            .hard_age
            .filter(|_| !self.expiry_reported)
            .and_then(|age| self.created.checked_add(age));
        [soft, hard].into_iter().flatten().min()
    }
}
