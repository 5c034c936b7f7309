//! A small IKEv2 responder (gateway) for tests: IKE_SA_INIT with COOKIE and
//! INVALID_KE_PAYLOAD, IKE_AUTH with a PSK or with a certificate plus EAP-MSCHAPv2, one
//! Child SA with narrowing and a CFG_REPLY, fragmentation both ways, and gateway-started
//! INFORMATIONAL exchanges. Built on corridor-wire and corridor-crypto directly; it is
//! deliberately independent of the initiator's internals.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};

use corridor_crypto::{
    ChildSaKeys, DeterministicRandom, DhGroup, EncrAlgorithm, IntegAlgorithm, KeyExchange,
    PrfAlgorithm, Random, SecretBytes, SigningKey, SkCrypter, derive_ike_sa_keys,
};
use corridor_ike::{EspProposal, Identity, IkeProposal};
use corridor_wire::payload::*;
use corridor_wire::*;

use super::mschapv2::Authenticator;

#[path = "responder_auth.rs"]
mod auth;
#[path = "responder_rekey.rs"]
mod rekey;

pub use rekey::GatewayRekey;

pub enum ResponderAuth {
    Psk(Vec<u8>),
    /// The gateway signs with `key`; the initiator must sign too (its signature is
    /// checked against the certificate it sends; its chain is not validated here).
    Certificate {
        key: SigningKey,
        chain: Vec<Vec<u8>>,
    },
    Eap {
        key: SigningKey,
        chain: Vec<Vec<u8>>,
        users: Vec<(String, String)>,
    },
}

pub struct ResponderConfig {
    pub ike: Vec<IkeProposal>,
    pub esp: Vec<EspProposal>,
    pub preferred_group: Option<DhGroup>,
    pub require_cookie: bool,
    pub identity: Identity,
    pub auth: ResponderAuth,
    pub fragment_size: Option<usize>,
    pub assigned_ipv4: Ipv4Addr,
    pub dns: Ipv4Addr,
    pub domains: Vec<String>,
    pub remote_ts: IpRange,
    pub address: SocketAddr,
    pub sees_initiator_at: SocketAddr,
    /// Refuse an IDr naming another identity with AUTHENTICATION_FAILED, as strongSwan
    /// does when no connection matches.
    pub strict_idr: bool,
}

#[derive(Debug, Clone)]
pub struct ChildInfo {
    /// The SPI the gateway receives on (the initiator's outbound SPI).
    pub gateway_spi: u32,
    /// The initiator's inbound SPI.
    pub initiator_spi: u32,
    /// In the IKE initiator's orientation: `encr_i` protects what it sends.
    pub keys: ChildSaKeys,
    pub encr: EncrAlgorithm,
    pub integ: Option<IntegAlgorithm>,
}

/// An answer from the initiator to a request the gateway made.
#[derive(Debug, Clone)]
pub struct Answer {
    pub message_id: u32,
    pub deletes: Vec<(ProtocolId, Vec<u32>)>,
    pub payload_count: usize,
    pub notifies: Vec<NotifyType>,
}

enum Phase {
    AwaitAuth,
    Eap(Authenticator),
    Established,
    Deleted,
}

struct Sa {
    spi_i: u64,
    spi_r: u64,
    prf: PrfAlgorithm,
    encr: EncrAlgorithm,
    integ: Option<IntegAlgorithm>,
    out: SkCrypter,
    inp: SkCrypter,
    sk_d: SecretBytes,
    sk_pi: SecretBytes,
    sk_pr: SecretBytes,
    ni: Vec<u8>,
    nr: Vec<u8>,
    message1: Vec<u8>,
    message2: Vec<u8>,
    initiator_fragmentation: bool,
    peer_next_id: u32,
    last: Option<(u32, Vec<Vec<u8>>)>,
    next_request_id: u32,
    fragments: BTreeMap<u16, Vec<u8>>,
    fragment_first: PayloadType,
    phase: Phase,
    idi_body: Vec<u8>,
    child_request: Option<(EspProposalChoice, u32)>,
    /// The gateway is the original initiator of this IKE SA (after it rekeyed it).
    gateway_initiator: bool,
}

#[derive(Clone, Copy)]
struct EspProposalChoice {
    encr: EncrAlgorithm,
    integ: Option<IntegAlgorithm>,
    number: u8,
}

