//! Child SA rekeys through a whole session: make-before-break both ways, PFS, the
//! collision of two rekeys, and liveness checks (with ESP counting as liveness).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use corridor_crypto::DhGroup;
use corridor_esp::Lifetime;
use corridor_session::{ChildRekeyInfo, DisconnectReason, SessionEvent, SessionOptions};
use corridor_wire::ExchangeType;
use support::*;

fn rekey_after_two_packets() -> SessionOptions {
    SessionOptions {
        esp_lifetime: Lifetime {
            soft_packets: Some(2),
            hard_packets: Some(1000),
            ..Lifetime::default()
        },
        ..SessionOptions::default()
    }
}

fn rekeys(net: &Net) -> Vec<ChildRekeyInfo> {
    net.events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ChildSaRekeyed(info) => Some((**info).clone()),
            _ => None,
        })
        .collect()
}

/// A packet from the gateway on its Child SA `index` comes out of the tunnel.
fn gateway_to_us(net: &mut Net, index: usize, tag: u8) -> bool {
    let reply = ipv4_udp(DNS, ASSIGNED, &[tag; 20]);
    let datagram = net.gateway_encapsulate_on(index, &reply);
    net.receive(datagram).as_deref() == Some(&reply[..])
}

/// A packet from us reaches the gateway; returns the SPI it went out with.
fn us_to_gateway(net: &mut Net, tag: u8) -> u32 {
    let packet = ipv4_udp(ASSIGNED, DNS, &[tag; 20]);
    let before = net.gateway_received.len();
    assert_eq!(net.send(std::slice::from_ref(&packet)), 1);
    assert_eq!(net.gateway_received.len(), before + 1);
    assert_eq!(net.gateway_received.last(), Some(&packet));
    let (_, datagram) = net
        .sent
        .iter()
        .rev()
        .find(|(p, d)| *p == 4500 && d.len() > 8 && d[..4] != [0; 4])
        .unwrap();
    u32::from_be_bytes(datagram[..4].try_into().unwrap())
}

#[test]
fn our_rekey_is_make_before_break() {
    let mut net = Net::new(true, false, rekey_after_two_packets());
    let info = net.connect();
    net.hold_ike = true;
    assert_eq!(us_to_gateway(&mut net, 1), info.outbound_spi);
    assert_eq!(us_to_gateway(&mut net, 2), info.outbound_spi);
    // The soft limit sent CREATE_CHILD_SA; let it through, hold the Delete after it.
    assert_eq!(net.held.len(), 1);
    net.release();
    assert_eq!(net.held.len(), 1, "the Delete of the old Child SA waits");
    let r = rekeys(&net);
    assert_eq!(r.len(), 1);
    assert!(!r[0].by_gateway);
    assert_eq!(r[0].esp_suite.to_string(), "aes256gcm16-noesn");
    assert_eq!(r[0].old_outbound_spi, info.outbound_spi);
    assert_eq!(
        net.session.current_child_spis(),
        Some((r[0].inbound_spi, r[0].outbound_spi))
    );
    // We send on the new Child SA at once; the gateway may still send on the old one
    // until it is deleted, and both arrive.
    assert_eq!(us_to_gateway(&mut net, 3), r[0].outbound_spi);
    assert!(gateway_to_us(&mut net, 0, 0xa0));
    assert!(gateway_to_us(&mut net, 1, 0xa1));
    assert!(gateway_to_us(&mut net, 0, 0xa2));
    // Once the Delete is done, the old SPI is unknown.
    net.hold_ike = false;
    net.release();
    assert_eq!(net.gw.deleted_by_initiator_spis, vec![info.inbound_spi]);
    assert!(!gateway_to_us(&mut net, 0, 0xa3));
    assert_eq!(net.session.stats().drops.unknown_spi, 1);
    assert!(gateway_to_us(&mut net, 1, 0xa4));
    assert_eq!(
        net.session.stats().drops.replay + net.session.stats().drops.auth,
        0
    );
    assert!(net.session.is_connected());
}

#[test]
fn repeated_rekeys_lose_no_packet() {
    let mut net = Net::new(true, false, rekey_after_two_packets());
    net.connect();
    for i in 0..12u8 {
        us_to_gateway(&mut net, i);
        let last = net.gw_sas.len() - 1;
        assert!(gateway_to_us(&mut net, last, i));
    }
    assert!(rekeys(&net).len() >= 5, "{}", rekeys(&net).len());
    assert_eq!(net.session.stats().drops, Default::default());
    assert_eq!(net.session.stats().packets_in, 12);
}

fn gateway_rekey(pfs: Option<DhGroup>) {
    let mut net = Net::new(true, false, SessionOptions::default());
    let info = net.connect();
    net.gw.rekey_pfs = pfs;
    let request = net.gw.start_child_rekey();
    net.gateway_sends(request);
    let r = rekeys(&net);
    assert_eq!(r.len(), 1);
    assert!(r[0].by_gateway);
    assert_eq!(r[0].pfs_group, pfs);
    // Until the gateway deletes the old Child SA we keep sending on it, and accept both.
    assert_eq!(us_to_gateway(&mut net, 1), info.outbound_spi);
    assert!(gateway_to_us(&mut net, 1, 0xb1));
    assert!(gateway_to_us(&mut net, 0, 0xb0));
    let delete = net.gw.delete_child(info.outbound_spi);
    net.gateway_sends(delete);
    assert_eq!(
        net.session.current_child_spis(),
        Some((r[0].inbound_spi, r[0].outbound_spi))
    );
    assert_eq!(us_to_gateway(&mut net, 2), r[0].outbound_spi);
    assert!(gateway_to_us(&mut net, 1, 0xb2));
    assert!(!gateway_to_us(&mut net, 0, 0xb3));
    assert!(net.session.is_connected());
}

