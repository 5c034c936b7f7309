//! Labs never leave anything behind: not after a normal drop, not after a panic (whose
//! logs are kept), and `lab::down` removes the leftovers of a lab whose owner vanished.
//! Needs root.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;

use common::{running, shutdown_and_check, start};
use lab::{Host, LabConfig, Scenario};

#[test]
fn parallel_labs_do_not_collide() {
    let a = start(LabConfig::new(Scenario::Psk).services(false));
    let b = start(LabConfig::new(Scenario::Psk).services(false));
    assert_ne!(a.name(), b.name());
    // Two gateways, same addresses and ports, each in its own namespaces and mount
    // namespace: both answer.
    for lab in [&a, &b] {
        let stats = lab.swanctl(&["--stats"]).unwrap().stdout;
        assert!(stats.contains("uptime"), "{stats}");
        lab.ping(Host::Client, lab.gateway_addr()).unwrap();
    }
    shutdown_and_check(a);
    shutdown_and_check(b);
}

#[test]
fn panicking_test_keeps_logs_and_cleans_up() {
    let (name, namespaces, pids, kept) = std::thread::spawn(|| {
        let lab = start(LabConfig::new(Scenario::Psk).services(false));
        let info = (
            lab.name().to_string(),
            lab.namespaces().to_vec(),
            lab.pids(),
            lab.kept_logs_dir(),
        );
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _lab = lab;
            panic!("simulated test failure");
        }));
        assert!(result.is_err());
        info
    })
    .join()
    .unwrap();
    for ns in &namespaces {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "{ns} left behind"
        );
    }
    for pid in pids {
        assert!(!running(pid), "process {pid} left behind");
    }
    let log = kept.join("gateway").join("charon.log");
    assert!(log.is_file(), "{} was not kept", log.display());
    assert!(
        kept.join("gateway")
            .join("swanctl")
            .join("swanctl.conf")
            .is_file()
    );
    assert!(
        !kept.join("pki").exists(),
        "private keys must not be copied to the logs"
    );
    assert!(!lab::paths::lab_dir(&name).exists());
    std::fs::remove_dir_all(&kept).unwrap();
}

#[test]
fn down_removes_a_leaked_lab() {
    let lab = start(LabConfig::new(Scenario::Psk).services(false));
    let name = lab.name().to_string();
    let namespaces = lab.namespaces().to_vec();
    let pids = lab.pids();
    // Leak it, as a killed test process would.
    std::mem::forget(lab);
    let listed = lab::list().unwrap();
    assert!(
        listed
            .iter()
            .any(|l| l.name == name && l.namespaces.len() == namespaces.len())
    );

    let report = lab::down(&name).unwrap();
    assert_eq!(report.deleted_namespaces.len(), namespaces.len());
    assert!(report.removed_dir);
    for ns in &namespaces {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "{ns} left behind"
        );
    }
    for pid in pids {
        assert!(!running(pid), "process {pid} left behind");
    }
    assert!(lab::list().unwrap().iter().all(|l| l.name != name));
}