pub struct Responder {
    pub cfg: ResponderConfig,
    rng: DeterministicRandom,
    sa: Option<Sa>,
    /// The IKE SA replaced by the gateway's rekey, until deleted.
    old_sa: Option<Sa>,
    /// The gateway's IKE SA rekey in flight: (Message ID, new SPI, Ni, KE).
    ike_rekey: Option<(u32, u64, Vec<u8>, KeyExchange)>,
    /// IKE SA rekeys the gateway completed.
    pub ike_rekeys_done: usize,
    /// IKE SA rekeys the initiator started and we answered.
    pub initiator_ike_rekeys: usize,
    /// The initiator deleted an IKE SA replaced by a rekey.
    pub old_ike_deleted_by_initiator: bool,
    init_cache: Option<(Vec<u8>, Vec<u8>)>,
    pub cookies_sent: usize,
    pub invalid_ke_sent: usize,
    pub child: Option<ChildInfo>,
    pub answers: Vec<Answer>,
    pub exchanges: Vec<ExchangeType>,
    pub last_port: u16,
    pub deleted_by_initiator: bool,
    pub credentials_seen: usize,
    /// Every Child SA made, in order (`child` is the newest).
    pub children: Vec<ChildInfo>,
    /// ESP SPIs (the initiator's inbound ones) the initiator deleted.
    pub deleted_by_initiator_spis: Vec<u32>,
    /// Answer the initiator's CREATE_CHILD_SA with this error instead.
    pub refuse_rekey: Option<NotifyType>,
    /// The PFS group the gateway uses when it starts a rekey.
    pub rekey_pfs: Option<DhGroup>,
    /// The gateway's own rekey in flight, and what became of it.
    pub gateway_rekey: Option<GatewayRekey>,
    /// Error notifications the initiator answered our CREATE_CHILD_SA with.
    pub rekey_refusals: Vec<NotifyType>,
    /// CREATE_CHILD_SA requests of the initiator answered (with a new Child SA).
    pub rekeys_answered: usize,
    /// The nonces (Ni, Nr) of the last rekey exchange the initiator started.
    pub last_initiator_rekey_nonces: Option<(Vec<u8>, Vec<u8>)>,
    /// The datagrams of the last request the gateway made, as sent.
    pub last_request: Vec<Vec<u8>>,
    /// Stop answering anything (a dead gateway).
    pub silent: bool,
}

fn encr_transform(e: EncrAlgorithm) -> TransformBuilder {
    match e {
        EncrAlgorithm::AesGcm16 { key_bits } | EncrAlgorithm::AesCbc { key_bits } => {
            TransformBuilder::encr(EncrId::new(e.iana_id()), Some(key_bits))
        }
        _ => TransformBuilder::encr(EncrId::new(e.iana_id()), None),
    }
}

const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

impl Responder {
    pub fn new(cfg: ResponderConfig, seed: u64) -> Self {
        Self {
            cfg,
            rng: DeterministicRandom::from_u64(seed ^ 0x5eed),
            sa: None,
            old_sa: None,
            ike_rekey: None,
            ike_rekeys_done: 0,
            initiator_ike_rekeys: 0,
            old_ike_deleted_by_initiator: false,
            init_cache: None,
            cookies_sent: 0,
            invalid_ke_sent: 0,
            child: None,
            answers: Vec::new(),
            exchanges: Vec::new(),
            last_port: 500,
            deleted_by_initiator: false,
            credentials_seen: 0,
            children: Vec::new(),
            deleted_by_initiator_spis: Vec::new(),
            refuse_rekey: None,
            rekey_pfs: None,
            gateway_rekey: None,
            rekey_refusals: Vec::new(),
            rekeys_answered: 0,
            last_initiator_rekey_nonces: None,
            last_request: Vec::new(),
            silent: false,
        }
    }

    fn random(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.rng.fill(&mut v);
        v
    }

    pub fn is_established(&self) -> bool {
        matches!(self.sa.as_ref().map(|s| &s.phase), Some(Phase::Established))
    }

