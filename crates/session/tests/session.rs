//! Whole sessions against the test gateway: handshake, ESP both ways, traffic selector
//! filtering, hostile ESP input, NAT-keepalives, lifetimes and disconnect.

#![allow(clippy::unwrap_used)]

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use corridor_esp::{DatagramBatch, Lifetime};
use corridor_session::{DisconnectReason, SessionEvent, SessionOptions};
use corridor_wire::PayloadBuilder;
use corridor_wire::payload::DeleteBuilder;
use support::*;

fn connected(force: bool, nat: bool, options: SessionOptions) -> Net {
    let mut net = Net::new(force, nat, options);
    net.connect();
    net
}

#[test]
fn round_trip_through_the_tunnel() {
    let mut net = Net::new(true, false, SessionOptions::default());
    let info = net.connect();
    assert_eq!(
        info.assigned.ipv4.first().map(|n| n.addr),
        Some(Ipv4Addr::from(ASSIGNED))
    );
    assert_eq!(info.assigned.dns, vec![IpAddr::from(DNS)]);
    assert_eq!(info.assigned.dns_domains, vec!["corp.test".to_string()]);
    assert_eq!(info.routes.len(), 1);
    assert_eq!(
        info.routes[0].start,
        "198.19.0.0".parse::<IpAddr>().unwrap()
    );
    assert_eq!(info.remote_port, 4500);
    assert!(!info.nat.detected());
    // 1500 - 20 (IPv4) - 8 (UDP) = 1472 for ESP; AES-GCM-16 costs 8 (SPI, sequence) +
    // 8 (IV) + 16 (ICV) = 32, leaving 1440 (a multiple of 4) less 2 trailer octets.
    assert_eq!(info.inner_mtu, 1438);

    let packets: Vec<Vec<u8>> = (0..3u8)
        .map(|i| ipv4_udp(ASSIGNED, DNS, &[i; 100]))
        .collect();
    assert_eq!(net.send(&packets), 3);
    assert_eq!(net.gateway_received, packets);

    for i in 0..3u8 {
        let reply = ipv4_udp(DNS, ASSIGNED, &[0xa0 + i; 64]);
        let datagram = net.gateway_encapsulate(&reply);
        assert_eq!(net.receive(datagram).as_deref(), Some(&reply[..]));
    }
    let stats = *net.session.stats();
    assert_eq!((stats.packets_out, stats.packets_in), (3, 3));
    assert_eq!(stats.bytes_out, 3 * 128);
    assert_eq!(stats.bytes_in, 3 * 92);
    assert_eq!(stats.drops, Default::default());

    // No NAT: no keepalives, however long the silence.
    net.advance(Duration::from_secs(120));
    assert!(net.sent.iter().all(|(_, p)| p != &[0xff]));
    assert_eq!(net.session.stats().keepalives_sent, 0);
}

#[test]
fn packets_outside_the_traffic_selectors_are_dropped() {
    let mut net = connected(true, false, SessionOptions::default());
    let outside = ipv4_udp(ASSIGNED, [10, 1, 2, 3], b"leak?");
    let wrong_source = ipv4_udp([198, 18, 1, 2], DNS, b"spoof");
    let inside = ipv4_udp(ASSIGNED, DNS, b"ok");
    assert_eq!(net.send(&[outside, wrong_source, inside.clone()]), 1);
    assert_eq!(net.gateway_received, vec![inside]);
    assert_eq!(net.session.stats().drops.outside_traffic_selectors, 2);

    // A gateway may not inject traffic from outside what it negotiated.
    let injected = ipv4_udp([10, 9, 9, 9], ASSIGNED, b"inject");
    let datagram = net.gateway_encapsulate(&injected);
    assert_eq!(net.receive(datagram), None);
    assert_eq!(net.session.stats().drops.outside_traffic_selectors, 3);

    // Not an IP packet at all.
    assert_eq!(net.send(&[vec![0x00; 30]]), 0);
    assert_eq!(net.session.stats().drops.malformed, 1);
    assert!(net.session.is_connected());
}

