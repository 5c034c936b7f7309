//! The policy messages on the wire, and summaries from services that predate postures.

#![allow(clippy::unwrap_used)]

use corridor_ipc::{ProfileSummary, Reply, Request};
use corridor_model::{Base64Bytes, Policy, TrustedSigner};

#[test]
fn policy_requests_and_replies_round_trip() {
    let policy = Policy {
        allow_unsigned_imports: false,
        trusted_signers: vec![TrustedSigner {
            name: "IT".to_string(),
            public_key: Base64Bytes(vec![0x30, 0x59]),
        }],
        allow_legacy_crypto: true,
    };
    let request = Request::SetPolicy {
        policy: policy.clone(),
    };
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(json["op"], "set_policy");
    assert_eq!(json["policy"]["trusted_signers"][0]["public_key"], "MFk=");
    assert_eq!(serde_json::from_value::<Request>(json).unwrap(), request);
    let get: Request = serde_json::from_str(r#"{"op":"get_policy"}"#).unwrap();
    assert_eq!(get, Request::GetPolicy);
    let reply = Reply::Policy { policy };
    let text = serde_json::to_string(&reply).unwrap();
    assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), reply);
    // A typo in a policy is an error, not a silently ignored setting.
    let typo = r#"{"op":"set_policy","policy":{"allow_legacy":true}}"#;
    assert!(serde_json::from_str::<Request>(typo).is_err());
}

#[test]
fn a_summary_without_a_posture_still_reads() {
    let summary: ProfileSummary = serde_json::from_str(
        r#"{"id":"5e1f9a52-3c1b-4c7e-8a55-2b9d0c000004","name":"Lab","gateway":"198.18.0.1",
            "auth":"psk","managed":false}"#,
    )
    .unwrap();
    assert_eq!(summary.posture, "");
}
