//! Changing a stored profile with a JSON merge patch (RFC 7386), and finding which
//! fields a change touches so that locks can be checked before anything is written.
//!
//! The patch is applied to the profile's JSON, the result is read back as a profile
//! (type errors name the field) and validated as an import would be; the changed fields
//! are found by comparing the profile's JSON before and after, so a patch that sets a
//! value it already has changes nothing.

use corridor_model::Profile;
use corridor_model::managed::{effective_locks, locked_by};
use serde_json::{Map, Value};

use crate::error::{InputError, InputErrorKind};
use crate::validate::validate;

/// A profile after an edit, and the leaf field paths that changed.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The changed profile, validated.
    pub profile: Profile,
    /// Leaf field paths whose value changed (`gateway.port`, `auth.eap_identity`),
    /// sorted.
    pub changed: Vec<String>,
}

/// Applies a JSON merge patch to `target`.
///
/// RFC 7386 §2: "If the provided merge patch contains members that do not appear within
/// the target, those members are added. If the target does contain the member, the value
/// is replaced. Null values in the merge patch are given special meaning to indicate the
/// removal of existing values in the target." A patch that is not an object replaces
/// the target.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (name, value) in members {
            if value.is_null() {
                map.remove(name);
            } else {
                merge_patch(map.entry(name.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The paths (`gateway.port`) where `before` and `after` differ, descending into objects
/// present on both sides; arrays and other values are compared whole. Sorted.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    fn walk(before: Option<&Value>, after: Option<&Value>, path: &str, out: &mut Vec<String>) {
        match (before, after) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(a.get(key), b.get(key), &here, out);
                }
            }
            (a, b) if a != b => out.push(path.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(Some(before), Some(after), "", &mut out);
    out.sort();
    out
}

/// The value at a dotted `path`, if present.
fn value_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// The merge patch that sets the fields in `paths` (as returned by [`changed_paths`]) to
/// their values in `edited`; a field `edited` lacks becomes `null` (removed).
pub fn patch_for(edited: &Profile, paths: &[String]) -> Value {
    let after = to_value(edited);
    let mut patch = Value::Object(Map::new());
    for path in paths {
        let value = value_at(&after, path).cloned().unwrap_or(Value::Null);
        let mut node = &mut patch;
        let mut keys = path.split('.').peekable();
        while let Some(key) = keys.next() {
            let Value::Object(map) = node else { break };
            if keys.peek().is_none() {
                map.insert(key.to_string(), value);
                break;
            }
            node = map
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    patch
}

/// The patch `path=value` assignments make: `gateway.port=4500` is
/// `{"gateway": {"port": 4500}}`. Later assignments win.
pub fn patch_from_assignments<'a>(
    assignments: impl IntoIterator<Item = (&'a str, Value)>,
) -> Value {
    let mut patch = Value::Object(Map::new());
    for (path, value) in assignments {
        let mut single = value;
        for key in path.rsplit('.') {
            let mut map = Map::new();
            map.insert(key.to_string(), single);
            single = Value::Object(map);
        }
        merge_patch_keep_nulls(&mut patch, single);
    }
    patch
}

/// Like [`merge_patch`] but keeps `null` members (they mean "remove" in the combined
/// patch).
fn merge_patch_keep_nulls(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(map), Value::Object(members)) => {
            for (name, value) in members {
                match map.get_mut(&name) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge_patch_keep_nulls(existing, value);
                    }
                    _ => {
                        map.insert(name, value);
                    }
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

fn to_value(profile: &Profile) -> Value {
    // Serializing a profile cannot fail: every key is a string.
    serde_json::to_value(profile).unwrap_or(Value::Null)
}

/// Applies `patch` to `profile`, reads the result back and validates it. `origin` names
/// the profile in errors. `id`, `format` and `version` cannot be changed.
///
/// # Errors
/// The patch is not an object, changes the id, or makes the profile invalid; the error
/// names the field.
pub fn apply_edit(origin: &str, profile: &Profile, patch: &Value) -> Result<Edited, InputError> {
    if !patch.is_object() {
        return Err(InputError::new(
            origin,
            InputErrorKind::Invalid(
                "the changes must be a JSON object (a merge patch of the profile)".to_string(),
            ),
        ));
    }
    let before = to_value(profile);
    let mut after = before.clone();
    merge_patch(&mut after, patch);
    let edited: Profile = serde_path_to_error::deserialize(&after).map_err(|e| {
        InputError::at_field(
            origin,
            e.path().to_string(),
            InputErrorKind::Invalid(e.inner().to_string()),
        )
    })?;
    for (field, same) in [
        ("id", edited.id == profile.id),
        ("format", edited.format == profile.format),
        ("version", edited.version == profile.version),
        ("signed_by", edited.signed_by == profile.signed_by),
    ] {
        if !same {
            return Err(InputError::at_field(
                origin,
                field,
                InputErrorKind::Invalid(format!(
                    "the {field} of a stored profile cannot be changed"
                )),
            ));
        }
    }
    validate(origin, &edited)?;
    let mut edited = edited;
    let mut changed = changed_paths(&before, &to_value(&edited));
    // What was signed is what IT set: a change to any field IT controls by default ends
    // the signature's say over the profile; the user's own name and user name do not.
    let defaults = effective_locks(None);
    if edited.signed_by.is_some() && changed.iter().any(|p| locked_by(&defaults, p).is_some()) {
        edited.signed_by = None;
        changed.push("signed_by".to_string());
        changed.sort();
    }
    Ok(Edited {
        profile: edited,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_model::{AuthMethod, Uuid};
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386_appendix_a() {
        // A selection of the test cases of RFC 7386 Appendix A.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    fn profile() -> Profile {
        let mut p = Profile::new(
            Uuid::from_u128(7),
            "Work",
            "vpn.example.com",
            AuthMethod::EapMschapv2,
        );
        p.trust.system_roots = true;
        p
    }

    #[test]
    fn an_edit_reports_the_changed_leaves_and_validates() {
        let edited = apply_edit(
            "Work",
            &profile(),
            &json!({"auth": {"eap_identity": "alice"}, "gateway": {"port": 4500, "host": "vpn.example.com"}}),
        )
        .unwrap();
        assert_eq!(edited.changed, ["auth.eap_identity", "gateway.port"]);
        assert_eq!(edited.profile.gateway.port, 4500);

        let err = apply_edit("Work", &profile(), &json!({"gateway": {"port": "x"}})).unwrap_err();
        assert_eq!(err.field(), Some("gateway.port"), "{err}");
        let err = apply_edit("Work", &profile(), &json!({"transport": {"mtu": 100}})).unwrap_err();
        assert_eq!(err.field(), Some("transport.mtu"), "{err}");
        let err = apply_edit("Work", &profile(), &json!({"id": Uuid::from_u128(8)})).unwrap_err();
        assert_eq!(err.field(), Some("id"), "{err}");
        let err = apply_edit("Work", &profile(), &json!({"gateway": {"hots": "x"}})).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert!(apply_edit("Work", &profile(), &json!(["x"])).is_err());
        // Setting a value it already has changes nothing.
        let same = apply_edit("Work", &profile(), &json!({"gateway": {"port": 500}})).unwrap();
        assert!(same.changed.is_empty());
    }

    #[test]
    fn removing_a_section_lists_each_changed_leaf() {
        let mut with_dns = profile();
        with_dns.dns.search_domains = vec!["corp.example".into()];
        with_dns.gateway.identity =
            Some(corridor_model::Identity::for_host("vpn.example.com").unwrap());
        let edited = apply_edit(
            "Work",
            &with_dns,
            &json!({"dns": null, "gateway": {"identity": null}}),
        )
        .unwrap();
        assert_eq!(edited.changed, ["dns.search_domains", "gateway.identity"]);
    }

    #[test]
    fn assignments_and_overlays_are_merge_patches() {
        let patch = patch_from_assignments([
            ("auth.eap_identity", json!("alice")),
            ("gateway.port", json!(4500)),
            ("gateway.identity", Value::Null),
        ]);
        assert_eq!(
            patch,
            json!({"auth": {"eap_identity": "alice"}, "gateway": {"port": 4500, "identity": null}})
        );
        let base = profile();
        let edited = apply_edit("Work", &base, &patch).unwrap();
        let overlay = patch_for(&edited.profile, &edited.changed);
        assert_eq!(
            overlay,
            json!({"auth": {"eap_identity": "alice"}, "gateway": {"port": 4500}})
        );
        let again = apply_edit("Work", &base, &overlay).unwrap();
        assert_eq!(again.profile, edited.profile);
    }
}