    /// Handles a datagram that arrived on `port`; returns the datagrams to send back.
    pub fn handle(&mut self, port: u16, datagram: &[u8]) -> Vec<Vec<u8>> {
        let bytes = if port == 4500 {
            match udp_encap::strip_non_esp_marker(datagram) {
                Some(b) => b,
                None => return vec![],
            }
        } else {
            datagram
        };
        self.last_port = port;
        if self.silent {
            return vec![];
        }
        let Ok(msg) = Message::parse(bytes) else {
            return vec![];
        };
        let h = msg.header();
        let use_old = self
            .old_sa
            .as_ref()
            .is_some_and(|o| o.spi_i == h.spi_i && o.spi_r == h.spi_r);
        if use_old {
            std::mem::swap(&mut self.sa, &mut self.old_sa);
        }
        let deleted_before = self.deleted_by_initiator;
        let out = if msg.is_response() {
            self.handle_answer(&msg);
            vec![]
        } else if msg.exchange_type() == ExchangeType::IKE_SA_INIT {
            self.sa_init(&msg).into_iter().collect()
        } else {
            self.protected_request(&msg)
        };
        if use_old {
            std::mem::swap(&mut self.sa, &mut self.old_sa);
            if self.deleted_by_initiator && !deleted_before {
                self.deleted_by_initiator = false;
                self.old_ike_deleted_by_initiator = true;
            }
        }
        out.into_iter().map(|m| self.frame(m)).collect()
    }

    fn frame(&self, m: Vec<u8>) -> Vec<u8> {
        if self.last_port == 4500 {
            let mut d = Vec::new();
            udp_encap::add_non_esp_marker(&m, &mut d);
            d
        } else {
            m
        }
    }

    fn plain_reply(spi_i: u64, spi_r: u64, payloads: Vec<PayloadBuilder>) -> Vec<u8> {
        let mut b = MessageBuilder::new(
            ExchangeType::IKE_SA_INIT,
            Flags::new(false, true),
            spi_i,
            spi_r,
            0,
        );
        b.payloads = payloads;
        b.to_bytes().unwrap()
    }

    fn cookie_for(&self, spi_i: u64) -> Vec<u8> {
        PrfAlgorithm::HmacSha256
            .prf(b"cookie secret", &spi_i.to_be_bytes())
            .expose()[..16]
            .to_vec()
    }

    fn select_ike(
        &self,
        sa: &payload::Sa<'_>,
        ke_group: u16,
    ) -> Option<(
        ProposalBuilder,
        PrfAlgorithm,
        EncrAlgorithm,
        Option<IntegAlgorithm>,
        DhGroup,
    )> {
        for p in sa.proposals() {
            let encr = p.transforms_of(TransformType::ENCR).find_map(|t| {
                EncrAlgorithm::from_iana_id(t.id(), t.key_length())
                    .ok()
                    .filter(|e| self.cfg.ike.iter().any(|o| o.encryption.contains(e)))
            });
            let prf = p.transforms_of(TransformType::PRF).find_map(|t| {
                PrfAlgorithm::from_iana_id(t.id())
                    .filter(|x| self.cfg.ike.iter().any(|o| o.prf.contains(x)))
            });
            let integ = p.transforms_of(TransformType::INTEG).find_map(|t| {
                IntegAlgorithm::from_iana_id(t.id())
                    .filter(|x| self.cfg.ike.iter().any(|o| o.integrity.contains(x)))
            });
            let groups: Vec<DhGroup> = p
                .transforms_of(TransformType::KE)
                .filter_map(|t| DhGroup::from_iana_id(t.id()))
                .filter(|g| self.cfg.ike.iter().any(|o| o.groups.contains(g)))
                .collect();
            let group = match self.cfg.preferred_group {
                Some(g) if groups.contains(&g) => Some(g),
                _ => groups
                    .iter()
                    .copied()
                    .find(|g| g.iana_id() == ke_group)
                    .or(groups.first().copied()),
            };
            let (Some(encr), Some(prf), Some(group)) = (encr, prf, group) else {
                continue;
            };
            let integ = if encr.is_aead() { None } else { Some(integ?) };
            let mut t = vec![
                encr_transform(encr),
                TransformBuilder::prf(PrfId::new(prf.iana_id())),
            ];
            if let Some(i) = integ {
                t.push(TransformBuilder::integ(IntegId::new(i.iana_id())));
            }
            t.push(TransformBuilder::ke(KeMethod::new(group.iana_id())));
            return Some((ProposalBuilder::ike(p.number(), t), prf, encr, integ, group));
        }
        None
    }

