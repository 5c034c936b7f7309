//! What the initiator reports: events, and the description of an established IKE SA
//! with its Child SA.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use corridor_crypto::{ChildSaKeys, DhGroup};
use corridor_wire::payload::IpRange;

use corridor_wire::{ExchangeType, PayloadBuilder};

use super::{Inbound, Shared};
use crate::Error;
use crate::config_payload::AssignedConfig;
use crate::identity::Identity;
use crate::keys::{ChildKeyMaterial, IkeKeyMaterial};
use crate::nat::NatStatus;
use crate::proposal::{EspSuite, IkeSuite};

/// Something the driver must know about.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Keys were derived. Emitted for consumers that log keys on purpose (for packet
    /// analysis); ignoring it is always safe.
    KeyMaterial(KeyMaterial),
    /// The IKE SA and its first Child SA are up.
    Established(Box<Established>),
    /// The gateway deleted the Child SA; the IKE SA lives on. When `recreating`, a
    /// CREATE_CHILD_SA for a new Child SA with the same traffic selectors is on its
    /// way (RFC 7296 §1.3.1) and [`Event::ChildSaRekeyed`] reports it, its `old_*`
    /// SPIs naming the deleted one; otherwise (or when that fails, reported by a
    /// second `ChildSaDeleted` without `recreating`) the tunnel has no Child SA left.
    ChildSaDeleted {
        /// Our inbound SPI of the deleted Child SA.
        inbound_spi: u32,
        /// Our outbound SPI of it.
        outbound_spi: u32,
        /// Whether a new Child SA is being negotiated in its place.
        recreating: bool,
    },
    /// A Child SA was rekeyed (RFC 7296 §2.8): a new one replaces an old one. Accept
    /// the new inbound SA at once; the old one stays until [`Event::ChildSaRetired`].
    ChildSaRekeyed(Box<RekeyedChild>),
    /// A Child SA replaced by a rekey is deleted on both sides: forget it. When the
    /// replacement's outbound half was held back ([`RekeyedChild::outbound_now`] false),
    /// send on the replacement from now on.
    ChildSaRetired {
        /// Our inbound SPI of the retired Child SA.
        inbound_spi: u32,
        /// Our outbound SPI of it.
        outbound_spi: u32,
    },
    /// The IKE SA moved to new SPIs and keys (RFC 7296 §2.18); its Child SAs carry on.
    IkeSaRekeyed {
        /// Our new IKE SPI.
        spi_local: u64,
        /// The gateway's new IKE SPI.
        spi_remote: u64,
        /// The new IKE suite.
        suite: IkeSuite,
        /// Whether the gateway started the rekey.
        by_gateway: bool,
    },
    /// The gateway stopped answering: a request (a liveness check, a rekey, a Delete)
    /// went unanswered through all retransmissions (RFC 7296 §2.4). The initiator is
    /// closed; a driver may reconnect.
    PeerDead {
        /// How many times the last request was sent.
        tries: u32,
        /// How long we waited.
        elapsed: Duration,
    },
    /// Setting up or running the IKE SA failed; the initiator is closed.
    Failed(Error),
    /// The IKE SA was deleted; the initiator is closed.
    Closed {
        /// Whether the gateway deleted it (otherwise we did, on `disconnect`).
        by_gateway: bool,
    },
}

/// Key material for logging.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// The IKE SA's SK_e and SK_a keys.
    Ike(IkeKeyMaterial),
    /// A Child SA's keys.
    Child(ChildKeyMaterial),
}

/// An established IKE SA with its Child SA: everything the data plane and the platform
/// layer need.
#[derive(Debug, Clone)]
pub struct Established {
    /// Our IKE SPI.
    pub spi_i: u64,
    /// The gateway's IKE SPI.
    pub spi_r: u64,
    /// The negotiated IKE suite.
    pub ike_suite: IkeSuite,
    /// The negotiated ESP transform.
    pub esp_suite: EspSuite,
    /// The identity the gateway proved.
    pub gateway_identity: Identity,
    /// Addresses, DNS servers and domains the gateway assigned.
    pub assigned: AssignedConfig,
    /// Our side of the Child SA's traffic selectors, as narrowed by the gateway.
    pub local_traffic_selectors: Vec<IpRange>,
    /// The gateway's side (the networks reachable through the tunnel).
    pub remote_traffic_selectors: Vec<IpRange>,
    /// SPI of ESP packets we receive.
    pub inbound_spi: u32,
    /// SPI of ESP packets we send.
    pub outbound_spi: u32,
    /// The Child SA's keys (`Debug` prints `***`).
    pub child_keys: ChildSaKeys,
    /// What NAT detection found.
    pub nat: NatStatus,
    /// ESP must be UDP-encapsulated on port 4500 (RFC 3948).
    pub udp_encapsulation: bool,
    /// The gateway's port in use for IKE (and ESP-in-UDP): 500 or 4500.
    pub remote_port: u16,
    /// The gateway supports IKE fragmentation.
    pub fragmentation: bool,
}

