//! The method-independent EAP peer (RFC 3748 §2, §4, §5.1-5.3): answers Identity and
//! Notification, declines methods the profile does not allow, hands method Requests to
//! the configured method, resends the last Response to a retransmitted Request, and
//! accepts EAP-Success only when the method has finished and proved the gateway.
//!
//! Call contract: feed every EAP message from the gateway to [`EapPeer::handle`], send the
//! Response it returns (if any), then look at [`EapPeer::state`]. `Ok` with
//! [`EapState::Failed`] means "send this last Response, then stop": the gateway gets the
//! acknowledgement it expects before it sends EAP-Failure. `Err` means stop now; the state
//! is then `Failed` too, except for a message that could not be parsed at all, which RFC
//! 3748 says to discard and which leaves the state unchanged.

use std::fmt;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use crate::codec::{self, EapType, Packet};
use crate::mschapv2::{MsChapV2, Step};
use crate::tls::{DEFAULT_MAX_FRAGMENT, Tls};
use crate::{EapError, Msk, Password, Random};

/// The credentials for the one EAP method a profile uses.
#[derive(Clone)]
pub enum Credentials {
    /// EAP-MSCHAPv2 with a user name and password.
    MsChapV2 {
        /// The user name, `DOMAIN\user` or `user`.
        username: String,
        /// The password.
        password: Password,
    },
    /// EAP-TLS: the rustls configuration holds the trusted roots for the gateway and our
    /// client certificate and key.
    Tls {
        /// The TLS configuration (roots, client certificate, versions).
        config: Arc<ClientConfig>,
        /// The name (or IP address) the gateway's certificate must carry.
        server_name: ServerName<'static>,
    },
}

impl Credentials {
    /// The EAP method these credentials are for.
    pub fn method(&self) -> EapType {
        match self {
            Credentials::MsChapV2 { .. } => EapType::MSCHAPV2,
            Credentials::Tls { .. } => EapType::TLS,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::MsChapV2 { username, .. } => f
                .debug_struct("MsChapV2")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Credentials::Tls { server_name, .. } => f
                .debug_struct("Tls")
                .field("server_name", server_name)
                .finish_non_exhaustive(),
        }
    }
}

/// What the EAP peer needs to know.
#[derive(Clone, Debug)]
pub struct EapConfig {
    /// Sent in answer to EAP-Request/Identity (RFC 3748 §5.1).
    pub identity: String,
    /// The one method we allow, and its credentials.
    pub credentials: Credentials,
    /// The largest piece of TLS data put in one EAP-TLS Response.
    pub max_tls_fragment: usize,
}

impl EapConfig {
    /// A configuration with the default TLS fragment size.
    pub fn new(identity: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            identity: identity.into(),
            credentials,
            max_tls_fragment: DEFAULT_MAX_FRAGMENT,
        }
    }

    /// The methods we accept, as listed in our Nak.
    pub fn allowed_methods(&self) -> Vec<EapType> {
        vec![self.credentials.method()]
    }
}

/// Where authentication stands.
#[derive(Debug, Clone)]
pub enum EapState {
    /// More messages are expected.
    InProgress,
    /// EAP-Success arrived after the method finished; the MSK is ready.
    Succeeded {
        /// The Master Session Key for the AUTH payload (RFC 7296 §2.16).
        msk: Msk,
    },
    /// Authentication failed.
    Failed(EapError),
}

#[derive(Debug)]
enum Method {
    MsChapV2(MsChapV2),
    Tls(Tls),
}

impl Method {
    fn is_done(&self) -> bool {
        match self {
            Method::MsChapV2(m) => m.is_done(),
            Method::Tls(t) => t.is_done(),
        }
    }

    fn msk(&self) -> Option<&Msk> {
        match self {
            Method::MsChapV2(m) => m.msk(),
            Method::Tls(t) => t.msk(),
        }
    }
}

/// The last Request we answered and our Response, to answer a retransmission.
struct LastExchange {
    request: Vec<u8>,
    response: Vec<u8>,
}

/// The sans-IO EAP peer. See the module documentation for the call contract.
pub struct EapPeer {
    identity: String,
    method_type: EapType,
    method: Method,
    method_started: bool,
    declined: Option<EapType>,
    notification: Option<String>,
    state: EapState,
    last: Option<LastExchange>,
    rng: Box<dyn Random + Send>,
}

