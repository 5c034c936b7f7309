//! CREATE_CHILD_SA on the test responder: answering the initiator's Child SA rekeys
//! (with or without PFS), starting its own on demand, and the Deletes that follow.

use corridor_crypto::{
    ChildSaKeys, DhGroup, KeyExchange, Random, SecretBytes, SkCrypter, derive_child_sa_keys,
    derive_rekeyed_ike_sa_keys,
};
use corridor_wire::payload::*;
use corridor_wire::*;

use super::{ChildInfo, EspProposalChoice, Phase, Responder, Sa, encr_transform};

/// The gateway's own Child SA rekey.
pub struct GatewayRekey {
    pub message_id: u32,
    /// The gateway's inbound SPI of the Child SA being replaced.
    pub old_gateway_spi: u32,
    pub new_gateway_spi: u32,
    pub ni: Vec<u8>,
    ke: Option<KeyExchange>,
    choice: EspProposalChoice,
    /// Set once the initiator answered with a new Child SA: its Nr.
    pub nr: Option<Vec<u8>>,
}

fn find<'a, T>(
    payloads: &'a [Payload<'a>],
    pick: impl Fn(&'a Payload<'a>) -> Option<T>,
) -> Option<T> {
    payloads.iter().find_map(pick)
}

fn swap(keys: ChildSaKeys) -> ChildSaKeys {
    ChildSaKeys {
        encr_i: keys.encr_r,
        integ_i: keys.integ_r,
        encr_r: keys.encr_i,
        integ_r: keys.integ_i,
    }
}

impl Responder {
    fn new_gateway_spi(&mut self) -> u32 {
        let mut spi = [0u8; 4];
        self.rng.fill(&mut spi);
        u32::from_be_bytes(spi) | 0x1000
    }

    fn child_keys(
        &self,
        choice: EspProposalChoice,
        shared: Option<&[u8]>,
        ni: &[u8],
        nr: &[u8],
    ) -> ChildSaKeys {
        let sa = self.sa.as_ref().unwrap();
        derive_child_sa_keys(
            sa.prf,
            &sa.sk_d,
            shared,
            ni,
            nr,
            choice.encr.key_len(),
            choice.integ.map_or(0, |i| i.key_len()),
        )
        .unwrap()
    }

    fn transforms(choice: EspProposalChoice, group: Option<DhGroup>) -> Vec<TransformBuilder> {
        let mut t = vec![encr_transform(choice.encr)];
        if let Some(i) = choice.integ {
            t.push(TransformBuilder::integ(IntegId::new(i.iana_id())));
        }
        t.push(TransformBuilder::esn(EsnId::NO_ESN));
        if let Some(g) = group {
            t.push(TransformBuilder::ke(KeMethod::new(g.iana_id())));
        }
        t
    }

    fn record(&mut self, info: ChildInfo) {
        self.children.push(info.clone());
        self.child = Some(info);
    }

