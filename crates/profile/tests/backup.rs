//! Backup and restore of a whole store: all profiles or none, with the store left
//! byte-identical when anything is wrong, even when a write fails midway.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use corridor_profile::model::{AuthMethod, Profile, Secret, Uuid};
use corridor_profile::{SaveMode, Store, StoreError, backup_json};

fn profile(id: u128, name: &str) -> Profile {
    let mut p = Profile::new(Uuid::from_u128(id), name, "198.18.0.1", AuthMethod::Psk);
    p.auth.psk = Some(Secret::new("a long pre-shared key"));
    p
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = if path.is_dir() {
                Vec::new()
            } else {
                fs::read(&path).unwrap()
            };
            (path, bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_backup_restores_into_another_store_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a")).unwrap();
    store
        .save(&profile(1, "Work"), SaveMode::CreateNew)
        .unwrap();
    store
        .save(&profile(2, "Home"), SaveMode::CreateNew)
        .unwrap();
    let backup = store.backup().unwrap();
    assert_eq!(backup.profiles.len(), 2);
    assert!(String::from_utf8_lossy(&backup.contents).contains("a long pre-shared key"));

    let other = Store::open(dir.path().join("b")).unwrap();
    let restored = other
        .restore(&backup.contents, SaveMode::CreateNew)
        .unwrap();
    assert_eq!(restored.profiles.len(), 2);
    assert_eq!(other.backup().unwrap().contents, backup.contents);
    // Again without replacing: a clash, and nothing changes.
    let before = snapshot(other.dir());
    let err = other
        .restore(&backup.contents, SaveMode::CreateNew)
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateId { .. }), "{err}");
    assert_eq!(snapshot(other.dir()), before);
}

#[test]
fn an_invalid_profile_in_a_backup_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save(&profile(1, "Work"), SaveMode::CreateNew)
        .unwrap();
    let mut bad = profile(3, "Bad");
    bad.transport.mtu = Some(100);
    let contents = backup_json(&[profile(2, "Home"), bad]);
    let before = snapshot(store.dir());
    let err = store
        .restore(contents.as_bytes(), SaveMode::Replace)
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("profiles[1]"), "{text}");
    assert!(text.contains("transport.mtu"), "{text}");
    assert_eq!(snapshot(store.dir()), before);
}

#[test]
fn a_write_failing_midway_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save(&profile(1, "Work"), SaveMode::CreateNew)
        .unwrap();
    store.save(&profile(5, "Old"), SaveMode::CreateNew).unwrap();
    // The second profile's file cannot be written: a directory is in its place.
    fs::create_dir(store.path_for(Uuid::from_u128(2))).unwrap();
    let before = snapshot(store.dir());

    let mut changed = profile(1, "Work");
    changed.gateway.port = 4500;
    // The third one takes the name of "Old", which a replacing restore would remove.
    let contents = backup_json(&[changed, profile(2, "Home"), profile(3, "old")]);
    let err = store
        .restore(contents.as_bytes(), SaveMode::Replace)
        .unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err}");
    // The first profile's file holds its old bytes again, and nothing else appeared.
    assert_eq!(snapshot(store.dir()), before);
}

#[test]
fn a_replacing_restore_overwrites_and_removes_clashing_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save(&profile(1, "Work"), SaveMode::CreateNew)
        .unwrap();
    store.save(&profile(5, "Old"), SaveMode::CreateNew).unwrap();
    let mut changed = profile(1, "Work");
    changed.gateway.port = 4500;
    let contents = backup_json(&[changed, profile(3, "OLD")]);
    let restored = store
        .restore(contents.as_bytes(), SaveMode::Replace)
        .unwrap();
    assert_eq!(restored.profiles.len(), 2);
    let mut replaced = restored.replaced.clone();
    replaced.sort();
    assert_eq!(
        replaced,
        [
            (Uuid::from_u128(1), "Work".to_string()),
            (Uuid::from_u128(5), "Old".to_string())
        ]
    );
    let listing = store.list().unwrap();
    let names: Vec<&str> = listing
        .profiles
        .iter()
        .map(|s| s.profile.name.as_str())
        .collect();
    assert_eq!(names, ["OLD", "Work"]);
    assert_eq!(store.get("Work").unwrap().profile.gateway.port, 4500);
}
