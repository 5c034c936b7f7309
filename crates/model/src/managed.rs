//! Field locks of managed profiles: which settings IT fixes and which a user may change.
//!
//! A lock names a field path of the profile (`gateway`, `auth.method`, `trust.ca`); a path
//! locks everything under it. Locks are only in force for profiles IT installs in the
//! managed directory that the service reads; in a user's own profile the section is kept
//! but locks nothing (the user could remove it anyway).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Every field path of a profile that can be locked (and edited), parents before their
/// children. `format`, `version`, `id` and `managed` are not among them: no user ever
/// changes those (see [`NEVER_USER_EDITABLE`]).
pub const FIELD_PATHS: &[&str] = &[
    "name",
    "gateway",
    "gateway.host",
    "gateway.port",
    "gateway.identity",
    "trust",
    "trust.ca",
    "trust.system_roots",
    "trust.certificate_requests",
    "trust.revocation",
    "trust.revocation.crl",
    "trust.revocation.ocsp",
    "trust.revocation.strict",
    "auth",
    "auth.method",
    "auth.local_identity",
    "auth.eap_identity",
    "auth.client_certificate",
    "auth.psk",
    "auth.rsa_pss",
    "proposals",
    "proposals.ike",
    "proposals.esp",
    "routing",
    "routing.mode",
    "routing.include",
    "routing.exclude",
    "routing.block_ipv4",
    "routing.block_ipv6",
    "dns",
    "dns.servers",
    "dns.search_domains",
    "dns.match_domains",
    "transport",
    "transport.mtu",
    "transport.nat_keepalive_secs",
    "transport.force_udp_encapsulation",
    "transport.ipv6_transport",
    "transport.liveness_check_secs",
    "rekey",
    "rekey.ike_minutes",
    "rekey.child_minutes",
];

/// Fields only an administrator changes, locked or not: the profile's identity and
/// format, and the locks themselves.
pub const NEVER_USER_EDITABLE: &[&str] = &["format", "version", "id", "managed"];

/// What a managed profile without a `managed` section locks: everything but the user
/// name (`auth.eap_identity`) and the display name.
pub const DEFAULT_LOCKS: &[&str] = &[
    "gateway",
    "trust",
    "auth.method",
    "auth.local_identity",
    "auth.client_certificate",
    "auth.psk",
    "auth.rsa_pss",
    "proposals",
    "routing",
    "dns",
    "transport",
    "rekey",
];

/// A field path of a profile, one of [`FIELD_PATHS`].
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldPath(String);

impl JsonSchema for FieldPath {
    fn schema_name() -> Cow<'static, str> {
        "FieldPath".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A field path of the profile; it covers every field under it.",
            "type": "string",
            "enum": FIELD_PATHS,
        })
    }
}

/// A lock path that names no field of the profile.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("\"{0}\" is not a field path of a profile; expected one of: {list}", list = FIELD_PATHS.join(", "))]
pub struct UnknownFieldPath(pub String);

impl FieldPath {
    /// The path, such as `gateway.host`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this path is `path` or one of its parents (`gateway` covers
    /// `gateway.host`).
    pub fn covers(&self, path: &str) -> bool {
        covers(&self.0, path)
    }
}

/// Whether `parent` is `path` or a parent of it.
fn covers(parent: &str, path: &str) -> bool {
    path == parent
        || path
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl TryFrom<String> for FieldPath {
    type Error = UnknownFieldPath;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if FIELD_PATHS.contains(&value.as_str()) {
            Ok(FieldPath(value))
        } else {
            Err(UnknownFieldPath(value))
        }
    }
}

impl std::str::FromStr for FieldPath {
    type Err = UnknownFieldPath;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldPath::try_from(s.to_string())
    }
}

impl From<FieldPath> for String {
    fn from(value: FieldPath) -> Self {
        value.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Settings of a profile that IT manages.
///
/// Only in force for a profile in the managed directory the service reads
/// (`/etc/corridor/profiles.d`, `/Library/Application Support/Corridor/Profiles`,
/// `%ProgramData%\Corridor\Profiles`). A managed profile without this section has every
/// field locked except `name` and `auth.eap_identity`. In a profile a user imports, the
/// section is kept but locks nothing.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an object with the locked fields")]
pub struct Managed {
    /// Field paths users may not change, such as `gateway`, `trust`, `proposals` or
    /// `auth.method`; a path locks everything under it. Fields not listed may be changed
    /// by each user for themselves.
    #[serde(default)]
    pub locked: Vec<FieldPath>,
}

/// The locks in force for a profile in the managed directory whose `managed` section is
/// `section`.
pub fn effective_locks(section: Option<&Managed>) -> Vec<String> {
    match section {
        Some(managed) => managed.locked.iter().map(|p| p.0.clone()).collect(),
        None => DEFAULT_LOCKS.iter().map(|p| (*p).to_string()).collect(),
    }
}

/// The lock among `locks` that covers the changed field `path`, if any. A change of a
/// whole section (`gateway`) counts as a change of each locked field in it.
pub fn locked_by<'a>(locks: &'a [String], path: &str) -> Option<&'a str> {
    locks
        .iter()
        .map(String::as_str)
        .find(|lock| covers(lock, path) || covers(path, lock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_paths_are_checked_against_the_profile_fields() {
        let ok: Managed =
            serde_json::from_str(r#"{"locked": ["gateway", "trust", "proposals", "auth.method"]}"#)
                .unwrap();
        assert_eq!(ok.locked.len(), 4);
        assert_eq!(ok.locked[3].as_str(), "auth.method");
        let err = serde_json::from_str::<Managed>(r#"{"locked": ["gateway", "gatway.host"]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"gatway.host\" is not a field path"), "{err}");
        for never in NEVER_USER_EDITABLE {
            assert!(never.parse::<FieldPath>().is_err(), "{never}");
        }
        let err = serde_json::from_str::<Managed>(r#"{"locks": []}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        // Serializes back to the same text.
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"locked":["gateway","trust","proposals","auth.method"]}"#
        );
    }

    #[test]
    fn a_path_locks_everything_under_it() {
        let locks = vec!["gateway".to_string(), "auth.method".to_string()];
        assert_eq!(locked_by(&locks, "gateway.host"), Some("gateway"));
        assert_eq!(locked_by(&locks, "gateway"), Some("gateway"));
        assert_eq!(locked_by(&locks, "auth.method"), Some("auth.method"));
        // Replacing the whole auth section touches the locked method.
        assert_eq!(locked_by(&locks, "auth"), Some("auth.method"));
        assert_eq!(locked_by(&locks, "auth.eap_identity"), None);
        // A prefix of a name is not a parent.
        assert_eq!(locked_by(&["gate".to_string()], "gateway.host"), None);
    }

    #[test]
    fn without_a_section_all_but_the_user_name_and_the_name_is_locked() {
        let locks = effective_locks(None);
        for field in FIELD_PATHS {
            let free = matches!(*field, "name" | "auth.eap_identity");
            // `auth` itself is a parent of locked fields, so it counts as locked.
            assert_eq!(
                locked_by(&locks, field).is_none(),
                free,
                "{field} should be {}",
                if free { "free" } else { "locked" }
            );
        }
        for lock in DEFAULT_LOCKS {
            assert!(lock.parse::<FieldPath>().is_ok(), "{lock}");
        }
        assert!(effective_locks(Some(&Managed::default())).is_empty());
    }
}
