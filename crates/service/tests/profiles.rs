//! The service's profile stores as two users and an administrator see them, with the
//! sample profiles of tests/data/profiles/valid.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use corridor_ipc::ErrorCode;
use corridor_service::{Caller, Profiles};

fn sample(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/profiles/valid")
        .join(name);
    std::fs::read(path).unwrap()
}

fn caller(uid: u32) -> Caller {
    Caller {
        uid,
        gid: uid,
        pid: None,
        user: None,
        admin: uid == 0,
    }
}

struct Setup {
    _root: tempfile::TempDir,
    profiles: Profiles,
    managed: PathBuf,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let managed = root.path().join("managed");
    let profiles = Profiles::new(root.path().join("users"), Some(managed.clone()));
    Setup {
        _root: root,
        profiles,
        managed,
    }
}

#[test]
fn each_user_sees_their_own_profiles_and_the_managed_ones() {
    let s = setup();
    let (alice, bob) = (caller(1000), caller(1001));
    let (imported, report) = s
        .profiles
        .import(&alice, "eap.sswan", &sample("eap.sswan"), false)
        .unwrap();
    assert!(!imported.managed);
    assert!(!report.is_empty());
    s.profiles
        .import(
            &bob,
            "corridor-psk.json",
            &sample("corridor-psk.json"),
            false,
        )
        .unwrap();

    let alice_list = s.profiles.list(&alice).unwrap();
    assert_eq!(alice_list.len(), 1);
    assert_eq!(alice_list[0].id, imported.id);
    let bob_list = s.profiles.list(&bob).unwrap();
    assert_eq!(bob_list.len(), 1);
    assert_eq!(bob_list[0].auth, "psk");

    // Bob's profile does not exist for Alice.
    let err = s
        .profiles
        .get(&alice, &bob_list[0].id.to_string())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = s.profiles.remove(&alice, &bob_list[0].name).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert_eq!(s.profiles.list(&bob).unwrap().len(), 1);

    // The pre-shared key never leaves the service.
    let (profile, managed) = s.profiles.get(&bob, &bob_list[0].name).unwrap();
    assert!(!managed);
    assert!(profile.auth.psk.is_none());

    // A second import of the same file is a conflict unless replacing.
    let err = s
        .profiles
        .import(&alice, "eap.sswan", &sample("eap.sswan"), false)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    s.profiles
        .import(&alice, "eap.sswan", &sample("eap.sswan"), true)
        .unwrap();
    let removed = s.profiles.remove(&alice, &imported.id.to_string()).unwrap();
    assert_eq!(removed.id, imported.id);
    assert!(s.profiles.list(&alice).unwrap().is_empty());
}

#[test]
fn an_import_preview_reports_and_checks_like_an_import_but_saves_nothing() {
    let s = setup();
    let alice = caller(1000);
    let (previewed, preview_report) = s
        .profiles
        .preview_import(&alice, "eap.sswan", &sample("eap.sswan"), false)
        .unwrap();
    assert!(
        s.profiles.list(&alice).unwrap().is_empty(),
        "a preview saved a profile"
    );
    let (imported, report) = s
        .profiles
        .import(&alice, "eap.sswan", &sample("eap.sswan"), false)
        .unwrap();
    assert_eq!(previewed, imported);
    assert_eq!(preview_report, report);

    // Once saved, a preview without replacing names the conflict the import would hit;
    // with replacing it passes, and the stored profile stays as it was.
    let err = s
        .profiles
        .preview_import(&alice, "eap.sswan", &sample("eap.sswan"), false)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    s.profiles
        .preview_import(&alice, "eap.sswan", &sample("eap.sswan"), true)
        .unwrap();
    assert_eq!(s.profiles.list(&alice).unwrap().len(), 1);

    // A file the import refuses is refused by the preview with the same words.
    let preview_err = s
        .profiles
        .preview_import(&alice, "bad.sswan", b"{not json", false)
        .unwrap_err();
    let import_err = s
        .profiles
        .import(&alice, "bad.sswan", b"{not json", false)
        .unwrap_err();
    assert_eq!(preview_err, import_err);
}

