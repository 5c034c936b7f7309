//! What the tray shows, as a pure function of the profiles, their states and the
//! settings: the menu's items and the icon's look. The tray module turns this into
//! native menus; tests check it here without a display.

use std::collections::HashMap;

use corridor_ipc::{ConnectionState, ProfileSummary};
use uuid::Uuid;

/// One menu line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// A clickable entry.
    Entry {
        /// `default`, `profile:<uuid>`, `open` or `quit`.
        id: String,
        label: String,
        enabled: bool,
    },
    Separator,
}

/// The icon's colour: grey, amber, green, red.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Look {
    Disconnected,
    Connecting,
    Connected,
    /// The service cannot be reached.
    Error,
}

/// Menu id of the default profile's entry.
pub(crate) const DEFAULT_ID: &str = "default";
/// Menu id of "Open Corridor".
pub(crate) const OPEN_ID: &str = "open";
/// Menu id of "Quit".
pub(crate) const QUIT_ID: &str = "quit";
/// Prefix of a profile's entry id.
pub(crate) const PROFILE_PREFIX: &str = "profile:";

/// Whether a click on a profile in `state` disconnects it (else it connects).
pub(crate) fn is_active(state: Option<ConnectionState>) -> bool {
    matches!(
        state,
        Some(
            ConnectionState::Connected
                | ConnectionState::Connecting
                | ConnectionState::Reconnecting { .. }
        )
    )
}

/// The profile the first item and a left click toggle: the chosen default when it
/// still exists, else the only profile there is.
pub(crate) fn default_profile<'a>(
    profiles: &'a [ProfileSummary],
    chosen: Option<&str>,
) -> Option<&'a ProfileSummary> {
    if let Some(chosen) = chosen
        && let Some(p) = profiles.iter().find(|p| p.id.to_string() == chosen)
    {
        return Some(p);
    }
    match profiles {
        [only] => Some(only),
        _ => None,
    }
}

fn toggle_label(profile: &ProfileSummary, state: Option<ConnectionState>) -> String {
    if is_active(state) {
        format!("Disconnect {}", profile.name)
    } else {
        format!("Connect {}", profile.name)
    }
}

/// The menu: the default profile's toggle (when there is one), one toggle per profile,
/// a separator, "Open Corridor", "Quit". Without the service the toggles are disabled.
pub(crate) fn menu(
    profiles: &[ProfileSummary],
    states: &HashMap<Uuid, ConnectionState>,
    default: Option<&str>,
    service_up: bool,
) -> Vec<Item> {
    let mut items = Vec::new();
    let state_of = |p: &ProfileSummary| states.get(&p.id).copied();
    if !service_up {
        items.push(Item::Entry {
            id: "service".to_string(),
            label: "Service not running".to_string(),
            enabled: false,
        });
    } else if let Some(p) = default_profile(profiles, default) {
        items.push(Item::Entry {
            id: DEFAULT_ID.to_string(),
            label: toggle_label(p, state_of(p)),
            enabled: true,
        });
        items.push(Item::Separator);
    }
    let mut sorted: Vec<&ProfileSummary> = profiles.iter().collect();
    sorted.sort_by_key(|p| p.name.to_lowercase());
    for p in sorted {
        items.push(Item::Entry {
            id: format!("{PROFILE_PREFIX}{}", p.id),
            label: toggle_label(p, state_of(p)),
            enabled: service_up,
        });
    }
    items.push(Item::Separator);
    items.push(Item::Entry {
        id: OPEN_ID.to_string(),
        label: "Open Corridor".to_string(),
        enabled: true,
    });
    items.push(Item::Entry {
        id: QUIT_ID.to_string(),
        label: "Quit".to_string(),
        enabled: true,
    });
    items
}

/// The icon's look: red without the service, else the most advanced state of any
/// connection (connected, then any step in between, then nothing).
pub(crate) fn look(states: &HashMap<Uuid, ConnectionState>, service_up: bool) -> Look {
    if !service_up {
        return Look::Error;
    }
    if states.values().any(|s| *s == ConnectionState::Connected) {
        Look::Connected
    } else if states
        .values()
        .any(|s| !matches!(s, ConnectionState::Disconnected))
    {
        Look::Connecting
    } else {
        Look::Disconnected
    }
}

