//! IKE_AUTH (RFC 7296 §1.2, §2.15): our identity and proof, the gateway's, and the first
//! Child SA. EAP rounds continue in [`super::eap`].

use std::time::Instant;

use corridor_wire::payload::{AuthBuilder, CertBuilder, Id, NotifyBuilder, Payload};
use corridor_wire::{
    AuthMethod, CertEncoding, ExchangeType, HashAlgorithm, NotifyType, PayloadBuilder,
};

use super::eap::ExpectEap;
use super::established::{Child, Established, EstablishedSa};
use super::{Event, Inbound, KeyMaterial, Shared, State};
use crate::auth_data::{self, signed_octets};
use crate::config::LocalAuth;
use crate::config_payload::AssignedConfig;
use crate::error::{AuthenticationError, Error, PeerIncompatible};
use crate::identity::{CertificateNames, Identity};
use crate::keys::{self, ChildKeyMaterial};
use crate::nat::NatStatus;
use crate::proposal::{self, IkeSuite};
use crate::signature;
use crate::traffic_selectors::check_narrowed;

/// What IKE_SA_INIT left for authentication.
#[derive(Debug)]
pub(crate) struct Handshake {
    pub(crate) suite: IkeSuite,
    pub(crate) ni: Vec<u8>,
    pub(crate) nr: Vec<u8>,
    /// Our IKE_SA_INIT request as sent (RealMessage1).
    pub(crate) message1: Vec<u8>,
    /// The gateway's IKE_SA_INIT response as received (RealMessage2).
    pub(crate) message2: Vec<u8>,
    pub(crate) nat: NatStatus,
    /// Hashes from the gateway's SIGNATURE_HASH_ALGORITHMS (empty: none sent).
    pub(crate) peer_hashes: Vec<HashAlgorithm>,
}

/// What we learn from the first IKE_AUTH exchange, kept for later rounds.
#[derive(Debug)]
pub(crate) struct AuthContext {
    pub(crate) handshake: Handshake,
    /// Our IDi payload body (ID Type, RESERVED, data) for InitiatorSignedOctets.
    pub(crate) idi_body: Vec<u8>,
    /// Our inbound ESP SPI.
    pub(crate) child_spi: u32,
}

impl AuthContext {
    /// InitiatorSignedOctets (RFC 7296 §2.15).
    pub(crate) fn initiator_octets(&self, shared: &Shared) -> Result<Vec<u8>, Error> {
        let secrets = shared
            .secrets
            .as_ref()
            .ok_or_else(|| Error::internal("no IKE SA keys"))?;
        Ok(signed_octets(
            secrets.prf,
            &self.handshake.message1,
            &self.handshake.nr,
            &secrets.sk_pi,
            &self.idi_body,
        ))
    }

    /// ResponderSignedOctets for the gateway's IDr body.
    pub(crate) fn responder_octets(
        &self,
        shared: &Shared,
        idr_body: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let secrets = shared
            .secrets
            .as_ref()
            .ok_or_else(|| Error::internal("no IKE SA keys"))?;
        Ok(signed_octets(
            secrets.prf,
            &self.handshake.message2,
            &self.handshake.ni,
            &secrets.sk_pr,
            idr_body,
        ))
    }
}

/// The first IKE_AUTH request sent; for PSK and certificates the only one.
#[derive(Debug)]
pub(crate) struct ExpectAuth {
    ctx: AuthContext,
}

/// Maps the error notifications of an IKE_AUTH response to our error.
pub(crate) fn auth_error(inbound: &Inbound<'_>, shared: &Shared) -> Option<Error> {
    let n = inbound.notifies().find(|n| n.is_error())?;
    Some(match n.notify_type() {
        // RFC 7296 §2.21.2: a responder that does not accept our authentication answers
        // with AUTHENTICATION_FAILED.
        NotifyType::AUTHENTICATION_FAILED => {
            Error::Authentication(AuthenticationError::CredentialsRejected)
        }
        NotifyType::NO_PROPOSAL_CHOSEN => {
            Error::PeerIncompatible(PeerIncompatible::NoProposalChosen {
                kind: "ESP",
                offered: shared
                    .config
                    .esp_proposals
                    .iter()
                    .map(|p| p.describe())
                    .collect(),
            })
        }
        notify => Error::NotifyReceived {
            exchange: ExchangeType::IKE_AUTH,
            notify,
        },
    })
}

