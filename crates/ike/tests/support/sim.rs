//! A simulated network between the initiator and the test responder, with virtual time
//! and a lossy, duplicating, reordering link driven by a seeded RNG.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corridor_crypto::{DeterministicRandom, Random};
use corridor_ike::{Event, IkeConfig, Initiator};
use rustls_pki_types::UnixTime;

use super::responder::Responder;

/// Link impairments, in per-mille.
#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    pub loss: u32,
    pub duplicate: u32,
    /// Per-mille of packets delayed by up to `jitter` extra (which reorders them).
    pub reorder: u32,
    pub latency: Duration,
    pub jitter: Duration,
}

impl Link {
    pub fn clean() -> Self {
        Self {
            latency: Duration::from_millis(20),
            ..Self::default()
        }
    }

    pub fn lossy() -> Self {
        Self {
            loss: 200,
            duplicate: 150,
            reorder: 200,
            latency: Duration::from_millis(20),
            jitter: Duration::from_millis(300),
        }
    }
}

struct InFlight {
    at: Instant,
    seq: u64,
    to_gateway: bool,
    port: u16,
    bytes: Vec<u8>,
}

/// Rewrites a gateway→initiator datagram in flight.
pub type Mangler = Box<dyn FnMut(&mut Vec<u8>, &mut DeterministicRandom)>;

pub struct Sim {
    pub init: Initiator,
    pub gw: Responder,
    pub now: Instant,
    pub start: Instant,
    pub link: Link,
    /// Drop everything sent towards the gateway.
    pub blackhole: bool,
    /// Optional mangling of gateway→initiator datagrams.
    pub mangle: Option<Mangler>,
    pub received_from_gateway: Vec<Vec<u8>>,
    pub events: Vec<Event>,
    pub sent_to_gateway: Vec<(u16, Vec<u8>)>,
    rng: DeterministicRandom,
    queue: Vec<InFlight>,
    seq: u64,
    gw_addr: SocketAddr,
}

pub const LOCAL: &str = "198.18.1.2:500";
pub const GATEWAY: &str = "198.18.0.1:500";

impl Sim {
    pub fn new(config: IkeConfig, gw: Responder, seed: u64, link: Link) -> Self {
        let start = Instant::now();
        let unix = UnixTime::since_unix_epoch(
            std::time::SystemTime::now()
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .unwrap(),
        );
        let init = Initiator::new(
            Arc::new(config),
            Box::new(DeterministicRandom::from_u64(seed)),
            LOCAL.parse().unwrap(),
            GATEWAY.parse().unwrap(),
            start,
            unix,
        )
        .unwrap();
        Self {
            init,
            gw,
            now: start,
            start,
            link,
            blackhole: false,
            mangle: None,
            received_from_gateway: Vec::new(),
            events: Vec::new(),
            sent_to_gateway: Vec::new(),
            rng: DeterministicRandom::from_u64(seed.wrapping_mul(31).wrapping_add(7)),
            queue: Vec::new(),
            seq: 0,
            gw_addr: GATEWAY.parse().unwrap(),
        }
    }

    fn roll(&mut self, per_mille: u32) -> bool {
        if per_mille == 0 {
            return false;
        }
        let mut b = [0u8; 4];
        self.rng.fill(&mut b);
        u32::from_be_bytes(b) % 1000 < per_mille
    }

    fn jitter(&mut self) -> Duration {
        let mut b = [0u8; 4];
        self.rng.fill(&mut b);
        let max = self.link.jitter.as_millis().max(1) as u32;
        Duration::from_millis(u64::from(u32::from_be_bytes(b) % max))
    }

    /// Puts a datagram on the link (subject to impairments).
    pub fn send(&mut self, to_gateway: bool, port: u16, bytes: Vec<u8>) {
        if to_gateway && self.blackhole {
            return;
        }
        if self.roll(self.link.loss) {
            return;
        }
        let copies = if self.roll(self.link.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let mut at = self.now + self.link.latency;
            if self.roll(self.link.reorder) {
                at += self.jitter();
            }
            self.seq += 1;
            self.queue.push(InFlight {
                at,
                seq: self.seq,
                to_gateway,
                port,
                bytes: bytes.clone(),
            });
        }
    }

    /// Delivers a datagram to the initiator on the next step, bypassing the link.
    pub fn inject_to_initiator(&mut self, port: u16, bytes: Vec<u8>) {
        self.seq += 1;
        self.queue.push(InFlight {
            at: self.now,
            seq: self.seq,
            to_gateway: false,
            port,
            bytes,
        });
    }

    fn drain(&mut self) {
        while let Some(t) = self.init.poll_transmit() {
            self.sent_to_gateway
                .push((t.destination_port, t.payload.clone()));
            self.send(true, t.destination_port, t.payload);
        }
        while let Some(e) = self.init.poll_event() {
            self.events.push(e);
        }
    }

    /// Runs one step; false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        self.drain();
        let next_packet = self.queue.iter().map(|p| (p.at, p.seq)).min();
        let timer = self.init.poll_timeout();
        let next = match (next_packet.map(|p| p.0), timer) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return false,
        };
        self.now = self.now.max(next);
        if let Some((at, seq)) = next_packet
            && at <= self.now
        {
            let i = self.queue.iter().position(|p| p.seq == seq).unwrap();
            let p = self.queue.remove(i);
            if p.to_gateway {
                for reply in self.gw.handle(p.port, &p.bytes) {
                    self.send(false, p.port, reply);
                }
            } else {
                let mut bytes = p.bytes;
                if let Some(m) = &mut self.mangle {
                    m(&mut bytes, &mut self.rng);
                }
                self.received_from_gateway.push(bytes.clone());
                let from = SocketAddr::new(self.gw_addr.ip(), p.port);
                self.init.handle_datagram(self.now, from, &bytes);
            }
        }
        if timer.is_some_and(|t| t <= self.now) {
            self.init.handle_timeout(self.now);
        }
        self.drain();
        true
    }

    /// Runs until `done` holds for the events so far, nothing is left to do, or the
    /// virtual clock passes `limit`.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&[Event]) -> bool) {
        while !done(&self.events) && self.now.duration_since(self.start) < limit {
            if !self.step() {
                break;
            }
        }
    }

    pub fn established(&self) -> Option<&corridor_ike::Established> {
        self.events.iter().find_map(|e| match e {
            Event::Established(est) => Some(&**est),
            _ => None,
        })
    }

    pub fn failure(&self) -> Option<&corridor_ike::Error> {
        self.events.iter().find_map(|e| match e {
            Event::Failed(err) => Some(err),
            _ => None,
        })
    }

    pub fn elapsed(&self) -> Duration {
        self.now.duration_since(self.start)
    }
}

pub fn is_finished(events: &[Event]) -> bool {
    events.iter().any(|e| {
        matches!(
            e,
            Event::Established(_) | Event::Failed(_) | Event::Closed { .. }
        )
    })
}
