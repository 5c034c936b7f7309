//! Errors of the EAP peer, worded for the person who reads them in the connection log.
//!
//! They fall into the usual classes: a malformed message ([`EapError::Malformed`]), a
//! gateway that broke the protocol or failed to prove itself
//! ([`EapError::PeerMisbehaved`], [`EapError::MsChapV2BadProof`], TLS errors), a gateway
//! that said no ([`EapError::MsChapV2`], [`EapError::Rejected`]), and our own
//! configuration ([`EapError::Config`]).

use std::fmt;

use crate::EapType;

/// Why EAP authentication could not go on.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum EapError {
    /// The gateway sent bytes that are not a valid EAP (or method) message.
    #[error("malformed EAP message: {0}")]
    Malformed(String),

    /// The gateway sent a well-formed message that the protocol does not allow now.
    #[error("the gateway broke the EAP protocol: {0}")]
    PeerMisbehaved(String),

    /// The gateway ended authentication with an EAP-Failure.
    #[error("{}", rejected_text(.offered_instead))]
    Rejected {
        /// A method the gateway asked for that we declined with a Nak, if any.
        offered_instead: Option<EapType>,
    },

    /// The gateway refused the MSCHAPv2 credentials.
    #[error("{0}")]
    MsChapV2(MsChapV2Failure),

    /// The gateway's authenticator response (RFC 2759 §8.7) did not match.
    #[error(
        "the gateway's MSCHAPv2 proof is wrong: it does not know the password, or someone is \
         impersonating it"
    )]
    MsChapV2BadProof,

    /// The gateway's certificate did not verify.
    #[error("the gateway's TLS certificate was not accepted: {0}")]
    TlsCertificate(rustls::Error),

    /// The gateway sent a TLS alert.
    #[error("the gateway aborted the TLS handshake: {0}")]
    TlsAlert(rustls::Error),

    /// Any other TLS failure.
    #[error("the EAP-TLS handshake failed: {0}")]
    Tls(rustls::Error),

    /// The gateway announced a TLS message larger than we accept.
    #[error(
        "malformed EAP message: the gateway announced a {declared}-octet TLS message, more than \
         the {limit}-octet limit"
    )]
    TlsMessageTooLong {
        /// The TLS Message Length the gateway declared.
        declared: u64,
        /// Our limit.
        limit: usize,
    },

    /// Our own configuration cannot work.
    #[error("EAP configuration error: {0}")]
    Config(String),

    /// `handle` was called after authentication had already ended.
    #[error("EAP authentication has already ended")]
    Finished,
}

fn rejected_text(offered_instead: &Option<EapType>) -> String {
    match offered_instead {
        Some(ty) => format!(
            "the gateway rejected the authentication (EAP-Failure) after we declined {ty}, \
             which this profile does not allow; the gateway and the profile use different \
             authentication methods"
        ),
        None => "the gateway rejected the authentication (EAP-Failure)".to_owned(),
    }
}

impl EapError {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed(reason.into())
    }

    pub(crate) fn misbehaved(reason: impl Into<String>) -> Self {
        Self::PeerMisbehaved(reason.into())
    }

    /// Maps a rustls error to the variant that says what a person should look at.
    pub(crate) fn from_tls(err: rustls::Error) -> Self {
        match err {
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                Self::TlsCertificate(err)
            }
            rustls::Error::AlertReceived(_) => Self::TlsAlert(err),
            other => Self::Tls(other),
        }
    }
}

/// The reasons a gateway gives in an MSCHAPv2 Failure Request ("E=691 R=0 C=... V=3
/// M=...", RFC 2759 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsChapV2Failure {
    /// The E= value.
    pub code: u32,
    /// The R= value: whether the gateway would accept a retry.
    pub retry: bool,
    /// The M= text, as the gateway sent it (not shown in `Display`: it is the gateway's
    /// wording, which may be anything).
    pub message: String,
}

impl MsChapV2Failure {
    /// RFC 2759 §6 ERROR_RESTRICTED_LOGON_HOURS.
    pub const RESTRICTED_LOGON_HOURS: u32 = 646;
    /// RFC 2759 §6 ERROR_ACCT_DISABLED.
    pub const ACCOUNT_DISABLED: u32 = 647;
    /// RFC 2759 §6 ERROR_PASSWD_EXPIRED.
    pub const PASSWORD_EXPIRED: u32 = 648;
    /// RFC 2759 §6 ERROR_NO_DIALIN_PERMISSION.
    pub const NO_DIALIN_PERMISSION: u32 = 649;
    /// RFC 2759 §6 ERROR_AUTHENTICATION_FAILURE.
    pub const AUTHENTICATION_FAILURE: u32 = 691;
    /// RFC 2759 §6 ERROR_CHANGING_PASSWORD.
    pub const CHANGING_PASSWORD: u32 = 709;
}

impl fmt::Display for MsChapV2Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code;
        match code {
            Self::AUTHENTICATION_FAILURE => write!(
                f,
                "the gateway rejected the user name or password (MSCHAPv2 error {code})"
            ),
            Self::RESTRICTED_LOGON_HOURS => write!(
                f,
                "the account may not log in at this time of day (MSCHAPv2 error {code})"
            ),
            Self::ACCOUNT_DISABLED => {
                write!(f, "the account is disabled (MSCHAPv2 error {code})")
            }
            Self::PASSWORD_EXPIRED => write!(
                f,
                "the password has expired and must be changed before connecting (MSCHAPv2 \
                 error {code})"
            ),
            Self::NO_DIALIN_PERMISSION => write!(
                f,
                "the account is not allowed to connect remotely (MSCHAPv2 error {code})"
            ),
            Self::CHANGING_PASSWORD => {
                write!(
                    f,
                    "the gateway failed to change the password (MSCHAPv2 error {code})"
                )
            }
            0 => f.write_str("the gateway refused the MSCHAPv2 login without giving a reason"),
            _ => write!(
                f,
                "the gateway refused the login with MSCHAPv2 error {code}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_plainly() {
        let f = |code| {
            EapError::MsChapV2(MsChapV2Failure {
                code,
                retry: false,
                message: String::new(),
            })
            .to_string()
        };
        assert_eq!(
            f(691),
            "the gateway rejected the user name or password (MSCHAPv2 error 691)"
        );
        assert!(f(648).contains("expired"));
        assert!(f(647).contains("disabled"));
        assert!(f(646).contains("time of day"));
        assert!(f(649).contains("not allowed"));
        assert!(f(1).contains("error 1"));
        assert_eq!(
            EapError::MsChapV2BadProof.to_string(),
            "the gateway's MSCHAPv2 proof is wrong: it does not know the password, or someone \
             is impersonating it"
        );
        assert!(
            EapError::Rejected {
                offered_instead: Some(EapType::GTC)
            }
            .to_string()
            .contains("declined GTC (6)")
        );
    }
}
