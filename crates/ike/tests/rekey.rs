//! Child SA rekeys both ways (with and without PFS), their collision, liveness checks,
//! and hostile CREATE_CHILD_SA requests, against the test responder in virtual time.

mod support;

use std::time::Duration;

use corridor_crypto::DhGroup;
use corridor_ike::{Event, IkeConfig, RekeyedChild};
use corridor_wire::payload::{NotifyBuilder, TsBuilder};
use corridor_wire::{ExchangeType, NotifyType, PayloadBuilder, ProtocolId};
use support::sim::{Link, Sim, is_finished};
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
const NAME: &str = "aes256gcm16-prfsha384-ecp384";

fn established_with(seed: u64, tweak: impl FnOnce(&mut IkeConfig)) -> Sim {
    let mut config = psk_config(vec![suite(NAME)]);
    tweak(&mut config);
    let mut sim = Sim::new(
        config,
        psk_responder(vec![suite(NAME)], seed),
        seed,
        Link::clean(),
    );
    sim.init.connect(sim.now);
    sim.run_until(LIMIT, is_finished);
    assert!(sim.established().is_some(), "{:?}", sim.failure());
    sim
}

fn established(seed: u64) -> Sim {
    established_with(seed, |_| {})
}

/// Delivers what is in flight for a while (virtual time).
fn settle(sim: &mut Sim) {
    let until = sim.now + Duration::from_secs(5);
    while sim.now < until && sim.step() {}
}

fn inject(sim: &mut Sim, datagrams: Vec<Vec<u8>>) {
    let port = sim.gw.last_port;
    for d in datagrams {
        sim.inject_to_initiator(port, d);
    }
}

fn rekeys(sim: &Sim) -> Vec<&RekeyedChild> {
    sim.events
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaRekeyed(c) => Some(&**c),
            _ => None,
        })
        .collect()
}

fn retired(sim: &Sim) -> Vec<u32> {
    sim.events
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaRetired { inbound_spi, .. } => Some(*inbound_spi),
            _ => None,
        })
        .collect()
}

/// The gateway's newest Child SA is the one the initiator reports, with the same keys.
fn assert_same_child(sim: &Sim, child: &RekeyedChild) {
    let gw = sim.gw.child.as_ref().unwrap();
    assert_eq!(gw.initiator_spi, child.inbound_spi);
    assert_eq!(gw.gateway_spi, child.outbound_spi);
    assert_eq!(gw.keys.encr_i.expose(), child.child_keys.encr_i.expose());
    assert_eq!(gw.keys.encr_r.expose(), child.child_keys.encr_r.expose());
    assert_eq!(gw.keys.integ_i.expose(), child.child_keys.integ_i.expose());
}

fn our_rekey(sim: &mut Sim) -> RekeyedChild {
    let first = sim.established().unwrap().clone();
    sim.init.rekey_child(sim.now);
    settle(sim);
    assert!(sim.failure().is_none(), "{:?}", sim.failure());
    let r = rekeys(sim);
    assert_eq!(r.len(), 1, "{:?}", sim.events);
    let child = r[0].clone();
    assert!(child.outbound_now && !child.by_gateway);
    assert_eq!(child.old_inbound_spi, first.inbound_spi);
    assert_ne!(child.inbound_spi, first.inbound_spi);
    assert_same_child(sim, &child);
    // The old Child SA is deleted by us once the new one is up (RFC 7296 §2.8).
    assert_eq!(sim.gw.deleted_by_initiator_spis, vec![first.inbound_spi]);
    assert_eq!(retired(sim), vec![first.inbound_spi]);
    child
}

#[test]
fn we_rekey_the_child_sa_without_pfs() {
    let mut sim = established(40);
    let child = our_rekey(&mut sim);
    assert_eq!(child.pfs_group, None);
    assert_eq!(sim.gw.rekeys_answered, 1);
    // And again: the second rekey replaces the first.
    sim.events.clear();
    sim.gw.deleted_by_initiator_spis.clear();
    sim.init.rekey_child(sim.now);
    settle(&mut sim);
    let r = rekeys(&sim);
    assert_eq!(r[0].old_inbound_spi, child.inbound_spi);
    assert_eq!(retired(&sim), vec![child.inbound_spi]);
    assert!(sim.init.is_established());
}