impl fmt::Debug for EapPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EapPeer")
            .field("method", &self.method_type)
            .field("method_started", &self.method_started)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl EapPeer {
    /// A peer that will authenticate with `config`, drawing random numbers from `rng`.
    pub fn new(config: EapConfig, rng: Box<dyn Random + Send>) -> Self {
        let method_type = config.credentials.method();
        let method = match config.credentials {
            Credentials::MsChapV2 { username, password } => {
                Method::MsChapV2(MsChapV2::new(username, password))
            }
            Credentials::Tls {
                config: tls,
                server_name,
            } => Method::Tls(Tls::new(tls, server_name, config.max_tls_fragment)),
        };
        Self {
            identity: config.identity,
            method_type,
            method,
            method_started: false,
            declined: None,
            notification: None,
            state: EapState::InProgress,
            last: None,
            rng,
        }
    }

    /// Where authentication stands.
    pub fn state(&self) -> &EapState {
        &self.state
    }

    /// The MSK, once EAP-Success was accepted.
    pub fn msk(&self) -> Option<&Msk> {
        match &self.state {
            EapState::Succeeded { msk } => Some(msk),
            _ => None,
        }
    }

    /// Whether the gateway proved its identity inside EAP (RFC 5998 requires this for
    /// EAP-only authentication). True for both our methods once they succeeded:
    /// MSCHAPv2 verified the gateway's authenticator response, EAP-TLS its certificate.
    pub fn is_mutual(&self) -> bool {
        matches!(self.state, EapState::Succeeded { .. })
    }

    /// The method this peer runs.
    pub fn method(&self) -> EapType {
        self.method_type
    }

    /// The text of the last EAP-Request/Notification, for display (RFC 3748 §5.2).
    pub fn notification(&self) -> Option<&str> {
        self.notification.as_deref()
    }

    /// Handles one EAP message from the gateway and returns the Response to send, if any.
    pub fn handle(&mut self, message: &[u8]) -> Result<Option<Vec<u8>>, EapError> {
        // RFC 3748 §4.1: "If a peer receives a valid duplicate Request for which it has
        // already sent a Response, it MUST resend its original Response without
        // reprocessing the Request."
        if let Some(last) = &self.last
            && last.request == message
        {
            return Ok(Some(last.response.clone()));
        }
        match &self.state {
            EapState::InProgress => {}
            EapState::Succeeded { .. } => {
                return match Packet::parse(message) {
                    // A repeated Success changes nothing.
                    Ok(Packet::Success { .. }) => Ok(None),
                    _ => Err(EapError::Finished),
                };
            }
            EapState::Failed(err) => return Err(err.clone()),
        }
        let packet = Packet::parse(message)?;
        match self.dispatch(packet) {
            Ok(Some(response)) => {
                self.last = Some(LastExchange {
                    request: message.to_vec(),
                    response: response.clone(),
                });
                Ok(Some(response))
            }
            Ok(None) => Ok(None),
            Err(err) => {
                self.state = EapState::Failed(err.clone());
                Err(err)
            }
        }
    }

    fn dispatch(&mut self, packet: Packet<'_>) -> Result<Option<Vec<u8>>, EapError> {
        match packet {
            Packet::Request { id, ty, data } => self.on_request(id, ty, data).map(Some),
            Packet::Response { .. } => Err(EapError::misbehaved(
                "the gateway sent an EAP Response; only peers do",
            )),
            Packet::Success { .. } => self.on_success().map(|()| None),
            Packet::Failure { .. } => Err(EapError::Rejected {
                offered_instead: self.declined,
            }),
        }
    }

    fn on_request(&mut self, id: u8, ty: EapType, data: &[u8]) -> Result<Vec<u8>, EapError> {
        match ty {
            EapType::IDENTITY => {
                // RFC 3748 §5.1: the Identity Request is used "to query the identity of
                // the peer"; it belongs before the method starts.
                if self.method_started {
                    return Err(EapError::misbehaved(
                        "EAP-Request/Identity after the method had started",
                    ));
                }
                codec::response(id, EapType::IDENTITY, &[self.identity.as_bytes()])
            }
            EapType::NOTIFICATION => {
                // RFC 3748 §5.2: "The peer MUST respond to a Notification Request with a
                // Notification Response unless the EAP authentication method specification
                // prohibits the use of Notification messages." The Response carries no
                // Type-Data.
                self.notification = Some(String::from_utf8_lossy(data).into_owned());
                codec::response(id, EapType::NOTIFICATION, &[])
            }
            EapType::NAK => {
                // RFC 3748 §5.3.1: "The legacy Nak Type is valid only in Response messages."
                Err(EapError::misbehaved(
                    "the gateway sent a Nak, which only peers send",
                ))
            }
            ty if ty == self.method_type => {
                self.method_started = true;
                let reply = match &mut self.method {
                    Method::MsChapV2(m) => match m.handle(data, self.rng.as_mut())? {
                        Step::Reply(reply) => reply,
                        Step::ReplyThenFail(reply, err) => {
                            self.state = EapState::Failed(err);
                            reply
                        }
                    },
                    Method::Tls(t) => t.handle(data)?,
                };
                codec::response(id, ty, &[&reply])
            }
            other => {
                if self.method_started {
                    return Err(EapError::misbehaved(format!(
                        "the gateway switched from {} to {other} in mid-authentication",
                        self.method_type
                    )));
                }
                // RFC 3748 §5.3.1: the legacy Nak "is sent in reply to a Request where the
                // desired authentication Type is unacceptable", listing the Types we want.
                // We answer Expanded Type (254) Requests with it too: we implement no
                // expanded method, and our list names only legacy Types.
                self.declined = Some(other);
                codec::response(id, EapType::NAK, &[&[self.method_type.0]])
            }
        }
    }

    fn on_success(&mut self) -> Result<(), EapError> {
        // Both our methods authenticate the gateway inside the method (the RFC 2759 §8.8
        // check of its authenticator response, the TLS server certificate). A Success that
        // arrived earlier would let an impersonator skip that proof and still get us to
        // compute an AUTH payload, so it ends authentication instead.
        if !self.method.is_done() {
            let why = match &self.method {
                Method::Tls(t) if self.method_started => t.not_done_reason(),
                _ if !self.method_started => "before any authentication method ran",
                _ => "before the gateway proved it knows the password",
            };
            return Err(EapError::misbehaved(format!("EAP-Success {why}")));
        }
        let msk = self
            .method
            .msk()
            .cloned()
            .ok_or_else(|| EapError::misbehaved("EAP-Success but the method has no key"))?;
        self.state = EapState::Succeeded { msk };
        Ok(())
    }
}

#[cfg(test)]
mod tests;
