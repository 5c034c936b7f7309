//! The control and data planes against Corridor's own session (corridor-session), in
//! memory: handshake, pool leases, ESP both ways, selector checks, Delete.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use corridor_crypto::{DeterministicRandom, DhGroup, EncrAlgorithm, PrfAlgorithm, SecretBytes};
use corridor_esp::DatagramBatch;
use corridor_ike::{EspProposal, Identity, IkeConfig, IkeProposal, LocalAuth, TrustStore};
use corridor_session::{Session, SessionEvent, SessionOptions};
use rustls_pki_types::UnixTime;

use crate::args::Cidr4;
use crate::dataplane::{self, Arrived};
use crate::gateway::{Gateway, GatewayConfig, Notice, Psk, Tables};

const PSK: &[u8] = b"a test peer's pre-shared key";
const GATEWAY: &str = "198.18.0.1:500";
const LAN_HOST: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);

fn gateway() -> (Gateway, Arc<RwLock<Tables>>) {
    let tables = Arc::new(RwLock::new(Tables::default()));
    let cfg = GatewayConfig {
        psk: Psk(PSK.to_vec()),
        identity: Identity::Fqdn("vpn.corp.example".into()),
        pool: "198.19.100.0/30".parse::<Cidr4>().unwrap(),
        lan: "198.19.0.0/24".parse().unwrap(),
        dns: Ipv4Addr::new(198, 19, 0, 10),
        esp: EncrAlgorithm::AesGcm16 { key_bits: 256 },
        address: GATEWAY.parse().unwrap(),
        nat_t_port: 4500,
    };
    (Gateway::new(cfg, tables.clone()), tables)
}

fn client(psk: &[u8], seed: u64, local: &str) -> Session {
    let mut config = IkeConfig::new(
        Identity::Email("alice@corp.example".into()),
        Some(Identity::Fqdn("vpn.corp.example".into())),
        LocalAuth::Psk(SecretBytes::from_slice(psk)),
        TrustStore::new(&[]).unwrap(),
        vec![IkeProposal {
            encryption: vec![EncrAlgorithm::AesGcm16 { key_bits: 256 }],
            prf: vec![PrfAlgorithm::HmacSha384],
            integrity: vec![],
            groups: vec![DhGroup::Ecp384],
        }],
        vec![EspProposal {
            encryption: vec![
                EncrAlgorithm::ChaCha20Poly1305,
                EncrAlgorithm::AesGcm16 { key_bits: 256 },
            ],
            integrity: vec![],
            esn: vec![true, false],
        }],
    );
    config.force_udp_encapsulation = false;
    Session::new(
        Arc::new(config),
        Box::new(DeterministicRandom::from_u64(seed)),
        local.parse().unwrap(),
        GATEWAY.parse().unwrap(),
        Instant::now(),
        UnixTime::since_unix_epoch(Duration::from_secs(1_790_000_000)),
        SessionOptions::default(),
    )
    .unwrap()
}

fn gw_addr(port: u16) -> SocketAddr {
    SocketAddr::new(GATEWAY.parse::<SocketAddr>().unwrap().ip(), port)
}

/// Delivers everything both sides send until both are quiet; returns the events.
fn pump(gw: &mut Gateway, session: &mut Session, from: SocketAddr) -> Vec<SessionEvent> {
    let now = Instant::now();
    let mut events = Vec::new();
    while let Some(t) = session.poll_transmit() {
        let from = SocketAddr::new(
            from.ip(),
            if t.destination_port == 4500 {
                4500
            } else {
                from.port()
            },
        );
        for mut reply in gw.handle_ike(now, from, t.destination_port, &t.payload) {
            assert!(
                session
                    .handle_datagram(now, gw_addr(t.destination_port), &mut reply)
                    .is_none()
            );
        }
    }
    while let Some(e) = session.poll_event() {
        events.push(e);
    }
    events
}

