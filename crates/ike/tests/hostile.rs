//! Hostile and broken gateways: mangled datagrams, truncations, crafted IKE_SA_INIT
//! answers. The initiator must never panic, never establish with mismatched keys, and
//! end every run with either an established SA or a plain error.

mod support;

use std::time::Duration;

use corridor_crypto::Random;
use corridor_ike::{Error, Event, PeerIncompatible};
use corridor_wire::payload::NotifyBuilder;
use corridor_wire::{ExchangeType, Flags, KeMethod, MessageBuilder, PayloadBuilder};
use support::sim::{Link, Sim, is_finished};
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
const SUITE: &str = "aes256gcm16-prfsha384-ecp384";

fn sim(seed: u64) -> Sim {
    Sim::new(
        psk_config(vec![suite(SUITE)]),
        psk_responder(vec![suite(SUITE)], seed),
        seed,
        Link::clean(),
    )
}

#[test]
fn mangled_gateway_datagrams_never_panic_or_mislead() {
    let mut outcomes = [0usize; 3];
    for seed in 0..40 {
        let mut sim = sim(100 + seed);
        sim.mangle = Some(Box::new(|bytes: &mut Vec<u8>, rng| {
            let mut r = [0u8; 4];
            rng.fill(&mut r);
            if r[0] % 3 != 0 || bytes.is_empty() {
                return;
            }
            match r[1] % 3 {
                0 => {
                    let i = usize::from(u16::from_be_bytes([r[2], r[3]])) % bytes.len();
                    bytes[i] ^= 1 << (r[2] % 8);
                }
                1 => {
                    let keep = usize::from(r[2]) % bytes.len();
                    bytes.truncate(keep);
                }
                _ => bytes.extend_from_slice(&r),
            }
        }));
        sim.init.connect(sim.now);
        sim.run_until(LIMIT, is_finished);
        match (sim.established(), sim.failure()) {
            (Some(est), None) => {
                assert_eq!(sim.gw.child.as_ref().unwrap().keys, est.child_keys);
                outcomes[0] += 1;
            }
            (None, Some(Error::Timeout { .. })) => outcomes[1] += 1,
            (None, Some(e)) => {
                // Tampering with the unauthenticated IKE_SA_INIT answer can produce a
                // well-formed but wrong answer; that ends in a plain error.
                assert!(!e.to_string().is_empty());
                outcomes[2] += 1;
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(outcomes[0] > 10, "{outcomes:?}");
}

#[test]
fn truncated_sa_init_answers_are_dropped() {
    // Capture the real answer, then feed every prefix of it before the real one.
    let mut first = sim(200);
    first.init.connect(first.now);
    first.run_until(LIMIT, is_finished);
    let answer = first.received_from_gateway[0].clone();
    // Same seeds: the same SPIs and the same answer.
    let mut sim = sim(200);
    sim.init.connect(sim.now);
    for len in 0..answer.len() {
        sim.inject_to_initiator(500, answer[..len].to_vec());
    }
    sim.run_until(LIMIT, is_finished);
    assert!(sim.established().is_some(), "{:?}", sim.failure());
}

fn crafted_answer(spi_i: u64, payloads: Vec<PayloadBuilder>) -> Vec<u8> {
    let mut b = MessageBuilder::new(
        ExchangeType::IKE_SA_INIT,
        Flags::new(false, true),
        spi_i,
        0,
        0,
    );
    b.payloads = payloads;
    b.to_bytes().unwrap()
}

#[test]
fn invalid_ke_for_a_group_never_offered_is_a_plain_error() {
    let mut sim = sim(201);
    sim.blackhole = true;
    sim.init.connect(sim.now);
    let spi = sim.init.spi_i();
    let notify = NotifyBuilder::invalid_ke_payload(KeMethod::MODP_2048);
    sim.inject_to_initiator(
        500,
        crafted_answer(spi, vec![PayloadBuilder::Notify(notify)]),
    );
    sim.run_until(LIMIT, is_finished);
    let err = sim.failure().unwrap();
    assert!(matches!(
        err,
        Error::PeerIncompatible(PeerIncompatible::KeyExchangeGroupNotOffered { requested: 14, .. })
    ));
    assert_eq!(
        err.to_string(),
        "the gateway wants key exchange group 14, which none of our proposals names (we offered ecp384)"
    );
}

#[test]
fn endless_cookies_are_bounded() {
    let mut sim = sim(202);
    sim.blackhole = true;
    sim.init.connect(sim.now);
    let spi = sim.init.spi_i();
    for i in 0..10u8 {
        let cookie = NotifyBuilder::cookie(&[i; 16]);
        sim.inject_to_initiator(
            500,
            crafted_answer(spi, vec![PayloadBuilder::Notify(cookie)]),
        );
        sim.step();
    }
    sim.run_until(LIMIT, is_finished);
    let err = sim.failure().unwrap();
    assert!(err.to_string().contains("asked for a cookie"), "{err}");
    let cookie_requests = sim.sent_to_gateway.len();
    assert!(cookie_requests <= 5, "{cookie_requests} requests sent");
}

#[test]
fn answers_for_other_spis_or_from_the_initiator_side_are_ignored() {
    let mut sim = sim(203);
    sim.init.connect(sim.now);
    let spi = sim.init.spi_i();
    let no_proposal = PayloadBuilder::Notify(NotifyBuilder::new(
        corridor_wire::NotifyType::NO_PROPOSAL_CHOSEN,
    ));
    // Another SA's SPI.
    sim.inject_to_initiator(500, crafted_answer(spi ^ 1, vec![no_proposal.clone()]));
    // Our SPI but with the I flag set (a reflected request).
    let mut b = MessageBuilder::new(ExchangeType::IKE_SA_INIT, Flags::new(true, true), spi, 0, 0);
    b.payloads = vec![no_proposal.clone()];
    sim.inject_to_initiator(500, b.to_bytes().unwrap());
    // Our SPI but a request, not a response.
    let mut b = MessageBuilder::new(
        ExchangeType::IKE_SA_INIT,
        Flags::new(false, false),
        spi,
        0,
        0,
    );
    b.payloads = vec![no_proposal];
    sim.inject_to_initiator(500, b.to_bytes().unwrap());
    sim.run_until(LIMIT, is_finished);
    assert!(sim.established().is_some(), "{:?}", sim.failure());
    assert!(!sim.events.iter().any(|e| matches!(e, Event::Failed(_))));
}
