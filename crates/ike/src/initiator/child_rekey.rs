//! Rekeying the Child SA with CREATE_CHILD_SA (RFC 7296 §1.3.3, §2.8, §2.8.1): ours at
//! the soft lifetime, the gateway's when it asks, and the collision of the two.

use std::time::{Duration, Instant};

use corridor_crypto::{DhGroup, KeyExchange, SecretBytes};
use corridor_wire::payload::{KeBuilder, NotifyBuilder, Payload, TsBuilder};
use corridor_wire::{ExchangeType, KeMethod, NotifyType, PayloadBuilder, ProtocolId};

use super::established::{Child, EstablishedSa, Pending, RekeyedChild, Task};
use super::{Event, Inbound, KeyMaterial, Shared};
use crate::Error;
use crate::keys::{self, ChildKeyMaterial};
use crate::proposal::{self, group_name};
use crate::traffic_selectors::check_narrowed;

/// Nonce length, as in IKE_SA_INIT (RFC 7296 §2.10: "at least half the key size of the
/// negotiated pseudorandom function").
const NONCE_LEN: usize = 32;
/// How long we wait before trying again after a TEMPORARY_FAILURE (RFC 7296 §2.25:
/// "it MUST NOT immediately retry the operation").
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Our CREATE_CHILD_SA request to rekey a Child SA, outstanding.
pub(crate) struct OurRekey {
    old_inbound_spi: u32,
    new_inbound_spi: u32,
    ni: Vec<u8>,
    ke: Option<KeyExchange>,
    /// Groups offered, the one with a KE payload first.
    groups: Vec<DhGroup>,
    ke_rounds: u8,
    /// A new Child SA in place of [`EstablishedSa::lost`] rather than a rekey: no
    /// REKEY_SA, and nothing to retire afterwards.
    recreate: bool,
}

impl OurRekey {
    /// Whether this creates a Child SA in place of a deleted one.
    pub(crate) fn is_recreate(&self) -> bool {
        self.recreate
    }
}

impl std::fmt::Debug for OurRekey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OurRekey")
            .field(
                "old_inbound_spi",
                &format_args!("{:08x}", self.old_inbound_spi),
            )
            .field(
                "new_inbound_spi",
                &format_args!("{:08x}", self.new_inbound_spi),
            )
            .field("pfs", &self.ke.as_ref().map(KeyExchange::group))
            .field("recreate", &self.recreate)
            .finish_non_exhaustive()
    }
}

/// A rekey by the gateway of the Child SA we are rekeying ourselves, already answered.
#[derive(Debug, Clone)]
pub(crate) struct Collision {
    /// Our inbound SPI of the Child SA both rekeys replace.
    old_inbound_spi: u32,
    /// Our inbound SPI of the Child SA the gateway's rekey made.
    new_inbound_spi: u32,
    /// The lower of the two nonces of the gateway's exchange.
    min_nonce: Vec<u8>,
}

/// A fresh inbound SPI: SPIs 1-255 are reserved by IANA (RFC 4303 §2.1), and it must
/// differ from the ones in use.
pub(crate) fn new_spi(shared: &mut Shared, sa: &EstablishedSa) -> u32 {
    let mut spi = 0;
    while spi < 256 || sa.by_inbound(spi).is_some() {
        let mut b = [0u8; 4];
        shared.rng.fill_bytes(&mut b);
        spi = u32::from_be_bytes(b);
    }
    spi
}

/// Sends CREATE_CHILD_SA to rekey the current Child SA; `None` when there is none.
pub(crate) fn start(
    shared: &mut Shared,
    now: Instant,
    sa: &EstablishedSa,
) -> Result<Option<Pending>, Error> {
    let Some(old) = sa.current().cloned() else {
        return Ok(None);
    };
    let rekey = begin(shared, now, sa, &old, false)?;
    tracing::debug!(old = %format_args!("{:08x}", old.inbound_spi), new = %format_args!("{:08x}", rekey.new_inbound_spi), "rekeying the Child SA");
    Ok(Some(Pending::RekeyChild(Box::new(rekey))))
}

