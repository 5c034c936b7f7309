//! IKE_SA_INIT (RFC 7296 §1.2): proposals, key exchange, nonces, NAT detection, and the
//! COOKIE and INVALID_KE_PAYLOAD retries.

use std::time::Instant;

use corridor_crypto::{DhGroup, KeyExchange};
use corridor_wire::payload::{KeBuilder, NotifyBuilder, Payload, SHA1_LEN};
use corridor_wire::{ExchangeType, HashAlgorithm, KeMethod, Message, NotifyType, PayloadBuilder};

use super::auth::{ExpectAuth, Handshake};
use super::{Shared, State};
use crate::error::{Error, PeerIncompatible};
use crate::keys;
use crate::nat::{self, NAT_T_PORT, NatStatus};
use crate::proposal::{self, group_name};
use crate::signature::OUR_HASHES;

/// Nonce length: RFC 7296 §2.10, "Nonces used in IKEv2 MUST be randomly chosen, MUST be
/// at least 128 bits in size, and MUST be at least half the key size of the negotiated
/// pseudorandom function (PRF)"; 32 bytes cover SHA-512's 256-bit half.
const NONCE_LEN: usize = 32;
/// How many COOKIE round trips we make before calling the gateway broken.
const MAX_COOKIE_ROUNDS: u8 = 3;
/// How many INVALID_KE_PAYLOAD group switches we make.
const MAX_KE_ROUNDS: u8 = 2;

/// IKE_SA_INIT sent, waiting for the answer.
pub(crate) struct ExpectSaInit {
    ke: KeyExchange,
    ni: Vec<u8>,
    cookie: Option<Vec<u8>>,
    cookie_rounds: u8,
    ke_rounds: u8,
    /// The request as last sent: RealMessage1 of RFC 7296 §2.15.
    request: Vec<u8>,
}

impl std::fmt::Debug for ExpectSaInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpectSaInit")
            .field("group", &self.ke.group())
            .field("cookie_rounds", &self.cookie_rounds)
            .field("ke_rounds", &self.ke_rounds)
            .finish_non_exhaustive()
    }
}

impl ExpectSaInit {
    /// Sends the first IKE_SA_INIT request.
    pub(crate) fn start(shared: &mut Shared, now: Instant) -> Result<Self, Error> {
        let group = shared
            .config
            .ike_proposals
            .first()
            .and_then(|p| p.groups.first().copied())
            .ok_or_else(|| Error::LocalConfig("no key exchange group".into()))?;
        let mut rng = shared.rng.clone();
        let ke = KeyExchange::generate(group, &mut rng).map_err(Error::internal)?;
        let ni = shared.random_bytes(NONCE_LEN);
        let mut s = Self {
            ke,
            ni,
            cookie: None,
            cookie_rounds: 0,
            ke_rounds: 0,
            request: Vec::new(),
        };
        s.send(shared, now)?;
        Ok(s)
    }

    fn send(&mut self, shared: &mut Shared, now: Instant) -> Result<(), Error> {
        let mut payloads = Vec::new();
        // RFC 7296 §2.6: the initiator "MUST retry the IKE_SA_INIT with a Notify payload
        // of type COOKIE containing the responder-supplied cookie data as the first
        // payload and all other payloads unchanged."
        if let Some(cookie) = &self.cookie {
            payloads.push(PayloadBuilder::Notify(NotifyBuilder::cookie(cookie)));
        }
        payloads.push(PayloadBuilder::Sa(proposal::ike_sa(
            &shared.config.ike_proposals,
        )));
        payloads.push(PayloadBuilder::Ke(KeBuilder {
            method: KeMethod::new(self.ke.group().iana_id()),
            data: self.ke.public_key().to_vec(),
        }));
        payloads.push(PayloadBuilder::Nonce(self.ni.clone()));
        for n in nat::notifies(shared.spi_i, 0, shared.local, shared.remote) {
            payloads.push(PayloadBuilder::Notify(n));
        }
        // RFC 7383 §2.3: "The initiator indicates its support for IKE fragmentation and
        // willingness to use it by including a Notification payload of type
        // IKEV2_FRAGMENTATION_SUPPORTED in the IKE_SA_INIT request message."
        payloads.push(PayloadBuilder::Notify(NotifyBuilder::new(
            NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
        )));
        // RFC 7427 §4: announce the hashes we can verify signatures with.
        payloads.push(PayloadBuilder::Notify(
            NotifyBuilder::signature_hash_algorithms(&OUR_HASHES),
        ));
        let mut message = corridor_wire::MessageBuilder::new(
            ExchangeType::IKE_SA_INIT,
            corridor_wire::Flags::new(true, false),
            shared.spi_i,
            0,
            0,
        );
        message.payloads = payloads;
        self.request = message.to_bytes()?;
        shared.send_plain_request(now, self.request.clone());
        Ok(())
    }

