//! `docs/profile.schema.json` must be the schema generated from the types.
//!
//! Run with `UPDATE_SCHEMA=1` to rewrite the committed file after changing the types.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/profile.schema.json")
}

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&corridor_model::profile_schema()).unwrap();
    text.push('\n');
    text
}

#[test]
fn committed_schema_is_up_to_date() {
    let path = committed_path();
    let generated = generated();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/profile.schema.json is out of date with the types in crates/model.\n\
         Regenerate it with:\n\n    UPDATE_SCHEMA=1 cargo test -p corridor-model --test schema\n"
    );
}