    fn sa_init(&mut self, msg: &Message<'_>) -> Option<Vec<u8>> {
        self.exchanges.push(ExchangeType::IKE_SA_INIT);
        let h = msg.header();
        if let Some((req, resp)) = &self.init_cache
            && req.as_slice() == msg.bytes()
        {
            return Some(resp.clone());
        }
        if self.cfg.require_cookie {
            let ok = matches!(msg.payloads().first(), Some(Payload::Notify(n))
                if n.notify_type() == NotifyType::COOKIE && n.data() == self.cookie_for(h.spi_i).as_slice());
            if !ok {
                self.cookies_sent += 1;
                let c = self.cookie_for(h.spi_i);
                return Some(Self::plain_reply(
                    h.spi_i,
                    0,
                    vec![PayloadBuilder::Notify(NotifyBuilder::cookie(&c))],
                ));
            }
        }
        let sa = msg.payloads().iter().find_map(|p| {
            if let Payload::Sa(s) = p {
                Some(s)
            } else {
                None
            }
        })?;
        let ke = msg.payloads().iter().find_map(|p| {
            if let Payload::Ke(k) = p {
                Some(k)
            } else {
                None
            }
        })?;
        let ni = msg.payloads().iter().find_map(|p| {
            if let Payload::Nonce(n) = p {
                Some(n.data())
            } else {
                None
            }
        })?;
        let Some((proposal, prf, encr, integ, group)) = self.select_ike(sa, ke.method().get())
        else {
            return Some(Self::plain_reply(
                h.spi_i,
                0,
                vec![PayloadBuilder::Notify(NotifyBuilder::new(
                    NotifyType::NO_PROPOSAL_CHOSEN,
                ))],
            ));
        };
        if ke.method().get() != group.iana_id() {
            self.invalid_ke_sent += 1;
            return Some(Self::plain_reply(
                h.spi_i,
                0,
                vec![PayloadBuilder::Notify(NotifyBuilder::invalid_ke_payload(
                    KeMethod::new(group.iana_id()),
                ))],
            ));
        }
        let initiator_fragmentation = msg
            .notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
            .is_some();
        let our_ke = KeyExchange::generate(group, &mut self.rng).unwrap();
        let shared = our_ke.agree(ke.data()).ok()?;
        let nr = self.random(32);
        let mut spi = [0u8; 8];
        self.rng.fill(&mut spi);
        let spi_r = u64::from_be_bytes(spi) | 1;
        let (_, keys) = derive_ike_sa_keys(
            prf,
            encr,
            integ,
            shared.expose(),
            ni,
            &nr,
            h.spi_i.to_be_bytes(),
            spi_r.to_be_bytes(),
        )
        .unwrap();
        let mut payloads = vec![
            PayloadBuilder::Sa(SaBuilder::new(vec![proposal])),
            PayloadBuilder::Ke(KeBuilder {
                method: KeMethod::new(group.iana_id()),
                data: our_ke.public_key().to_vec(),
            }),
            PayloadBuilder::Nonce(nr.clone()),
            PayloadBuilder::Notify(
                NotifyBuilder::new(NotifyType::NAT_DETECTION_SOURCE_IP).with_data(
                    corridor_ike::nat::nat_hash(h.spi_i, spi_r, self.cfg.address),
                ),
            ),
            PayloadBuilder::Notify(
                NotifyBuilder::new(NotifyType::NAT_DETECTION_DESTINATION_IP).with_data(
                    corridor_ike::nat::nat_hash(h.spi_i, spi_r, self.cfg.sees_initiator_at),
                ),
            ),
            PayloadBuilder::Notify(NotifyBuilder::signature_hash_algorithms(&[
                HashAlgorithm::SHA2_256,
                HashAlgorithm::SHA2_384,
            ])),
        ];
        if self.cfg.fragment_size.is_some() {
            payloads.push(PayloadBuilder::Notify(NotifyBuilder::new(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
            )));
        }
        let response = Self::plain_reply(h.spi_i, spi_r, payloads);
        let integ_key = |k: &SecretBytes| integ.map(|_| k.expose().to_vec());
        let ai = integ_key(&keys.sk_ai);
        let ar = integ_key(&keys.sk_ar);
        self.sa = Some(Sa {
            spi_i: h.spi_i,
            spi_r,
            prf,
            encr,
            integ,
            out: SkCrypter::new(encr, integ, keys.sk_er.expose(), ar.as_deref()).unwrap(),
            inp: SkCrypter::new(encr, integ, keys.sk_ei.expose(), ai.as_deref()).unwrap(),
            sk_d: keys.sk_d,
            sk_pi: keys.sk_pi,
            sk_pr: keys.sk_pr,
            ni: ni.to_vec(),
            nr,
            message1: msg.bytes().to_vec(),
            message2: response.clone(),
            initiator_fragmentation,
            peer_next_id: 1,
            last: None,
            next_request_id: 0,
            fragments: BTreeMap::new(),
            fragment_first: PayloadType::NONE,
            phase: Phase::AwaitAuth,
            idi_body: Vec::new(),
            child_request: None,
            gateway_initiator: false,
        });
        self.init_cache = Some((msg.bytes().to_vec(), response.clone()));
        Some(response)
    }