/// A Child SA that replaces another one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RekeyedChild {
    /// Our inbound SPI of the Child SA it replaces.
    pub old_inbound_spi: u32,
    /// Our outbound SPI of the Child SA it replaces.
    pub old_outbound_spi: u32,
    /// SPI of ESP packets we receive on the new Child SA.
    pub inbound_spi: u32,
    /// SPI of ESP packets we send on it.
    pub outbound_spi: u32,
    /// Its ESP transform.
    pub esp_suite: EspSuite,
    /// Its keys, in our orientation: `encr_i`/`integ_i` protect what we send.
    pub child_keys: ChildSaKeys,
    /// The PFS group of the rekey, if any.
    pub pfs_group: Option<DhGroup>,
    /// Our side of its traffic selectors.
    pub local_traffic_selectors: Vec<IpRange>,
    /// The gateway's side.
    pub remote_traffic_selectors: Vec<IpRange>,
    /// Send on the new Child SA at once. When the gateway started the rekey we wait
    /// for its Delete of the old one (it may not have installed the new inbound SA
    /// before our answer reaches it), and [`Event::ChildSaRetired`] says when.
    pub outbound_now: bool,
    /// Whether the gateway started the rekey.
    pub by_gateway: bool,
}

/// One Child SA the IKE SA knows about.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    pub(crate) inbound_spi: u32,
    pub(crate) outbound_spi: u32,
    pub(crate) local_ts: Vec<IpRange>,
    pub(crate) remote_ts: Vec<IpRange>,
    /// Replaced by a rekey; it lives until its Delete is done.
    pub(crate) retiring: bool,
}

/// Work waiting for the request window (one request at a time, RFC 7296 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    RekeyChild,
    /// A new Child SA in place of the one the gateway deleted ([`EstablishedSa::lost`]).
    RecreateChild,
    DeleteChild {
        inbound_spi: u32,
    },
    RekeyIke,
}

/// What our outstanding request in the established state is.
#[derive(Debug)]
pub(crate) enum Pending {
    /// An empty INFORMATIONAL: a liveness check.
    Dpd,
    RekeyChild(Box<super::child_rekey::OurRekey>),
    DeleteChild {
        inbound_spi: u32,
    },
    RekeyIke(Box<super::ike_rekey::OurIkeRekey>),
}

/// The established stage: the Child SAs it knows about and the requests it makes.
#[derive(Debug)]
pub(crate) struct EstablishedSa {
    pub(crate) children: Vec<Child>,
    pub(crate) pending: Option<Pending>,
    pub(crate) queue: VecDeque<Task>,
    /// When to try again a rekey the gateway refused for now.
    pub(crate) rekey_retry_at: Option<Instant>,
    /// The same for an IKE SA rekey.
    pub(crate) ike_rekey_retry_at: Option<Instant>,
    /// A rekey of the Child SA we are rekeying, started by the gateway and answered
    /// while ours was outstanding (RFC 7296 §2.8.1).
    pub(crate) collision: Option<super::child_rekey::Collision>,
    /// The last Child SA, deleted by the gateway while the IKE SA lives on, until a
    /// new one replaces it.
    pub(crate) lost: Option<Child>,
    /// How many Child SAs were created in place of deleted ones under this IKE SA.
    pub(crate) recreated: u32,
}

impl EstablishedSa {
    pub(crate) fn new(first: Child) -> Self {
        Self {
            children: vec![first],
            pending: None,
            queue: VecDeque::new(),
            rekey_retry_at: None,
            ike_rekey_retry_at: None,
            collision: None,
            lost: None,
            recreated: 0,
        }
    }

    /// The Child SA that carries traffic: the newest one not being replaced.
    pub(crate) fn current(&self) -> Option<&Child> {
        self.children.iter().rev().find(|c| !c.retiring)
    }

