//! EAP-TLS end to end: our peer against a minimal EAP-TLS server built here on a rustls
//! `ServerConnection`, with a test PKI from rcgen. The server frames and fragments on its
//! own (it does not reuse the crate's framing) so that a framing bug cannot hide by being
//! the same on both sides.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::Arc;

use corridor_eap::{Credentials, EapConfig, EapError, EapPeer, EapState, Random};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, RootCertStore, ServerConfig, ServerConnection, SupportedProtocolVersion,
};

const GATEWAY: &str = "vpn.example.org";

struct Pki {
    ca: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
    client_chain: Vec<CertificateDer<'static>>,
    client_key: Vec<u8>,
}

fn ca(cn: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn pki(cn: &str) -> Pki {
    let ca = ca(cn);
    let server_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![GATEWAY.to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = params.signed_by(&server_key, &ca).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["alice.example.org".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = params.signed_by(&client_key, &ca).unwrap();
    Pki {
        ca: ca.der().clone(),
        server_chain: vec![server.der().clone(), ca.der().clone()],
        server_key: server_key.serialize_der(),
        client_chain: vec![client.der().clone()],
        client_key: client_key.serialize_der(),
    }
}

fn key(der: &[u8]) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.to_vec()))
}

fn roots(ca: &CertificateDer<'static>) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    Arc::new(roots)
}

fn server_config(
    pki: &Pki,
    trusted_client_ca: &Pki,
    version: &'static SupportedProtocolVersion,
) -> Arc<ServerConfig> {
    let verifier = WebPkiClientVerifier::builder(roots(&trusted_client_ca.ca))
        .build()
        .unwrap();
    Arc::new(
        ServerConfig::builder_with_protocol_versions(&[version])
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.server_chain.clone(), key(&pki.server_key))
            .unwrap(),
    )
}

fn client_config(
    client: &Pki,
    trusted_ca: &Pki,
    version: &'static SupportedProtocolVersion,
) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_protocol_versions(&[version])
            .with_root_certificates(roots(&trusted_ca.ca))
            .with_client_auth_cert(client.client_chain.clone(), key(&client.client_key))
            .unwrap(),
    )
}

struct NoRandom;
impl Random for NoRandom {
    fn fill(&mut self, _: &mut [u8]) {
        panic!("EAP-TLS draws no randomness through the injected RNG");
    }
}

fn peer(config: Arc<ClientConfig>, server_name: &str, max_fragment: usize) -> EapPeer {
    let mut config = EapConfig::new(
        "anonymous@example.org",
        Credentials::Tls {
            config,
            server_name: ServerName::try_from(server_name.to_owned()).unwrap(),
        },
    );
    config.max_tls_fragment = max_fragment;
    EapPeer::new(config, Box::new(NoRandom))
}

/// A minimal EAP-TLS server (RFC 5216 / RFC 9190) for tests.
struct Gateway {
    conn: ServerConnection,
    id: u8,
    max_fragment: usize,
    /// Put the L flag and length on every packet, as some servers do.
    length_always: bool,
    /// Misbehave: never send the TLS 1.3 success indication.
    skip_indication: bool,
    out: Vec<u8>,
    sent: usize,
    incoming: Vec<u8>,
    indication_sent: bool,
    failed: bool,
    acks_sent: usize,
    acks_received: usize,
}

impl Gateway {
    fn new(config: Arc<ServerConfig>, max_fragment: usize) -> Self {
        Self {
            conn: ServerConnection::new(config).unwrap(),
            id: 0,
            max_fragment,
            length_always: false,
            skip_indication: false,
            out: Vec::new(),
            sent: 0,
            incoming: Vec::new(),
            indication_sent: false,
            failed: false,
            acks_sent: 0,
            acks_received: 0,
        }
    }

    fn request(&mut self, type_data: &[u8]) -> Vec<u8> {
        self.id = self.id.wrapping_add(1);
        let len = u16::try_from(5 + type_data.len()).unwrap();
        let mut out = vec![1, self.id];
        out.extend_from_slice(&len.to_be_bytes());
        out.push(13);
        out.extend_from_slice(type_data);
        out
    }

    fn code_only(&mut self, code: u8) -> Vec<u8> {
        vec![code, self.id, 0, 4]
    }

    fn identity_request(&mut self) -> Vec<u8> {
        vec![1, 0, 0, 5, 1]
    }

    fn start(&mut self) -> Vec<u8> {
        self.request(&[0x20])
    }