    /// Decrypts a protected message (reassembling fragments); `None` when incomplete
    /// or not authentic.
    fn open(sa: &mut Sa, msg: &Message<'_>) -> Option<(PayloadType, Vec<u8>)> {
        let aad = msg.associated_data()?;
        if let Some(sk) = msg.encrypted() {
            let pt = sa.inp.open(aad, sk.content()).ok()?;
            return Some((sk.first_inner(), pt));
        }
        let f = msg.encrypted_fragment()?;
        let pt = sa.inp.open(aad, f.content()).ok()?;
        if f.number() == 1 {
            sa.fragment_first = f.first_inner();
        }
        sa.fragments.insert(f.number(), pt);
        if sa.fragments.len() == usize::from(f.total()) {
            let whole: Vec<u8> = std::mem::take(&mut sa.fragments)
                .into_values()
                .flatten()
                .collect();
            return Some((sa.fragment_first, whole));
        }
        None
    }

    fn seal(
        &mut self,
        exchange: ExchangeType,
        response: bool,
        message_id: u32,
        inner: &[PayloadBuilder],
    ) -> Vec<Vec<u8>> {
        let frag = self.cfg.fragment_size;
        let sa = self.sa.as_mut().unwrap();
        let header = MessageBuilder::new(
            exchange,
            Flags::new(sa.gateway_initiator, response),
            sa.spi_i,
            sa.spi_r,
            message_id,
        );
        let mut pt = Vec::new();
        let first = encode_inner_payloads(inner, &mut pt).unwrap();
        let whole = 32 + sa.out.encrypted_len(pt.len());
        match frag {
            Some(max) if sa.initiator_fragmentation && whole > max => {
                let chunk = max - 36 - sa.out.encrypted_len(0) - 16;
                let total = pt.len().div_ceil(chunk) as u16;
                pt.chunks(chunk)
                    .enumerate()
                    .map(|(i, part)| {
                        let n = i as u16 + 1;
                        let next = if n == 1 { first } else { PayloadType::NONE };
                        let mut out = Vec::new();
                        let aad = header
                            .encode_encrypted_fragment(
                                next,
                                n,
                                total,
                                sa.out.encrypted_len(part.len()),
                                &mut out,
                            )
                            .unwrap();
                        let body = sa.out.seal(&mut self.rng, &out[aad], part).unwrap();
                        out.extend_from_slice(&body);
                        out
                    })
                    .collect()
            }
            _ => {
                let mut out = Vec::new();
                let aad = header
                    .encode_encrypted(first, sa.out.encrypted_len(pt.len()), &mut out)
                    .unwrap();
                let body = sa.out.seal(&mut self.rng, &out[aad], &pt).unwrap();
                out.extend_from_slice(&body);
                vec![out]
            }
        }
    }

    fn respond(
        &mut self,
        exchange: ExchangeType,
        message_id: u32,
        inner: Vec<PayloadBuilder>,
    ) -> Vec<Vec<u8>> {
        let out = self.seal(exchange, true, message_id, &inner);
        let sa = self.sa.as_mut().unwrap();
        sa.last = Some((message_id, out.clone()));
        sa.peer_next_id = message_id + 1;
        out
    }