    fn offered_groups(shared: &Shared) -> Vec<DhGroup> {
        let mut groups = Vec::new();
        for g in shared
            .config
            .ike_proposals
            .iter()
            .flat_map(|p| p.groups.iter())
        {
            if !groups.contains(g) {
                groups.push(*g);
            }
        }
        groups
    }

    /// Handles the IKE_SA_INIT response (unprotected: junk is dropped, not fatal).
    pub(crate) fn handle(
        mut self,
        shared: &mut Shared,
        now: Instant,
        msg: &Message<'_>,
    ) -> Result<State, Error> {
        if msg.exchange_type() != ExchangeType::IKE_SA_INIT {
            tracing::debug!(exchange = %msg.exchange_type(), "unexpected exchange in answer to IKE_SA_INIT dropped");
            return Ok(State::SaInit(Box::new(self)));
        }
        // COOKIE (RFC 7296 §2.6).
        if let Some(n) = msg.notify(NotifyType::COOKIE) {
            let Ok(cookie) = n.cookie() else {
                tracing::debug!("malformed COOKIE dropped");
                return Ok(State::SaInit(Box::new(self)));
            };
            if self.cookie_rounds >= MAX_COOKIE_ROUNDS {
                return Err(Error::misbehaved(format!(
                    "the gateway asked for a cookie {} times in a row",
                    self.cookie_rounds + 1
                )));
            }
            tracing::debug!("gateway asked for a cookie; retrying IKE_SA_INIT");
            self.cookie_rounds += 1;
            self.cookie = Some(cookie.to_vec());
            self.send(shared, now)?;
            return Ok(State::SaInit(Box::new(self)));
        }
        // INVALID_KE_PAYLOAD (RFC 7296 §1.3): "If the responder selects a proposal using
        // a different Diffie-Hellman group [...] the responder MUST reject the request and
        // indicate its preferred Diffie-Hellman group in the INVALID_KE_PAYLOAD Notify".
        if let Some(n) = msg.notify(NotifyType::INVALID_KE_PAYLOAD) {
            let Ok(method) = n.accepted_ke_method() else {
                tracing::debug!("malformed INVALID_KE_PAYLOAD dropped");
                return Ok(State::SaInit(Box::new(self)));
            };
            let offered = Self::offered_groups(shared);
            let wanted = DhGroup::from_iana_id(method.get()).filter(|g| offered.contains(g));
            let Some(group) = wanted else {
                return Err(Error::PeerIncompatible(
                    PeerIncompatible::KeyExchangeGroupNotOffered {
                        requested: method.get(),
                        offered: offered.iter().map(|g| group_name(*g)).collect(),
                    },
                ));
            };
            if group == self.ke.group() || self.ke_rounds >= MAX_KE_ROUNDS {
                return Err(Error::misbehaved(format!(
                    "the gateway asked for key exchange group {} again",
                    group_name(group)
                )));
            }
            tracing::debug!(group = %group_name(group), "gateway wants another group; retrying IKE_SA_INIT");
            self.ke_rounds += 1;
            let mut rng = shared.rng.clone();
            self.ke = KeyExchange::generate(group, &mut rng).map_err(Error::internal)?;
            self.cookie = None;
            self.send(shared, now)?;
            return Ok(State::SaInit(Box::new(self)));
        }
        if let Some(n) = msg.notifies().find(|n| n.is_error()) {
            return Err(match n.notify_type() {
                NotifyType::NO_PROPOSAL_CHOSEN => {
                    Error::PeerIncompatible(PeerIncompatible::NoProposalChosen {
                        kind: "IKE",
                        offered: shared
                            .config
                            .ike_proposals
                            .iter()
                            .map(|p| p.describe())
                            .collect(),
                    })
                }
                notify => Error::NotifyReceived {
                    exchange: ExchangeType::IKE_SA_INIT,
                    notify,
                },
            });
        }
        self.complete(shared, now, msg)
    }