/// Sends CREATE_CHILD_SA for a new Child SA with the traffic selectors of the one the
/// gateway deleted (RFC 7296 §1.3.1: "HDR, SK {SA, Ni, [KEi], TSi, TSr}"); `None` when
/// there is none to replace, or a Child SA is up again.
pub(crate) fn start_recreate(
    shared: &mut Shared,
    now: Instant,
    sa: &mut EstablishedSa,
) -> Result<Option<Pending>, Error> {
    let Some(lost) = sa.lost.clone() else {
        return Ok(None);
    };
    if sa.current().is_some() {
        sa.lost = None;
        return Ok(None);
    }
    sa.recreated += 1;
    let rekey = begin(shared, now, sa, &lost, true)?;
    tracing::info!(deleted = %format_args!("{:08x}", lost.inbound_spi), new = %format_args!("{:08x}", rekey.new_inbound_spi), "the gateway deleted the Child SA; negotiating a new one");
    Ok(Some(Pending::RekeyChild(Box::new(rekey))))
}

fn begin(
    shared: &mut Shared,
    now: Instant,
    sa: &EstablishedSa,
    old: &Child,
    recreate: bool,
) -> Result<OurRekey, Error> {
    let groups = shared.config.rekey_pfs_groups.clone();
    let new_inbound_spi = new_spi(shared, sa);
    let mut rekey = OurRekey {
        old_inbound_spi: old.inbound_spi,
        new_inbound_spi,
        ni: shared.random_bytes(NONCE_LEN),
        ke: None,
        groups,
        ke_rounds: 0,
        recreate,
    };
    if let Some(g) = rekey.groups.first().copied() {
        let mut rng = shared.rng.clone();
        rekey.ke = Some(KeyExchange::generate(g, &mut rng).map_err(Error::internal)?);
    }
    send(shared, now, &rekey, old)?;
    Ok(rekey)
}

fn send(shared: &mut Shared, now: Instant, rekey: &OurRekey, old: &Child) -> Result<(), Error> {
    // RFC 7296 §1.3.3: "The CREATE_CHILD_SA request for rekeying a Child SA is:
    // HDR, SK {N(REKEY_SA), SA, Ni, [KEi,] TSi, TSr}", and the SPI of the REKEY_SA
    // notification "is the SPI the exchange initiator would expect in inbound ESP or AH
    // packets": our inbound SPI. A new Child SA (§1.3.1) is the same without it.
    let mut inner = Vec::new();
    if !rekey.recreate {
        inner.push(PayloadBuilder::Notify(
            NotifyBuilder::new(NotifyType::REKEY_SA)
                .with_child_spi(ProtocolId::ESP, rekey.old_inbound_spi),
        ));
    }
    inner.push(PayloadBuilder::Sa(proposal::esp_sa(
        &shared.config.esp_proposals,
        rekey.new_inbound_spi,
        &rekey.groups,
    )));
    inner.push(PayloadBuilder::Nonce(rekey.ni.clone()));
    if let Some(ke) = &rekey.ke {
        inner.push(PayloadBuilder::Ke(KeBuilder {
            method: KeMethod::new(ke.group().iana_id()),
            data: ke.public_key().to_vec(),
        }));
    }
    // RFC 7296 §2.8: "when rekeying, the new Child SA SHOULD NOT have different Traffic
    // Selectors and algorithms than the old one": we ask for what was narrowed.
    inner.push(PayloadBuilder::TsI(TsBuilder::ranges(
        old.local_ts.iter().copied(),
    )));
    inner.push(PayloadBuilder::TsR(TsBuilder::ranges(
        old.remote_ts.iter().copied(),
    )));
    shared.send_request(now, ExchangeType::CREATE_CHILD_SA, &inner)
}

