//! The Child SA's ESP data plane: both SA directions, the traffic selectors they may
//! carry, and their lifetimes.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use corridor_esp::{
    ChildSa, ChildSaParams, DatagramBatch, EspError, Lifetime, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6,
};
use corridor_ike::Established;
use corridor_wire::payload::IpRange;

use crate::event::{RekeyReason, SessionEvent};
use crate::rng::SharedRng;
use crate::selectors::{Flow, inbound_allowed, outbound_allowed};
use crate::stats::SessionStats;

/// Outer IPv4 header without options, IPv6 header, UDP header.
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;

pub(crate) struct DataPlane {
    sa: ChildSa,
    local_ts: Vec<IpRange>,
    remote_ts: Vec<IpRange>,
    created: Instant,
    lifetime: Lifetime,
    rekey_reported: bool,
    expiry_reported: bool,
}

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlane")
            .field("sa", &self.sa)
            .field("rekey_reported", &self.rekey_reported)
            .field("expiry_reported", &self.expiry_reported)
            .finish_non_exhaustive()
    }
}

impl DataPlane {
    /// The initiator's side of the Child SA that `established` describes.
    pub(crate) fn new(
        established: &Established,
        lifetime: Lifetime,
        rng: SharedRng,
        now: Instant,
    ) -> Result<Self, EspError> {
        let params = ChildSaParams {
            inbound_spi: established.inbound_spi,
            outbound_spi: established.outbound_spi,
            encr: established.esp_suite.encr,
            integ: established.esp_suite.integ,
            esn: established.esp_suite.esn,
            lifetime,
        };
        let sa = ChildSa::new_initiator(&params, &established.child_keys, Box::new(rng), now)?;
        Ok(Self {
            sa,
            local_ts: established.local_traffic_selectors.clone(),
            remote_ts: established.remote_traffic_selectors.clone(),
            created: now,
            lifetime,
            rekey_reported: false,
            expiry_reported: false,
        })
    }

    /// The largest inner packet whose ESP-in-UDP datagram fits `path_mtu` towards
    /// `remote`.
    pub(crate) fn inner_mtu(&self, path_mtu: usize, remote: SocketAddr) -> usize {
        let ip = if remote.is_ipv4() {
            IPV4_HEADER
        } else {
            IPV6_HEADER
        };
        self.sa
            .outbound
            .max_inner_len(path_mtu.saturating_sub(ip + UDP_HEADER))
    }

    fn expired(&self, now: Instant) -> bool {
        self.sa.outbound.is_expired(now) || self.sa.inbound.is_expired(now)
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
            let outbound = &mut self.sa.outbound;
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
        let d = match self.sa.inbound.decapsulate(datagram) {
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
        let soft = self.sa.outbound.needs_rekey(now) || self.sa.inbound.needs_rekey(now);
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
