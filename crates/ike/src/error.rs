//! One error taxonomy for everything that ends an IKE SA, in rustls's shape: what the
//! peer sent was malformed, the peer broke the protocol, the peer wants something we do
//! not do, authentication failed (either way), nobody answered, or our own configuration
//! is unusable. Every variant reads as a sentence a person can act on.

use std::fmt;
use std::time::Duration;

use corridor_wire::{ExchangeType, NotifyType};

/// Why an IKE SA could not be set up or was torn down.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The gateway sent bytes that do not parse, inside an authenticated message (an
    /// unauthenticated malformed datagram is dropped instead, RFC 7296 §2.21.1).
    #[error("the gateway sent a malformed message: {0}")]
    InvalidMessage(#[from] corridor_wire::Error),

    /// The gateway broke a rule of the protocol.
    #[error("the gateway broke the IKEv2 protocol: {0}")]
    PeerMisbehaved(PeerMisbehaved),

    /// The gateway and this profile have nothing in common.
    #[error("{0}")]
    PeerIncompatible(PeerIncompatible),

    /// Authentication failed, in one direction or the other.
    #[error("{0}")]
    Authentication(AuthenticationError),

    /// The gateway answered a request with an error notification.
    #[error("the gateway answered {exchange} with {notify}: {}", notify_meaning(*notify))]
    NotifyReceived {
        /// The exchange our request started.
        exchange: ExchangeType,
        /// The error notification.
        notify: NotifyType,
    },

    /// Nobody answered our request.
    #[error(
        "no answer from the gateway on UDP {port} after {tries} tries ({} s)",
        elapsed.as_secs()
    )]
    Timeout {
        /// The exchange that got no answer.
        exchange: ExchangeType,
        /// The gateway's UDP port we sent to (500 or 4500).
        port: u16,
        /// How many times the request was sent.
        tries: u32,
        /// Time from the first transmission to giving up.
        elapsed: Duration,
    },

    /// The configuration cannot be used as it stands.
    #[error("invalid IKE configuration: {0}")]
    LocalConfig(String),

    /// A cryptographic operation of ours failed (not the peer's fault).
    #[error("internal failure: {0}")]
    Internal(String),
}

impl Error {
    /// The Notify to put in our answer when a *request* from the gateway fails with this
    /// error, or `None` when nothing should be sent.
    ///
    /// RFC 7296 §2.21: an authenticated request that cannot be processed is answered with
    /// an error notification (INVALID_SYNTAX when no other type fits); errors of our own
    /// making are never blamed on the peer.
    pub fn notify_type(&self) -> Option<NotifyType> {
        match self {
            Self::InvalidMessage(e) => e.notify_type(),
            Self::PeerMisbehaved(_) => Some(NotifyType::INVALID_SYNTAX),
            Self::Authentication(AuthenticationError::GatewayAuthenticationFailed { .. })
            | Self::Authentication(AuthenticationError::GatewayCertificateUntrusted { .. })
            | Self::Authentication(AuthenticationError::IdentityMismatch { .. }) => {
                Some(NotifyType::AUTHENTICATION_FAILED)
            }
            Self::PeerIncompatible(PeerIncompatible::TrafficSelectorsUnacceptable { .. }) => {
                Some(NotifyType::TS_UNACCEPTABLE)
            }
            Self::PeerIncompatible(_) => Some(NotifyType::NO_PROPOSAL_CHOSEN),
            _ => None,
        }
    }

    pub(crate) fn misbehaved(detail: impl Into<String>) -> Self {
        Self::PeerMisbehaved(PeerMisbehaved(detail.into()))
    }

    pub(crate) fn internal(detail: impl fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }
}

/// How the gateway broke the protocol, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerMisbehaved(pub String);

impl fmt::Display for PeerMisbehaved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The gateway and the profile share no way to talk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerIncompatible {
    /// NO_PROPOSAL_CHOSEN: none of our proposals is acceptable to the gateway.
    NoProposalChosen {
        /// "IKE" or "ESP".
        kind: &'static str,
        /// Our proposals, strongSwan notation.
        offered: Vec<String>,
    },
    /// INVALID_KE_PAYLOAD asks for a group that none of our proposals names.
    KeyExchangeGroupNotOffered {
        /// The group the gateway wants.
        requested: u16,
        /// The groups we offered.
        offered: Vec<String>,
    },
    /// The gateway narrowed the traffic selectors to something we did not ask for, or
    /// refused ours.
    TrafficSelectorsUnacceptable {
        /// What went wrong.
        detail: String,
    },
    /// Something else the gateway needs that we do not do (or the other way around).
    Other(String),
}

impl fmt::Display for PeerIncompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoProposalChosen { kind, offered } => write!(
                f,
                "the gateway accepted none of our {kind} proposals (we offered {}); \
                 check the profile's {kind} proposals against the gateway's configuration",
                offered.join(", ")
            ),
            Self::KeyExchangeGroupNotOffered { requested, offered } => write!(
                f,
                "the gateway wants key exchange group {requested}, which none of our \
                 proposals names (we offered {})",
                offered.join(", ")
            ),
            Self::TrafficSelectorsUnacceptable { detail } => {
                write!(f, "traffic selectors not acceptable: {detail}")
            }
            Self::Other(detail) => f.write_str(detail),
        }
    }
}