    fn next_fragment(&mut self) -> Vec<u8> {
        let remaining = self.out.len() - self.sent;
        let take = remaining.min(self.max_fragment);
        let more = take < remaining;
        let mut data = Vec::new();
        let with_length = self.length_always || (self.sent == 0 && more);
        data.push(if more { 0x40 } else { 0 } | if with_length { 0x80 } else { 0 });
        if with_length {
            data.extend_from_slice(&u32::try_from(self.out.len()).unwrap().to_be_bytes());
        }
        data.extend_from_slice(&self.out[self.sent..self.sent + take]);
        self.sent += take;
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
        }
        self.request(&data)
    }

    /// Handles the peer's Response and returns the next Request, Success or Failure.
    fn on_response(&mut self, resp: &[u8]) -> Vec<u8> {
        assert_eq!(resp[0], 2, "a Response");
        assert_eq!(resp[1], self.id, "the Response echoes the Identifier");
        assert_eq!(
            usize::from(u16::from_be_bytes([resp[2], resp[3]])),
            resp.len()
        );
        if resp[4] == 1 {
            return self.start();
        }
        assert_eq!(resp[4], 13, "an EAP-TLS Response");
        if self.failed {
            return self.code_only(4);
        }
        let flags = resp[5];
        let mut data = &resp[6..];
        if flags & 0x80 != 0 {
            data = &data[4..];
        }
        if self.sent > 0 {
            assert!(
                data.is_empty() && flags == 0,
                "an ACK while we send fragments"
            );
            self.acks_received += 1;
            return self.next_fragment();
        }
        self.incoming.extend_from_slice(data);
        if flags & 0x40 != 0 {
            self.acks_sent += 1;
            return self.request(&[0]);
        }
        let message = std::mem::take(&mut self.incoming);
        let mut input = &message[..];
        while !input.is_empty() {
            self.conn.read_tls(&mut input).unwrap();
            if self.conn.process_new_packets().is_err() {
                self.failed = true;
                break;
            }
        }
        let tls13 = self.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        if !self.failed
            && !self.conn.is_handshaking()
            && tls13
            && !self.indication_sent
            && !self.skip_indication
        {
            // RFC 9190 §2.5: one octet of application data, 0x00.
            self.conn.writer().write_all(&[0]).unwrap();
            self.indication_sent = true;
        }
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.out).unwrap();
        }
        if !self.out.is_empty() {
            return self.next_fragment();
        }
        if self.failed || self.conn.is_handshaking() {
            return self.code_only(4);
        }
        self.code_only(3)
    }

    fn msk(&self) -> Vec<u8> {
        let tls13 = self.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        let (label, context): (&[u8], Option<&[u8]>) = if tls13 {
            (b"EXPORTER_EAP_TLS_Key_Material", Some(&[13]))
        } else {
            (b"client EAP encryption", None)
        };
        let km = self
            .conn
            .export_keying_material([0u8; 128], label, context)
            .unwrap();
        km[..64].to_vec()
    }
}

/// Runs the conversation until the peer stops; returns its last result.
fn run(peer: &mut EapPeer, gw: &mut Gateway) -> Result<(), EapError> {
    let mut request = gw.identity_request();
    for _ in 0..500 {
        match peer.handle(&request)? {
            Some(response) => request = gw.on_response(&response),
            None => return Ok(()),
        }
    }
    panic!("the conversation did not end");
}

fn handshake(version: &'static SupportedProtocolVersion, server_frag: usize, client_frag: usize) {
    let pki = pki("Test CA");
    let mut gw = Gateway::new(server_config(&pki, &pki, version), server_frag);
    let mut peer = peer(client_config(&pki, &pki, version), GATEWAY, client_frag);
    run(&mut peer, &mut gw).unwrap();
    let EapState::Succeeded { msk } = peer.state() else {
        panic!("{:?}", peer.state())
    };
    assert_eq!(msk.as_bytes().len(), 64);
    assert_eq!(msk.as_bytes(), gw.msk(), "both sides derive the same MSK");
    assert!(peer.is_mutual());
    assert!(gw.acks_received > 0, "our flight was fragmented");
    assert!(
        gw.acks_sent > 0 || server_frag > 10_000,
        "the gateway's flight was fragmented"
    );
}

#[test]
fn tls12_fragmented_both_ways() {
    handshake(&rustls::version::TLS12, 300, 200);
}

#[test]
fn tls13_fragmented_both_ways() {
    handshake(&rustls::version::TLS13, 300, 200);
}

#[test]
fn tls13_with_length_on_every_packet_and_default_fragment() {
    let pki = pki("Test CA");
    let mut gw = Gateway::new(server_config(&pki, &pki, &rustls::version::TLS13), 256);
    gw.length_always = true;
    let mut peer = peer(
        client_config(&pki, &pki, &rustls::version::TLS13),
        GATEWAY,
        1000,
    );
    run(&mut peer, &mut gw).unwrap();
    assert_eq!(peer.msk().unwrap().as_bytes(), gw.msk());
}