#[test]
fn hostile_esp_is_dropped_and_counted_without_ending_the_session() {
    let mut net = connected(true, false, SessionOptions::default());
    let reply = ipv4_udp(DNS, ASSIGNED, b"first");
    let datagram = net.gateway_encapsulate(&reply);
    assert!(net.receive(datagram.clone()).is_some());

    // The same packet again.
    assert_eq!(net.receive(datagram), None);
    assert_eq!(net.session.stats().drops.replay, 1);

    // A forged or damaged packet.
    let mut forged = net.gateway_encapsulate(&reply);
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    assert_eq!(net.receive(forged), None);
    assert_eq!(net.session.stats().drops.auth, 1);

    // Another SPI, and junk that is not even ESP.
    let mut other_spi = net.gateway_encapsulate(&reply);
    other_spi[0] ^= 0x80;
    assert_eq!(net.receive(other_spi), None);
    assert_eq!(net.session.stats().drops.unknown_spi, 1);
    assert_eq!(net.receive(vec![1, 2, 3, 4, 5]), None);
    assert_eq!(net.session.stats().drops.malformed, 1);

    // A datagram from someone else entirely.
    let mut stranger = net.gateway_encapsulate(&reply);
    let from = "198.18.66.66:4500".parse().unwrap();
    assert_eq!(
        net.session.handle_datagram(net.now, from, &mut stranger),
        None
    );
    assert_eq!(net.session.stats().drops.unknown_source, 1);

    // Keepalives from the gateway are ignored.
    assert_eq!(net.receive(vec![0xff]), None);

    // The tunnel still works both ways.
    assert!(net.session.is_connected());
    let next = ipv4_udp(DNS, ASSIGNED, b"still here");
    let datagram = net.gateway_encapsulate(&next);
    assert_eq!(net.receive(datagram).as_deref(), Some(&next[..]));
    assert_eq!(net.send(&[ipv4_udp(ASSIGNED, DNS, b"and here")]), 1);
    assert!(!net.events.iter().any(|e| matches!(
        e,
        SessionEvent::Failed(_) | SessionEvent::Disconnected { .. }
    )));
}

#[test]
fn keepalives_behind_a_nat() {
    let options = SessionOptions {
        nat_keepalive_interval: Duration::from_secs(20),
        ..SessionOptions::default()
    };
    // No forcing: NAT detection alone moves IKE and ESP to port 4500. No liveness
    // checks, so that only keepalives are on the timer.
    let mut config = ike_config(false);
    config.dpd_interval = Duration::ZERO;
    let mut net = Net::with_config(config, true, options);
    let info = net.connect();
    assert!(info.nat.local_behind_nat);
    assert_eq!(info.remote_port, 4500);

    let connected_at = net.now;
    assert_eq!(
        net.session.poll_timeout(),
        Some(connected_at + Duration::from_secs(20))
    );
    net.advance(Duration::from_secs(20));
    assert_eq!(net.sent.last(), Some(&(4500, vec![0xff])));
    assert_eq!(net.session.stats().keepalives_sent, 1);

    // Traffic pushes the next keepalive back.
    net.now += Duration::from_secs(10);
    assert_eq!(net.send(&[ipv4_udp(ASSIGNED, DNS, b"busy")]), 1);
    assert_eq!(
        net.session.poll_timeout(),
        Some(net.now + Duration::from_secs(20))
    );
    net.advance(Duration::from_secs(19));
    assert_eq!(net.session.stats().keepalives_sent, 1);
    net.advance(Duration::from_secs(1));
    assert_eq!(net.session.stats().keepalives_sent, 2);
}

#[test]
fn without_nat_or_forcing_the_session_fails_clearly() {
    let mut net = Net::new(false, false, SessionOptions::default());
    net.session.connect(net.now);
    net.pump();
    let failure = net
        .events
        .iter()
        .find_map(|e| match e {
            SessionEvent::Failed(err) => Some(err.to_string()),
            _ => None,
        })
        .unwrap();
    assert!(failure.contains("force_udp_encapsulation"), "{failure}");
    assert!(net.session.is_closed());
    // The gateway's IKE SA is not left behind.
    assert!(net.gw.deleted_by_initiator);
}

