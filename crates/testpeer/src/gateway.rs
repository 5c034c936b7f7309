//! The control plane: one IKEv2 test responder per client IKE SA, the virtual IP pool,
//! and the tables through which the data plane finds each client's Child SA.
//!
//! The responder (corridor-ike's `test-responder`) is a single-SA, sans-IO state
//! machine; this module multiplexes many of them by the initiator's SPI and installs
//! the ESP side once a Child SA exists. It holds no sockets: callers hand in datagrams
//! and send what comes back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use corridor_crypto::{
    DhGroup, EncrAlgorithm, IntegAlgorithm, PrfAlgorithm, Random as _, SystemRandom,
};
use corridor_esp::{ChildSa, ChildSaParams, InboundSa, Lifetime, OutboundSa};
use corridor_ike::test_responder::{Responder, ResponderAuth, ResponderConfig};
use corridor_ike::{EspProposal, Identity, IkeProposal};
use corridor_wire::payload::IpRange;

use crate::args::Cidr4;

/// How long an IKE SA may stay half-open (no Child SA yet) before it is forgotten.
const HALF_OPEN_LIMIT: Duration = Duration::from_secs(30);

/// Exchange type IKE_SA_INIT (RFC 7296 §3.1).
const IKE_SA_INIT: u8 = 34;

/// The IKE header is 28 octets (RFC 7296 §3.1).
const IKE_HEADER_LEN: usize = 28;

/// A pre-shared key; `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Psk(pub(crate) Vec<u8>);

impl std::fmt::Debug for Psk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What the gateway offers.
#[derive(Debug, Clone)]
pub(crate) struct GatewayConfig {
    pub(crate) psk: Psk,
    pub(crate) identity: Identity,
    pub(crate) pool: Cidr4,
    pub(crate) lan: Cidr4,
    pub(crate) dns: Ipv4Addr,
    /// The one ESP cipher offered (see `--esp`).
    pub(crate) esp: EncrAlgorithm,
    /// Where IKE arrives (for the NAT detection hashes).
    pub(crate) address: SocketAddr,
    /// The UDP-encapsulation port.
    pub(crate) nat_t_port: u16,
}

/// The send direction of one Child SA and where its packets go.
#[derive(Debug)]
pub(crate) struct Outbound {
    pub(crate) sa: OutboundSa,
    /// The client's address for ESP: where its last authentic packet came from.
    pub(crate) remote: SocketAddr,
}

/// One client's Child SA as the data plane sees it. The two directions have separate
/// locks so that both can run at once on different threads.
#[derive(Debug)]
pub(crate) struct Tunnel {
    /// The virtual IP the client was given; its packets must come from it.
    pub(crate) assigned: Ipv4Addr,
    pub(crate) inbound: Mutex<InboundSa>,
    pub(crate) outbound: Mutex<Outbound>,
}

/// Child SAs by inbound SPI (network → TUN) and by virtual IP (TUN → network).
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub(crate) by_spi: HashMap<u32, Arc<Tunnel>>,
    pub(crate) by_ip: HashMap<Ipv4Addr, Arc<Tunnel>>,
}

/// Something worth printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    Connected {
        from: SocketAddr,
        assigned: Ipv4Addr,
    },
    Deleted {
        assigned: Ipv4Addr,
    },
    Expired {
        assigned: Ipv4Addr,
    },
    PoolExhausted {
        from: SocketAddr,
    },
    ResponderFailed {
        from: SocketAddr,
    },
}

struct Peer {
    responder: Responder,
    assigned: Ipv4Addr,
    created: Instant,
    installed_spi: Option<u32>,
}

/// The control plane of the gateway.
pub(crate) struct Gateway {
    cfg: GatewayConfig,
    peers: BTreeMap<u64, Peer>,
    leased: BTreeSet<Ipv4Addr>,
    tables: Arc<RwLock<Tables>>,
    notices: Vec<Notice>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("cfg", &self.cfg)
            .field("peers", &self.peers.len())
            .field("leased", &self.leased)
            .finish_non_exhaustive()
    }
}