#[test]
fn managed_profiles_are_listed_for_everyone_and_removed_by_root_only() {
    let s = setup();
    // IT installs a profile by placing it in the managed directory.
    let admin = caller(0);
    let it = Profiles::new(s.managed.clone(), None);
    let (installed, _) = it
        .import(
            &admin,
            "corridor-psk.json",
            &sample("corridor-psk.json"),
            false,
        )
        .unwrap();
    let installed_file = s.managed.join("0").join(format!("{}.json", installed.id));
    std::fs::rename(
        &installed_file,
        s.managed.join(format!("{}.json", installed.id)),
    )
    .unwrap();

    let alice = caller(1000);
    let list = s.profiles.list(&alice).unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].managed);
    let err = s.profiles.remove(&alice, &list[0].name).unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(err.message.contains("managed"), "{}", err.message);
    // A user cannot shadow it with a profile of the same id.
    let err = s
        .profiles
        .import(
            &alice,
            "corridor-psk.json",
            &sample("corridor-psk.json"),
            false,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    assert!(s.profiles.remove(&admin, &list[0].name).unwrap().managed);
    assert!(s.profiles.list(&alice).unwrap().is_empty());
}

#[test]
fn file_references_and_bad_files_are_refused_and_change_nothing() {
    let s = setup();
    let alice = caller(1000);
    let err = s
        .profiles
        .import(
            &alice,
            "corridor-cert.json",
            &sample("corridor-cert.json"),
            false,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidProfile);
    assert!(err.message.contains("refers to a file"), "{}", err.message);
    for (name, bytes) in [
        ("empty.json", &b""[..]),
        ("garbage.sswan", &b"\x00\x01\x02"[..]),
        (
            "truncated.json",
            &b"{\"format\": \"corridor-profile\", \"vers"[..],
        ),
    ] {
        let err = s.profiles.import(&alice, name, bytes, false).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidProfile, "{name}");
        assert!(err.message.contains(name), "{name}: {}", err.message);
    }
    assert!(s.profiles.list(&alice).unwrap().is_empty());
}

/// IT's profile: EAP with a default user name, every field locked but the user name and
/// the name unless `locks` says otherwise.
fn managed_profile(locks: Option<&str>) -> String {
    let managed = locks
        .map(|l| format!(",\n  \"managed\": {{ \"locked\": {l} }}"))
        .unwrap_or_default();
    format!(
        r#"{{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a1",
  "name": "Corp",
  "gateway": {{ "host": "vpn.corp.example" }},
  "trust": {{ "system_roots": true }},
  "auth": {{ "method": "eap-mschapv2", "eap_identity": "it-default" }},
  "proposals": {{ "ike": ["aes256gcm16-prfsha384-ecp384"], "esp": ["aes256gcm16"] }}{managed}
}}
"#
    )
}

const MANAGED_ID: &str = "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a1";

