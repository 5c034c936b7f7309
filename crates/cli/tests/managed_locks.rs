//! IT's locks hold through the whole path: `corridor profile set` run as an ordinary
//! member of the service's group (uid and gid 65534, via setpriv) against the real
//! service code on a private socket. Needs root (to act as another user).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use corridor_service::events::Hub;
use corridor_service::profiles::Profiles;

/// The member's uid, and the service's group they are in.
const MEMBER: u32 = 65534;
const MANAGED_ID: &str = "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a1";
const MANAGED: &str = r#"{
  "format": "corridor-profile",
  "version": 1,
  "id": "5e1f9a52-3c1b-4c7e-8a55-2b9d0c0000a1",
  "name": "Corp",
  "gateway": { "host": "vpn.corp.example" },
  "trust": { "system_roots": true },
  "auth": { "method": "eap-mschapv2", "eap_identity": "it-default" },
  "managed": { "locked": ["gateway", "trust", "proposals", "auth.method"] }
}
"#;

/// Runs the service on its own thread, letting members of `MEMBER`'s group in.
fn start_service(dir: &Path) -> PathBuf {
    let profiles = Profiles::new(dir.join("profiles"), Some(dir.join("managed")));
    support::service::start_service(dir, Some(MEMBER), profiles, Hub::new())
}

/// `corridor ARGS...` against `socket`, as the member or as root.
fn corridor(socket: &Path, member: bool, args: &[&str]) -> Output {
    let mut command = if member {
        let mut c = Command::new("setpriv");
        c.args([
            format!("--reuid={MEMBER}"),
            format!("--regid={MEMBER}"),
            "--clear-groups".to_string(),
            "--".to_string(),
        ])
        .arg(env!("CARGO_BIN_EXE_corridor"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_corridor"))
    };
    command
        .args(args)
        .env("CORRIDOR_SOCKET", socket)
        .env_remove("CORRIDOR_PROFILES_DIR")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_member_cannot_change_a_locked_field_of_a_managed_profile() {
    let dir = tempfile::tempdir().unwrap();
    // Others may traverse the directory: the socket's own mode is what keeps them out.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(dir.path().join("managed")).unwrap();
    let file = dir
        .path()
        .join("managed")
        .join(format!("{MANAGED_ID}.json"));
    std::fs::write(&file, MANAGED).unwrap();
    let socket = start_service(dir.path());

    let out = corridor(&socket, true, &["profile", "set", "Corp", "gateway.host=x"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("gateway.host is locked by your IT department"),
        "{}",
        text(&out)
    );
    for locked in [
        "trust.system_roots=false",
        "proposals.ike=[\"aes128-sha1-modp1024\"]",
        "auth.method=psk",
    ] {
        let out = corridor(&socket, true, &["profile", "set", "Corp", locked]);
        assert_eq!(out.status.code(), Some(1), "{locked}: {}", text(&out));
        assert!(
            text(&out).contains("is locked by your IT department"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), MANAGED);

    // The user name is the member's to set, for themselves.
    let out = corridor(
        &socket,
        true,
        &["profile", "set", "Corp", "auth.eap_identity=nobody"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("auth.eap_identity"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), MANAGED);
    let out = corridor(&socket, true, &["profile", "show", "Corp"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("nobody"), "{shown}");
    assert!(
        shown.contains("locked               gateway, trust, proposals, auth.method"),
        "{shown}"
    );

    // Root administers the machine: the change goes to IT's file.
    let out = corridor(
        &socket,
        false,
        &["profile", "set", "Corp", "gateway.host=vpn2.corp.example"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("vpn2.corp.example")
    );
}