fn ike_proposals() -> Vec<IkeProposal> {
    vec![IkeProposal {
        encryption: vec![
            EncrAlgorithm::AesGcm16 { key_bits: 256 },
            EncrAlgorithm::AesGcm16 { key_bits: 128 },
            EncrAlgorithm::ChaCha20Poly1305,
            EncrAlgorithm::AesCbc { key_bits: 256 },
            EncrAlgorithm::AesCbc { key_bits: 128 },
        ],
        prf: vec![
            PrfAlgorithm::HmacSha256,
            PrfAlgorithm::HmacSha384,
            PrfAlgorithm::HmacSha512,
        ],
        integrity: vec![
            IntegAlgorithm::HmacSha256_128,
            IntegAlgorithm::HmacSha384_192,
            IntegAlgorithm::HmacSha512_256,
        ],
        groups: DhGroup::ALL.to_vec(),
    }]
}

/// The SPIs and exchange type of an IKE message, if `bytes` is long enough for a header.
fn peek_header(bytes: &[u8]) -> Option<(u64, u64, u8)> {
    let header = bytes.get(..IKE_HEADER_LEN)?;
    let spi_i = u64::from_be_bytes(header[0..8].try_into().ok()?);
    let spi_r = u64::from_be_bytes(header[8..16].try_into().ok()?);
    Some((spi_i, spi_r, header[18]))
}

impl Gateway {
    pub(crate) fn new(cfg: GatewayConfig, tables: Arc<RwLock<Tables>>) -> Self {
        Self {
            cfg,
            peers: BTreeMap::new(),
            leased: BTreeSet::new(),
            tables,
            notices: Vec::new(),
        }
    }

    /// Things that happened since the last call.
    pub(crate) fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// The number of IKE SAs (half-open or established).
    #[cfg(test)]
    pub(crate) fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// The lowest free pool address, skipping the network and broadcast addresses of
    /// pools larger than /31.
    fn lease(&mut self) -> Option<Ipv4Addr> {
        let (mut first, mut last) = (
            u32::from(self.cfg.pool.first()),
            u32::from(self.cfg.pool.last()),
        );
        if self.cfg.pool.len < 31 {
            first += 1;
            last -= 1;
        }
        let free = (first..=last)
            .map(Ipv4Addr::from)
            .find(|a| !self.leased.contains(a))?;
        self.leased.insert(free);
        Some(free)
    }