#[test]
fn disconnect_deletes_the_ike_sa() {
    let mut net = connected(true, false, SessionOptions::default());
    net.session.disconnect(net.now);
    net.pump();
    assert!(net.gw.deleted_by_initiator);
    assert!(matches!(
        net.events.last(),
        Some(SessionEvent::Disconnected {
            reason: DisconnectReason::Requested
        })
    ));
    assert!(net.session.is_closed());
    assert_eq!(net.session.poll_timeout(), None);

    let mut batch = DatagramBatch::new();
    let packet = ipv4_udp(ASSIGNED, DNS, b"late");
    assert_eq!(
        net.session
            .handle_tun_packets(net.now, [&packet[..]], &mut batch),
        0
    );
    assert_eq!(net.session.stats().drops.not_connected, 1);
}

#[test]
fn nothing_is_sent_before_the_tunnel_is_up() {
    let mut net = Net::new(true, false, SessionOptions::default());
    let mut batch = DatagramBatch::new();
    let packet = ipv4_udp(ASSIGNED, DNS, b"early");
    assert_eq!(
        net.session
            .handle_tun_packets(net.now, [&packet[..], &packet[..]], &mut batch),
        0
    );
    assert!(batch.is_empty());
    assert_eq!(net.session.stats().drops.not_connected, 2);
    assert_eq!(net.session.poll_timeout(), None);
}

#[test]
fn lifetimes_rekey_then_stop_the_data_when_the_rekey_is_refused() {
    let options = SessionOptions {
        esp_lifetime: Lifetime {
            soft_packets: Some(2),
            hard_packets: Some(3),
            hard_age: Some(Duration::from_secs(3600)),
            ..Lifetime::default()
        },
        ..SessionOptions::default()
    };
    let mut net = connected(true, false, options);
    net.gw.refuse_rekey = Some(corridor_wire::NotifyType::NO_PROPOSAL_CHOSEN);
    let packet = ipv4_udp(ASSIGNED, DNS, b"x");
    assert_eq!(net.send(std::slice::from_ref(&packet)), 1);
    let creates = |net: &Net| {
        net.gw
            .exchanges
            .iter()
            .filter(|e| **e == corridor_wire::ExchangeType::CREATE_CHILD_SA)
            .count()
    };
    assert_eq!(creates(&net), 0);
    // The soft limit starts a rekey, which the gateway refuses.
    assert_eq!(net.send(std::slice::from_ref(&packet)), 1);
    assert_eq!(creates(&net), 1);
    assert_eq!(net.send(std::slice::from_ref(&packet)), 1);
    assert!(
        net.events
            .iter()
            .any(|e| matches!(e, SessionEvent::ChildSaExpired))
    );
    assert_eq!(net.send(&[packet]), 0);
    assert_eq!(net.session.stats().drops.expired, 1);
    // Each is tried once.
    assert_eq!(creates(&net), 1);
    assert!(net.session.is_connected());
}

#[test]
fn age_lifetime_fires_from_the_timer() {
    let options = SessionOptions {
        esp_lifetime: Lifetime {
            soft_age: Some(Duration::from_secs(600)),
            ..Lifetime::default()
        },
        ..SessionOptions::default()
    };
    let mut config = ike_config(true);
    config.dpd_interval = Duration::ZERO;
    let mut net = Net::with_config(config, false, options);
    net.connect();
    // The soft age is cut by up to 10% at random.
    let due = net.session.poll_timeout().unwrap();
    assert!(due <= net.now + Duration::from_secs(600), "{due:?}");
    assert!(due >= net.now + Duration::from_secs(540), "{due:?}");
    net.now = due;
    net.session.handle_timeout(net.now);
    net.pump();
    assert!(
        net.events
            .iter()
            .any(|e| matches!(e, SessionEvent::ChildSaRekeyed(_)))
    );
    // The new Child SA has its own soft age.
    let next = net.session.poll_timeout().unwrap();
    assert!(next >= net.now + Duration::from_secs(540), "{next:?}");
}