    fn protected_request(&mut self, msg: &Message<'_>) -> Vec<Vec<u8>> {
        let Some(sa) = self.sa.as_mut() else {
            return vec![];
        };
        let h = msg.header();
        if h.spi_i != sa.spi_i
            || h.spi_r != sa.spi_r
            || h.flags.is_initiator() == sa.gateway_initiator
        {
            return vec![];
        }
        let Some((first, pt)) = Self::open(sa, msg) else {
            return vec![];
        };
        if let Some((id, out)) = &sa.last
            && *id == h.message_id
        {
            return out.clone();
        }
        if h.message_id != sa.peer_next_id {
            return vec![];
        }
        let Ok(payloads) = parse_inner_payloads(first, &pt) else {
            return vec![];
        };
        self.exchanges.push(msg.exchange_type());
        match msg.exchange_type() {
            ExchangeType::IKE_AUTH => self.ike_auth(h.message_id, &payloads),
            ExchangeType::INFORMATIONAL => {
                if payloads
                    .iter()
                    .any(|p| matches!(p, Payload::Delete(d) if d.is_ike()))
                {
                    self.deleted_by_initiator = true;
                    self.sa.as_mut().unwrap().phase = Phase::Deleted;
                }
                let reply = self.esp_deletes(&payloads);
                self.respond(ExchangeType::INFORMATIONAL, h.message_id, reply)
            }
            ExchangeType::CREATE_CHILD_SA => self.create_child_sa(h.message_id, &payloads),
            _ => vec![],
        }
    }

    /// A request from the gateway: INFORMATIONAL with `inner`.
    pub fn request(&mut self, inner: Vec<PayloadBuilder>) -> Vec<Vec<u8>> {
        self.request_exchange(ExchangeType::INFORMATIONAL, inner)
    }

    /// A request from the gateway of `exchange` with `inner`, with the next Message ID.
    pub fn request_exchange(
        &mut self,
        exchange: ExchangeType,
        inner: Vec<PayloadBuilder>,
    ) -> Vec<Vec<u8>> {
        let id = {
            let sa = self.sa.as_mut().unwrap();
            let id = sa.next_request_id;
            sa.next_request_id += 1;
            id
        };
        let out = self.seal(exchange, false, id, &inner);
        let out: Vec<Vec<u8>> = out.into_iter().map(|m| self.frame(m)).collect();
        self.last_request = out.clone();
        out
    }

    /// The last request again (as a retransmission would send it): re-sealed with the
    /// same Message ID.
    pub fn repeat_request(&mut self, inner: Vec<PayloadBuilder>) -> Vec<Vec<u8>> {
        let id = self.sa.as_ref().unwrap().next_request_id - 1;
        let out = self.seal(ExchangeType::INFORMATIONAL, false, id, &inner);
        out.into_iter().map(|m| self.frame(m)).collect()
    }

    fn handle_answer(&mut self, msg: &Message<'_>) {
        if self.silent {
            return;
        }
        let Some(sa) = self.sa.as_mut() else { return };
        let Some((first, pt)) = Self::open(sa, msg) else {
            return;
        };
        let Ok(payloads) = parse_inner_payloads(first, &pt) else {
            return;
        };
        if msg.exchange_type() == ExchangeType::CREATE_CHILD_SA {
            self.rekey_answer(msg.header().message_id, &payloads);
            self.ike_rekey_answer(msg.header().message_id, &payloads);
        }
        self.answers.push(Answer {
            message_id: msg.header().message_id,
            deletes: payloads
                .iter()
                .filter_map(|p| {
                    if let Payload::Delete(d) = p {
                        Some((d.protocol(), d.spis().collect()))
                    } else {
                        None
                    }
                })
                .collect(),
            payload_count: payloads.len(),
            notifies: payloads
                .iter()
                .filter_map(|p| match p {
                    Payload::Notify(n) => Some(n.notify_type()),
                    _ => None,
                })
                .collect(),
        });
    }

    /// Protects arbitrary bytes as a request with a chosen Message ID (for hostile tests).
    pub fn request_with_id(&mut self, message_id: u32, inner: Vec<PayloadBuilder>) -> Vec<Vec<u8>> {
        let out = self.seal(ExchangeType::INFORMATIONAL, false, message_id, &inner);
        out.into_iter().map(|m| self.frame(m)).collect()
    }

    pub fn spis(&self) -> Option<(u64, u64)> {
        self.sa.as_ref().map(|s| (s.spi_i, s.spi_r))
    }
}