fn connect(gw: &mut Gateway, session: &mut Session, from: SocketAddr) -> Ipv4Addr {
    session.connect(Instant::now());
    let events = pump(gw, session, from);
    let info = events
        .iter()
        .find_map(|e| match e {
            SessionEvent::Connected(info) => Some(info.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("not connected: {events:?}"));
    match info.assigned.ipv4.first() {
        Some(net) => net.addr,
        None => panic!("no virtual IP in {info:?}"),
    }
}

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

#[test]
fn a_session_connects_and_carries_packets_both_ways() {
    let (mut gw, tables) = gateway();
    let mut session = client(PSK, 1, "198.18.0.100:500");
    let from: SocketAddr = "198.18.0.100:500".parse().unwrap();
    let vip = connect(&mut gw, &mut session, from);
    assert_eq!(vip, Ipv4Addr::new(198, 19, 100, 1));
    assert!(
        gw.take_notices()
            .iter()
            .any(|n| matches!(n, Notice::Connected { assigned, .. } if *assigned == vip))
    );

    // Client → gateway.
    let packet = ipv4(vip, LAN_HOST, b"hello");
    let mut batch = DatagramBatch::new();
    assert_eq!(
        session.handle_tun_packets(Instant::now(), [&packet[..]], &mut batch),
        1
    );
    let mut datagram = batch.get(0).unwrap().to_vec();
    let nat_t: SocketAddr = "198.18.0.100:4500".parse().unwrap();
    let arrived = dataplane::open(&tables.read().unwrap(), nat_t, &mut datagram);
    let Arrived::Inner(range) = arrived else {
        panic!("{arrived:?}")
    };
    assert_eq!(&datagram[range], &packet[..]);

    // The same datagram again is a replay.
    let mut again = batch.get(0).unwrap().to_vec();
    assert!(matches!(
        dataplane::open(&tables.read().unwrap(), nat_t, &mut again),
        Arrived::Dropped(_)
    ));

    // Gateway → client, through the batch the downlink uses.
    let reply = ipv4(LAN_HOST, vip, b"world");
    let tunnel = dataplane::route(&tables.read().unwrap(), &reply).expect("a route to the client");
    let mut out = DatagramBatch::new();
    let (remote, failed) = dataplane::seal(&tunnel, [&reply[..], &reply[..]], &mut out);
    assert_eq!((remote, failed), (Some(nat_t), 0));
    assert_eq!(out.len(), 2);
    let mut d = out.get(1).unwrap().to_vec();
    let inner = session.handle_datagram(Instant::now(), gw_addr(4500), &mut d);
    assert_eq!(inner.map(|r| d[r].to_vec()), Some(reply.clone()));

    // Nothing routes to an address no client holds.
    assert!(
        dataplane::route(
            &tables.read().unwrap(),
            &ipv4(LAN_HOST, Ipv4Addr::new(198, 19, 100, 2), b"")
        )
        .is_none()
    );

    // Delete frees the lease and the tables.
    session.disconnect(Instant::now());
    pump(&mut gw, &mut session, nat_t);
    assert!(
        gw.take_notices()
            .contains(&Notice::Deleted { assigned: vip })
    );
    assert_eq!(gw.peer_count(), 0);
    assert!(tables.read().unwrap().by_ip.is_empty());
    assert!(tables.read().unwrap().by_spi.is_empty());
}

#[test]
fn spoofed_sources_and_strangers_are_dropped() {
    let (mut gw, tables) = gateway();
    let mut session = client(PSK, 2, "198.18.0.100:500");
    let vip = connect(&mut gw, &mut session, "198.18.0.100:500".parse().unwrap());
    let mut batch = DatagramBatch::new();
    // The session itself filters by selectors, so hand-build an ESP datagram whose
    // inner source is not the client's virtual IP: encapsulate with the session, then
    // check that the gateway's selector check is what drops a foreign source.
    let other = ipv4(Ipv4Addr::new(198, 19, 100, 2), LAN_HOST, b"spoof");
    assert_eq!(
        session.handle_tun_packets(Instant::now(), [&other[..]], &mut batch),
        0
    );
    let good = ipv4(vip, LAN_HOST, b"ok");
    assert_eq!(
        session.handle_tun_packets(Instant::now(), [&good[..]], &mut batch),
        1
    );
    let mut tampered = batch.get(0).unwrap().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let from: SocketAddr = "198.18.0.100:4500".parse().unwrap();
    assert_eq!(
        dataplane::open(&tables.read().unwrap(), from, &mut tampered),
        Arrived::Dropped("not authentic or replayed")
    );
    let mut unknown = vec![0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(
        dataplane::open(&tables.read().unwrap(), from, &mut unknown),
        Arrived::Dropped("unknown SPI")
    );
    assert_eq!(
        dataplane::open(&tables.read().unwrap(), from, &mut [0xff]),
        Arrived::Dropped("keepalive")
    );
    let mut ike = vec![0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(
        dataplane::open(&tables.read().unwrap(), from, &mut ike),
        Arrived::Ike
    );
}

#[test]
fn a_wrong_psk_gets_no_lease_and_the_pool_runs_out() {
    let (mut gw, tables) = gateway();
    let mut wrong = client(b"not the key", 3, "198.18.0.101:500");
    wrong.connect(Instant::now());
    let events = pump(&mut gw, &mut wrong, "198.18.0.101:500".parse().unwrap());
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SessionEvent::Connected(_))),
        "{events:?}"
    );
    assert!(tables.read().unwrap().by_ip.is_empty());
    // The failed SA stays half-open until it expires, then its lease comes back.
    gw.expire(Instant::now() + Duration::from_secs(60));
    assert_eq!(gw.peer_count(), 0);

    // A /30 pool has two usable addresses.
    let mut a = client(PSK, 4, "198.18.0.102:500");
    let mut b = client(PSK, 5, "198.18.0.103:500");
    let va = connect(&mut gw, &mut a, "198.18.0.102:500".parse().unwrap());
    let vb = connect(&mut gw, &mut b, "198.18.0.103:500".parse().unwrap());
    assert_ne!(va, vb);
    let mut c = client(PSK, 6, "198.18.0.104:500");
    c.connect(Instant::now());
    pump(&mut gw, &mut c, "198.18.0.104:500".parse().unwrap());
    assert!(
        gw.take_notices()
            .iter()
            .any(|n| matches!(n, Notice::PoolExhausted { .. }))
    );
}

#[test]
fn liveness_checks_are_answered() {
    let (mut gw, _tables) = gateway();
    let mut session = client(PSK, 7, "198.18.0.100:500");
    connect(&mut gw, &mut session, "198.18.0.100:500".parse().unwrap());
    // Ten minutes of silence make the session send a liveness check (an empty
    // INFORMATIONAL); the gateway must answer it or the session would give up.
    let mut now = Instant::now();
    for _ in 0..20 {
        now += Duration::from_secs(30);
        session.handle_timeout(now);
        pump(&mut gw, &mut session, "198.18.0.100:4500".parse().unwrap());
    }
    assert!(session.is_connected());
}