fn install(s: &Setup, text: &str) -> PathBuf {
    std::fs::create_dir_all(&s.managed).unwrap();
    let path = s.managed.join(format!("{MANAGED_ID}.json"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Every file under `dir` with its bytes, to compare a tree before and after.
fn snapshot(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn a_member_changes_the_user_name_of_a_managed_profile_for_themselves_only() {
    let s = setup();
    let file = install(&s, &managed_profile(None));
    let before = std::fs::read(&file).unwrap();
    let (alice, bob) = (caller(1000), caller(1001));

    let (summary, changed) = s
        .profiles
        .edit(
            &alice,
            "Corp",
            &serde_json::json!({"auth": {"eap_identity": "alice"}, "name": "My corp"}),
        )
        .unwrap();
    assert!(summary.managed);
    assert_eq!(summary.name, "My corp");
    assert_eq!(changed, ["auth.eap_identity", "name"]);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "IT's file is untouched"
    );

    // Alice sees her changes wherever she uses the profile...
    let (profile, managed, locked) = s.profiles.get_with_locks(&alice, MANAGED_ID).unwrap();
    assert!(managed);
    assert_eq!(profile.auth.eap_identity.as_deref(), Some("alice"));
    assert_eq!(s.profiles.list(&alice).unwrap()[0].name, "My corp");
    let (found, _) = s.profiles.find(&alice, "My corp").unwrap();
    assert_eq!(found.profile.auth.eap_identity.as_deref(), Some("alice"));
    assert!(locked.iter().any(|l| l == "gateway"), "{locked:?}");
    assert!(!locked.iter().any(|l| l == "auth.eap_identity"));
    // ...Bob and the administrator do not.
    let (profile, _) = s.profiles.get(&bob, MANAGED_ID).unwrap();
    assert_eq!(profile.auth.eap_identity.as_deref(), Some("it-default"));
    assert_eq!(s.profiles.list(&bob).unwrap()[0].name, "Corp");
    let (profile, _, locked) = s.profiles.get_with_locks(&caller(0), MANAGED_ID).unwrap();
    assert_eq!(profile.name, "Corp");
    assert!(locked.is_empty(), "nothing is locked for an administrator");

    // A second change keeps the first; changing the name back leaves only the user name.
    let (_, changed) = s
        .profiles
        .edit(&alice, MANAGED_ID, &serde_json::json!({"name": "Corp"}))
        .unwrap();
    assert_eq!(changed, ["name"]);
    let (profile, _) = s.profiles.get(&alice, MANAGED_ID).unwrap();
    assert_eq!(
        (profile.name.as_str(), profile.auth.eap_identity.as_deref()),
        ("Corp", Some("alice"))
    );
}

#[test]
fn locked_fields_of_a_managed_profile_are_refused_and_change_nothing() {
    let s = setup();
    let file = install(
        &s,
        &managed_profile(Some(r#"["gateway", "trust", "proposals", "auth.method"]"#)),
    );
    let before = std::fs::read(&file).unwrap();
    let alice = caller(1000);
    s.profiles
        .edit(
            &alice,
            "Corp",
            &serde_json::json!({"auth": {"eap_identity": "alice"}}),
        )
        .unwrap();
    let alice_before = snapshot(s.profiles.users_dir());
    for (changes, locked) in [
        (
            serde_json::json!({"gateway": {"host": "evil.example"}}),
            "gateway.host",
        ),
        (
            serde_json::json!({"gateway": {"port": "not even a port"}}),
            "gateway.port",
        ),
        (
            serde_json::json!({"trust": {"system_roots": false}}),
            "trust.system_roots",
        ),
        (serde_json::json!({"trust": null}), "trust"),
        (
            serde_json::json!({"proposals": {"ike": ["aes128-sha1-modp1024"]}}),
            "proposals.ike",
        ),
        (
            serde_json::json!({"auth": {"method": "psk"}}),
            "auth.method",
        ),
        (serde_json::json!({"managed": null}), "managed"),
        (
            serde_json::json!({"id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a2"}),
            "id",
        ),
    ] {
        let err = s.profiles.edit(&alice, "Corp", &changes).unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::Unauthorized,
            "{changes}: {}",
            err.message
        );
        assert!(
            err.message
                .starts_with(&format!("{locked} is locked by your IT department")),
            "{changes}: {}",
            err.message
        );
        assert_eq!(std::fs::read(&file).unwrap(), before, "{changes}");
        assert_eq!(snapshot(s.profiles.users_dir()), alice_before, "{changes}");
    }
    let (profile, _) = s.profiles.get(&alice, "Corp").unwrap();
    assert_eq!(profile.gateway.host, "vpn.corp.example");
    assert_eq!(profile.auth.eap_identity.as_deref(), Some("alice"));
    // Fields IT did not list are hers to change.
    let (_, changed) = s
        .profiles
        .edit(
            &alice,
            "Corp",
            &serde_json::json!({"dns": {"servers": ["10.0.0.53"]}}),
        )
        .unwrap();
    assert_eq!(changed, ["dns.servers"]);
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // The administrator changes IT's file itself, for everyone.
    let (_, changed) = s
        .profiles
        .edit(
            &caller(0),
            "Corp",
            &serde_json::json!({"gateway": {"host": "vpn2.corp.example"}}),
        )
        .unwrap();
    assert_eq!(changed, ["gateway.host"]);
    assert_ne!(std::fs::read(&file).unwrap(), before);
    let (profile, _) = s.profiles.get(&caller(1001), "Corp").unwrap();
    assert_eq!(profile.gateway.host, "vpn2.corp.example");
    let (profile, _) = s.profiles.get(&alice, "Corp").unwrap();
    assert_eq!(profile.gateway.host, "vpn2.corp.example");
    assert_eq!(profile.auth.eap_identity.as_deref(), Some("alice"));
}

#[test]
fn a_members_own_profile_is_theirs_to_change_whatever_its_locks_say() {
    let s = setup();
    let alice = caller(1000);
    // A managed section in a user's own profile locks nothing.
    let text = managed_profile(Some(r#"["gateway"]"#));
    s.profiles
        .import(&alice, "corp.json", text.as_bytes(), false)
        .unwrap();
    let (_, changed) = s
        .profiles
        .edit(
            &alice,
            "Corp",
            &serde_json::json!({"gateway": {"host": "vpn.home.example", "port": 4500}}),
        )
        .unwrap();
    assert_eq!(changed, ["gateway.host", "gateway.port"]);
    let (profile, managed, locked) = s.profiles.get_with_locks(&alice, "Corp").unwrap();
    assert!(!managed && locked.is_empty());
    assert_eq!(profile.gateway.port, 4500);
    // An invalid change names the field and changes nothing.
    let err = s
        .profiles
        .edit(
            &alice,
            "Corp",
            &serde_json::json!({"transport": {"mtu": 10}}),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidProfile);
    assert!(err.message.contains("transport.mtu"), "{}", err.message);
    // Another user's profile does not exist for Bob.
    let err = s
        .profiles
        .edit(&caller(1001), "Corp", &serde_json::json!({"name": "x"}))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn an_export_has_no_pre_shared_key_and_imports_again() {
    let s = setup();
    let (alice, bob) = (caller(1000), caller(1001));
    s.profiles
        .import(&alice, "psk.json", &sample("corridor-psk.json"), false)
        .unwrap();
    let (file_name, contents) = s.profiles.export(&alice, "Lab (PSK)").unwrap();
    assert_eq!(file_name, "Lab--PSK.json");
    let text = String::from_utf8(contents.clone()).unwrap();
    assert!(!text.contains("lab-shared-key"), "{text}");
    assert!(!text.contains("\"psk\":"), "{text}");
    let (imported, _) = s
        .profiles
        .import(&bob, &file_name, &contents, false)
        .unwrap();
    assert_eq!(imported.name, "Lab (PSK)");

    // A managed profile exported by a member has no locks; by an administrator it does.
    install(&s, &managed_profile(Some(r#"["gateway"]"#)));
    let (_, member) = s.profiles.export(&alice, "Corp").unwrap();
    assert!(!String::from_utf8(member).unwrap().contains("managed"));
    let (_, admin) = s.profiles.export(&caller(0), "Corp").unwrap();
    assert!(String::from_utf8(admin).unwrap().contains("\"managed\""));
}

#[test]
fn a_restore_with_one_bad_profile_leaves_the_store_byte_identical() {
    let s = setup();
    let alice = caller(1000);
    s.profiles
        .import(&alice, "psk.json", &sample("corridor-psk.json"), false)
        .unwrap();
    let (backup, count) = s.profiles.backup(&alice).unwrap();
    assert_eq!(count, 1);
    assert!(String::from_utf8_lossy(&backup).contains("lab-shared-key"));

    // Bob restores Alice's backup: the same profile, pre-shared key and all.
    let bob = caller(1001);
    let restored = s.profiles.restore(&bob, &backup, false).unwrap();
    assert_eq!(restored.len(), 1);
    assert_eq!(s.profiles.backup(&bob).unwrap().0, backup);

    // A backup with a changed first profile and a bad third one restores nothing.
    let mut value: serde_json::Value = serde_json::from_slice(&backup).unwrap();
    let mut renamed = value["profiles"][0].clone();
    value["profiles"][0]["gateway"]["port"] = 4500.into();
    renamed["id"] = "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000b1".into();
    renamed["name"] = "Second".into();
    let mut bad = renamed.clone();
    bad["id"] = "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000b2".into();
    bad["name"] = "Third".into();
    bad["transport"] = serde_json::json!({"nat_keepalive_secs": 1});
    value["profiles"] = serde_json::json!([value["profiles"][0], renamed, bad]);
    let before = snapshot(s.profiles.users_dir());
    let err = s
        .profiles
        .restore(&alice, value.to_string().as_bytes(), true)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidProfile);
    assert!(err.message.contains("profiles[2]"), "{}", err.message);
    assert!(
        err.message.contains("transport.nat_keepalive_secs"),
        "{}",
        err.message
    );
    assert_eq!(snapshot(s.profiles.users_dir()), before);

    // Without --replace, a clash with a stored profile restores nothing either.
    value["profiles"].as_array_mut().unwrap().pop();
    let err = s
        .profiles
        .restore(&alice, value.to_string().as_bytes(), false)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    assert_eq!(snapshot(s.profiles.users_dir()), before);
    // With it, both are written.
    let restored = s
        .profiles
        .restore(&alice, value.to_string().as_bytes(), true)
        .unwrap();
    assert_eq!(restored.len(), 2);
    assert_eq!(s.profiles.list(&alice).unwrap().len(), 2);
}