fn nonce<'a>(payloads: &'a [Payload<'a>]) -> Option<&'a [u8]> {
    super::find(payloads, |p| match p {
        Payload::Nonce(n) => Some(n.data()),
        _ => None,
    })
}

/// Handles the answer to our rekey. Never fatal: a refused or broken rekey leaves the
/// old Child SA in place (it will be retried, or expire).
pub(crate) fn handle_response(
    shared: &mut Shared,
    now: Instant,
    sa: &mut EstablishedSa,
    mut rekey: OurRekey,
    inbound: &Inbound<'_>,
) -> Result<(), Error> {
    if let Some(n) = inbound.notifies().find(|n| n.is_error()) {
        let notify = n.notify_type();
        // RFC 7296 §1.3: the responder "MUST reject the request and indicate its
        // preferred Diffie-Hellman group in the INVALID_KE_PAYLOAD Notify payload".
        if notify == NotifyType::INVALID_KE_PAYLOAD
            && let Ok(method) = n.accepted_ke_method()
            && let Some(group) = DhGroup::from_iana_id(method.get())
            && rekey.groups.contains(&group)
            && rekey.ke.as_ref().map(KeyExchange::group) != Some(group)
            && rekey.ke_rounds == 0
        {
            tracing::debug!(group = %group_name(group), "the gateway wants another PFS group; rekeying again");
            let old = if rekey.recreate {
                sa.lost.clone()
            } else {
                sa.by_inbound(rekey.old_inbound_spi)
                    .map(|i| sa.children[i].clone())
            };
            let Some(old) = old else {
                return Ok(());
            };
            let mut rng = shared.rng.clone();
            rekey.ke = Some(KeyExchange::generate(group, &mut rng).map_err(Error::internal)?);
            rekey.groups.retain(|g| *g != group);
            rekey.groups.insert(0, group);
            rekey.ke_rounds += 1;
            send(shared, now, &rekey, &old)?;
            sa.pending = Some(Pending::RekeyChild(Box::new(rekey)));
            return Ok(());
        }
        // RFC 7296 §2.25: on TEMPORARY_FAILURE "it MUST NOT immediately retry the
        // operation; it MUST wait so that the sender may complete whatever operation
        // caused the temporary condition."
        if rekey.recreate {
            tracing::warn!(%notify, "the gateway refused a new Child SA");
            give_up_recreating(shared, sa);
            return Ok(());
        }
        if notify == NotifyType::TEMPORARY_FAILURE {
            sa.rekey_retry_at = now.checked_add(RETRY_AFTER);
        }
        tracing::warn!(%notify, "the gateway refused to rekey the Child SA");
        sa.collision = None;
        return Ok(());
    }
    match complete(shared, sa, &rekey, inbound) {
        Ok(()) => Ok(()),
        Err(e) if rekey.recreate => {
            tracing::warn!(error = %e, "the gateway's new Child SA is unusable");
            give_up_recreating(shared, sa);
            sa.push_task(Task::DeleteChild {
                inbound_spi: rekey.new_inbound_spi,
            });
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "the gateway's answer to our Child SA rekey is unusable; keeping the old Child SA");
            sa.collision = None;
            // The gateway may have created the Child SA: delete our half of it.
            sa.push_task(Task::DeleteChild {
                inbound_spi: rekey.new_inbound_spi,
            });
            Ok(())
        }
    }
}

/// The Child SA the gateway deleted cannot be replaced: the tunnel has none left.
fn give_up_recreating(shared: &mut Shared, sa: &mut EstablishedSa) {
    if let Some(lost) = sa.lost.take() {
        shared.events.push_back(Event::ChildSaDeleted {
            inbound_spi: lost.inbound_spi,
            outbound_spi: lost.outbound_spi,
            recreating: false,
        });
    }
}