#[test]
fn we_rekey_the_child_sa_with_pfs() {
    let mut sim = established_with(41, |c| c.rekey_pfs_groups = vec![DhGroup::Curve25519]);
    let child = our_rekey(&mut sim);
    assert_eq!(child.pfs_group, Some(DhGroup::Curve25519));
}

#[test]
fn pfs_group_follows_invalid_ke_payload() {
    let mut sim = established_with(42, |c| {
        c.rekey_pfs_groups = vec![DhGroup::Ecp256, DhGroup::Curve25519]
    });
    sim.gw.rekey_pfs = Some(DhGroup::Curve25519);
    let child = our_rekey(&mut sim);
    assert_eq!(child.pfs_group, Some(DhGroup::Curve25519));
    assert_eq!(sim.gw.rekeys_answered, 1);
}

#[test]
fn a_refused_rekey_keeps_the_old_child_sa() {
    let mut sim = established(43);
    sim.gw.refuse_rekey = Some(NotifyType::NO_PROPOSAL_CHOSEN);
    sim.init.rekey_child(sim.now);
    settle(&mut sim);
    assert!(rekeys(&sim).is_empty());
    assert!(sim.gw.deleted_by_initiator_spis.is_empty());
    assert!(sim.init.is_established());
    // TEMPORARY_FAILURE: tried again later, and then it works.
    sim.gw.refuse_rekey = Some(NotifyType::TEMPORARY_FAILURE);
    sim.init.rekey_child(sim.now);
    settle(&mut sim);
    assert!(rekeys(&sim).is_empty());
    sim.gw.refuse_rekey = None;
    let until = sim.now + Duration::from_secs(15);
    while sim.now < until && sim.step() {}
    assert_eq!(rekeys(&sim).len(), 1);
}

fn gateway_rekey(sim: &mut Sim) -> RekeyedChild {
    let old = sim.gw.child.clone().unwrap();
    let request = sim.gw.start_child_rekey();
    inject(sim, request);
    settle(sim);
    let r = rekeys(sim);
    assert_eq!(r.len(), 1, "{:?}", sim.events);
    let child = r[0].clone();
    assert!(child.by_gateway && !child.outbound_now);
    assert_eq!(child.old_outbound_spi, old.gateway_spi);
    assert_same_child(sim, &child);
    // The gateway deletes the old Child SA; we answer with our half of it.
    let delete = sim.gw.delete_child(old.gateway_spi);
    inject(sim, delete);
    settle(sim);
    let answer = sim.gw.answers.last().unwrap();
    assert_eq!(answer.deletes, [(ProtocolId::ESP, vec![old.initiator_spi])]);
    assert_eq!(retired(sim), vec![old.initiator_spi]);
    assert!(
        !sim.events
            .iter()
            .any(|e| matches!(e, Event::ChildSaDeleted { .. }))
    );
    child
}

#[test]
fn the_gateway_rekeys_the_child_sa_without_pfs() {
    let mut sim = established(44);
    assert_eq!(gateway_rekey(&mut sim).pfs_group, None);
    assert!(sim.init.is_established());
}

#[test]
fn the_gateway_rekeys_the_child_sa_with_pfs() {
    let mut sim = established(45);
    sim.gw.rekey_pfs = Some(DhGroup::Ecp256);
    assert_eq!(gateway_rekey(&mut sim).pfs_group, Some(DhGroup::Ecp256));
}

