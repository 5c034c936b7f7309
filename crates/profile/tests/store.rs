//! The profile store: atomic writes, listing with damaged files, lookups, duplicates.

mod common;

use std::fs;

use common::{data, no_password};
use corridor_profile::model::{AuthMethod, Profile, Uuid};
use corridor_profile::{SaveMode, Store, StoreError, import_file};

fn profile(id: u128, name: &str) -> Profile {
    let mut p = Profile::new(
        Uuid::from_u128(id),
        name,
        "vpn.example.com",
        AuthMethod::EapMschapv2,
    );
    p.trust.system_roots = true;
    p
}

fn files(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn save_list_get_remove() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("nested/profiles")).unwrap();
    let imported = import_file(&data("valid/eap.sswan"), &no_password()).unwrap();
    let saved = store.save(&imported.profile, SaveMode::CreateNew).unwrap();
    assert_eq!(
        saved.path,
        store
            .dir()
            .join("d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001.json")
    );
    assert!(saved.replaced.is_empty());
    store
        .save(&profile(2, "another"), SaveMode::CreateNew)
        .unwrap();
    assert_eq!(
        files(&store),
        [
            "00000000-0000-0000-0000-000000000002.json",
            "d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001.json"
        ]
    );

    let listing = store.list().unwrap();
    assert!(listing.problems.is_empty());
    let names: Vec<&str> = listing
        .profiles
        .iter()
        .map(|s| s.profile.name.as_str())
        .collect();
    assert_eq!(names, ["another", "Corp VPN (EAP)"]);
    assert_eq!(listing.profiles[1].profile, imported.profile);

    // By id, by exact name, by name ignoring case.
    assert_eq!(
        store
            .get("d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001")
            .unwrap()
            .profile
            .name,
        "Corp VPN (EAP)"
    );
    assert_eq!(
        store.get("Corp VPN (EAP)").unwrap().profile.id,
        imported.profile.id
    );
    assert_eq!(
        store.get("corp vpn (eap)").unwrap().profile.id,
        imported.profile.id
    );
    assert_eq!(
        store.get("nope").unwrap_err().to_string(),
        "no profile with the name or id 'nope'"
    );
    assert_eq!(
        store
            .get("00000000-0000-0000-0000-000000000009")
            .unwrap_err()
            .to_string(),
        "no profile with the name or id '00000000-0000-0000-0000-000000000009'"
    );

    let removed = store.remove("another").unwrap();
    assert_eq!(removed.profile.id, Uuid::from_u128(2));
    assert_eq!(files(&store), ["d2b7e3c0-5f5e-4a53-9c4e-1a0e7f3b0001.json"]);
    assert!(matches!(
        store.remove("another"),
        Err(StoreError::NotFound(_))
    ));
}

#[cfg(unix)]
#[test]
fn store_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("profiles")).unwrap();
    let saved = store.save(&profile(1, "a"), SaveMode::CreateNew).unwrap();
    assert_eq!(
        fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        fs::metadata(&saved.path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn duplicates_are_refused_unless_replacing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save(&profile(1, "Office"), SaveMode::CreateNew)
        .unwrap();
    let before = fs::read(store.path_for(Uuid::from_u128(1))).unwrap();

    let err = store
        .save(&profile(1, "Renamed"), SaveMode::CreateNew)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a profile with id 00000000-0000-0000-0000-000000000001 is already stored (\"Office\"); replace it explicitly to overwrite it"
    );
    let err = store
        .save(&profile(2, "OFFICE"), SaveMode::CreateNew)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a profile named \"Office\" is already stored (id 00000000-0000-0000-0000-000000000001); rename the new one or replace it explicitly"
    );
    // Nothing was written.
    assert_eq!(files(&store), ["00000000-0000-0000-0000-000000000001.json"]);
    assert_eq!(
        fs::read(store.path_for(Uuid::from_u128(1))).unwrap(),
        before
    );

    // Replace by id.
    let saved = store
        .save(&profile(1, "Renamed"), SaveMode::Replace)
        .unwrap();
    assert_eq!(saved.replaced, [(Uuid::from_u128(1), "Office".to_string())]);
    assert_eq!(store.get("Renamed").unwrap().profile.id, Uuid::from_u128(1));

    // Replace by name: the old profile with that name goes away.
    let saved = store
        .save(&profile(2, "renamed"), SaveMode::Replace)
        .unwrap();
    assert_eq!(
        saved.replaced,
        [(Uuid::from_u128(1), "Renamed".to_string())]
    );
    assert_eq!(files(&store), ["00000000-0000-0000-0000-000000000002.json"]);
}

