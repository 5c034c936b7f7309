//! Requests from the gateway once the IKE SA is up: liveness checks, Deletes, and the
//! Message ID rules for answering them (RFC 7296 §1.4, §2.3, §2.4).

use std::time::Instant;

use corridor_wire::payload::{DeleteBuilder, NotifyBuilder, Payload};
use corridor_wire::{ExchangeType, Message, NotifyType, PayloadBuilder, ProtocolId};

use super::established::{Pending, Task};
use super::{Event, Shared, State};
use crate::Error;
use crate::protect::{self, Opened};

/// How many times under one IKE SA a Child SA the gateway deleted is negotiated anew;
/// a gateway that keeps deleting it means it.
const MAX_RECREATED: u32 = 3;

/// Handles a request from the gateway; the caller has checked the SPIs and that the IKE
/// SA is up (or being deleted by us).
pub(crate) fn handle_request(
    shared: &mut Shared,
    now: Instant,
    msg: &Message<'_>,
    state: &mut State,
) -> Result<(), Error> {
    let message_id = msg.header().message_id;
    let Some(secrets) = &shared.secrets else {
        return Ok(());
    };
    // Every request is authenticated before anything is done with it, the repeated
    // ones included, so that junk cannot make us send.
    let (first, plaintext) = match protect::open(msg, &secrets.protection.inbound) {
        Ok(Opened::Whole(first, plaintext)) => (first, plaintext),
        Ok(Opened::Fragment(_)) => {
            tracing::debug!("fragmented request from the gateway dropped (not supported)");
            return Ok(());
        }
        Err(why) => {
            tracing::debug!(%why, "unauthenticated request dropped");
            return Ok(());
        }
    };
    shared.last_heard = now;
    // RFC 7296 §2.1 and §2.3: a responder keeps its last response and answers a
    // retransmitted request by sending that response again, without processing it twice.
    if let Some((answered, datagrams)) = &shared.last_response
        && *answered == message_id
    {
        tracing::debug!(message_id, "repeated request: resending our answer");
        let datagrams = datagrams.clone();
        let port = shared.port;
        shared.queue(&datagrams, port);
        return Ok(());
    }
    if message_id != shared.peer_next_id {
        tracing::debug!(
            message_id,
            expected = shared.peer_next_id,
            "request with an unexpected Message ID dropped"
        );
        return Ok(());
    }
    shared.peer_next_id = shared.peer_next_id.wrapping_add(1);
    let payloads = match corridor_wire::parse_inner_payloads(first, &plaintext) {
        Ok(p) => p,
        Err(e) => {
            // RFC 7296 §2.21.2: an authenticated malformed request is answered with
            // INVALID_SYNTAX.
            tracing::debug!(error = %e, "malformed request answered with INVALID_SYNTAX");
            let notify = e
                .to_notify()
                .unwrap_or_else(|| NotifyBuilder::new(NotifyType::INVALID_SYNTAX));
            return shared.send_response(
                msg.exchange_type(),
                message_id,
                &[PayloadBuilder::Notify(notify)],
            );
        }
    };
    match msg.exchange_type() {
        ExchangeType::INFORMATIONAL => informational(shared, message_id, &payloads, state),
        ExchangeType::CREATE_CHILD_SA => create_child_sa(shared, now, message_id, &payloads, state),
        other => {
            tracing::debug!(exchange = %other, "unexpected request answered with INVALID_SYNTAX");
            shared.send_response(
                other,
                message_id,
                &[PayloadBuilder::Notify(NotifyBuilder::new(
                    NotifyType::INVALID_SYNTAX,
                ))],
            )
        }
    }
}

