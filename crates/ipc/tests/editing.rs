//! The messages of profile edits, exports and backups on the wire, and profile replies
//! from services that predate field locks.

#![allow(clippy::unwrap_used)]

use corridor_ipc::{Reply, Request};
use corridor_model::Base64Bytes;

#[test]
fn edit_export_backup_and_restore_round_trip() {
    let edit: Request = serde_json::from_str(
        r#"{"op":"edit_profile","profile":"Corp","changes":{"auth":{"eap_identity":"alice"}}}"#,
    )
    .unwrap();
    let Request::EditProfile { profile, changes } = &edit else {
        panic!("{edit:?}")
    };
    assert_eq!(profile, "Corp");
    assert_eq!(changes["auth"]["eap_identity"], "alice");
    for request in [
        edit.clone(),
        Request::ExportProfile {
            profile: "Corp".into(),
        },
        Request::BackupProfiles,
        Request::RestoreProfiles {
            contents: Base64Bytes(b"{}".to_vec()),
            replace: true,
        },
    ] {
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), request);
    }
    let json = serde_json::to_value(Request::BackupProfiles).unwrap();
    assert_eq!(json, serde_json::json!({"op": "backup_profiles"}));
    let reply = Reply::Exported {
        file_name: "Corp.json".into(),
        contents: Base64Bytes(b"{}".to_vec()),
    };
    let json = serde_json::to_value(&reply).unwrap();
    assert_eq!(json["kind"], "exported");
    assert_eq!(json["contents"], "e30=");
    assert_eq!(serde_json::from_value::<Reply>(json).unwrap(), reply);
    let reply: Reply =
        serde_json::from_str(r#"{"kind":"edited","profile":{"id":"5e1f9a52-3c1b-4c7e-8a55-2b9d0c000004","name":"Lab","gateway":"198.18.0.1","auth":"psk","managed":true},"changed":["name"]}"#)
            .unwrap();
    assert!(matches!(reply, Reply::Edited { ref changed, .. } if changed == &["name"]));
}

#[test]
fn a_profile_reply_without_locks_still_reads() {
    let profile = include_str!("../../../tests/data/profiles/valid/corridor-psk.json");
    let text = format!(r#"{{"kind":"profile","profile":{profile},"managed":true}}"#);
    let reply: Reply = serde_json::from_str(&text).unwrap();
    let Reply::Profile {
        managed, locked, ..
    } = reply
    else {
        panic!("{reply:?}")
    };
    assert!(managed);
    assert!(locked.is_empty());
}
