//! The check every profile importer target runs: importing arbitrary bytes returns a
//! profile or one error, never panics; and a profile that imports serializes to
//! Corridor's own format, which imports again to the same profile (a mapping never
//! produces something the rest of Corridor would refuse).

use std::path::PathBuf;

use corridor_profile::{ImportOptions, import_bytes, to_json};

pub fn check(data: &[u8]) {
    let options = ImportOptions {
        // File references in fuzzed input must not read this machine's files.
        base_dir: Some(PathBuf::from("/nonexistent")),
        ..ImportOptions::default()
    };
    let Ok(imported) = import_bytes("fuzz", data, &options) else {
        return;
    };
    let json = to_json(&imported.profile);
    let again = import_bytes("fuzz.json", json.as_bytes(), &options)
        .expect("an imported profile imports again from its Corridor JSON");
    assert_eq!(again.profile, imported.profile);
}
