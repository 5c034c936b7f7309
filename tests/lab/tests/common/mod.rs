//! Helpers shared by the lab's integration tests.
//!
//! These tests start real strongSwan instances in network namespaces: they need root and
//! the packages listed in tests/lab/README.md, and fail (never skip) without them.

// Each test binary uses only some of these.
#![allow(dead_code)]

use std::path::Path;

use lab::{Host, Lab, LabConfig};

/// Starts a lab or fails the test with the whole error chain (which says what is missing
/// when the machine cannot run labs).
pub(crate) fn start(config: LabConfig) -> Lab {
    match Lab::start(config) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab: {e:#}"),
    }
}

/// Unwraps a lab operation, printing the full error chain and the gateway log's end.
pub(crate) fn ok<T>(lab: &Lab, what: &str, result: anyhow::Result<T>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => {
            let log = lab.gateway_log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!("{what}: {e:#}\n--- gateway log (end):\n{}", tail.join("\n"))
        }
    }
}

/// Tears `lab` down and asserts that nothing of it is left: no namespace, no process,
/// no directory.
pub(crate) fn shutdown_and_check(lab: Lab) {
    let name = lab.name().to_string();
    let namespaces: Vec<String> = lab.namespaces().to_vec();
    let pids = lab.pids();
    let dir = lab.dir().to_path_buf();
    assert!(!namespaces.is_empty() && !pids.is_empty());
    if let Err(e) = lab.shutdown() {
        panic!("teardown of {name} failed: {e:#}");
    }
    for ns in &namespaces {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "namespace {ns} is still there after teardown"
        );
    }
    for pid in pids {
        assert!(
            !running(pid),
            "process {pid} of lab {name} still runs after teardown"
        );
    }
    assert!(
        !dir.exists(),
        "{} is still there after teardown",
        dir.display()
    );
    assert!(
        lab::list().unwrap().iter().all(|l| l.name != name),
        "lab list still shows {name}"
    );
}

/// Whether `pid` runs (a zombie does not count).
pub(crate) fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

/// Asserts that the client cannot reach the LAN host (no tunnel, no route).
pub(crate) fn assert_lan_unreachable(lab: &Lab) {
    let out = lab
        .exec_unchecked(
            Host::Client,
            &[
                "ping",
                "-c",
                "1",
                "-W",
                "1",
                &lab.lan_host_addr().to_string(),
            ],
        )
        .unwrap();
    assert!(
        !out.success(),
        "the client reached the LAN without a tunnel: {out}"
    );
}
