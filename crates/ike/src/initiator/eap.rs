//! EAP inside IKE_AUTH (RFC 7296 §2.16).
//!
//! The gateway authenticates first, with its certificate, in the response to our first
//! IKE_AUTH request; [`super::auth`] checks that before this stage starts, so the EAP
//! method never sends credentials to a gateway we have not authenticated. Each EAP
//! request then travels in an IKE_AUTH response and our EAP response in the next IKE_AUTH
//! request. After EAP-Success both sides prove knowledge of the MSK in AUTH payloads.

use std::time::Instant;

use corridor_eap::{EapConfig, EapPeer, EapState};
use corridor_wire::payload::{AuthBuilder, Payload};
use corridor_wire::{AuthMethod, ExchangeType, PayloadBuilder};

use super::auth::{AuthContext, auth_error, finish_child};
use super::{Inbound, Shared, State};
use crate::auth_data;
use crate::error::{AuthenticationError, Error};
use crate::identity::Identity;

/// The most IKE_AUTH round trips an EAP conversation may take; EAP-TLS with a long chain
/// needs a dozen, MSCHAPv2 three.
const MAX_EAP_ROUNDS: u32 = 50;

/// Waiting for the next EAP request, or (with `msk` set) for the gateway's final AUTH.
pub(crate) struct ExpectEap {
    ctx: AuthContext,
    gateway: Identity,
    /// The gateway's IDr body from its first response, for ResponderSignedOctets.
    idr_body: Vec<u8>,
    peer: EapPeer,
    rounds: u32,
    /// Set once EAP succeeded and our MSK-based AUTH is sent.
    msk: Option<corridor_crypto::SecretBytes>,
}

impl std::fmt::Debug for ExpectEap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpectEap")
            .field("peer", &self.peer)
            .field("rounds", &self.rounds)
            .field("auth_sent", &self.msk.is_some())
            .finish_non_exhaustive()
    }
}

fn eap_error(reason: impl std::fmt::Display) -> Error {
    Error::Authentication(AuthenticationError::Eap {
        reason: reason.to_string(),
    })
}

impl ExpectEap {
    /// The suite and NAT status IKE_SA_INIT settled on.
    pub(crate) fn sa_init_outcome(&self) -> (crate::IkeSuite, crate::NatStatus) {
        (self.ctx.handshake.suite, self.ctx.handshake.nat)
    }

    /// Starts EAP with the request carried by the first IKE_AUTH response (the gateway
    /// is already authenticated).
    pub(crate) fn start(
        shared: &mut Shared,
        now: Instant,
        ctx: AuthContext,
        gateway: Identity,
        idr_body: Vec<u8>,
        config: EapConfig,
        inbound: &Inbound<'_>,
    ) -> Result<Self, Error> {
        let peer = EapPeer::new(config, Box::new(shared.rng.clone()));
        let mut s = Self {
            ctx,
            gateway,
            idr_body,
            peer,
            rounds: 0,
            msk: None,
        };
        s.step(shared, now, inbound)?;
        Ok(s)
    }

    /// Feeds the EAP payload of an IKE_AUTH response to the peer and sends what follows.
    fn step(
        &mut self,
        shared: &mut Shared,
        now: Instant,
        inbound: &Inbound<'_>,
    ) -> Result<(), Error> {
        self.rounds += 1;
        if self.rounds > MAX_EAP_ROUNDS {
            return Err(Error::misbehaved(format!(
                "the EAP conversation did not finish in {MAX_EAP_ROUNDS} round trips"
            )));
        }
        let eap = super::find(inbound.payloads, |p| match p {
            Payload::Eap(e) => Some(e),
            _ => None,
        })
        .ok_or_else(|| Error::misbehaved("the IKE_AUTH response carries no EAP payload"))?;
        let reply = self.peer.handle(eap.message()).map_err(eap_error)?;
        match self.peer.state() {
            EapState::Failed(e) => return Err(eap_error(e)),
            EapState::Succeeded { msk } => {
                // RFC 7296 §2.16: "For EAP methods that create a shared key as a side
                // effect of authentication, that shared key MUST be used by both the
                // Initiator and Responder to generate AUTH payloads in messages 7 and 8
                // using the syntax for shared secrets specified in Section 2.15."
                let msk = corridor_crypto::SecretBytes::from_slice(msk.as_bytes());
                let octets = self.ctx.initiator_octets(shared)?;
                let data =
                    auth_data::shared_key_auth(self.ctx.handshake.suite.prf, msk.expose(), &octets);
                shared.send_request(
                    now,
                    ExchangeType::IKE_AUTH,
                    &[PayloadBuilder::Auth(AuthBuilder {
                        method: AuthMethod::SHARED_KEY_MESSAGE_INTEGRITY_CODE,
                        data: data.expose().to_vec(),
                    })],
                )?;
                self.msk = Some(msk);
                return Ok(());
            }
            EapState::InProgress => {}
        }
        let Some(reply) = reply else {
            return Err(Error::misbehaved(
                "the gateway's EAP message needs no answer, yet EAP is not finished",
            ));
        };
        shared.send_request(now, ExchangeType::IKE_AUTH, &[PayloadBuilder::Eap(reply)])
    }

    /// Handles an IKE_AUTH response during EAP.
    pub(crate) fn handle(
        mut self,
        shared: &mut Shared,
        now: Instant,
        inbound: &Inbound<'_>,
    ) -> Result<State, Error> {
        if inbound.exchange != ExchangeType::IKE_AUTH {
            return Err(Error::misbehaved(format!(
                "the gateway answered IKE_AUTH with {}",
                inbound.exchange
            )));
        }
        let Some(msk) = &self.msk else {
            if let Some(e) = auth_error(inbound, shared) {
                return Err(e);
            }
            self.step(shared, now, inbound)?;
            return Ok(State::Eap(Box::new(self)));
        };
        // The final response: the gateway proves the MSK over ResponderSignedOctets with
        // the IDr of its first response (RFC 7296 §2.16).
        let Some(auth) = super::find(inbound.payloads, |p| match p {
            Payload::Auth(a) => Some(a),
            _ => None,
        }) else {
            return Err(auth_error(inbound, shared).unwrap_or_else(|| {
                Error::misbehaved("the final IKE_AUTH response has no AUTH payload")
            }));
        };
        let octets = self.ctx.responder_octets(shared, &self.idr_body)?;
        if auth.method() != AuthMethod::SHARED_KEY_MESSAGE_INTEGRITY_CODE
            || !auth_data::verify_shared_key_auth(
                self.ctx.handshake.suite.prf,
                msk.expose(),
                &octets,
                auth.data(),
            )
        {
            return Err(Error::Authentication(
                AuthenticationError::GatewayAuthenticationFailed {
                    reason: "its AUTH payload does not prove the EAP session key".into(),
                },
            ));
        }
        finish_child(shared, now, self.ctx, self.gateway, inbound)
    }
}