    fn responder(&self, from: SocketAddr, assigned: Ipv4Addr) -> Responder {
        let mut seed = [0u8; 8];
        SystemRandom::new().fill(&mut seed);
        let lan = self.cfg.lan;
        Responder::new(
            ResponderConfig {
                ike: ike_proposals(),
                esp: vec![EspProposal {
                    encryption: vec![self.cfg.esp],
                    integrity: vec![],
                    esn: vec![false],
                }],
                preferred_group: None,
                require_cookie: false,
                identity: self.cfg.identity.clone(),
                auth: ResponderAuth::Psk(self.cfg.psk.0.clone()),
                fragment_size: Some(1280),
                assigned_ipv4: assigned,
                dns: self.cfg.dns,
                domains: vec![],
                remote_ts: IpRange::addresses(IpAddr::V4(lan.first()), IpAddr::V4(lan.last())),
                address: self.cfg.address,
                // Like strongSwan's libipsec gateways: pretend a NAT, so that the client
                // always moves to UDP encapsulation on port 4500 (a userspace data path
                // sees no bare ESP). RFC 7296 §2.23: a mismatching
                // NAT_DETECTION_DESTINATION_IP hash tells the initiator it is behind a
                // NAT, and it then switches to port 4500.
                sees_initiator_at: SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    from.port() ^ 1,
                ),
                strict_idr: false,
            },
            u64::from_be_bytes(seed),
        )
    }

    /// Handles an IKE datagram that arrived from `from` on local port `port` (for the
    /// NAT-T port, still behind its non-ESP marker); returns the datagrams to send back.
    pub(crate) fn handle_ike(
        &mut self,
        now: Instant,
        from: SocketAddr,
        port: u16,
        datagram: &[u8],
    ) -> Vec<Vec<u8>> {
        let bytes = if port == self.cfg.nat_t_port {
            datagram.get(4..).unwrap_or_default()
        } else {
            datagram
        };
        let Some((spi_i, spi_r, exchange)) = peek_header(bytes) else {
            return Vec::new();
        };
        if !self.peers.contains_key(&spi_i) {
            if exchange != IKE_SA_INIT || spi_r != 0 {
                return Vec::new();
            }
            let Some(assigned) = self.lease() else {
                self.notices.push(Notice::PoolExhausted { from });
                return Vec::new();
            };
            let responder = self.responder(from, assigned);
            self.peers.insert(
                spi_i,
                Peer {
                    responder,
                    assigned,
                    created: now,
                    installed_spi: None,
                },
            );
        }
        let Some(peer) = self.peers.get_mut(&spi_i) else {
            return Vec::new();
        };
        // The test responder trusts its input more than a gateway should (it was written
        // for simulations); a message it cannot cope with costs that client its SA, not
        // the whole gateway.
        let Ok(replies) = catch_unwind(AssertUnwindSafe(|| peer.responder.handle(port, datagram)))
        else {
            self.notices.push(Notice::ResponderFailed { from });
            self.forget(spi_i);
            return Vec::new();
        };
        if peer.responder.deleted_by_initiator {
            let assigned = peer.assigned;
            self.forget(spi_i);
            self.notices.push(Notice::Deleted { assigned });
        } else if peer.installed_spi.is_none() && peer.responder.child.is_some() {
            self.install(now, spi_i, from);
        }
        replies
    }

    /// Builds the ESP side of a new Child SA and puts it into the tables.
    fn install(&mut self, now: Instant, spi_i: u64, from: SocketAddr) {
        let Some(peer) = self.peers.get_mut(&spi_i) else {
            return;
        };
        let Some(child) = peer.responder.child.clone() else {
            return;
        };
        let params = ChildSaParams {
            inbound_spi: child.gateway_spi,
            outbound_spi: child.initiator_spi,
            encr: self.cfg.esp,
            integ: None,
            esn: false,
            lifetime: Lifetime::default(),
        };
        let sa = match ChildSa::new_responder(
            &params,
            &child.keys,
            Box::new(SystemRandom::new()),
            now,
        ) {
            Ok(sa) => sa,
            Err(e) => {
                tracing::warn!(%from, "cannot build the Child SA: {e}");
                self.notices.push(Notice::ResponderFailed { from });
                self.forget(spi_i);
                return;
            }
        };
        let remote = SocketAddr::new(
            from.ip(),
            if from.port() == 500 {
                self.cfg.nat_t_port
            } else {
                from.port()
            },
        );
        let tunnel = Arc::new(Tunnel {
            assigned: peer.assigned,
            inbound: Mutex::new(sa.inbound),
            outbound: Mutex::new(Outbound {
                sa: sa.outbound,
                remote,
            }),
        });
        peer.installed_spi = Some(child.gateway_spi);
        let assigned = peer.assigned;
        if let Ok(mut tables) = self.tables.write() {
            tables.by_spi.insert(child.gateway_spi, tunnel.clone());
            tables.by_ip.insert(assigned, tunnel);
        }
        self.notices.push(Notice::Connected { from, assigned });
    }

    /// Removes an IKE SA, its Child SA and its lease.
    fn forget(&mut self, spi_i: u64) {
        let Some(peer) = self.peers.remove(&spi_i) else {
            return;
        };
        if let Ok(mut tables) = self.tables.write() {
            if let Some(spi) = peer.installed_spi {
                tables.by_spi.remove(&spi);
            }
            tables.by_ip.remove(&peer.assigned);
        }
        self.leased.remove(&peer.assigned);
    }

    /// Forgets IKE SAs that stayed half-open too long.
    pub(crate) fn expire(&mut self, now: Instant) {
        let stale: Vec<(u64, Ipv4Addr)> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.installed_spi.is_none()
                    && now.saturating_duration_since(p.created) > HALF_OPEN_LIMIT
            })
            .map(|(spi, p)| (*spi, p.assigned))
            .collect();
        for (spi, assigned) in stale {
            self.forget(spi);
            self.notices.push(Notice::Expired { assigned });
        }
    }
}
