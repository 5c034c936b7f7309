//! A gateway for session tests: the IKE test responder of corridor-ike plus the
//! responder's side of the ESP Child SA, over an instant, lossless link in virtual time.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corridor_crypto::{DeterministicRandom, DhGroup, EncrAlgorithm, PrfAlgorithm, SecretBytes};
use corridor_esp::{ChildSa, ChildSaParams, DatagramBatch, Lifetime, Received, classify};
use corridor_ike::test_responder::{Responder, ResponderAuth, ResponderConfig};
use corridor_ike::{EspProposal, Identity, IkeConfig, IkeProposal, LocalAuth, TrustStore};
use corridor_session::{ConnectionInfo, Session, SessionEvent, SessionOptions};
use corridor_wire::payload::IpRange;
use rustls_pki_types::UnixTime;

pub const LOCAL: &str = "198.18.1.2:500";
pub const GATEWAY: &str = "198.18.0.1:500";
pub const PSK: &[u8] = b"correct horse battery staple";
pub const ASSIGNED: [u8; 4] = [198, 19, 10, 1];
pub const DNS: [u8; 4] = [198, 19, 0, 53];

fn ike_proposal() -> IkeProposal {
    IkeProposal {
        encryption: vec![EncrAlgorithm::AesGcm16 { key_bits: 256 }],
        prf: vec![PrfAlgorithm::HmacSha256],
        integrity: vec![],
        groups: vec![DhGroup::Curve25519],
    }
}

fn esp_proposal() -> EspProposal {
    EspProposal {
        encryption: vec![EncrAlgorithm::AesGcm16 { key_bits: 256 }],
        integrity: vec![],
        esn: vec![false],
    }
}

fn gateway_id() -> Identity {
    Identity::Fqdn("vpn.example.com".into())
}

pub fn ike_config(force_encapsulation: bool) -> IkeConfig {
    let mut config = IkeConfig::new(
        Identity::Email("alice@example.com".into()),
        Some(gateway_id()),
        LocalAuth::Psk(SecretBytes::from_slice(PSK)),
        TrustStore::new(&[]).unwrap(),
        vec![ike_proposal()],
        vec![esp_proposal()],
    );
    config.force_udp_encapsulation = force_encapsulation;
    config
}

/// The test gateway; `behind_nat` makes it see us at another address.
pub fn responder(behind_nat: bool) -> Responder {
    let sees_initiator_at = if behind_nat {
        "198.18.9.9:40000"
    } else {
        LOCAL
    };
    Responder::new(
        ResponderConfig {
            ike: vec![ike_proposal()],
            esp: vec![esp_proposal()],
            preferred_group: None,
            require_cookie: false,
            identity: gateway_id(),
            auth: ResponderAuth::Psk(PSK.to_vec()),
            fragment_size: None,
            assigned_ipv4: Ipv4Addr::from(ASSIGNED),
            dns: Ipv4Addr::from(DNS),
            domains: vec!["corp.test".into()],
            remote_ts: IpRange::addresses(
                "198.19.0.0".parse().unwrap(),
                "198.19.255.255".parse().unwrap(),
            ),
            address: GATEWAY.parse().unwrap(),
            sees_initiator_at: sees_initiator_at.parse().unwrap(),
            strict_idr: false,
        },
        7,
    )
}

