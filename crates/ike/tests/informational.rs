//! Gateway-started INFORMATIONAL exchanges, our Delete, and junk on an established SA.

mod support;

use std::time::Duration;

use corridor_ike::{Error, Event};
use corridor_wire::payload::DeleteBuilder;
use corridor_wire::{PayloadBuilder, ProtocolId};
use support::sim::{Link, Sim, is_finished};
use support::*;

const LIMIT: Duration = Duration::from_secs(120);

fn established(seed: u64) -> Sim {
    let name = "aes256gcm16-prfsha384-ecp384";
    let mut sim = Sim::new(
        psk_config(vec![suite(name)]),
        psk_responder(vec![suite(name)], seed),
        seed,
        Link::clean(),
    );
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    assert!(sim.established().is_some(), "{:?}", sim.failure());
    sim
}

/// Lets the link settle (deliver what is in flight) for a while.
fn settle(sim: &mut Sim) {
    let until = sim.now + Duration::from_secs(5);
    while sim.now < until && sim.step() {}
}

fn from_gateway(sim: &mut Sim, inner: Vec<PayloadBuilder>) {
    let port = sim.gw.last_port;
    for d in sim.gw.request(inner) {
        sim.inject_to_initiator(port, d);
    }
    settle(sim);
}

#[test]
fn liveness_checks_are_answered_and_repeats_get_the_cached_answer() {
    let mut sim = established(20);
    from_gateway(&mut sim, vec![]);
    assert_eq!(sim.gw.answers.len(), 1);
    assert_eq!(sim.gw.answers[0].message_id, 0);
    assert_eq!(sim.gw.answers[0].payload_count, 0);
    // The same request again (as a gateway retransmission): same answer, no new state.
    let port = sim.gw.last_port;
    for d in sim.gw.repeat_request(vec![]) {
        sim.inject_to_initiator(port, d);
    }
    settle(&mut sim);
    assert_eq!(sim.gw.answers.len(), 2);
    assert_eq!(sim.gw.answers[1].message_id, 0);
    from_gateway(&mut sim, vec![]);
    assert_eq!(sim.gw.answers[2].message_id, 1);
    assert!(sim.init.is_established());
    assert!(sim.failure().is_none());
}

#[test]
fn child_delete_is_answered_with_our_spi() {
    let mut sim = established(21);
    let child = sim.gw.child.clone().unwrap();
    from_gateway(
        &mut sim,
        vec![PayloadBuilder::Delete(DeleteBuilder::esp(vec![
            child.gateway_spi,
        ]))],
    );
    assert_eq!(sim.gw.answers.len(), 1);
    assert_eq!(
        sim.gw.answers[0].deletes,
        [(ProtocolId::ESP, vec![child.initiator_spi])]
    );
    assert!(sim.events.iter().any(|e| matches!(e, Event::ChildSaDeleted { inbound_spi, .. } if *inbound_spi == child.initiator_spi)));
    assert!(sim.init.is_established(), "the IKE SA survives");
}

#[test]
fn ike_delete_closes() {
    let mut sim = established(22);
    from_gateway(&mut sim, vec![PayloadBuilder::Delete(DeleteBuilder::ike())]);
    assert_eq!(sim.gw.answers.len(), 1);
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, Event::Closed { by_gateway: true }))
    );
    assert!(sim.init.is_closed());
    assert_eq!(sim.init.poll_timeout(), None);
}

#[test]
fn disconnect_sends_delete_and_closes_on_the_answer() {
    let mut sim = established(23);
    sim.init.disconnect(sim.now);
    sim.run_until(LIMIT, |e| {
        e.iter().any(|e| matches!(e, Event::Closed { .. }))
    });
    assert!(sim.gw.deleted_by_initiator);
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, Event::Closed { by_gateway: false }))
    );
    assert!(sim.init.is_closed());
}

#[test]
fn disconnect_without_an_answer_still_closes() {
    let mut sim = established(24);
    sim.blackhole = true;
    sim.init.disconnect(sim.now);
    sim.run_until(LIMIT, |e| {
        e.iter().any(|e| matches!(e, Event::Closed { .. }))
    });
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, Event::Closed { by_gateway: false }))
    );
    assert!(!sim.events.iter().any(|e| matches!(e, Event::Failed(_))));
}

#[test]
fn junk_does_not_kill_the_sa() {
    let mut sim = established(25);
    let (spi_i, spi_r) = sim.gw.spis().unwrap();
    let port = sim.gw.last_port;
    let mut junk: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff],
        vec![0; 3],
        vec![0; 40],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ];
    // A well-formed header for our SA with garbage after it.
    let mut header = Vec::new();
    header.extend_from_slice(&spi_i.to_be_bytes());
    header.extend_from_slice(&spi_r.to_be_bytes());
    header.extend_from_slice(&[46, 0x20, 37, 0x00, 0, 0, 0, 0, 0, 0, 0, 60]);
    header.extend_from_slice(&[0, 0, 0, 32]);
    header.extend_from_slice(&[7; 28]);
    junk.push(header);
    // A real request with one bit flipped in the ICV, then one for another SPI, then one
    // with a Message ID far ahead.
    let mut tampered = sim.gw.request_with_id(0, vec![]).pop().unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    junk.push(tampered);
    let mut other_spi = sim.gw.request_with_id(0, vec![]).pop().unwrap();
    other_spi[0] ^= 0x80;
    junk.push(other_spi);
    junk.extend(
        sim.gw
            .request_with_id(1000, vec![PayloadBuilder::Delete(DeleteBuilder::ike())]),
    );
    // A response nobody asked for.
    for d in junk {
        sim.inject_to_initiator(port, d);
    }
    settle(&mut sim);
    assert!(sim.failure().is_none(), "{:?}", sim.failure());
    assert!(sim.init.is_established());
    assert!(
        sim.gw.answers.is_empty(),
        "junk must not be answered: {:?}",
        sim.gw.answers
    );
    // The SA still works: a liveness check with the next real Message ID is answered.
    from_gateway(&mut sim, vec![]);
    // request_with_id did not advance the gateway's counter, so this one is ID 0.
    assert_eq!(sim.gw.answers.len(), 1);
    assert!(!matches!(sim.failure(), Some(Error::Timeout { .. })));
}
