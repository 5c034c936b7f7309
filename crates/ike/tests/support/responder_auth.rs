//! IKE_AUTH on the test responder: PSK, certificate and EAP-MSCHAPv2 authentication
//! and the Child SA with its traffic selectors and CFG_REPLY.

use std::net::IpAddr;

use corridor_crypto::{EncrAlgorithm, IntegAlgorithm, Random, SigningKey, derive_child_sa_keys};
use corridor_wire::payload::*;
use corridor_wire::*;

use super::{
    Authenticator, ChildInfo, EspProposalChoice, KEY_PAD, Phase, Responder, ResponderAuth,
    encr_transform,
};

impl Responder {
    fn psk_auth(&self, secret: &[u8], octets: &[u8]) -> Vec<u8> {
        let prf = self.sa.as_ref().unwrap().prf;
        prf.prf(prf.prf(secret, KEY_PAD).expose(), octets)
            .expose()
            .to_vec()
    }

    fn initiator_octets(&self) -> Vec<u8> {
        let sa = self.sa.as_ref().unwrap();
        [
            &sa.message1[..],
            &sa.nr,
            sa.prf.prf(sa.sk_pi.expose(), &sa.idi_body).expose(),
        ]
        .concat()
    }

    fn responder_octets(&self) -> Vec<u8> {
        let sa = self.sa.as_ref().unwrap();
        let idr = self.cfg.identity.to_builder().body();
        [
            &sa.message2[..],
            &sa.ni,
            sa.prf.prf(sa.sk_pr.expose(), &idr).expose(),
        ]
        .concat()
    }

    pub(super) fn choose_esp(&self, sa: &payload::Sa<'_>) -> Option<(EspProposalChoice, u32)> {
        for p in sa.proposals() {
            let encr = p.transforms_of(TransformType::ENCR).find_map(|t| {
                EncrAlgorithm::from_iana_id(t.id(), t.key_length())
                    .ok()
                    .filter(|e| self.cfg.esp.iter().any(|o| o.encryption.contains(e)))
            });
            let integ = p.transforms_of(TransformType::INTEG).find_map(|t| {
                IntegAlgorithm::from_iana_id(t.id())
                    .filter(|x| self.cfg.esp.iter().any(|o| o.integrity.contains(x)))
            });
            let Some(encr) = encr else { continue };
            let integ = if encr.is_aead() { None } else { Some(integ?) };
            return Some((
                EspProposalChoice {
                    encr,
                    integ,
                    number: p.number(),
                },
                p.spi_u32()?,
            ));
        }
        None
    }

