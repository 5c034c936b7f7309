//! `corridor status` and `corridor logs` against a real service instance (the corridord
//! server code, run in this test process on a private socket).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use corridor_service::events::Hub;
use corridor_service::profiles::Profiles;

/// Runs the service on its own thread until the test ends; returns its socket.
fn start_service(dir: &std::path::Path) -> PathBuf {
    let hub = Hub::new();
    hub.log(corridor_ipc::LogLine {
        unix_ms: 1_700_000_000_123,
        level: corridor_ipc::LogLevel::Warn,
        target: "corridord".into(),
        message: "a line from before".into(),
    });
    hub.log(corridor_ipc::LogLine {
        unix_ms: 1_700_000_000_456,
        level: corridor_ipc::LogLevel::Debug,
        target: "corridord".into(),
        message: "a debug line".into(),
    });
    support::service::start_service(dir, None, Profiles::new(dir.join("profiles"), None), hub)
}

fn corridor(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn status_and_logs_through_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let socket = start_service(dir.path());
    let socket = socket.to_str().unwrap();

    let (code, out, err) = corridor(&["status", "--socket", socket]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "no connections\n");
    let (code, out, _) = corridor(&["status", "--json", "--socket", socket]);
    assert_eq!(code, Some(0));
    assert_eq!(out.trim(), "[]");

    let (code, out, err) = corridor(&["logs", "--socket", socket]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "1700000000.123 WARN  corridord: a line from before\n");
    let (_, out, _) = corridor(&["logs", "--level", "debug", "--socket", socket]);
    assert!(out.contains("a debug line"), "{out}");
}

#[test]
fn an_absent_service_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("none.sock");
    let (code, _, err) = corridor(&["status", "--socket", socket.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("the Corridor service is not running"), "{err}");
}
