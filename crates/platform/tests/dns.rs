//! DNS by file replacement, always on a temporary path: the host's own
//! `/etc/resolv.conf` is never touched.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::fs;

use corridor_platform::{DnsConfig, Error, Platform};

fn config() -> DnsConfig {
    DnsConfig {
        servers: vec![
            "198.19.0.53".parse().unwrap(),
            "fd00:c0::53".parse().unwrap(),
        ],
        search_domains: vec!["corp.example".into()],
    }
}

const ORIGINAL: &str = "nameserver 198.18.0.1\noptions edns0\n";

#[tokio::test]
async fn regular_file_is_replaced_and_restored_after_a_crash() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let resolv = root.path().join("resolv.conf");
    fs::write(&resolv, ORIGINAL).unwrap();

    let mut p = Platform::open(&state).await.unwrap();
    p.replace_resolv_conf(&resolv, &config()).unwrap();
    // A second update keeps the first original.
    p.replace_resolv_conf(&resolv, &config()).unwrap();
    assert_eq!(
        fs::read_to_string(&resolv).unwrap(),
        "# Written by Corridor while the tunnel is up; restored after.\n\
         nameserver 198.19.0.53\nnameserver fd00:c0::53\nsearch corp.example\n"
    );
    assert_eq!(p.journal().entries().len(), 1);
    std::mem::forget(p); // crash

    let mut next = Platform::open(&state).await.unwrap();
    assert_eq!(next.restore().await.unwrap(), 1);
    assert_eq!(fs::read_to_string(&resolv).unwrap(), ORIGINAL);
    assert!(!state.join("resolv.conf.backup").exists());
    assert_eq!(next.restore().await.unwrap(), 0);
    assert_eq!(fs::read_to_string(&resolv).unwrap(), ORIGINAL);
}

#[tokio::test]
async fn symlink_is_put_back_as_the_same_symlink() {
    let root = tempfile::tempdir().unwrap();
    let stub = root.path().join("stub-resolv.conf");
    fs::write(&stub, ORIGINAL).unwrap();
    let resolv = root.path().join("resolv.conf");
    std::os::unix::fs::symlink(&stub, &resolv).unwrap();

    let mut p = Platform::open(&root.path().join("state")).await.unwrap();
    p.replace_resolv_conf(&resolv, &config()).unwrap();
    assert!(
        !fs::symlink_metadata(&resolv)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // The stub the link pointed at is untouched.
    assert_eq!(fs::read_to_string(&stub).unwrap(), ORIGINAL);
    p.restore().await.unwrap();
    assert_eq!(fs::read_link(&resolv).unwrap(), stub);
}

#[tokio::test]
async fn absent_file_is_removed_again() {
    let root = tempfile::tempdir().unwrap();
    let resolv = root.path().join("resolv.conf");
    let mut p = Platform::open(&root.path().join("state")).await.unwrap();
    p.replace_resolv_conf(&resolv, &config()).unwrap();
    assert!(resolv.exists());
    assert_eq!(p.restore().await.unwrap(), 1);
    assert!(!resolv.exists());
}

#[tokio::test]
async fn bad_input_is_rejected_before_anything_changes() {
    let root = tempfile::tempdir().unwrap();
    let resolv = root.path().join("resolv.conf");
    fs::write(&resolv, ORIGINAL).unwrap();
    let mut p = Platform::open(&root.path().join("state")).await.unwrap();
    let mut bad = config();
    bad.search_domains = vec!["evil\nnameserver 203.0.113.1".into()];
    assert!(matches!(
        p.replace_resolv_conf(&resolv, &bad),
        Err(Error::Invalid {
            what: "search domain",
            ..
        })
    ));
    let empty = DnsConfig::default();
    assert!(p.replace_resolv_conf(&resolv, &empty).is_err());
    assert_eq!(fs::read_to_string(&resolv).unwrap(), ORIGINAL);
    assert!(p.journal().entries().is_empty());
}

/// Unmounts the bind mount at its path when dropped, so a failing test leaves none.
struct BindMount(std::path::PathBuf);

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A resolv.conf that is a bind mount (as in containers and under `ip netns exec`)
/// cannot be renamed over; it is rewritten in place and put back the same way, and the
/// file it is mounted from carries the change.
#[tokio::test]
async fn bind_mounted_file_is_rewritten_in_place() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let source = root.path().join("netns-resolv.conf");
    let resolv = root.path().join("resolv.conf");
    fs::write(&source, ORIGINAL).unwrap();
    fs::write(&resolv, "").unwrap();
    let mounted = std::process::Command::new("mount")
        .arg("--bind")
        .arg(&source)
        .arg(&resolv)
        .status()
        .expect("run mount (root is needed)");
    assert!(mounted.success(), "mount --bind failed (root is needed)");
    let _mount = BindMount(resolv.clone());
    assert_eq!(fs::read_to_string(&resolv).unwrap(), ORIGINAL);

    let mut p = Platform::open(&state).await.unwrap();
    p.replace_resolv_conf(&resolv, &config()).unwrap();
    assert!(
        fs::read_to_string(&source)
            .unwrap()
            .contains("nameserver 198.19.0.53")
    );
    assert!(
        fs::read_to_string(&resolv)
            .unwrap()
            .contains("search corp.example")
    );
    assert_eq!(p.restore().await.unwrap(), 1);
    assert_eq!(fs::read_to_string(&resolv).unwrap(), ORIGINAL);
    assert_eq!(fs::read_to_string(&source).unwrap(), ORIGINAL);
    let leftovers: Vec<_> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("corridor-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