#[test]
fn batched_receive_writes_inner_packets_into_one_batch() {
    let mut net = connected(true, false, SessionOptions::default());
    let replies: Vec<Vec<u8>> = (0..4u8)
        .map(|i| ipv4_udp(DNS, ASSIGNED, &[i; 40]))
        .collect();
    let mut datagrams: Vec<Vec<u8>> = replies.iter().map(|r| net.gateway_encapsulate(r)).collect();
    // A replay in the middle is dropped without disturbing the rest.
    datagrams.insert(2, datagrams[1].clone());
    let mut out = DatagramBatch::new();
    let n = net.session.handle_datagrams(
        net.now,
        Net::gateway(4500),
        datagrams.iter_mut().map(|d| &mut d[..]),
        &mut out,
    );
    assert_eq!(n, 4);
    assert_eq!(
        out.iter().collect::<Vec<_>>(),
        replies.iter().map(|r| &r[..]).collect::<Vec<_>>()
    );
    assert_eq!(net.session.stats().drops.replay, 1);
}

fn from_gateway(net: &mut Net, inner: Vec<PayloadBuilder>) {
    for mut request in net.gw.request(inner) {
        assert_eq!(
            net.session
                .handle_datagram(net.now, Net::gateway(4500), &mut request),
            None
        );
        net.pump();
    }
}

#[test]
fn gateway_deleting_the_ike_sa_ends_the_session() {
    let mut net = connected(true, false, SessionOptions::default());
    from_gateway(&mut net, vec![PayloadBuilder::Delete(DeleteBuilder::ike())]);
    assert!(matches!(
        net.events.last(),
        Some(SessionEvent::Disconnected {
            reason: DisconnectReason::ByGateway
        })
    ));
    assert!(net.session.is_closed());
}

#[test]
fn gateway_deleting_the_child_sa_gets_a_new_one_in_its_place() {
    let mut net = connected(true, false, SessionOptions::default());
    let old = net.gw.child.clone().unwrap();
    let old_spis = net.session.current_child_spis().unwrap();
    from_gateway(
        &mut net,
        vec![PayloadBuilder::Delete(DeleteBuilder::esp(vec![
            old.gateway_spi,
        ]))],
    );
    assert!(
        !net.events
            .iter()
            .any(|e| matches!(e, SessionEvent::Disconnected { .. })),
        "{:?}",
        net.events
    );
    assert!(net.session.is_connected());
    assert!(!net.gw.deleted_by_initiator);
    let new_spis = net.session.current_child_spis().unwrap();
    assert_ne!(new_spis, old_spis);
    assert_eq!(net.gw.child.as_ref().unwrap().initiator_spi, new_spis.0);
    let packet = ipv4_udp(ASSIGNED, DNS, b"still here");
    assert_eq!(net.send(std::slice::from_ref(&packet)), 1);
    assert_eq!(net.gateway_received.last(), Some(&packet));
    let reply = ipv4_udp(DNS, ASSIGNED, b"welcome back");
    let datagram = net.gateway_encapsulate(&reply);
    assert_eq!(net.receive(datagram).as_deref(), Some(&reply[..]));
}

#[test]
fn gateway_refusing_a_new_child_sa_closes_the_session() {
    let mut net = connected(true, false, SessionOptions::default());
    net.gw.refuse_rekey = Some(corridor_wire::NotifyType::NO_ADDITIONAL_SAS);
    let spi = net.gw.child.as_ref().unwrap().gateway_spi;
    from_gateway(
        &mut net,
        vec![PayloadBuilder::Delete(DeleteBuilder::esp(vec![spi]))],
    );
    assert!(net.events.iter().any(|e| matches!(
        e,
        SessionEvent::Disconnected {
            reason: DisconnectReason::ChildSaDeleted
        }
    )));
    // Without a Child SA the IKE SA has no purpose: it is deleted too.
    assert!(net.gw.deleted_by_initiator);
    assert!(!net.session.is_connected());
    assert_eq!(net.send(&[ipv4_udp(ASSIGNED, DNS, b"gone")]), 0);
}