fn complete(
    shared: &mut Shared,
    sa: &mut EstablishedSa,
    rekey: &OurRekey,
    inbound: &Inbound<'_>,
) -> Result<(), Error> {
    let payloads = inbound.payloads;
    let sa_payload = super::find(payloads, |p| match p {
        Payload::Sa(x) => Some(x),
        _ => None,
    })
    .ok_or_else(|| Error::misbehaved("the CREATE_CHILD_SA response has no SA payload"))?;
    let nr = nonce(payloads)
        .ok_or_else(|| Error::misbehaved("the CREATE_CHILD_SA response has no Nonce"))?;
    let offered: Vec<DhGroup> = rekey.ke.iter().map(KeyExchange::group).collect();
    let (suite, outbound_spi, group) =
        proposal::match_esp_rekey(sa_payload, &shared.config.esp_proposals, &offered)
            .map_err(Error::misbehaved)?;
    let shared_secret: Option<SecretBytes> = match (&rekey.ke, group) {
        (Some(ke), Some(_)) => {
            let ker = super::find(payloads, |p| match p {
                Payload::Ke(k) => Some(k),
                _ => None,
            })
            .ok_or_else(|| Error::misbehaved("the PFS rekey response has no KE payload"))?;
            if ker.method().get() != ke.group().iana_id() {
                return Err(Error::misbehaved("the KE payload is for another group"));
            }
            Some(ke.agree(ker.data()).map_err(|e| {
                Error::misbehaved(format!("its key exchange value is invalid: {e}"))
            })?)
        }
        _ => None,
    };
    let old_index = if rekey.recreate {
        None
    } else {
        sa.by_inbound(rekey.old_inbound_spi)
    };
    let old = if rekey.recreate {
        sa.lost.clone()
    } else {
        old_index.map(|i| sa.children[i].clone())
    };
    let (local_ts, remote_ts) = match &old {
        Some(old) => {
            let tsi = super::find(payloads, |p| match p {
                Payload::TsI(ts) => Some(ts),
                _ => None,
            })
            .ok_or_else(|| Error::misbehaved("the CREATE_CHILD_SA response has no TSi"))?;
            let tsr = super::find(payloads, |p| match p {
                Payload::TsR(ts) => Some(ts),
                _ => None,
            })
            .ok_or_else(|| Error::misbehaved("the CREATE_CHILD_SA response has no TSr"))?;
            (
                check_narrowed("TSi", tsi, &old.local_ts).map_err(Error::misbehaved)?,
                check_narrowed("TSr", tsr, &old.remote_ts).map_err(Error::misbehaved)?,
            )
        }
        None => {
            return Err(Error::misbehaved(
                "the Child SA we rekeyed is gone (the gateway deleted it)",
            ));
        }
    };
    let old = old.ok_or_else(|| Error::internal("no old Child SA"))?;
    // RFC 7296 §2.8.1: "The SA created with the lowest of the four nonces used in the
    // two exchanges SHOULD be deleted by the endpoint that created it."
    let collision = if rekey.recreate {
        None
    } else {
        sa.collision
            .take()
            .filter(|c| c.old_inbound_spi == rekey.old_inbound_spi)
    };
    if let Some(c) = &collision {
        let ours_min = rekey.ni.as_slice().min(nr);
        if ours_min < c.min_nonce.as_slice() {
            tracing::debug!("simultaneous rekey: ours has the lowest nonce, deleting it");
            sa.push_task(Task::DeleteChild {
                inbound_spi: rekey.new_inbound_spi,
            });
            // The gateway's Child SA survives; the gateway deletes the old one.
            return Ok(());
        }
        tracing::debug!("simultaneous rekey: the gateway's has the lowest nonce, keeping ours");
        if let Some(i) = sa.by_inbound(c.new_inbound_spi) {
            sa.children[i].retiring = true;
        }
    }
    let secrets = shared
        .secrets
        .as_ref()
        .ok_or_else(|| Error::internal("no IKE SA keys"))?;
    // RFC 7296 §2.17: the keys of any Child SA made by CREATE_CHILD_SA, new or
    // rekeyed, are "KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr)".
    let child_keys =
        keys::rekeyed_child_keys(secrets, &suite, shared_secret.as_ref(), &rekey.ni, nr, true)?;
    if let Some(i) = old_index {
        sa.children[i].retiring = true;
    }
    sa.children.push(Child {
        inbound_spi: rekey.new_inbound_spi,
        outbound_spi,
        local_ts: local_ts.clone(),
        remote_ts: remote_ts.clone(),
        retiring: false,
    });
    report(
        shared,
        RekeyedChild {
            old_inbound_spi: old.inbound_spi,
            old_outbound_spi: old.outbound_spi,
            inbound_spi: rekey.new_inbound_spi,
            outbound_spi,
            esp_suite: suite,
            child_keys,
            pfs_group: group,
            local_traffic_selectors: local_ts,
            remote_traffic_selectors: remote_ts,
            outbound_now: true,
            by_gateway: false,
        },
    );
    if rekey.recreate {
        // The deleted Child SA is gone on both sides already.
        sa.lost = None;
        shared.events.push_back(Event::ChildSaRetired {
            inbound_spi: old.inbound_spi,
            outbound_spi: old.outbound_spi,
        });
        return Ok(());
    }
    // RFC 7296 §2.8: "To rekey a Child SA within an existing IKE SA, create a new,
    // equivalent SA (see Section 2.17 below), and when the new one is established,
    // delete the old one."
    sa.push_task(Task::DeleteChild {
        inbound_spi: old.inbound_spi,
    });
    Ok(())
}