#[test]
fn simultaneous_rekeys_leave_exactly_one_child_sa() {
    for seed in 46..54 {
        let mut sim = established(seed);
        let first = sim.established().unwrap().clone();
        // Ours is on the link when the gateway's arrives.
        sim.init.rekey_child(sim.now);
        let request = sim.gw.start_child_rekey();
        inject(&mut sim, request);
        settle(&mut sim);
        assert!(sim.failure().is_none(), "{:?}", sim.failure());
        let theirs = sim.gw.gateway_rekey.as_ref().unwrap();
        let (ni, nr) = sim.gw.last_initiator_rekey_nonces.clone().unwrap();
        let ours_min = ni.min(nr);
        let theirs_min = theirs.ni.clone().min(theirs.nr.clone().unwrap());
        let gateway_new = theirs.new_gateway_spi;
        let gw_children = sim.gw.children.clone();
        let ours = gw_children
            .iter()
            .find(|c| c.gateway_spi != gateway_new && c.gateway_spi != first.outbound_spi)
            .unwrap()
            .clone();
        if ours_min < theirs_min {
            // Ours has the lowest nonce: we delete ours and never use it; the gateway's
            // survives and the gateway deletes the old one.
            assert_eq!(sim.gw.deleted_by_initiator_spis, vec![ours.initiator_spi]);
            let delete = sim.gw.delete_child(first.outbound_spi);
            inject(&mut sim, delete);
            settle(&mut sim);
            assert_eq!(retired(&sim), vec![first.inbound_spi]);
        } else {
            // The gateway's has the lowest nonce: ours survives, we delete the old one
            // and the gateway deletes its own.
            assert_eq!(sim.gw.deleted_by_initiator_spis, vec![first.inbound_spi]);
            let delete = sim.gw.delete_child(gateway_new);
            inject(&mut sim, delete);
            settle(&mut sim);
            let mut r = retired(&sim);
            r.sort_unstable();
            let theirs_initiator = gw_children
                .iter()
                .find(|c| c.gateway_spi == gateway_new)
                .unwrap()
                .initiator_spi;
            let mut expected = vec![first.inbound_spi, theirs_initiator];
            expected.sort_unstable();
            assert_eq!(r, expected);
        }
        assert!(
            !sim.events
                .iter()
                .any(|e| matches!(e, Event::ChildSaDeleted { .. }))
        );
        assert!(sim.init.is_established());
    }
}