#[test]
fn each_run_derives_a_fresh_msk_matching_the_gateway() {
    // Two independent runs give different MSKs (fresh randoms), each matching its gateway.
    let pki = pki("Test CA");
    let mut msks = Vec::new();
    for _ in 0..2 {
        let mut gw = Gateway::new(server_config(&pki, &pki, &rustls::version::TLS13), 4000);
        let mut p = peer(
            client_config(&pki, &pki, &rustls::version::TLS13),
            GATEWAY,
            4000,
        );
        run(&mut p, &mut gw).unwrap();
        assert_eq!(p.msk().unwrap().as_bytes(), gw.msk());
        msks.push(gw.msk());
    }
    assert_ne!(msks[0], msks[1]);
}

#[test]
fn gateway_certificate_from_an_unknown_ca_is_refused() {
    let gateway_pki = pki("Gateway CA");
    let other = pki("Some Other CA");
    let mut gw = Gateway::new(
        server_config(&gateway_pki, &gateway_pki, &rustls::version::TLS13),
        500,
    );
    let mut peer = peer(
        client_config(&gateway_pki, &other, &rustls::version::TLS13),
        GATEWAY,
        500,
    );
    let err = run(&mut peer, &mut gw).unwrap_err();
    assert!(matches!(err, EapError::TlsCertificate(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("the gateway's TLS certificate was not accepted"),
        "{err}"
    );
    assert!(matches!(peer.state(), EapState::Failed(_)));
    assert!(peer.msk().is_none());
}

#[test]
fn gateway_certificate_for_another_name_is_refused() {
    let pki = pki("Test CA");
    let mut gw = Gateway::new(server_config(&pki, &pki, &rustls::version::TLS12), 500);
    let mut peer = peer(
        client_config(&pki, &pki, &rustls::version::TLS12),
        "other.example.org",
        500,
    );
    let err = run(&mut peer, &mut gw).unwrap_err();
    assert!(matches!(err, EapError::TlsCertificate(_)), "{err}");
}

#[test]
fn client_certificate_refused_by_the_gateway() {
    let gateway_pki = pki("Gateway CA");
    let stranger = pki("Stranger CA");
    // The gateway trusts only its own CA; our client certificate comes from another one.
    let mut gw = Gateway::new(
        server_config(&gateway_pki, &gateway_pki, &rustls::version::TLS13),
        500,
    );
    let mut peer = peer(
        client_config(&stranger, &gateway_pki, &rustls::version::TLS13),
        GATEWAY,
        500,
    );
    let err = run(&mut peer, &mut gw).unwrap_err();
    assert!(matches!(err, EapError::TlsAlert(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("the gateway aborted the TLS handshake"),
        "{err}"
    );
    assert!(peer.msk().is_none());
}

#[test]
fn tls13_success_without_the_success_indication_is_refused() {
    let pki = pki("Test CA");
    let mut gw = Gateway::new(server_config(&pki, &pki, &rustls::version::TLS13), 4000);
    gw.skip_indication = true;
    let mut peer = peer(
        client_config(&pki, &pki, &rustls::version::TLS13),
        GATEWAY,
        4000,
    );
    let err = run(&mut peer, &mut gw).unwrap_err();
    assert!(matches!(err, EapError::PeerMisbehaved(_)), "{err}");
    assert!(err.to_string().contains("success indication"), "{err}");
}

#[test]
fn success_in_mid_handshake_is_refused() {
    let pki = pki("Test CA");
    let mut gw = Gateway::new(server_config(&pki, &pki, &rustls::version::TLS12), 500);
    let mut peer = peer(
        client_config(&pki, &pki, &rustls::version::TLS12),
        GATEWAY,
        500,
    );
    let start = gw.start();
    peer.handle(&start).unwrap().unwrap();
    let err = peer.handle(&[3, start[1], 0, 4]).unwrap_err();
    assert!(matches!(err, EapError::PeerMisbehaved(_)), "{err}");
    assert!(
        err.to_string()
            .contains("before the TLS handshake finished"),
        "{err}"
    );
    assert!(peer.msk().is_none());
}

#[test]
fn retransmitted_tls_request_gets_the_same_response() {
    let pki = pki("Test CA");
    let mut gw = Gateway::new(server_config(&pki, &pki, &rustls::version::TLS13), 500);
    let mut peer = peer(
        client_config(&pki, &pki, &rustls::version::TLS13),
        GATEWAY,
        500,
    );
    let start = gw.start();
    let first = peer.handle(&start).unwrap().unwrap();
    assert_eq!(
        peer.handle(&start).unwrap().unwrap(),
        first,
        "same ClientHello fragment"
    );
    // The conversation then completes normally.
    let mut request = gw.on_response(&first);
    while let Some(response) = peer.handle(&request).unwrap() {
        request = gw.on_response(&response);
    }
    assert_eq!(peer.msk().unwrap().as_bytes(), gw.msk());
}