/// An IPv4 UDP packet (checksums zero, which IPv4 UDP allows and nothing here checks).
pub fn ipv4_udp(src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = (20 + 8 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&40000u16.to_be_bytes());
    p.extend_from_slice(&53u16.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

pub struct Net {
    pub session: Session,
    pub gw: Responder,
    /// The gateway's side of every Child SA made, in order (the newest last).
    pub gw_sas: Vec<ChildSa>,
    /// Keep IKE datagrams towards the gateway in `held` instead of delivering them.
    pub hold_ike: bool,
    pub held: Vec<(u16, Vec<u8>)>,
    /// Drop everything towards the gateway.
    pub blackhole: bool,
    pub now: Instant,
    pub events: Vec<SessionEvent>,
    /// Every datagram the session sent: (port, payload).
    pub sent: Vec<(u16, Vec<u8>)>,
    /// Inner packets the gateway decapsulated.
    pub gateway_received: Vec<Vec<u8>>,
}

impl Net {
    pub fn new(force_encapsulation: bool, behind_nat: bool, options: SessionOptions) -> Self {
        Self::with_config(ike_config(force_encapsulation), behind_nat, options)
    }

    pub fn with_config(config: IkeConfig, behind_nat: bool, options: SessionOptions) -> Self {
        let now = Instant::now();
        let session = Session::new(
            Arc::new(config),
            Box::new(DeterministicRandom::from_u64(1)),
            LOCAL.parse().unwrap(),
            GATEWAY.parse().unwrap(),
            now,
            UnixTime::since_unix_epoch(Duration::from_secs(1_790_000_000)),
            options,
        )
        .unwrap();
        Self {
            session,
            gw: responder(behind_nat),
            gw_sas: Vec::new(),
            hold_ike: false,
            held: Vec::new(),
            blackhole: false,
            now,
            events: Vec::new(),
            sent: Vec::new(),
            gateway_received: Vec::new(),
        }
    }

    pub fn gateway(port: u16) -> SocketAddr {
        SocketAddr::new(GATEWAY.parse::<SocketAddr>().unwrap().ip(), port)
    }

    /// Delivers everything the session sends until it is quiet.
    pub fn pump(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            self.sent.push((t.destination_port, t.payload.clone()));
            if self.hold_ike && !matches!(classify(&t.payload), Ok(Received::Esp { .. })) {
                self.held.push((t.destination_port, t.payload));
                continue;
            }
            self.deliver_to_gateway(t.destination_port, t.payload);
        }
        while let Some(e) = self.session.poll_event() {
            if let SessionEvent::Connected(info) = &e {
                let child = self.gw.child.as_ref().expect("the gateway has a Child SA");
                assert_eq!(child.gateway_spi, info.outbound_spi);
                assert_eq!(child.initiator_spi, info.inbound_spi);
            }
            self.events.push(e);
        }
        self.sync_gateway_sas();
    }

    /// Delivers the IKE datagrams held back so far.
    pub fn release(&mut self) {
        for (port, d) in std::mem::take(&mut self.held) {
            self.deliver_to_gateway(port, d);
        }
        self.pump();
    }

    /// Builds the gateway's ESP side of each Child SA it made since the last call.
    fn sync_gateway_sas(&mut self) {
        while self.gw_sas.len() < self.gw.children.len() {
            let child = self.gw.children[self.gw_sas.len()].clone();
            let params = ChildSaParams {
                inbound_spi: child.gateway_spi,
                outbound_spi: child.initiator_spi,
                encr: child.encr,
                integ: child.integ,
                esn: false,
                lifetime: Lifetime::default(),
            };
            let sa = ChildSa::new_responder(
                &params,
                &child.keys,
                Box::new(DeterministicRandom::from_u64(2)),
                self.now,
            )
            .unwrap();
            self.gw_sas.push(sa);
        }
    }

    fn deliver_to_gateway(&mut self, port: u16, mut payload: Vec<u8>) {
        if self.blackhole {
            return;
        }
        if port == 4500 {
            match classify(&payload) {
                Ok(Received::Esp { .. }) => {
                    let spi = corridor_esp::spi_of(&payload).unwrap();
                    let sa = self
                        .gw_sas
                        .iter_mut()
                        .find(|sa| sa.inbound.spi() == spi)
                        .expect("ESP for a Child SA the gateway knows");
                    let d = sa.inbound.decapsulate(&mut payload).unwrap();
                    self.gateway_received.push(d.inner(&payload).to_vec());
                    return;
                }
                Ok(Received::Keepalive) => return,
                _ => {}
            }
        }
        for mut reply in self.gw.handle(port, &payload) {
            let inner = self
                .session
                .handle_datagram(self.now, Self::gateway(port), &mut reply);
            assert!(inner.is_none(), "an IKE reply produced an inner packet");
            self.pump();
        }
        self.pump();
    }

    pub fn connect(&mut self) -> ConnectionInfo {
        self.session.connect(self.now);
        self.pump();
        let info = self
            .events
            .iter()
            .find_map(|e| match e {
                SessionEvent::Connected(info) => Some((**info).clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("not connected: {:?}", self.events));
        assert!(self.session.is_connected());
        info
    }

    /// Moves virtual time forward by `by` and fires the timer.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.session.handle_timeout(self.now);
        self.pump();
    }

    /// Sends inner packets through the tunnel; returns how many went out.
    pub fn send(&mut self, packets: &[Vec<u8>]) -> usize {
        let mut batch = DatagramBatch::new();
        let n =
            self.session
                .handle_tun_packets(self.now, packets.iter().map(|p| &p[..]), &mut batch);
        assert_eq!(n, batch.len());
        for d in batch.iter() {
            self.sent.push((4500, d.to_vec()));
            self.deliver_to_gateway(4500, d.to_vec());
        }
        self.pump();
        n
    }

    /// The gateway encapsulates `inner` (towards us) on its newest Child SA.
    pub fn gateway_encapsulate(&mut self, inner: &[u8]) -> Vec<u8> {
        let last = self.gw_sas.len() - 1;
        self.gateway_encapsulate_on(last, inner)
    }

    /// The gateway encapsulates `inner` on its Child SA number `index` (0: the first).
    pub fn gateway_encapsulate_on(&mut self, index: usize, inner: &[u8]) -> Vec<u8> {
        let sa = &mut self.gw_sas[index];
        let mut out = vec![0; sa.outbound.encapsulated_len(inner.len())];
        let n = sa.outbound.encapsulate(inner, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Delivers datagrams the gateway sends on its own (its requests).
    pub fn gateway_sends(&mut self, datagrams: Vec<Vec<u8>>) {
        let port = self.gw.last_port;
        for mut d in datagrams {
            let inner = self
                .session
                .handle_datagram(self.now, Self::gateway(port), &mut d);
            assert!(inner.is_none());
            self.pump();
        }
    }

    /// Hands a datagram from the gateway's port 4500 to the session; returns the inner
    /// packet if one came out.
    pub fn receive(&mut self, mut datagram: Vec<u8>) -> Option<Vec<u8>> {
        let inner = self
            .session
            .handle_datagram(self.now, Self::gateway(4500), &mut datagram)
            .map(|r| datagram[r].to_vec());
        self.pump();
        inner
    }
}
