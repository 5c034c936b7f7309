//! Desktop notifications: which state changes deserve one (a pure decision, tested
//! here) and showing it. A desktop without a notification daemon only loses the
//! notification: the failure is logged at debug level and nothing else changes.

use corridor_ipc::{ConnectionState, ConnectionStatus};
use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt as _;

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) title: String,
    pub(crate) body: String,
}

/// What the change from `old` (the last state seen, if any) to `new` deserves: the
/// connection came up, came back after a drop, or dropped on its own (from connected
/// to reconnecting or disconnected, with a reason). A disconnect the user asked for
/// passes through `disconnecting` first and stays quiet.
pub(crate) fn decide(old: Option<ConnectionState>, new: &ConnectionStatus) -> Option<Notice> {
    let name = &new.profile.name;
    match (old, new.state) {
        (Some(ConnectionState::Connected), ConnectionState::Connected) => None,
        (Some(ConnectionState::Reconnecting { .. }), ConnectionState::Connected) => Some(Notice {
            title: format!("{name} reconnected"),
            body: "The VPN connection is back.".to_string(),
        }),
        (_, ConnectionState::Connected) => Some(Notice {
            title: format!("{name} connected"),
            body: connected_body(new),
        }),
        (Some(ConnectionState::Connected), ConnectionState::Reconnecting { .. }) => {
            let reason = new
                .reason
                .as_deref()
                .unwrap_or("the gateway stopped answering");
            Some(Notice {
                title: format!("{name} dropped"),
                body: format!("{}; reconnecting…", sentence(reason)),
            })
        }
        (Some(ConnectionState::Connected), ConnectionState::Disconnected) => {
            new.reason.as_deref().map(|reason| Notice {
                title: format!("{name} dropped"),
                body: format!("{}.", sentence(reason)),
            })
        }
        _ => None,
    }
}

fn connected_body(status: &ConnectionStatus) -> String {
    match status.details.as_ref().and_then(|d| d.virtual_ips.first()) {
        Some(ip) => format!("Your address in the VPN is {ip}."),
        None => "The VPN connection is up.".to_string(),
    }
}

/// `reason` with a capital first letter and no final full stop.
fn sentence(reason: &str) -> String {
    let reason = reason.trim().trim_end_matches('.');
    let mut chars = reason.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Shows `notice` off the async workers (the daemon is asked over D-Bus, which blocks);
/// a failure is only logged.
pub(crate) fn show(app: &AppHandle, notice: Notice) {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(e) = app
            .notification()
            .builder()
            .title(&notice.title)
            .body(&notice.body)
            .show()
        {
            tracing::debug!("notification not shown ({}): {e}", notice.title);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_ipc::{ConnectedDetails, ProfileSummary};
    use uuid::Uuid;

    fn status(state: ConnectionState, reason: Option<&str>) -> ConnectionStatus {
        ConnectionStatus {
            profile: ProfileSummary {
                id: Uuid::nil(),
                name: "Work".to_string(),
                gateway: "vpn.example.org".to_string(),
                auth: "eap-mschapv2".to_string(),
                managed: false,
                posture: "strong".to_string(),
            },
            state,
            reason: reason.map(str::to_string),
            details: None,
            stats: None,
        }
    }

    const RECONNECTING: ConnectionState = ConnectionState::Reconnecting {
        attempt: 1,
        retry_in_secs: 2,
    };

    #[test]
    fn connected_after_connecting() {
        let mut new = status(ConnectionState::Connected, None);
        new.details = Some(ConnectedDetails {
            virtual_ips: vec!["198.18.7.2".parse().unwrap()],
            gateway: "198.18.0.1".parse().unwrap(),
            ike_suite: String::new(),
            esp_suite: String::new(),
            routes: vec![],
            dns_servers: vec![],
            dns_domains: vec![],
        });
        let notice = decide(Some(ConnectionState::Connecting), &new).unwrap();
        assert_eq!(notice.title, "Work connected");
        assert_eq!(notice.body, "Your address in the VPN is 198.18.7.2.");
        // First sight of a connection that is already up (the app started later).
        assert!(decide(None, &new).is_some());
    }

    #[test]
    fn repeated_connected_is_quiet() {
        let new = status(ConnectionState::Connected, None);
        assert_eq!(decide(Some(ConnectionState::Connected), &new), None);
    }

    #[test]
    fn reconnected_after_a_drop() {
        let new = status(ConnectionState::Connected, None);
        let notice = decide(Some(RECONNECTING), &new).unwrap();
        assert_eq!(notice.title, "Work reconnected");
    }

    #[test]
    fn drop_to_reconnecting_names_the_reason() {
        let new = status(RECONNECTING, Some("the gateway stopped answering."));
        let notice = decide(Some(ConnectionState::Connected), &new).unwrap();
        assert_eq!(notice.title, "Work dropped");
        assert_eq!(notice.body, "The gateway stopped answering; reconnecting…");
    }

    #[test]
    fn drop_to_disconnected_with_a_reason() {
        let new = status(ConnectionState::Disconnected, Some("authentication failed"));
        let notice = decide(Some(ConnectionState::Connected), &new).unwrap();
        assert_eq!(notice.body, "Authentication failed.");
    }

    #[test]
    fn user_disconnect_is_quiet() {
        let new = status(ConnectionState::Disconnecting, None);
        assert_eq!(decide(Some(ConnectionState::Connected), &new), None);
        let new = status(
            ConnectionState::Disconnected,
            Some("disconnected by the user"),
        );
        assert_eq!(decide(Some(ConnectionState::Disconnecting), &new), None);
    }

    #[test]
    fn progress_states_are_quiet() {
        let new = status(ConnectionState::Connecting, None);
        assert_eq!(decide(Some(ConnectionState::Disconnected), &new), None);
        assert_eq!(decide(None, &new), None);
        let new = status(ConnectionState::Disconnected, Some("authentication failed"));
        assert_eq!(decide(Some(ConnectionState::Connecting), &new), None);
    }
}
