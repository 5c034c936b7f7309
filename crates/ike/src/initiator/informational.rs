//! Requests from the gateway once the IKE SA is up: liveness checks, Deletes, and the
//! Message ID rules for answering them (RFC 7296 §1.4, §2.3, §2.4).

use std::time::Instant;

use corridor_wire::payload::{DeleteBuilder, NotifyBuilder, Payload};
use corridor_wire::{ExchangeType, Message, NotifyType, PayloadBuilder, ProtocolId};

use super::{Event, Shared, State};
use crate::Error;
use crate::protect::{self, Opened};

/// Handles a request from the gateway; the caller has checked the SPIs and that the IKE
/// SA is up (or being deleted by us).
pub(crate) fn handle_request(
    shared: &mut Shared,
    _now: Instant,
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
        // Rekeying is not implemented: refuse politely so the gateway keeps the old SAs.
        ExchangeType::CREATE_CHILD_SA => shared.send_response(
            ExchangeType::CREATE_CHILD_SA,
            message_id,
            &[PayloadBuilder::Notify(NotifyBuilder::new(
                NotifyType::NO_ADDITIONAL_SAS,
            ))],
        ),
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
        if sa.child_alive && d.spis().any(|spi| spi == sa.outbound_spi) {
            sa.child_alive = false;
            reply.push(PayloadBuilder::Delete(DeleteBuilder::esp(vec![
                sa.inbound_spi,
            ])));
            shared.events.push_back(Event::ChildSaDeleted {
                inbound_spi: sa.inbound_spi,
                outbound_spi: sa.outbound_spi,
            });
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