/// The tooltip for `look`.
pub(crate) fn tooltip(look: Look) -> &'static str {
    match look {
        Look::Disconnected => "Corridor: not connected",
        Look::Connecting => "Corridor: connecting",
        Look::Connected => "Corridor: connected",
        Look::Error => "Corridor: service not running",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(n: u128, name: &str) -> ProfileSummary {
        ProfileSummary {
            id: Uuid::from_u128(n),
            name: name.to_string(),
            gateway: "vpn.example.org".to_string(),
            auth: "psk".to_string(),
            managed: false,
            posture: "strong".to_string(),
        }
    }

    fn labels(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Entry { id, label, .. } => format!("{id}={label}"),
                Item::Separator => "-".to_string(),
            })
            .collect()
    }

    #[test]
    fn menu_lists_default_then_profiles_then_open_and_quit() {
        let work = profile(1, "Work");
        let lab = profile(2, "lab");
        let states = HashMap::from([(work.id, ConnectionState::Connected)]);
        let default = work.id.to_string();
        let items = menu(&[work.clone(), lab.clone()], &states, Some(&default), true);
        assert_eq!(
            labels(&items),
            vec![
                "default=Disconnect Work".to_string(),
                "-".to_string(),
                format!("profile:{}=Connect lab", lab.id),
                format!("profile:{}=Disconnect Work", work.id),
                "-".to_string(),
                "open=Open Corridor".to_string(),
                "quit=Quit".to_string(),
            ]
        );
    }

    #[test]
    fn reconnecting_offers_disconnect() {
        let work = profile(1, "Work");
        let states = HashMap::from([(
            work.id,
            ConnectionState::Reconnecting {
                attempt: 2,
                retry_in_secs: 4,
            },
        )]);
        let items = menu(std::slice::from_ref(&work), &states, None, true);
        // The only profile is the default one.
        assert_eq!(labels(&items)[0], "default=Disconnect Work");
    }

    #[test]
    fn no_default_without_a_choice_among_several() {
        let items = menu(
            &[profile(1, "A"), profile(2, "B")],
            &HashMap::new(),
            Some("not-a-profile"),
            true,
        );
        assert!(labels(&items)[0].starts_with("profile:"));
    }

    #[test]
    fn without_the_service_profiles_are_disabled() {
        let items = menu(&[profile(1, "Work")], &HashMap::new(), None, false);
        assert_eq!(
            items[0],
            Item::Entry {
                id: "service".to_string(),
                label: "Service not running".to_string(),
                enabled: false
            }
        );
        assert!(items.iter().any(|i| matches!(
            i,
            Item::Entry { id, enabled: false, .. } if id.starts_with(PROFILE_PREFIX)
        )));
        assert!(items.iter().any(|i| matches!(
            i,
            Item::Entry { id, enabled: true, .. } if id == QUIT_ID
        )));
    }

    #[test]
    fn empty_menu_still_opens_and_quits() {
        let items = menu(&[], &HashMap::new(), None, true);
        assert_eq!(labels(&items), vec!["-", "open=Open Corridor", "quit=Quit"]);
    }

    #[test]
    fn look_follows_the_most_advanced_state() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert_eq!(look(&HashMap::new(), true), Look::Disconnected);
        assert_eq!(look(&HashMap::new(), false), Look::Error);
        let mut states = HashMap::from([(a, ConnectionState::Disconnected)]);
        assert_eq!(look(&states, true), Look::Disconnected);
        states.insert(b, ConnectionState::Connecting);
        assert_eq!(look(&states, true), Look::Connecting);
        states.insert(a, ConnectionState::Connected);
        assert_eq!(look(&states, true), Look::Connected);
        assert_eq!(look(&states, false), Look::Error);
    }
}