#[test]
fn invalid_profiles_are_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut bad = profile(1, "Bad");
    bad.gateway.port = 0;
    let err = store.save(&bad, SaveMode::CreateNew).unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile \"Bad\": gateway.port: must be between 1 and 65535, not 0"
    );
    assert!(files(&store).is_empty());

    // A failed import never reaches the store.
    assert!(import_file(&data("invalid/truncated-p12.sswan"), &no_password()).is_err());
    assert!(files(&store).is_empty());
}

#[test]
fn damaged_files_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save(&profile(1, "Good"), SaveMode::CreateNew)
        .unwrap();
    let corrupt = store
        .dir()
        .join("00000000-0000-0000-0000-00000000000c.json");
    fs::write(
        &corrupt,
        "{\"format\": \"corridor-profile\", \"version\": 1, \"id\": ",
    )
    .unwrap();
    let misnamed = store.dir().join("misnamed.json");
    fs::write(
        &misnamed,
        corridor_profile::to_json(&profile(3, "Misnamed")),
    )
    .unwrap();
    // Ignored: not JSON files, and temporary files of an interrupted write.
    fs::write(store.dir().join("notes.txt"), "hello").unwrap();
    fs::write(store.dir().join(".tmp-abc.json"), "{").unwrap();

    let listing = store.list().unwrap();
    assert_eq!(listing.profiles.len(), 1);
    assert_eq!(listing.profiles[0].profile.name, "Good");
    let problems: Vec<String> = listing.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            format!(
                "{}:1:51: not valid JSON: EOF while parsing a value",
                corrupt.display()
            ),
            format!(
                "{}: id: 00000000-0000-0000-0000-000000000003 does not match the file name; stored profiles are named <id>.json",
                misnamed.display()
            ),
        ]
    );
    // Lookups by name still work; a lookup of the damaged id says what is wrong.
    assert_eq!(store.get("good").unwrap().profile.id, Uuid::from_u128(1));
    let err = store
        .get("00000000-0000-0000-0000-00000000000c")
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    // A new profile must not silently overwrite the damaged file with its id.
    let err = store
        .save(&profile(12, "New"), SaveMode::CreateNew)
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateId { .. }), "{err}");
}

#[test]
fn no_temporary_files_are_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for i in 0..20 {
        store
            .save(&profile(1, &format!("Rev {i}")), SaveMode::Replace)
            .unwrap();
    }
    assert_eq!(files(&store), ["00000000-0000-0000-0000-000000000001.json"]);
    assert_eq!(store.get("rev 19").unwrap().profile.id, Uuid::from_u128(1));
}

#[test]
fn ambiguous_names_need_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Two names that differ only in case can only arrive by hand-edited files.
    fs::write(
        store.path_for(Uuid::from_u128(1)),
        corridor_profile::to_json(&profile(1, "Lab")),
    )
    .unwrap();
    fs::write(
        store.path_for(Uuid::from_u128(2)),
        corridor_profile::to_json(&profile(2, "LAB")),
    )
    .unwrap();
    assert_eq!(store.get("Lab").unwrap().profile.id, Uuid::from_u128(1));
    let err = store.get("lab").unwrap_err();
    assert_eq!(
        err.to_string(),
        "'lab' matches several profiles: \"Lab\" (00000000-0000-0000-0000-000000000001), \"LAB\" (00000000-0000-0000-0000-000000000002); use the id"
    );
}

#[test]
fn default_dir_follows_xdg() {
    // Only reads the environment; does not create anything.
    let dir = Store::default_dir();
    if let Ok(dir) = dir {
        assert!(dir.ends_with("corridor/profiles"), "{}", dir.display());
    }
}