impl ExpectAuth {
    /// The suite and NAT status IKE_SA_INIT settled on.
    pub(crate) fn sa_init_outcome(&self) -> (IkeSuite, NatStatus) {
        (self.ctx.handshake.suite, self.ctx.handshake.nat)
    }

    /// Builds and sends the first IKE_AUTH request.
    pub(crate) fn start(
        shared: &mut Shared,
        now: Instant,
        handshake: Handshake,
    ) -> Result<Self, Error> {
        let config = shared.config.clone();
        let idi = config.local_identity.to_builder();
        let mut spi_bytes = [0u8; 4];
        // SPIs 1-255 are reserved by IANA (RFC 4303 §2.1), zero is never sent.
        let mut child_spi = 0;
        while child_spi < 256 {
            shared.rng.fill_bytes(&mut spi_bytes);
            child_spi = u32::from_be_bytes(spi_bytes);
        }
        let ctx = AuthContext {
            handshake,
            idi_body: idi.body(),
            child_spi,
        };
        let mut inner = vec![PayloadBuilder::IdI(idi)];
        if let LocalAuth::Certificate { chain, .. } = &config.auth {
            inner.extend(
                chain
                    .iter()
                    .map(|c| PayloadBuilder::Cert(CertBuilder::x509(c.clone()))),
            );
        }
        if config.initial_contact {
            inner.push(PayloadBuilder::Notify(NotifyBuilder::new(
                NotifyType::INITIAL_CONTACT,
            )));
        }
        if !config.trust.is_empty() {
            inner.push(PayloadBuilder::CertReq(config.trust.certreq()));
        }
        if let Some(idr) = &config.remote_identity {
            inner.push(PayloadBuilder::IdR(idr.to_builder()));
        }
        match &config.auth {
            LocalAuth::Psk(secret) => {
                let octets = ctx.initiator_octets(shared)?;
                let prf = ctx.handshake.suite.prf;
                let data = auth_data::shared_key_auth(prf, secret.expose(), &octets);
                inner.push(PayloadBuilder::Auth(AuthBuilder {
                    method: AuthMethod::SHARED_KEY_MESSAGE_INTEGRITY_CODE,
                    data: data.expose().to_vec(),
                }));
            }
            LocalAuth::Certificate { key, .. } => {
                let octets = ctx.initiator_octets(shared)?;
                inner.push(PayloadBuilder::Auth(signature::sign(
                    key,
                    &ctx.handshake.peer_hashes,
                    &octets,
                )?));
            }
            // RFC 7296 §2.16: "An initiator indicates a desire to use EAP by leaving out
            // the AUTH payload from the first message in the IKE_AUTH exchange."
            LocalAuth::Eap(_) => {}
        }
        if !config.config_request.is_empty() {
            inner.push(PayloadBuilder::Config(config.config_request.builder()));
        }
        inner.push(PayloadBuilder::Sa(proposal::esp_sa(
            &config.esp_proposals,
            ctx.child_spi,
            &[],
        )));
        inner.push(PayloadBuilder::TsI(config.traffic_selectors.tsi()));
        inner.push(PayloadBuilder::TsR(config.traffic_selectors.tsr()));
        shared.send_request(now, ExchangeType::IKE_AUTH, &inner)?;
        Ok(Self { ctx })
    }

