//! The one error type every command returns, in the shape the page expects
//! (`{code, message, details?, needs?}`), and how the service's errors map onto it.

use corridor_client::ClientError;
use corridor_ipc::ErrorCode;
use serde::Serialize;

/// What kind of failure, for the page to pick its reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Code {
    /// corridord is not running or its socket cannot be used.
    ServiceUnavailable,
    /// A password or key passphrase is needed (see `needs`).
    SecretRequired,
    NotFound,
    Conflict,
    InvalidProfile,
    Unauthorized,
    BadRequest,
    /// The user's keychain refused. Part of the page's contract; today a keychain
    /// failure is a note of the import or a log line, never a failed command.
    #[allow(dead_code)]
    Keychain,
    /// A local file could not be read or written.
    Io,
    Internal,
}

/// Which secret the page must ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Need {
    Password,
    KeyPassphrase,
}

/// A failed command: `message` is shown as it is, `details` behind a "details" expander.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UiError {
    pub(crate) code: Code,
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) needs: Option<Need>,
}

impl UiError {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        UiError {
            code,
            message: message.into(),
            details: None,
            needs: None,
        }
    }

    pub(crate) fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// The profile needs `need` and neither the page nor the keychain had it.
    pub(crate) fn secret_required(need: Need, profile_name: &str) -> Self {
        let what = match need {
            Need::Password => "password",
            Need::KeyPassphrase => "client certificate's password",
        };
        UiError {
            code: Code::SecretRequired,
            message: format!("Enter the {what} for “{profile_name}”."),
            details: None,
            needs: Some(need),
        }
    }

    pub(crate) fn io(message: impl Into<String>) -> Self {
        UiError::new(Code::Io, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        UiError::new(Code::Internal, message)
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(details) = &self.details {
            write!(f, " ({details})")?;
        }
        Ok(())
    }
}

/// The page's code for a service error code.
pub(crate) fn code_for(code: ErrorCode) -> Code {
    match code {
        ErrorCode::BadRequest | ErrorCode::UnsupportedVersion => Code::BadRequest,
        ErrorCode::Unauthorized => Code::Unauthorized,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::Conflict => Code::Conflict,
        ErrorCode::SecretRequired => Code::SecretRequired,
        ErrorCode::InvalidProfile => Code::InvalidProfile,
        ErrorCode::Internal => Code::Internal,
    }
}

/// The plain sentence shown when the service cannot be reached at all.
pub(crate) const SERVICE_DOWN: &str = "The Corridor service is not running.";

impl From<ClientError> for UiError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Unavailable { socket, reason } => {
                UiError::new(Code::ServiceUnavailable, unavailable_message(&reason))
                    .with_details(format!("{}: {reason}", socket.display()))
            }
            ClientError::Refused(reply) => {
                let code = code_for(reply.code);
                let mut error = UiError::new(code, reply.message);
                if code == Code::SecretRequired {
                    // The service does not say which; the password is by far the usual one.
                    error.needs = Some(Need::Password);
                }
                error
            }
            // A connection that broke mid-request: the service stopped or restarts.
            ClientError::Protocol(text) => UiError::new(
                Code::ServiceUnavailable,
                "The connection to the Corridor service was lost; try again in a moment.",
            )
            .with_details(text),
        }
    }
}

/// The first sentence the page shows for an unreachable service, from the client's
/// reason (which says what to do).
pub(crate) fn unavailable_message(reason: &str) -> String {
    if reason.contains("not running") {
        // The reason already says so, and how to start it.
        capitalize(reason)
    } else {
        format!("The Corridor service cannot be reached: {reason}.")
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(chars.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_ipc::ErrorReply;
    use std::path::PathBuf;

    #[test]
    fn every_service_code_maps() {
        let pairs = [
            (ErrorCode::BadRequest, "bad_request"),
            (ErrorCode::UnsupportedVersion, "bad_request"),
            (ErrorCode::Unauthorized, "unauthorized"),
            (ErrorCode::NotFound, "not_found"),
            (ErrorCode::Conflict, "conflict"),
            (ErrorCode::SecretRequired, "secret_required"),
            (ErrorCode::InvalidProfile, "invalid_profile"),
            (ErrorCode::Internal, "internal"),
        ];
        for (service, page) in pairs {
            let json = serde_json::to_value(code_for(service)).unwrap();
            assert_eq!(json, page, "{service:?}");
        }
    }

    #[test]
    fn refused_keeps_the_service_message() {
        let e = UiError::from(ClientError::Refused(ErrorReply {
            code: ErrorCode::Conflict,
            message: "“Work” is already connected".to_string(),
        }));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "conflict", "message": "“Work” is already connected"})
        );
    }

    #[test]
    fn secret_required_from_the_service_names_the_password() {
        let e = UiError::from(ClientError::Refused(ErrorReply {
            code: ErrorCode::SecretRequired,
            message: "a password is needed".to_string(),
        }));
        assert_eq!(e.needs, Some(Need::Password));
        assert_eq!(serde_json::to_value(&e).unwrap()["needs"], "password");
    }

    #[test]
    fn unavailable_says_not_running_in_plain_words() {
        let e = UiError::from(ClientError::Unavailable {
            socket: PathBuf::from("/run/corridor/corridord.sock"),
            reason:
                "the Corridor service is not running (start it with `systemctl start corridord`)"
                    .to_string(),
        });
        assert_eq!(e.code, Code::ServiceUnavailable);
        assert_eq!(
            e.message,
            "The Corridor service is not running (start it with `systemctl start corridord`)."
        );
        assert!(e.message.contains("systemctl start corridord"));
        assert_eq!(
            e.details.as_deref(),
            Some(
                "/run/corridor/corridord.sock: the Corridor service is not running (start it \
                 with `systemctl start corridord`)"
            )
        );
    }

    #[test]
    fn permission_problem_is_service_unavailable_with_the_reason() {
        let e = UiError::from(ClientError::Unavailable {
            socket: PathBuf::from("/s"),
            reason: "you may not use the Corridor service".to_string(),
        });
        assert_eq!(e.code, Code::ServiceUnavailable);
        assert_eq!(
            e.message,
            "The Corridor service cannot be reached: you may not use the Corridor service."
        );
    }

    #[test]
    fn broken_connection_is_service_unavailable_with_details() {
        let e = UiError::from(ClientError::Protocol(
            "the service closed the connection".into(),
        ));
        assert_eq!(e.code, Code::ServiceUnavailable);
        assert_eq!(
            e.details.as_deref(),
            Some("the service closed the connection")
        );
    }

    #[test]
    fn secret_required_names_what_is_missing() {
        let e = UiError::secret_required(Need::KeyPassphrase, "Work");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["code"], "secret_required");
        assert_eq!(json["needs"], "key_passphrase");
        assert!(json.get("details").is_none());
    }
}