#[test]
fn liveness_checks_go_out_when_the_gateway_is_silent_and_are_answered() {
    let mut sim = established_with(60, |c| c.dpd_interval = Duration::from_secs(10));
    let informational = |sim: &Sim| {
        sim.gw
            .exchanges
            .iter()
            .filter(|e| **e == ExchangeType::INFORMATIONAL)
            .count()
    };
    assert_eq!(informational(&sim), 0);
    // Authentic traffic (ESP, as the session reports it) postpones the check.
    let t0 = sim.now;
    assert_eq!(sim.init.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    sim.init.note_peer_alive(t0 + Duration::from_secs(5));
    assert_eq!(sim.init.poll_timeout(), Some(t0 + Duration::from_secs(15)));
    let until = sim.now + Duration::from_secs(45);
    while sim.now < until && sim.step() {}
    assert!(informational(&sim) >= 3, "{}", informational(&sim));
    assert!(sim.init.is_established());
    assert!(sim.failure().is_none());
}

#[test]
fn an_unanswered_liveness_check_reports_the_peer_dead() {
    let mut sim = established_with(61, |c| c.dpd_interval = Duration::from_secs(10));
    sim.gw.silent = true;
    sim.run_until(Duration::from_secs(3600), |e| {
        e.iter().any(|e| matches!(e, Event::PeerDead { .. }))
    });
    let tries = sim
        .events
        .iter()
        .find_map(|e| match e {
            Event::PeerDead { tries, .. } => Some(*tries),
            _ => None,
        })
        .expect("the peer is reported dead");
    assert_eq!(tries, psk_config(vec![]).liveness_retransmit.max_tries);
    assert!(sim.init.is_closed());
    assert_eq!(sim.init.poll_timeout(), None);
}

#[test]
fn unanswered_outgoing_traffic_brings_the_liveness_check_forward() {
    let mut sim = established_with(63, |c| {
        c.dpd_interval = Duration::from_secs(30);
        c.dpd_on_one_way_traffic = Duration::from_secs(5);
    });
    let t0 = sim.now;
    assert_eq!(sim.init.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    // Traffic goes out at t0 + 2 s and nothing comes back: the check is due 5 s later.
    sim.init.note_sent(t0 + Duration::from_secs(2));
    sim.init.note_sent(t0 + Duration::from_secs(3));
    assert_eq!(sim.init.poll_timeout(), Some(t0 + Duration::from_secs(7)));
    // An answer (authentic ESP) clears it; the next unanswered packet starts over.
    sim.init.note_peer_alive(t0 + Duration::from_secs(4));
    assert_eq!(sim.init.poll_timeout(), Some(t0 + Duration::from_secs(34)));
    sim.init.note_sent(t0 + Duration::from_secs(6));
    assert_eq!(sim.init.poll_timeout(), Some(t0 + Duration::from_secs(11)));
    // A silent gateway is then found dead long before the idle interval would start.
    sim.gw.silent = true;
    sim.run_until(Duration::from_secs(3600), |e| {
        e.iter().any(|e| matches!(e, Event::PeerDead { .. }))
    });
    assert!(sim.init.is_closed());
}

#[test]
fn dpd_zero_means_off() {
    let mut sim = established_with(62, |c| c.dpd_interval = Duration::ZERO);
    assert_eq!(sim.init.poll_timeout(), None);
    let until = sim.now + Duration::from_secs(600);
    while sim.now < until && sim.step() {}
    assert!(
        sim.gw
            .exchanges
            .iter()
            .all(|e| *e != ExchangeType::INFORMATIONAL)
    );
}

#[test]
fn replayed_garbled_and_malformed_create_child_sa_requests_do_no_harm() {
    let mut sim = established(63);
    let old = sim.gw.child.clone().unwrap();
    // A real rekey, delivered twice: one Child SA, the same answer twice.
    let request = sim.gw.start_child_rekey();
    inject(&mut sim, request.clone());
    inject(&mut sim, request.clone());
    settle(&mut sim);
    assert_eq!(rekeys(&sim).len(), 1);
    // A garbled copy (a flipped ICV bit) is dropped without an answer.
    let answers = sim.gw.answers.len();
    let mut garbled = request[0].clone();
    let last = garbled.len() - 1;
    garbled[last] ^= 1;
    inject(
        &mut sim,
        vec![garbled, vec![0; 30], request[0][..40].to_vec()],
    );
    settle(&mut sim);
    assert_eq!(sim.gw.answers.len(), answers);
    // Authentic but malformed or impossible requests are refused with a notification.
    let ts = || {
        vec![
            PayloadBuilder::TsI(TsBuilder::ranges(support::any_range())),
            PayloadBuilder::TsR(TsBuilder::ranges(support::any_range())),
        ]
    };
    let cases: Vec<(Vec<PayloadBuilder>, NotifyType)> = vec![
        // REKEY_SA without SA and Nonce.
        (
            vec![PayloadBuilder::Notify(
                NotifyBuilder::new(NotifyType::REKEY_SA)
                    .with_child_spi(ProtocolId::ESP, sim.gw.child.as_ref().unwrap().gateway_spi),
            )],
            NotifyType::INVALID_SYNTAX,
        ),
        // REKEY_SA for a Child SA that does not exist.
        (
            vec![PayloadBuilder::Notify(
                NotifyBuilder::new(NotifyType::REKEY_SA).with_child_spi(ProtocolId::ESP, 0xdead),
            )],
            NotifyType::CHILD_SA_NOT_FOUND,
        ),
        // A new Child SA, not a rekey.
        (
            [vec![PayloadBuilder::Nonce(vec![7; 32])], ts()].concat(),
            NotifyType::NO_ADDITIONAL_SAS,
        ),
        // A rekey of the old Child SA, which is being replaced.
        (
            vec![PayloadBuilder::Notify(
                NotifyBuilder::new(NotifyType::REKEY_SA)
                    .with_child_spi(ProtocolId::ESP, old.gateway_spi),
            )],
            NotifyType::TEMPORARY_FAILURE,
        ),
    ];
    for (inner, expected) in cases {
        let datagrams = sim
            .gw
            .request_exchange(ExchangeType::CREATE_CHILD_SA, inner);
        inject(&mut sim, datagrams);
        settle(&mut sim);
        let answer = sim.gw.answers.last().unwrap();
        assert_eq!(answer.notifies, vec![expected]);
    }
    assert!(sim.failure().is_none(), "{:?}", sim.failure());
    assert!(sim.init.is_established());
    assert_eq!(rekeys(&sim).len(), 1);
}

#[test]
fn the_gateway_rekeys_the_ike_sa_and_everything_moves_over() {
    let mut sim = established_with(70, |c| c.dpd_interval = Duration::from_secs(10));
    let old_spi = sim.init.spi_i();
    let request = sim.gw.start_ike_rekey();
    inject(&mut sim, request);
    settle(&mut sim);
    assert_eq!(sim.gw.ike_rekeys_done, 1, "{:?}", sim.events);
    let rekeyed = sim
        .events
        .iter()
        .find_map(|e| match e {
            Event::IkeSaRekeyed {
                spi_local,
                by_gateway,
                ..
            } => Some((*spi_local, *by_gateway)),
            _ => None,
        })
        .expect("IkeSaRekeyed");
    assert_eq!(rekeyed, (sim.init.spi_i(), true));
    assert_ne!(sim.init.spi_i(), old_spi);
    // The gateway deletes the old IKE SA over that SA; we answer and stay up.
    let answers = sim.gw.answers.len();
    let delete = sim.gw.delete_old_ike();
    inject(&mut sim, delete);
    settle(&mut sim);
    assert_eq!(sim.gw.answers.len(), answers + 1);
    assert!(sim.init.is_established());
    assert!(
        !sim.events
            .iter()
            .any(|e| matches!(e, Event::Closed { .. } | Event::Failed(_)))
    );
    // The new IKE SA carries on: a liveness check from the gateway, ours, and a Child
    // SA rekey with keys from the new SK_d.
    let check = sim.gw.request(vec![]);
    inject(&mut sim, check);
    settle(&mut sim);
    assert_eq!(sim.gw.answers.last().unwrap().message_id, 0);
    let until = sim.now + Duration::from_secs(25);
    while sim.now < until && sim.step() {}
    assert!(sim.init.is_established(), "{:?}", sim.events);
    sim.events.clear();
    sim.gw.deleted_by_initiator_spis.clear();
    sim.init.rekey_child(sim.now);
    settle(&mut sim);
    let r = rekeys(&sim);
    assert_eq!(r.len(), 1);
    let child = r[0].clone();
    assert_same_child(&sim, &child);
}

#[test]
fn malformed_ike_rekeys_are_refused() {
    let mut sim = established(71);
    let sa_only = vec![PayloadBuilder::Nonce(vec![1; 32])];
    let datagrams = sim
        .gw
        .request_exchange(ExchangeType::CREATE_CHILD_SA, sa_only);
    inject(&mut sim, datagrams);
    settle(&mut sim);
    assert_eq!(
        sim.gw.answers.last().unwrap().notifies,
        vec![NotifyType::NO_ADDITIONAL_SAS]
    );
    assert!(sim.init.is_established());
}

#[test]
fn we_rekey_the_ike_sa_and_delete_the_old_one() {
    let mut sim = established_with(72, |c| c.dpd_interval = Duration::from_secs(10));
    let old_spi = sim.init.spi_i();
    sim.init.rekey_ike(sim.now);
    settle(&mut sim);
    assert_eq!(sim.gw.initiator_ike_rekeys, 1, "{:?}", sim.events);
    assert!(sim.events.iter().any(|e| matches!(
        e,
        Event::IkeSaRekeyed {
            by_gateway: false,
            ..
        }
    )));
    assert_ne!(sim.init.spi_i(), old_spi);
    assert!(sim.gw.old_ike_deleted_by_initiator);
    assert!(!sim.gw.deleted_by_initiator);
    // The new IKE SA works both ways, and Child SA keys come from its SK_d.
    let check = sim.gw.request(vec![]);
    inject(&mut sim, check);
    settle(&mut sim);
    assert_eq!(sim.gw.answers.last().unwrap().message_id, 0);
    sim.events.clear();
    sim.init.rekey_child(sim.now);
    settle(&mut sim);
    let r = rekeys(&sim);
    assert_eq!(r.len(), 1);
    assert_same_child(&sim, &r[0].clone());
    let until = sim.now + Duration::from_secs(25);
    while sim.now < until && sim.step() {}
    assert!(sim.init.is_established(), "{:?}", sim.events);
}