    /// Handles the (first) IKE_AUTH response.
    pub(crate) fn handle(
        self,
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
        let idr = super::find(inbound.payloads, |p| match p {
            Payload::IdR(id) => Some(id),
            _ => None,
        });
        let auth = super::find(inbound.payloads, |p| match p {
            Payload::Auth(a) => Some(a),
            _ => None,
        });
        let (Some(idr), Some(auth)) = (idr, auth) else {
            // Without the gateway's proof, an error notification says why (typically
            // AUTHENTICATION_FAILED for our credentials).
            let error = auth_error(inbound, shared).unwrap_or_else(|| {
                Error::misbehaved("the IKE_AUTH response has no IDr or no AUTH payload")
            });
            // With EAP our first IKE_AUTH request carries no credential yet, so an
            // AUTHENTICATION_FAILED answer means the gateway has no connection for the
            // identities we sent (strongSwan answers so when IDr matches none of its own).
            if matches!(shared.config.auth, LocalAuth::Eap(_))
                && error == Error::Authentication(AuthenticationError::CredentialsRejected)
            {
                return Err(Error::Authentication(
                    AuthenticationError::NoMatchingConnection {
                        local: shared.config.local_identity.to_string(),
                        remote: shared
                            .config
                            .remote_identity
                            .as_ref()
                            .map(|i| i.to_string()),
                    },
                ));
            }
            return Err(error);
        };
        if inbound
            .notifies()
            .any(|n| n.notify_type() == NotifyType::AUTHENTICATION_FAILED)
        {
            return Err(Error::Authentication(
                AuthenticationError::CredentialsRejected,
            ));
        }
        let octets = self.ctx.responder_octets(shared, idr.body())?;
        let verified = match &shared.config.auth {
            LocalAuth::Psk(secret) => {
                verify_psk(shared, &self.ctx, idr, auth, &octets, secret.expose())
            }
            _ => verify_certificate(shared, now, inbound, idr, auth, &octets),
        };
        let gateway = match verified {
            Ok(identity) => identity,
            Err(e) => {
                // RFC 7296 §2.21.2: when the initiator rejects the responder's
                // authentication, "the notification MAY be returned in a separate
                // INFORMATIONAL exchange"; it also tells the gateway to drop its half.
                if matches!(e, Error::Authentication(_)) {
                    shared.inform_best_effort(
                        now,
                        PayloadBuilder::Notify(NotifyBuilder::new(
                            NotifyType::AUTHENTICATION_FAILED,
                        )),
                    );
                }
                return Err(e);
            }
        };
        if let LocalAuth::Eap(eap) = &shared.config.auth {
            let eap = eap.clone();
            return ExpectEap::start(
                shared,
                now,
                self.ctx,
                gateway,
                idr.body().to_vec(),
                eap,
                inbound,
            )
            .map(|s| State::Eap(Box::new(s)));
        }
        finish_child(shared, now, self.ctx, gateway, inbound)
    }
}

/// Sets up the Child SA once the gateway is authenticated. From that point the IKE SA
/// exists on the gateway (RFC 7296 §2.21.3: a Child SA failure in IKE_AUTH does not undo
/// the IKE SA), so when the Child SA fails we delete the IKE SA instead of leaving it
/// dangling.
pub(crate) fn finish_child(
    shared: &mut Shared,
    now: Instant,
    ctx: AuthContext,
    gateway: Identity,
    inbound: &Inbound<'_>,
) -> Result<State, Error> {
    let result = match auth_error(inbound, shared) {
        Some(e) => Err(e),
        None => complete_child(shared, ctx, gateway, inbound),
    };
    if result.is_err() {
        shared.delete_best_effort(now);
    }
    result
}

fn expected_identity_check(
    presented: String,
    by_certificate: bool,
    shared: &Shared,
    ok: bool,
) -> Result<(), Error> {
    match &shared.config.remote_identity {
        Some(expected) if !ok => Err(Error::Authentication(
            AuthenticationError::IdentityMismatch {
                presented,
                expected: expected.to_string(),
                by_certificate,
            },
        )),
        _ => Ok(()),
    }
}