/// Authentication failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthenticationError {
    /// The gateway's certificate does not chain to a trusted CA, has expired, or is not
    /// meant for IKE.
    GatewayCertificateUntrusted {
        /// Why.
        reason: String,
    },
    /// The gateway's certificate or identity is not the one the profile expects.
    IdentityMismatch {
        /// What the certificate (or, with a PSK, the IDr payload) says.
        presented: String,
        /// What the profile expects.
        expected: String,
        /// Whether `presented` comes from a certificate.
        by_certificate: bool,
    },
    /// The gateway's AUTH payload does not verify: it does not know the shared secret,
    /// or its signature is wrong.
    GatewayAuthenticationFailed {
        /// Why.
        reason: String,
    },
    /// The gateway sent AUTHENTICATION_FAILED: it did not accept our credentials.
    CredentialsRejected,
    /// The gateway refused the identities we sent before any credential was checked
    /// (AUTHENTICATION_FAILED in answer to an IKE_AUTH request without AUTH payload).
    NoMatchingConnection {
        /// Our identity (IDi).
        local: String,
        /// The gateway identity we asked for (IDr), if any.
        remote: Option<String>,
    },
    /// The EAP conversation failed.
    Eap {
        /// What the EAP method reported.
        reason: String,
    },
}

impl fmt::Display for AuthenticationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GatewayCertificateUntrusted { reason } => {
                write!(f, "the gateway's certificate is not trusted: {reason}")
            }
            Self::IdentityMismatch {
                presented,
                expected,
                by_certificate: true,
            } => write!(
                f,
                "the gateway's certificate is for {presented}, the profile expects {expected}"
            ),
            Self::IdentityMismatch {
                presented,
                expected,
                by_certificate: false,
            } => write!(
                f,
                "the gateway identified itself as {presented}, the profile expects {expected}"
            ),
            Self::GatewayAuthenticationFailed { reason } => {
                write!(f, "the gateway failed to authenticate: {reason}")
            }
            Self::CredentialsRejected => f.write_str(
                "the gateway rejected our credentials (AUTHENTICATION_FAILED); check the \
                 user name, password, shared secret or certificate, and that the profile's \
                 local and gateway identities are the ones the gateway is configured for",
            ),
            Self::NoMatchingConnection {
                local,
                remote: Some(remote),
            } => write!(
                f,
                "the gateway refused us before checking any credential: it has no connection \
                 for gateway identity {remote} and client identity {local}; check the \
                 profile's gateway identity"
            ),
            Self::NoMatchingConnection {
                local,
                remote: None,
            } => write!(
                f,
                "the gateway refused us before checking any credential: it has no connection \
                 for client identity {local}"
            ),
            Self::Eap { reason } => write!(f, "EAP authentication failed: {reason}"),
        }
    }
}

/// A plain-language gloss of an error notification.
fn notify_meaning(notify: NotifyType) -> &'static str {
    match notify {
        NotifyType::NO_PROPOSAL_CHOSEN => "none of our proposals is acceptable",
        NotifyType::AUTHENTICATION_FAILED => "the gateway rejected our credentials",
        NotifyType::INVALID_SYNTAX => "the gateway could not parse our message",
        NotifyType::INVALID_KE_PAYLOAD => "the gateway wants another key exchange group",
        NotifyType::INTERNAL_ADDRESS_FAILURE => "the gateway has no address to assign to us",
        NotifyType::FAILED_CP_REQUIRED => "the gateway requires a configuration request",
        NotifyType::TS_UNACCEPTABLE => "the gateway refused our traffic selectors",
        NotifyType::SINGLE_PAIR_REQUIRED => "the gateway wants a single traffic selector pair",
        NotifyType::TEMPORARY_FAILURE => "the gateway is busy; try again later",
        NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD => {
            "the gateway does not support a payload we marked critical"
        }
        NotifyType::INVALID_MAJOR_VERSION => "the gateway does not speak IKEv2",
        _ => "the request failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_language() {
        let e = Error::Timeout {
            exchange: ExchangeType::IKE_SA_INIT,
            port: 500,
            tries: 6,
            elapsed: Duration::from_millis(31_500),
        };
        assert_eq!(
            e.to_string(),
            "no answer from the gateway on UDP 500 after 6 tries (31 s)"
        );
        let e = Error::Authentication(AuthenticationError::IdentityMismatch {
            presented: "vpn.corp.example".into(),
            expected: "vpn.example.com".into(),
            by_certificate: true,
        });
        assert_eq!(
            e.to_string(),
            "the gateway's certificate is for vpn.corp.example, the profile expects vpn.example.com"
        );
        let e = Error::NotifyReceived {
            exchange: ExchangeType::IKE_AUTH,
            notify: NotifyType::TS_UNACCEPTABLE,
        };
        assert_eq!(
            e.to_string(),
            "the gateway answered IKE_AUTH with TS_UNACCEPTABLE: the gateway refused our traffic selectors"
        );
        assert_eq!(e.notify_type(), None);
    }
}