fn report(shared: &mut Shared, child: RekeyedChild) {
    tracing::debug!(
        inbound = %format_args!("{:08x}", child.inbound_spi),
        outbound = %format_args!("{:08x}", child.outbound_spi),
        suite = %child.esp_suite,
        by_gateway = child.by_gateway,
        "Child SA rekeyed"
    );
    shared
        .events
        .push_back(Event::KeyMaterial(KeyMaterial::Child(ChildKeyMaterial {
            inbound_spi: child.inbound_spi,
            outbound_spi: child.outbound_spi,
            suite: child.esp_suite,
            keys: child.child_keys.clone(),
        })));
    shared
        .events
        .push_back(Event::ChildSaRekeyed(Box::new(child)));
}

fn refuse(shared: &mut Shared, message_id: u32, notify: NotifyBuilder) -> Result<(), Error> {
    shared.send_response(
        ExchangeType::CREATE_CHILD_SA,
        message_id,
        &[PayloadBuilder::Notify(notify)],
    )
}

/// Answers the gateway's CREATE_CHILD_SA request to rekey a Child SA (the caller found
/// a REKEY_SA notification for ESP naming `spi`).
pub(crate) fn answer(
    shared: &mut Shared,
    message_id: u32,
    payloads: &[Payload<'_>],
    sa: &mut EstablishedSa,
    spi: u32,
) -> Result<(), Error> {
    // The gateway names the SPI it receives on: our outbound SPI.
    let Some(old_index) = sa.by_outbound(spi) else {
        // RFC 7296 §2.25: "A CHILD_SA_NOT_FOUND notification SHOULD be sent when a peer
        // receives a request to rekey a Child SA that does not exist. The SA that the
        // initiator attempted to rekey is indicated by the SPI field in the Notify
        // payload, which is copied from the SPI field in the REKEY_SA notification."
        tracing::debug!(spi = %format_args!("{spi:08x}"), "rekey of an unknown Child SA refused");
        return refuse(
            shared,
            message_id,
            NotifyBuilder::new(NotifyType::CHILD_SA_NOT_FOUND).with_child_spi(ProtocolId::ESP, spi),
        );
    };
    let old = sa.children[old_index].clone();
    let closing = matches!(sa.pending, Some(Pending::DeleteChild { inbound_spi }) if inbound_spi == old.inbound_spi)
        || sa.queue.contains(&Task::DeleteChild {
            inbound_spi: old.inbound_spi,
        });
    if old.retiring || closing {
        // RFC 7296 §2.25.1: "If a peer receives a request to rekey a Child SA that it is
        // currently trying to close, it SHOULD reply with TEMPORARY_FAILURE."
        return refuse(
            shared,
            message_id,
            NotifyBuilder::new(NotifyType::TEMPORARY_FAILURE),
        );
    }
    let invalid = |shared: &mut Shared, what: &str| {
        tracing::debug!(
            what,
            "malformed CREATE_CHILD_SA answered with INVALID_SYNTAX"
        );
        refuse(
            shared,
            message_id,
            NotifyBuilder::new(NotifyType::INVALID_SYNTAX),
        )
    };
    let Some(sa_payload) = super::find(payloads, |p| match p {
        Payload::Sa(x) => Some(x),
        _ => None,
    }) else {
        return invalid(shared, "no SA payload");
    };
    let Some(ni) = nonce(payloads) else {
        return invalid(shared, "no Nonce");
    };
    let (Some(tsi), Some(tsr)) = (
        super::find(payloads, |p| match p {
            Payload::TsI(ts) => Some(ts),
            _ => None,
        }),
        super::find(payloads, |p| match p {
            Payload::TsR(ts) => Some(ts),
            _ => None,
        }),
    ) else {
        return invalid(shared, "no TSi or TSr");
    };
    let kei = super::find(payloads, |p| match p {
        Payload::Ke(k) => Some(k),
        _ => None,
    });
    let Some((suite, outbound_spi, number, group)) = proposal::choose_esp(
        sa_payload,
        &shared.config.esp_proposals,
        kei.map(|k| k.method().get()),
    ) else {
        // A KE payload for a group we cannot do, while the proposals offer one we can:
        // RFC 7296 §1.3 has us name it in INVALID_KE_PAYLOAD.
        if kei.is_some()
            && let Some(g) = sa_payload
                .proposals()
                .iter()
                .flat_map(|p| p.transforms_of(corridor_wire::TransformType::KE))
                .find_map(|t| DhGroup::from_iana_id(t.id()))
            && proposal::choose_esp(sa_payload, &shared.config.esp_proposals, Some(g.iana_id()))
                .is_some()
        {
            return refuse(
                shared,
                message_id,
                NotifyBuilder::invalid_ke_payload(KeMethod::new(g.iana_id())),
            );
        }
        return refuse(
            shared,
            message_id,
            NotifyBuilder::new(NotifyType::NO_PROPOSAL_CHOSEN),
        );
    };
    let mut ke_reply = None;
    let mut shared_secret = None;
    if let (Some(group), Some(kei)) = (group, kei) {
        let mut rng = shared.rng.clone();
        let ke = KeyExchange::generate(group, &mut rng).map_err(Error::internal)?;
        match ke.agree(kei.data()) {
            Ok(s) => shared_secret = Some(s),
            Err(e) => {
                tracing::debug!(error = %e, "invalid KE payload in the gateway's rekey");
                return invalid(shared, "invalid KE payload");
            }
        }
        ke_reply = Some(ke);
    }
    let new_inbound_spi = new_spi(shared, sa);
    let nr = shared.random_bytes(NONCE_LEN);
    let secrets = shared
        .secrets
        .as_ref()
        .ok_or_else(|| Error::internal("no IKE SA keys"))?;
    let child_keys =
        keys::rekeyed_child_keys(secrets, &suite, shared_secret.as_ref(), ni, &nr, false)?;
    // The gateway started the exchange: its TSi is its side, TSr ours. We keep the
    // narrowed selectors of the old Child SA and confirm what it asked for.
    let mut inner = vec![
        PayloadBuilder::Sa(proposal::esp_choice(number, new_inbound_spi, &suite, group)),
        PayloadBuilder::Nonce(nr.clone()),
    ];
    if let Some(ke) = &ke_reply {
        inner.push(PayloadBuilder::Ke(KeBuilder {
            method: KeMethod::new(ke.group().iana_id()),
            data: ke.public_key().to_vec(),
        }));
    }
    inner.push(PayloadBuilder::TsI(TsBuilder::from(tsi)));
    inner.push(PayloadBuilder::TsR(TsBuilder::from(tsr)));
    shared.send_response(ExchangeType::CREATE_CHILD_SA, message_id, &inner)?;
    // RFC 7296 §2.8.1: a rekey of the Child SA we are rekeying ourselves is answered
    // "as usual"; which of the two survives is settled when our answer comes.
    if let Some(Pending::RekeyChild(ours)) = &sa.pending
        && ours.old_inbound_spi == old.inbound_spi
    {
        sa.collision = Some(Collision {
            old_inbound_spi: old.inbound_spi,
            new_inbound_spi,
            min_nonce: ni.min(nr.as_slice()).to_vec(),
        });
    }
    sa.children[old_index].retiring = true;
    sa.children.push(Child {
        inbound_spi: new_inbound_spi,
        outbound_spi,
        local_ts: old.local_ts.clone(),
        remote_ts: old.remote_ts.clone(),
        retiring: false,
    });
    report(
        shared,
        RekeyedChild {
            old_inbound_spi: old.inbound_spi,
            old_outbound_spi: old.outbound_spi,
            inbound_spi: new_inbound_spi,
            outbound_spi,
            esp_suite: suite,
            child_keys,
            pfs_group: group,
            local_traffic_selectors: old.local_ts,
            remote_traffic_selectors: old.remote_ts,
            outbound_now: false,
            by_gateway: true,
        },
    );
    Ok(())
}