#[test]
fn the_gateway_rekeys_without_pfs() {
    gateway_rekey(None);
}

#[test]
fn the_gateway_rekeys_with_pfs() {
    gateway_rekey(Some(DhGroup::Curve25519));
}

#[test]
fn simultaneous_rekeys_end_with_one_outbound_sa_that_works() {
    for _ in 0..4 {
        let mut net = Net::new(true, false, rekey_after_two_packets());
        let info = net.connect();
        net.hold_ike = true;
        us_to_gateway(&mut net, 1);
        us_to_gateway(&mut net, 2);
        // Our CREATE_CHILD_SA is held; the gateway's crosses it.
        let request = net.gw.start_child_rekey();
        net.gateway_sends(request);
        net.hold_ike = false;
        net.release();
        let theirs = net.gw.gateway_rekey.as_ref().unwrap();
        let (ni, nr) = net.gw.last_initiator_rekey_nonces.clone().unwrap();
        let ours_lost = ni.min(nr) < theirs.ni.clone().min(theirs.nr.clone().unwrap());
        let theirs_spi = theirs.new_gateway_spi;
        // The gateway deletes what RFC 7296 §2.8.1 leaves to it.
        let delete = net.gw.delete_child(if ours_lost {
            info.outbound_spi
        } else {
            theirs_spi
        });
        net.gateway_sends(delete);
        let (_, outbound) = net.session.current_child_spis().unwrap();
        assert_ne!(outbound, info.outbound_spi);
        assert_eq!(us_to_gateway(&mut net, 3), outbound);
        let survivor = net
            .gw_sas
            .iter()
            .position(|sa| sa.inbound.spi() == outbound)
            .unwrap();
        assert!(gateway_to_us(&mut net, survivor, 4));
        assert!(net.session.is_connected());
        // Go round again with different nonces.
        net.gw.gateway_rekey = None;
    }
}

#[test]
fn esp_from_the_gateway_counts_as_liveness() {
    let mut config = ike_config(true);
    config.dpd_interval = Duration::from_secs(10);
    let mut net = Net::with_config(config, false, SessionOptions::default());
    net.connect();
    let checks = |net: &Net| {
        net.gw
            .exchanges
            .iter()
            .filter(|e| **e == ExchangeType::INFORMATIONAL)
            .count()
    };
    net.advance(Duration::from_secs(8));
    assert!(gateway_to_us(&mut net, 0, 1));
    net.advance(Duration::from_secs(8));
    assert_eq!(checks(&net), 0);
    net.advance(Duration::from_secs(2));
    assert_eq!(checks(&net), 1);
    assert!(net.session.is_connected());
}

#[test]
fn a_dead_gateway_ends_the_session_with_peer_dead() {
    let mut config = ike_config(true);
    config.dpd_interval = Duration::from_secs(10);
    let mut net = Net::with_config(config, false, SessionOptions::default());
    net.connect();
    net.blackhole = true;
    for _ in 0..100 {
        if net.session.is_closed() {
            break;
        }
        let next = net.session.poll_timeout().unwrap();
        net.advance(next.saturating_duration_since(net.now));
    }
    assert!(matches!(
        net.events.last(),
        Some(SessionEvent::Disconnected {
            reason: DisconnectReason::PeerDead
        })
    ));
    assert_eq!(net.session.poll_timeout(), None);
}

fn ike_rekeys(net: &Net) -> Vec<corridor_session::IkeRekeyInfo> {
    net.events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::IkeSaRekeyed(info) => Some((**info).clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn ike_sa_rekeys_both_ways_keep_the_tunnel_up() {
    let options = SessionOptions {
        ike_rekey_interval: Some(Duration::from_secs(100)),
        ..rekey_after_two_packets()
    };
    let mut net = Net::new(true, false, options);
    let info = net.connect();
    // The gateway's IKE rekey, then its Delete of the old IKE SA.
    let request = net.gw.start_ike_rekey();
    net.gateway_sends(request);
    let delete = net.gw.delete_old_ike();
    net.gateway_sends(delete);
    // Ours, at the interval.
    net.advance(Duration::from_secs(100));
    let r = ike_rekeys(&net);
    assert_eq!(r.len(), 2, "{:?}", net.events);
    assert!(r[0].by_gateway && !r[1].by_gateway);
    assert_eq!(r[1].ike_suite, info.ike_suite);
    assert!(net.gw.old_ike_deleted_by_initiator);
    // The Child SA carries on, and its next rekey runs on the newest IKE SA.
    us_to_gateway(&mut net, 1);
    assert!(gateway_to_us(&mut net, 0, 1));
    us_to_gateway(&mut net, 2);
    assert_eq!(rekeys(&net).len(), 1);
    us_to_gateway(&mut net, 3);
    let last = net.gw_sas.len() - 1;
    assert!(gateway_to_us(&mut net, last, 3));
    assert!(net.session.is_connected());
    assert_eq!(net.session.stats().drops, Default::default());
}