    pub(crate) fn by_inbound(&self, spi: u32) -> Option<usize> {
        self.children.iter().position(|c| c.inbound_spi == spi)
    }

    pub(crate) fn by_outbound(&self, spi: u32) -> Option<usize> {
        self.children.iter().position(|c| c.outbound_spi == spi)
    }

    /// Queues `task` unless it is already queued or under way.
    pub(crate) fn push_task(&mut self, task: Task) {
        let under_way = match (&self.pending, task) {
            (Some(Pending::RekeyChild(r)), Task::RekeyChild) => !r.is_recreate(),
            (Some(Pending::RekeyChild(r)), Task::RecreateChild) => r.is_recreate(),
            (Some(Pending::RekeyIke(_)), Task::RekeyIke) => true,
            (Some(Pending::DeleteChild { inbound_spi }), Task::DeleteChild { inbound_spi: s }) => {
                *inbound_spi == s
            }
            _ => false,
        };
        if !under_way && !self.queue.contains(&task) {
            self.queue.push_back(task);
        }
    }
}

/// Starts the next piece of queued work when the request window is free: a rekey, a
/// Delete, or (when nothing else is queued and the gateway has been silent since
/// `dpd_due`) a liveness check. Returns what the outstanding request is for.
pub(crate) fn next_request(
    shared: &mut Shared,
    now: Instant,
    sa: &mut EstablishedSa,
    due: Option<Instant>,
) -> Result<Option<Pending>, Error> {
    loop {
        let Some(task) = sa.queue.pop_front() else {
            // RFC 7296 §2.4: "If there has only been outgoing traffic on all of the
            // SAs associated with an IKE SA, it is essential to confirm liveness of
            // the other endpoint to avoid black holes." An INFORMATIONAL request
            // with no payloads is the check.
            if due.is_some_and(|at| now >= at) {
                tracing::debug!("the gateway has been silent: checking its liveness");
                break shared
                    .send_request(now, ExchangeType::INFORMATIONAL, &[])
                    .map(|()| Some(Pending::Dpd));
            }
            break Ok(None);
        };
        let started = match task {
            Task::RekeyChild => super::child_rekey::start(shared, now, sa),
            Task::RecreateChild => super::child_rekey::start_recreate(shared, now, sa),
            Task::DeleteChild { inbound_spi } => delete_child(shared, now, inbound_spi),
            Task::RekeyIke => super::ike_rekey::start(shared, now, sa),
        };
        match started {
            Ok(None) => continue,
            other => break other,
        }
    }
}

/// Sends an INFORMATIONAL Delete for the Child SA with our inbound SPI `inbound_spi`
/// (RFC 7296 §1.4.1: "ESP and AH SAs always exist in pairs, with one SA in each
/// direction. When an SA is closed, both members of the pair MUST be closed").
fn delete_child(
    shared: &mut Shared,
    now: Instant,
    inbound_spi: u32,
) -> Result<Option<Pending>, Error> {
    let delete = [PayloadBuilder::Delete(
        corridor_wire::payload::DeleteBuilder::esp(vec![inbound_spi]),
    )];
    shared.send_request(now, ExchangeType::INFORMATIONAL, &delete)?;
    Ok(Some(Pending::DeleteChild { inbound_spi }))
}

/// The answer to our request in the established state.
pub(crate) fn handle_response(
    shared: &mut Shared,
    now: Instant,
    sa: &mut EstablishedSa,
    inbound: &Inbound<'_>,
) -> Result<(), Error> {
    match sa.pending.take() {
        None | Some(Pending::Dpd) => Ok(()),
        Some(Pending::RekeyChild(rekey)) => {
            super::child_rekey::handle_response(shared, now, sa, *rekey, inbound)
        }
        Some(Pending::DeleteChild { inbound_spi }) => {
            // RFC 7296 §1.4.1: when both ends delete the same SA at once, each "MUST
            // delete the outgoing SAs while processing the request and the incoming
            // SAs while processing the response".
            if let Some(i) = sa.by_inbound(inbound_spi) {
                let child = sa.children.remove(i);
                shared.events.push_back(Event::ChildSaRetired {
                    inbound_spi: child.inbound_spi,
                    outbound_spi: child.outbound_spi,
                });
            }
            Ok(())
        }
        Some(Pending::RekeyIke(rekey)) => {
            super::ike_rekey::handle_response(shared, now, sa, *rekey, inbound)
        }
    }
}