    /// Answers Delete payloads for ESP with the paired SPIs (RFC 7296 §1.4.1).
    pub(super) fn esp_deletes(&mut self, payloads: &[Payload<'_>]) -> Vec<PayloadBuilder> {
        let mut ours = Vec::new();
        for p in payloads {
            let Payload::Delete(d) = p else { continue };
            if d.protocol() != ProtocolId::ESP {
                continue;
            }
            for spi in d.spis() {
                self.deleted_by_initiator_spis.push(spi);
                if let Some(c) = self.children.iter().find(|c| c.initiator_spi == spi) {
                    ours.push(c.gateway_spi);
                }
            }
        }
        if ours.is_empty() {
            vec![]
        } else {
            vec![PayloadBuilder::Delete(DeleteBuilder::esp(ours))]
        }
    }

    /// The initiator's CREATE_CHILD_SA: a Child SA rekey, or a new Child SA (RFC 7296
    /// §1.3.1: no REKEY_SA notification).
    pub(super) fn create_child_sa(
        &mut self,
        message_id: u32,
        payloads: &[Payload<'_>],
    ) -> Vec<Vec<u8>> {
        let refuse = |s: &mut Self, n: NotifyType| {
            s.respond(
                ExchangeType::CREATE_CHILD_SA,
                message_id,
                vec![PayloadBuilder::Notify(NotifyBuilder::new(n))],
            )
        };
        if let Some(n) = self.refuse_rekey {
            return refuse(self, n);
        }
        let ike = find(payloads, |p| match p {
            Payload::Sa(s) => Some(s.proposals().first()?.protocol() == ProtocolId::IKE),
            _ => None,
        });
        if ike == Some(true) {
            return self.answer_ike_rekey(message_id, payloads);
        }
        let rekey = find(payloads, |p| match p {
            Payload::Notify(n) if n.notify_type() == NotifyType::REKEY_SA => n.child_spi().ok(),
            _ => None,
        });
        if let Some((_, spi)) = rekey
            && !self.children.iter().any(|c| c.initiator_spi == spi)
        {
            return refuse(self, NotifyType::CHILD_SA_NOT_FOUND);
        }
        let sa = find(payloads, |p| match p {
            Payload::Sa(s) => Some(s),
            _ => None,
        });
        let ni = find(payloads, |p| match p {
            Payload::Nonce(n) => Some(n.data().to_vec()),
            _ => None,
        });
        let kei = find(payloads, |p| match p {
            Payload::Ke(k) => Some(k),
            _ => None,
        });
        let (Some(sa), Some(ni)) = (sa, ni) else {
            return refuse(self, NotifyType::INVALID_SYNTAX);
        };
        let Some((choice, initiator_spi)) = self.choose_esp(sa) else {
            return refuse(self, NotifyType::NO_PROPOSAL_CHOSEN);
        };
        let offered_ke: Vec<u16> = sa
            .proposals()
            .iter()
            .flat_map(|p| p.transforms_of(TransformType::KE))
            .map(|t| t.id())
            .collect();
        let mut group = None;
        let mut shared = None;
        let mut ker = None;
        if let Some(kei) = kei {
            let g = DhGroup::from_iana_id(kei.method().get()).unwrap();
            if let Some(wanted) = self.rekey_pfs
                && wanted != g
                && offered_ke.contains(&wanted.iana_id())
            {
                return self.respond(
                    ExchangeType::CREATE_CHILD_SA,
                    message_id,
                    vec![PayloadBuilder::Notify(NotifyBuilder::invalid_ke_payload(
                        KeMethod::new(wanted.iana_id()),
                    ))],
                );
            }
            let ke = KeyExchange::generate(g, &mut self.rng).unwrap();
            shared = Some(ke.agree(kei.data()).unwrap());
            group = Some(g);
            ker = Some(ke);
        }
        let gateway_spi = self.new_gateway_spi();
        let nr = self.random(32);
        let keys = self.child_keys(choice, shared.as_ref().map(|s| s.expose()), &ni, &nr);
        let tsi = find(payloads, |p| match p {
            Payload::TsI(t) => Some(TsBuilder::from(t)),
            _ => None,
        })
        .unwrap();
        let tsr = find(payloads, |p| match p {
            Payload::TsR(t) => Some(TsBuilder::from(t)),
            _ => None,
        })
        .unwrap();
        let mut out = vec![
            PayloadBuilder::Sa(SaBuilder::new(vec![ProposalBuilder::esp(
                choice.number,
                gateway_spi,
                Self::transforms(choice, group),
            )])),
            PayloadBuilder::Nonce(nr.clone()),
        ];
        if let Some(ke) = &ker {
            out.push(PayloadBuilder::Ke(KeBuilder {
                method: KeMethod::new(ke.group().iana_id()),
                data: ke.public_key().to_vec(),
            }));
        }
        out.push(PayloadBuilder::TsI(tsi));
        out.push(PayloadBuilder::TsR(tsr));
        self.rekeys_answered += 1;
        self.last_initiator_rekey_nonces = Some((ni.clone(), nr.clone()));
        self.record(ChildInfo {
            gateway_spi,
            initiator_spi,
            keys,
            encr: choice.encr,
            integ: choice.integ,
        });
        self.respond(ExchangeType::CREATE_CHILD_SA, message_id, out)
    }

    /// Starts the gateway's own rekey of its newest Child SA (with PFS when
    /// `rekey_pfs` is set); returns the datagrams to deliver.
    pub fn start_child_rekey(&mut self) -> Vec<Vec<u8>> {
        let old = self.child.clone().expect("a Child SA to rekey");
        let choice = EspProposalChoice {
            encr: old.encr,
            integ: old.integ,
            number: 1,
        };
        let new_gateway_spi = self.new_gateway_spi();
        let ni = self.random(32);
        let ke = self
            .rekey_pfs
            .map(|g| KeyExchange::generate(g, &mut self.rng).unwrap());
        let mut inner = vec![
            PayloadBuilder::Notify(
                NotifyBuilder::new(NotifyType::REKEY_SA)
                    .with_child_spi(ProtocolId::ESP, old.gateway_spi),
            ),
            PayloadBuilder::Sa(SaBuilder::new(vec![ProposalBuilder::esp(
                1,
                new_gateway_spi,
                Self::transforms(choice, self.rekey_pfs),
            )])),
            PayloadBuilder::Nonce(ni.clone()),
        ];
        if let Some(ke) = &ke {
            inner.push(PayloadBuilder::Ke(KeBuilder {
                method: KeMethod::new(ke.group().iana_id()),
                data: ke.public_key().to_vec(),
            }));
        }
        // The gateway starts this exchange: TSi is its side, TSr the client's.
        let ip = std::net::IpAddr::V4(self.cfg.assigned_ipv4);
        inner.push(PayloadBuilder::TsI(TsBuilder::ranges([self.cfg.remote_ts])));
        inner.push(PayloadBuilder::TsR(TsBuilder::ranges([
            IpRange::addresses(ip, ip),
        ])));
        let message_id = self.sa.as_ref().unwrap().next_request_id;
        self.gateway_rekey = Some(GatewayRekey {
            message_id,
            old_gateway_spi: old.gateway_spi,
            new_gateway_spi,
            ni,
            ke,
            choice,
            nr: None,
        });
        self.request_exchange(ExchangeType::CREATE_CHILD_SA, inner)
    }

    /// The initiator's answer to our CREATE_CHILD_SA.
    pub(super) fn rekey_answer(&mut self, message_id: u32, payloads: &[Payload<'_>]) {
        let Some(rekey) = self.gateway_rekey.as_mut() else {
            return;
        };
        if rekey.message_id != message_id || rekey.nr.is_some() {
            return;
        }
        if let Some(n) = find(payloads, |p| match p {
            Payload::Notify(n) if n.is_error() => Some(n.notify_type()),
            _ => None,
        }) {
            self.rekey_refusals.push(n);
            return;
        }
        let initiator_spi = find(payloads, |p| match p {
            Payload::Sa(s) => s.proposals().first().and_then(|p| p.spi_u32()),
            _ => None,
        })
        .expect("an SA payload with the initiator's SPI");
        let nr = find(payloads, |p| match p {
            Payload::Nonce(n) => Some(n.data().to_vec()),
            _ => None,
        })
        .expect("a Nonce");
        let shared = rekey.ke.as_ref().map(|ke| {
            let ker = find(payloads, |p| match p {
                Payload::Ke(k) => Some(k.data().to_vec()),
                _ => None,
            })
            .expect("a KE payload");
            ke.agree(&ker).unwrap()
        });
        rekey.nr = Some(nr.clone());
        let (choice, ni, gateway_spi) = (rekey.choice, rekey.ni.clone(), rekey.new_gateway_spi);
        // The gateway started the exchange: its nonce is Ni and the `_i` keys protect
        // what it sends; ChildInfo keeps the IKE initiator's orientation.
        let keys = swap(self.child_keys(choice, shared.as_ref().map(|s| s.expose()), &ni, &nr));
        self.record(ChildInfo {
            gateway_spi,
            initiator_spi,
            keys,
            encr: choice.encr,
            integ: choice.integ,
        });
    }

    /// Deletes the gateway's Child SA with inbound SPI `gateway_spi`.
    pub fn delete_child(&mut self, gateway_spi: u32) -> Vec<Vec<u8>> {
        self.request(vec![PayloadBuilder::Delete(DeleteBuilder::esp(vec![
            gateway_spi,
        ]))])
    }

    /// Starts the gateway's rekey of the IKE SA (same suite, a fresh key exchange).
    pub fn start_ike_rekey(&mut self) -> Vec<Vec<u8>> {
        let (prf, encr, integ) = {
            let sa = self.sa.as_ref().unwrap();
            (sa.prf, sa.encr, sa.integ)
        };
        let group = self.cfg.ike[0].groups[0];
        let mut spi = [0u8; 8];
        self.rng.fill(&mut spi);
        let new_spi = u64::from_be_bytes(spi) | 1;
        let ni = self.random(32);
        let ke = KeyExchange::generate(group, &mut self.rng).unwrap();
        let mut t = vec![
            encr_transform(encr),
            TransformBuilder::prf(PrfId::new(prf.iana_id())),
        ];
        if let Some(i) = integ {
            t.push(TransformBuilder::integ(IntegId::new(i.iana_id())));
        }
        t.push(TransformBuilder::ke(KeMethod::new(group.iana_id())));
        let mut proposal = ProposalBuilder::ike(1, t);
        proposal.spi = new_spi.to_be_bytes().to_vec();
        let inner = vec![
            PayloadBuilder::Sa(SaBuilder::new(vec![proposal])),
            PayloadBuilder::Nonce(ni.clone()),
            PayloadBuilder::Ke(KeBuilder {
                method: KeMethod::new(group.iana_id()),
                data: ke.public_key().to_vec(),
            }),
        ];
        let message_id = self.sa.as_ref().unwrap().next_request_id;
        self.ike_rekey = Some((message_id, new_spi, ni, ke));
        self.request_exchange(ExchangeType::CREATE_CHILD_SA, inner)
    }

    /// The initiator's answer to our IKE SA rekey: the new IKE SA replaces the old.
    pub(super) fn ike_rekey_answer(&mut self, message_id: u32, payloads: &[Payload<'_>]) {
        if !matches!(&self.ike_rekey, Some((id, ..)) if *id == message_id) {
            return;
        }
        let Some(their_spi) = find(payloads, |p| match p {
            Payload::Sa(s) => s
                .proposals()
                .first()
                .filter(|p| p.protocol() == ProtocolId::IKE)
                .and_then(|p| <[u8; 8]>::try_from(p.spi()).ok())
                .map(u64::from_be_bytes),
            _ => None,
        }) else {
            return;
        };
        let (_, new_spi, ni, ke) = self.ike_rekey.take().unwrap();
        let nr = find(payloads, |p| match p {
            Payload::Nonce(n) => Some(n.data().to_vec()),
            _ => None,
        })
        .unwrap();
        let ker = find(payloads, |p| match p {
            Payload::Ke(k) => Some(k.data().to_vec()),
            _ => None,
        })
        .unwrap();
        let shared = ke.agree(&ker).unwrap();
        let old = self.sa.take().unwrap();
        let (_, keys) = derive_rekeyed_ike_sa_keys(
            old.prf,
            old.prf,
            old.encr,
            old.integ,
            &old.sk_d,
            shared.expose(),
            &ni,
            &nr,
            new_spi.to_be_bytes(),
            their_spi.to_be_bytes(),
        )
        .unwrap();
        let integ_key = |k: &SecretBytes| old.integ.map(|_| k.expose().to_vec());
        let ai = integ_key(&keys.sk_ai);
        let ar = integ_key(&keys.sk_ar);
        // The gateway started the rekey: it is the new SA's original initiator.
        let new = Sa {
            spi_i: new_spi,
            spi_r: their_spi,
            prf: old.prf,
            encr: old.encr,
            integ: old.integ,
            out: SkCrypter::new(old.encr, old.integ, keys.sk_ei.expose(), ai.as_deref()).unwrap(),
            inp: SkCrypter::new(old.encr, old.integ, keys.sk_er.expose(), ar.as_deref()).unwrap(),
            sk_d: keys.sk_d,
            sk_pi: keys.sk_pi,
            sk_pr: keys.sk_pr,
            ni,
            nr,
            message1: Vec::new(),
            message2: Vec::new(),
            initiator_fragmentation: old.initiator_fragmentation,
            peer_next_id: 0,
            last: None,
            next_request_id: 0,
            fragments: Default::default(),
            fragment_first: PayloadType::NONE,
            phase: Phase::Established,
            idi_body: Vec::new(),
            child_request: None,
            gateway_initiator: true,
        };
        self.sa = Some(new);
        self.old_sa = Some(old);
        self.ike_rekeys_done += 1;
    }

    /// Deletes the IKE SA that the gateway's rekey replaced (on that SA).
    pub fn delete_old_ike(&mut self) -> Vec<Vec<u8>> {
        std::mem::swap(&mut self.sa, &mut self.old_sa);
        let out = self.request(vec![PayloadBuilder::Delete(DeleteBuilder::ike())]);
        std::mem::swap(&mut self.sa, &mut self.old_sa);
        out
    }

    /// Whether the old IKE SA is still kept.
    pub fn has_old_ike(&self) -> bool {
        self.old_sa.is_some()
    }

    /// The initiator's IKE SA rekey: answered with the same suite; the initiator stays
    /// the original initiator of the new SA.
    fn answer_ike_rekey(&mut self, message_id: u32, payloads: &[Payload<'_>]) -> Vec<Vec<u8>> {
        let their_spi = find(payloads, |p| match p {
            Payload::Sa(s) => <[u8; 8]>::try_from(s.proposals().first()?.spi())
                .ok()
                .map(u64::from_be_bytes),
            _ => None,
        })
        .unwrap();
        let ni = find(payloads, |p| match p {
            Payload::Nonce(n) => Some(n.data().to_vec()),
            _ => None,
        })
        .unwrap();
        let kei = find(payloads, |p| match p {
            Payload::Ke(k) => Some((k.method().get(), k.data().to_vec())),
            _ => None,
        })
        .unwrap();
        let group = DhGroup::from_iana_id(kei.0).unwrap();
        let ke = KeyExchange::generate(group, &mut self.rng).unwrap();
        let shared = ke.agree(&kei.1).unwrap();
        let nr = self.random(32);
        let mut spi = [0u8; 8];
        self.rng.fill(&mut spi);
        let our_spi = u64::from_be_bytes(spi) | 1;
        let (prf, encr, integ) = {
            let sa = self.sa.as_ref().unwrap();
            (sa.prf, sa.encr, sa.integ)
        };
        let mut t = vec![
            encr_transform(encr),
            TransformBuilder::prf(PrfId::new(prf.iana_id())),
        ];
        if let Some(i) = integ {
            t.push(TransformBuilder::integ(IntegId::new(i.iana_id())));
        }
        t.push(TransformBuilder::ke(KeMethod::new(group.iana_id())));
        let mut proposal = ProposalBuilder::ike(1, t);
        proposal.spi = our_spi.to_be_bytes().to_vec();
        let out = self.respond(
            ExchangeType::CREATE_CHILD_SA,
            message_id,
            vec![
                PayloadBuilder::Sa(SaBuilder::new(vec![proposal])),
                PayloadBuilder::Nonce(nr.clone()),
                PayloadBuilder::Ke(KeBuilder {
                    method: KeMethod::new(group.iana_id()),
                    data: ke.public_key().to_vec(),
                }),
            ],
        );
        let old = self.sa.take().unwrap();
        let (_, keys) = derive_rekeyed_ike_sa_keys(
            old.prf,
            old.prf,
            old.encr,
            old.integ,
            &old.sk_d,
            shared.expose(),
            &ni,
            &nr,
            their_spi.to_be_bytes(),
            our_spi.to_be_bytes(),
        )
        .unwrap();
        let integ_key = |k: &SecretBytes| old.integ.map(|_| k.expose().to_vec());
        let ai = integ_key(&keys.sk_ai);
        let ar = integ_key(&keys.sk_ar);
        let new = Sa {
            spi_i: their_spi,
            spi_r: our_spi,
            prf: old.prf,
            encr: old.encr,
            integ: old.integ,
            out: SkCrypter::new(old.encr, old.integ, keys.sk_er.expose(), ar.as_deref()).unwrap(),
            inp: SkCrypter::new(old.encr, old.integ, keys.sk_ei.expose(), ai.as_deref()).unwrap(),
            sk_d: keys.sk_d,
            sk_pi: keys.sk_pi,
            sk_pr: keys.sk_pr,
            ni,
            nr,
            message1: Vec::new(),
            message2: Vec::new(),
            initiator_fragmentation: old.initiator_fragmentation,
            peer_next_id: 0,
            last: None,
            next_request_id: 0,
            fragments: Default::default(),
            fragment_first: PayloadType::NONE,
            phase: Phase::Established,
            idi_body: Vec::new(),
            child_request: None,
            gateway_initiator: false,
        };
        // `handle` swaps the SA it processed back in: leave the old one where it will
        // end up as `old_sa` and the new one as `sa`.
        self.sa = Some(new);
        self.old_sa = Some(old);
        self.ike_rekeys_done += 1;
        self.initiator_ike_rekeys += 1;
        out
    }
}