/// The gateway's CREATE_CHILD_SA: a Child SA rekey (REKEY_SA), an IKE SA rekey (an SA
/// payload for protocol IKE), or a new Child SA, which we do not take.
fn create_child_sa(
    shared: &mut Shared,
    now: Instant,
    message_id: u32,
    payloads: &[Payload<'_>],
    state: &mut State,
) -> Result<(), Error> {
    let refuse = |shared: &mut Shared, notify| {
        shared.send_response(
            ExchangeType::CREATE_CHILD_SA,
            message_id,
            &[PayloadBuilder::Notify(NotifyBuilder::new(notify))],
        )
    };
    let State::Established(sa) = state else {
        // RFC 7296 §2.25.1 has TEMPORARY_FAILURE for requests a peer cannot take while
        // it closes the SA.
        return refuse(shared, NotifyType::TEMPORARY_FAILURE);
    };
    let ike_proposal = payloads.iter().any(|p| {
        matches!(p, Payload::Sa(sa) if sa.proposals().first().is_some_and(|p| p.protocol() == ProtocolId::IKE))
    });
    if ike_proposal {
        return super::ike_rekey::answer(shared, now, message_id, payloads, sa);
    }
    let rekey = payloads.iter().find_map(|p| match p {
        Payload::Notify(n) if n.notify_type() == NotifyType::REKEY_SA => Some(n.child_spi()),
        _ => None,
    });
    match rekey {
        Some(Ok((ProtocolId::ESP, spi))) => {
            super::child_rekey::answer(shared, message_id, payloads, sa, spi)
        }
        Some(_) => refuse(shared, NotifyType::INVALID_SYNTAX),
        // RFC 7296 §1.3: a responder that does not want more Child SAs answers a
        // request for one with NO_ADDITIONAL_SAS; a remote-access client keeps one.
        None => refuse(shared, NotifyType::NO_ADDITIONAL_SAS),
    }
}

fn informational(
    shared: &mut Shared,
    message_id: u32,
    payloads: &[Payload<'_>],
    state: &mut State,
) -> Result<(), Error> {
    let mut reply = Vec::new();
    let mut delete_ike = false;
    for p in payloads {
        let Payload::Delete(d) = p else { continue };
        if d.is_ike() {
            delete_ike = true;
            continue;
        }
        if d.protocol() != ProtocolId::ESP {
            continue;
        }
        let State::Established(sa) = state else {
            continue;
        };
        // RFC 7296 §1.4.1: the SPIs in a Delete are the sender's inbound SPIs (our
        // outbound ones), and the answer deletes the other direction with a Delete
        // naming our inbound SPI.
        for spi in d.spis() {
            let Some(i) = sa.by_outbound(spi) else {
                continue;
            };
            let child = sa.children.remove(i);
            // "If a node receives a delete request for SAs for which it has already
            // issued a delete request, it MUST delete the outgoing SAs while processing
            // the request and the incoming SAs while processing the response. In that
            // case, the responses MUST NOT include Delete payloads for the deleted SAs".
            let ours_pending = matches!(sa.pending, Some(Pending::DeleteChild { inbound_spi }) if inbound_spi == child.inbound_spi);
            sa.queue.retain(|t| {
                *t != Task::DeleteChild {
                    inbound_spi: child.inbound_spi,
                }
            });
            if !ours_pending {
                reply.push(PayloadBuilder::Delete(DeleteBuilder::esp(vec![
                    child.inbound_spi,
                ])));
            }
            // A Child SA replaced by a rekey goes quietly. The last one is negotiated
            // anew (RFC 7296 §1.3.1), a few times per IKE SA: a gateway can lose a
            // Child SA's rekey and let it expire (strongSwan does when its rekey
            // falls on an IKE SA rekey), and a remote-access tunnel should outlive that.
            let event = if sa.current().is_some() {
                Event::ChildSaRetired {
                    inbound_spi: child.inbound_spi,
                    outbound_spi: child.outbound_spi,
                }
            } else {
                let recreating = sa.recreated < MAX_RECREATED;
                if recreating {
                    sa.lost = Some(child.clone());
                    sa.push_task(Task::RecreateChild);
                }
                Event::ChildSaDeleted {
                    inbound_spi: child.inbound_spi,
                    outbound_spi: child.outbound_spi,
                    recreating,
                }
            };
            shared.events.push_back(event);
        }
    }
    if delete_ike {
        // RFC 7296 §1.4.1: "Deleting an IKE SA implicitly closes any remaining Child SAs
        // negotiated under it. The response to a request that deletes the IKE SA is an
        // empty INFORMATIONAL response."
        shared.send_response(ExchangeType::INFORMATIONAL, message_id, &[])?;
        shared.outstanding = None;
        *state = State::Closed;
        shared.events.push_back(Event::Closed { by_gateway: true });
        return Ok(());
    }
    // An empty INFORMATIONAL is a liveness check (RFC 7296 §1.4): answer it empty.
    shared.send_response(ExchangeType::INFORMATIONAL, message_id, &reply)
}