    fn complete(
        self,
        shared: &mut Shared,
        now: Instant,
        msg: &Message<'_>,
    ) -> Result<State, Error> {
        let h = msg.header();
        let mut sa = None;
        let mut ke = None;
        let mut nr = None;
        for p in msg.payloads() {
            match p {
                Payload::Sa(x) if sa.is_none() => sa = Some(x),
                Payload::Ke(x) if ke.is_none() => ke = Some(x),
                Payload::Nonce(x) if nr.is_none() => nr = Some(x.data()),
                _ => {}
            }
        }
        let (Some(sa), Some(ke), Some(nr)) = (sa, ke, nr) else {
            // An answer without them is not a real answer: most likely junk.
            tracing::debug!("IKE_SA_INIT response without SA, KE or Nonce dropped");
            return Ok(State::SaInit(Box::new(self)));
        };
        if h.spi_r == 0 {
            tracing::debug!("IKE_SA_INIT response with a zero responder SPI dropped");
            return Ok(State::SaInit(Box::new(self)));
        }
        let suite =
            proposal::match_ike(sa, &shared.config.ike_proposals).map_err(Error::misbehaved)?;
        if suite.group != self.ke.group() || ke.method().get() != suite.group.iana_id() {
            return Err(Error::misbehaved(format!(
                "the gateway chose group {} but sent a KE payload for group {}",
                group_name(suite.group),
                ke.method()
            )));
        }
        let shared_secret = self
            .ke
            .agree(ke.data())
            .map_err(|e| Error::misbehaved(format!("its key exchange value is invalid: {e}")))?;
        shared.spi_r = h.spi_r;
        let (secrets, material) = keys::derive(
            &suite,
            &shared_secret,
            &self.ni,
            nr,
            shared.spi_i,
            shared.spi_r,
        )?;
        shared.secrets = Some(secrets);
        shared.ike_suite = Some(suite);
        shared.next_message_id = 1;
        shared
            .events
            .push_back(super::Event::KeyMaterial(super::KeyMaterial::Ike(material)));

        // NAT detection (RFC 7296 §2.23), with the SPIs of the response's header.
        let mut sources: Vec<[u8; SHA1_LEN]> = Vec::new();
        let mut destination = None;
        let mut peer_hashes = Vec::new();
        for n in msg.notifies() {
            match n.notify_type() {
                NotifyType::NAT_DETECTION_SOURCE_IP => {
                    sources.extend(n.nat_detection_hash().ok().copied())
                }
                NotifyType::NAT_DETECTION_DESTINATION_IP => {
                    destination = n.nat_detection_hash().ok().copied();
                }
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED => shared.fragmentation = true,
                NotifyType::SIGNATURE_HASH_ALGORITHMS => {
                    if let Ok(list) = n.signature_hash_algorithms() {
                        peer_hashes.extend(list.filter(|h| *h != HashAlgorithm::SHA1));
                    }
                }
                _ => {}
            }
        }
        let nat = NatStatus::evaluate(
            shared.spi_i,
            shared.spi_r,
            shared.local,
            shared.remote,
            &sources,
            destination,
        );
        // RFC 7296 §2.23: "The IKE initiator MUST check the NAT_DETECTION_SOURCE_IP or
        // NAT_DETECTION_DESTINATION_IP payloads if present, and if they do not match the
        // addresses in the outer packet, MUST tunnel all future IKE and ESP packets
        // associated with this IKE SA over UDP port 4500." We also move when the profile
        // forces encapsulation and the gateway supports NAT traversal.
        if nat.detected() || (shared.config.force_udp_encapsulation && nat.supported) {
            shared.port = NAT_T_PORT;
        } else if shared.config.force_udp_encapsulation {
            tracing::warn!("UDP encapsulation forced, but the gateway does not do NAT traversal");
        }
        tracing::debug!(suite = %suite, nat = nat.detected(), port = shared.port, "IKE_SA_INIT done");
        let handshake = Handshake {
            suite,
            ni: self.ni,
            nr: nr.to_vec(),
            message1: self.request,
            message2: msg.bytes().to_vec(),
            nat,
            peer_hashes,
        };
        ExpectAuth::start(shared, now, handshake).map(|s| State::Auth(Box::new(s)))
    }
}