    pub(super) fn ike_auth(&mut self, message_id: u32, payloads: &[Payload<'_>]) -> Vec<Vec<u8>> {
        let phase = std::mem::replace(&mut self.sa.as_mut().unwrap().phase, Phase::AwaitAuth);
        match phase {
            Phase::AwaitAuth => self.first_auth(message_id, payloads),
            Phase::Eap(mut server) => {
                if let Some(msk) = server.msk().map(<[u8]>::to_vec) {
                    // The final round: check the initiator's MSK AUTH.
                    let auth = payloads.iter().find_map(|p| {
                        if let Payload::Auth(a) = p {
                            Some(a.data().to_vec())
                        } else {
                            None
                        }
                    });
                    if auth.as_deref()
                        != Some(self.psk_auth(&msk, &self.initiator_octets()).as_slice())
                    {
                        return self.respond(
                            ExchangeType::IKE_AUTH,
                            message_id,
                            vec![PayloadBuilder::Notify(NotifyBuilder::new(
                                NotifyType::AUTHENTICATION_FAILED,
                            ))],
                        );
                    }
                    let auth = self.psk_auth(&msk, &self.responder_octets());
                    return self.finish(
                        message_id,
                        vec![PayloadBuilder::Auth(AuthBuilder {
                            method: AuthMethod::SHARED_KEY_MESSAGE_INTEGRITY_CODE,
                            data: auth,
                        })],
                    );
                }
                let Some(eap) = payloads.iter().find_map(|p| {
                    if let Payload::Eap(e) = p {
                        Some(e.message().to_vec())
                    } else {
                        None
                    }
                }) else {
                    return vec![];
                };
                let before = server.responses_received;
                let reply = server.handle(&eap);
                self.credentials_seen += server.responses_received - before;
                self.sa.as_mut().unwrap().phase = Phase::Eap(server);
                self.respond(
                    ExchangeType::IKE_AUTH,
                    message_id,
                    vec![PayloadBuilder::Eap(reply)],
                )
            }
            other => {
                self.sa.as_mut().unwrap().phase = other;
                vec![]
            }
        }
    }

    fn first_auth(&mut self, message_id: u32, payloads: &[Payload<'_>]) -> Vec<Vec<u8>> {
        let Some(idi) = payloads.iter().find_map(|p| {
            if let Payload::IdI(i) = p {
                Some(i.body().to_vec())
            } else {
                None
            }
        }) else {
            return vec![];
        };
        self.sa.as_mut().unwrap().idi_body = idi;
        // Like strongSwan: an IDr naming someone else matches no connection of ours.
        let wanted = payloads.iter().find_map(|p| {
            if let Payload::IdR(i) = p {
                Some(i.body().to_vec())
            } else {
                None
            }
        });
        if self.cfg.strict_idr && wanted.is_some_and(|w| w != self.cfg.identity.to_builder().body())
        {
            return self.respond(
                ExchangeType::IKE_AUTH,
                message_id,
                vec![PayloadBuilder::Notify(NotifyBuilder::new(
                    NotifyType::AUTHENTICATION_FAILED,
                ))],
            );
        }
        let Some(child) = payloads.iter().find_map(|p| {
            if let Payload::Sa(s) = p {
                Some(self.choose_esp(s))
            } else {
                None
            }
        }) else {
            return vec![];
        };
        let Some(child) = child else {
            return self.respond(
                ExchangeType::IKE_AUTH,
                message_id,
                vec![PayloadBuilder::Notify(NotifyBuilder::new(
                    NotifyType::NO_PROPOSAL_CHOSEN,
                ))],
            );
        };
        self.sa.as_mut().unwrap().child_request = Some(child);
        let auth = payloads.iter().find_map(|p| {
            if let Payload::Auth(a) = p {
                Some(a.data().to_vec())
            } else {
                None
            }
        });
        let idr = PayloadBuilder::IdR(self.cfg.identity.to_builder());
        match &self.cfg.auth {
            ResponderAuth::Psk(secret) => {
                let secret = secret.clone();
                if auth.as_deref()
                    != Some(self.psk_auth(&secret, &self.initiator_octets()).as_slice())
                {
                    return self.respond(
                        ExchangeType::IKE_AUTH,
                        message_id,
                        vec![PayloadBuilder::Notify(NotifyBuilder::new(
                            NotifyType::AUTHENTICATION_FAILED,
                        ))],
                    );
                }
                let ours = self.psk_auth(&secret, &self.responder_octets());
                self.finish(
                    message_id,
                    vec![
                        idr,
                        PayloadBuilder::Auth(AuthBuilder {
                            method: AuthMethod::SHARED_KEY_MESSAGE_INTEGRITY_CODE,
                            data: ours,
                        }),
                    ],
                )
            }
            ResponderAuth::Certificate { key, chain } => {
                let signed = self.signed_auth(key, chain);
                let cert = payloads.iter().find_map(|p| match p {
                    Payload::Cert(c) => Some(c.data().to_vec()),
                    _ => None,
                });
                let auth = payloads.iter().find_map(|p| match p {
                    Payload::Auth(a) => Some((a.method(), a.data().to_vec())),
                    _ => None,
                });
                let verified = match (cert, auth) {
                    (Some(cert), Some((AuthMethod::DIGITAL_SIGNATURE, data))) => {
                        use x509_parser::prelude::FromDer;
                        let (_, c) =
                            x509_parser::certificate::X509Certificate::from_der(&cert).unwrap();
                        let alg_len = usize::from(data[0]);
                        let scheme = corridor_crypto::SignatureScheme::from_algorithm_identifier(
                            &data[1..1 + alg_len],
                        )
                        .unwrap();
                        corridor_crypto::verify_signature(
                            scheme,
                            c.public_key().raw,
                            &self.initiator_octets(),
                            &data[1 + alg_len..],
                        )
                        .is_ok()
                    }
                    _ => false,
                };
                if !verified {
                    return self.respond(
                        ExchangeType::IKE_AUTH,
                        message_id,
                        vec![PayloadBuilder::Notify(NotifyBuilder::new(
                            NotifyType::AUTHENTICATION_FAILED,
                        ))],
                    );
                }
                self.credentials_seen += 1;
                let mut out = vec![idr];
                out.extend(signed);
                self.finish(message_id, out)
            }
            ResponderAuth::Eap { key, chain, users } => {
                let mut out = vec![idr];
                out.extend(self.signed_auth(key, chain));
                let mut challenge = [0u8; 16];
                self.rng.fill(&mut challenge);
                let (server, request) = Authenticator::start(users.clone(), challenge);
                out.push(PayloadBuilder::Eap(request));
                self.sa.as_mut().unwrap().phase = Phase::Eap(server);
                self.respond(ExchangeType::IKE_AUTH, message_id, out)
            }
        }
    }

    /// CERT payloads and a signature AUTH over ResponderSignedOctets.
    fn signed_auth(&self, key: &SigningKey, chain: &[Vec<u8>]) -> Vec<PayloadBuilder> {
        let scheme = key.available_schemes()[0];
        let sig = key.sign(scheme, &self.responder_octets()).unwrap();
        let mut out: Vec<PayloadBuilder> = chain
            .iter()
            .map(|c| PayloadBuilder::Cert(CertBuilder::x509(c.clone())))
            .collect();
        out.push(PayloadBuilder::Auth(
            AuthBuilder::digital_signature(scheme.algorithm_identifier(), &sig).unwrap(),
        ));
        out
    }

    /// Sends the Child SA, TS and CP with the final AUTH.
    fn finish(&mut self, message_id: u32, mut out: Vec<PayloadBuilder>) -> Vec<Vec<u8>> {
        let (choice, initiator_spi) = self.sa.as_ref().unwrap().child_request.unwrap();
        let mut spi = [0u8; 4];
        self.rng.fill(&mut spi);
        let gateway_spi = u32::from_be_bytes(spi) | 0x1000;
        let mut t = vec![encr_transform(choice.encr)];
        if let Some(i) = choice.integ {
            t.push(TransformBuilder::integ(IntegId::new(i.iana_id())));
        }
        t.push(TransformBuilder::esn(EsnId::NO_ESN));
        let mut attrs = vec![
            ConfigAttributeBuilder {
                attribute_type: ConfigAttributeType::INTERNAL_IP4_ADDRESS,
                value: self.cfg.assigned_ipv4.octets().to_vec(),
            },
            ConfigAttributeBuilder {
                attribute_type: ConfigAttributeType::INTERNAL_IP4_DNS,
                value: self.cfg.dns.octets().to_vec(),
            },
        ];
        for d in &self.cfg.domains {
            attrs.push(ConfigAttributeBuilder {
                attribute_type: ConfigAttributeType::INTERNAL_DNS_DOMAIN,
                value: d.as_bytes().to_vec(),
            });
        }
        out.push(PayloadBuilder::Config(ConfigBuilder {
            cfg_type: ConfigType::CFG_REPLY,
            attributes: attrs,
        }));
        out.push(PayloadBuilder::Sa(SaBuilder::new(vec![
            ProposalBuilder::esp(choice.number, gateway_spi, t),
        ])));
        let ip = IpAddr::V4(self.cfg.assigned_ipv4);
        out.push(PayloadBuilder::TsI(TsBuilder::ranges([
            IpRange::addresses(ip, ip),
        ])));
        out.push(PayloadBuilder::TsR(TsBuilder::ranges([self.cfg.remote_ts])));
        let sa = self.sa.as_mut().unwrap();
        let keys = derive_child_sa_keys(
            sa.prf,
            &sa.sk_d,
            None,
            &sa.ni,
            &sa.nr,
            choice.encr.key_len(),
            choice.integ.map_or(0, |i| i.key_len()),
        )
        .unwrap();
        let _ = (sa.encr, sa.integ);
        sa.phase = Phase::Established;
        let info = ChildInfo {
            gateway_spi,
            initiator_spi,
            keys,
            encr: choice.encr,
            integ: choice.integ,
        };
        self.children.push(info.clone());
        self.child = Some(info);
        self.respond(ExchangeType::IKE_AUTH, message_id, out)
    }
}
