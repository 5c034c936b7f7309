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