/// Checks a PSK AUTH from the gateway and returns its identity.
fn verify_psk(
    shared: &Shared,
    ctx: &AuthContext,
    idr: &Id<'_>,
    auth: &corridor_wire::payload::Auth<'_>,
    octets: &[u8],
    secret: &[u8],
) -> Result<Identity, Error> {
    let identity = Identity::from_payload(idr).ok_or_else(|| {
        Error::misbehaved(format!(
            "the gateway's IDr has unsupported type {}",
            idr.id_type()
        ))
    })?;
    let ok = shared
        .config
        .remote_identity
        .as_ref()
        .is_none_or(|e| e.same_as(&identity));
    expected_identity_check(identity.to_string(), false, shared, ok)?;
    if auth.method() != AuthMethod::SHARED_KEY_MESSAGE_INTEGRITY_CODE {
        return Err(Error::Authentication(
            AuthenticationError::GatewayAuthenticationFailed {
                reason: format!(
                    "it used authentication method {}, but the profile uses a pre-shared key",
                    auth.method()
                ),
            },
        ));
    }
    // RFC 7296 §2.15: the responder's AUTH is computed the same way over
    // ResponderSignedOctets.
    if !auth_data::verify_shared_key_auth(ctx.handshake.suite.prf, secret, octets, auth.data()) {
        return Err(Error::Authentication(
            AuthenticationError::GatewayAuthenticationFailed {
                reason: "its AUTH payload does not match the pre-shared key".into(),
            },
        ));
    }
    Ok(identity)
}

/// The most intermediate CA certificates accepted from the gateway.
pub(crate) const MAX_GATEWAY_INTERMEDIATES: usize = 8;

/// Checks the gateway's certificate chain, identity and signature AUTH, and returns its
/// identity. Nothing secret of ours is sent before this succeeds.
pub(crate) fn verify_certificate(
    shared: &Shared,
    now: Instant,
    inbound: &Inbound<'_>,
    idr: &Id<'_>,
    auth: &corridor_wire::payload::Auth<'_>,
    octets: &[u8],
) -> Result<Identity, Error> {
    let untrusted = |reason: String| {
        Error::Authentication(AuthenticationError::GatewayCertificateUntrusted { reason })
    };
    let mut certs = inbound.payloads.iter().filter_map(|p| match p {
        Payload::Cert(c) if c.encoding() == CertEncoding::X509_CERTIFICATE_SIGNATURE => {
            Some(c.data())
        }
        _ => None,
    });
    let end_entity = certs
        .next()
        .ok_or_else(|| untrusted("the gateway sent no certificate".into()))?;
    // RFC 7296 §3.6 sets no bound on the number of CERT payloads; a real chain is a
    // handful of certificates, so a longer one is refused before any is parsed, which
    // bounds the memory and signature checks a gateway can make us spend.
    let intermediates: Vec<Vec<u8>> = certs
        .take(MAX_GATEWAY_INTERMEDIATES + 1)
        .map(<[u8]>::to_vec)
        .collect();
    if intermediates.len() > MAX_GATEWAY_INTERMEDIATES {
        return Err(untrusted(format!(
            "the gateway sent more than {MAX_GATEWAY_INTERMEDIATES} intermediate certificates"
        )));
    }
    shared
        .config
        .trust
        .verify(end_entity, &intermediates, shared.unix_time(now))
        .map_err(untrusted)?;
    let names = CertificateNames::parse(end_entity).map_err(untrusted)?;
    let identity = Identity::from_payload(idr).ok_or_else(|| {
        Error::misbehaved(format!(
            "the gateway's IDr has unsupported type {}",
            idr.id_type()
        ))
    })?;
    if let Some(expected) = &shared.config.remote_identity {
        expected_identity_check(names.describe(), true, shared, names.matches(expected))?;
    }
    // RFC 4945 §3.1: the identity the AUTH payload binds must be in the certificate.
    if !names.matches(&identity) {
        return Err(Error::Authentication(
            AuthenticationError::GatewayAuthenticationFailed {
                reason: format!(
                    "it identified itself as {identity}, which its certificate (for {}) does not cover",
                    names.describe()
                ),
            },
        ));
    }
    let spki = spki_of(end_entity).map_err(untrusted)?;
    signature::verify(auth, &spki, octets).map_err(|reason| {
        Error::Authentication(AuthenticationError::GatewayAuthenticationFailed { reason })
    })?;
    Ok(identity)
}

fn spki_of(der: &[u8]) -> Result<Vec<u8>, String> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("the certificate cannot be parsed: {e}"))?;
    Ok(cert.public_key().raw.to_vec())
}

/// Takes the Child SA, traffic selectors and configuration from the final IKE_AUTH
/// response and reports the established IKE SA.
pub(crate) fn complete_child(
    shared: &mut Shared,
    ctx: AuthContext,
    gateway: Identity,
    inbound: &Inbound<'_>,
) -> Result<State, Error> {
    let sa = super::find(inbound.payloads, |p| match p {
        Payload::Sa(sa) => Some(sa),
        _ => None,
    })
    .ok_or_else(|| Error::misbehaved("the final IKE_AUTH response has no SA payload"))?;
    let (esp, outbound_spi) =
        proposal::match_esp(sa, &shared.config.esp_proposals).map_err(Error::misbehaved)?;
    let tsi = super::find(inbound.payloads, |p| match p {
        Payload::TsI(ts) => Some(ts),
        _ => None,
    })
    .ok_or_else(|| Error::misbehaved("the final IKE_AUTH response has no TSi payload"))?;
    let tsr = super::find(inbound.payloads, |p| match p {
        Payload::TsR(ts) => Some(ts),
        _ => None,
    })
    .ok_or_else(|| Error::misbehaved("the final IKE_AUTH response has no TSr payload"))?;
    let ts_error =
        |detail| Error::PeerIncompatible(PeerIncompatible::TrafficSelectorsUnacceptable { detail });
    let local_ts =
        check_narrowed("TSi", tsi, &shared.config.traffic_selectors.local).map_err(ts_error)?;
    let remote_ts =
        check_narrowed("TSr", tsr, &shared.config.traffic_selectors.remote).map_err(ts_error)?;
    let assigned = match super::find(inbound.payloads, |p| match p {
        Payload::Config(cp) => Some(cp),
        _ => None,
    }) {
        Some(cp) => AssignedConfig::from_reply(cp).map_err(Error::misbehaved)?,
        None => AssignedConfig::default(),
    };
    let secrets = shared
        .secrets
        .as_ref()
        .ok_or_else(|| Error::internal("no IKE SA keys"))?;
    let child_keys = keys::child_keys(secrets, &esp, &ctx.handshake.ni, &ctx.handshake.nr)?;
    shared
        .events
        .push_back(Event::KeyMaterial(KeyMaterial::Child(ChildKeyMaterial {
            inbound_spi: ctx.child_spi,
            outbound_spi,
            suite: esp,
            keys: child_keys.clone(),
        })));
    let udp_encapsulation = shared.port == crate::nat::NAT_T_PORT;
    let established = Established {
        spi_i: shared.spi_i,
        spi_r: shared.spi_r,
        ike_suite: ctx.handshake.suite,
        esp_suite: esp,
        gateway_identity: gateway,
        assigned,
        local_traffic_selectors: local_ts,
        remote_traffic_selectors: remote_ts,
        inbound_spi: ctx.child_spi,
        outbound_spi,
        child_keys,
        nat: ctx.handshake.nat,
        udp_encapsulation,
        remote_port: shared.port,
        fragmentation: shared.fragmentation,
    };
    tracing::debug!(ike = %established.ike_suite, esp = %established.esp_suite, "IKE SA established");
    let child = Child {
        inbound_spi: ctx.child_spi,
        outbound_spi,
        local_ts: established.local_traffic_selectors.clone(),
        remote_ts: established.remote_traffic_selectors.clone(),
        retiring: false,
    };
    shared
        .events
        .push_back(Event::Established(Box::new(established)));
    Ok(State::Established(Box::new(EstablishedSa::new(child))))
}
