//! `corridor profile ...` run as a process, against a fresh store directory per test.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

const P12_PASSWORD: &str = "corridor-test";

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/profiles")
        .join(rel)
}

/// Runs `corridor --profiles-dir STORE ARGS...` with `stdin` as standard input.
fn corridor(store: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .arg("--profiles-dir")
        .arg(store)
        .args(args)
        .env_remove("CORRIDOR_PROFILES_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start corridor");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("wait for corridor")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_status(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// The names of the files in the store directory (which may not exist yet).
fn store_files(store: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(store) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn import(store: &Path, rel: &str) -> Output {
    corridor(
        store,
        &["profile", "import", data(rel).to_str().unwrap()],
        None,
    )
}

#[test]
fn import_list_show_remove_round_trip() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");

    let out = import(&store, "valid/eap.sswan");
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("read as strongSwan .sswan profile"), "{text}");
    assert!(
        text.contains("mapped      remote.addr -> gateway.host"),
        "{text}"
    );
    assert!(text.contains("imported \""), "{text}");
    assert_eq!(store_files(&store).len(), 1);

    let out = corridor(&store, &["profile", "list", "--json"], None);
    assert_status(&out, 0);
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let profiles = listing["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0]["auth"], "eap-mschapv2");
    let id = profiles[0]["id"].as_str().unwrap().to_string();
    let name = profiles[0]["name"].as_str().unwrap().to_string();

    let out = corridor(&store, &["profile", "list"], None);
    assert_status(&out, 0);
    assert!(stdout(&out).contains(&id));

    // By name, by name in another case, and by id.
    for query in [name.clone(), name.to_uppercase(), id.clone()] {
        let out = corridor(&store, &["profile", "show", &query], None);
        assert_status(&out, 0);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("id                   {id}")),
            "{text}"
        );
        assert!(text.contains("auth                 eap-mschapv2"), "{text}");
    }

    let out = corridor(&store, &["profile", "show", &id, "--json"], None);
    assert_status(&out, 0);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["id"], id.as_str());

    let out = corridor(&store, &["profile", "remove", &id], None);
    assert_status(&out, 0);
    assert!(stdout(&out).contains(&format!("removed \"{name}\" ({id})")));
    assert!(store_files(&store).is_empty());

    let out = corridor(&store, &["profile", "show", &id], None);
    assert_status(&out, 1);
    assert_eq!(
        stderr(&out).trim(),
        format!("corridor: error: no profile with the name or id '{id}'")
    );
}

#[test]
fn eap_password_in_sswan_is_not_stored() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let source = std::fs::read_to_string(data("valid/eap.sswan")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&source).unwrap();
    value["local"]["shared_secret"] = "s3cret-Passw0rd".into();
    let file = dir.path().join("with-password.sswan");
    std::fs::write(&file, value.to_string()).unwrap();

    let out = corridor(&store, &["profile", "import", file.to_str().unwrap()], None);
    assert_status(&out, 0);
    assert!(stdout(&out).contains("carried an EAP password"));
    assert!(!stdout(&out).contains("s3cret-Passw0rd"));
    for name in store_files(&store) {
        let stored = std::fs::read_to_string(store.join(name)).unwrap();
        assert!(!stored.contains("s3cret-Passw0rd"));
    }
}

#[test]
fn psk_is_masked_by_show() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    assert_status(&import(&store, "valid/corridor-psk.json"), 0);
    let stored = store.join(&store_files(&store)[0]);
    let psk = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&stored).unwrap())
        .unwrap()["auth"]["psk"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!psk.is_empty());
    let list = corridor(&store, &["profile", "list", "--json"], None);
    let listing: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let id = listing["profiles"][0]["id"].as_str().unwrap().to_string();
    for args in [
        vec!["profile", "show", &id],
        vec!["profile", "show", &id, "--json"],
    ] {
        let out = corridor(&store, &args, None);
        assert_status(&out, 0);
        assert!(stdout(&out).contains("***"));
        assert!(!stdout(&out).contains(&psk), "{}", stdout(&out));
    }
}

#[test]
fn duplicate_import_is_refused_until_replace() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    assert_status(&import(&store, "valid/cert.sswan"), 0);
    let before = std::fs::read(store.join(&store_files(&store)[0])).unwrap();

    let out = import(&store, "valid/cert.sswan");
    assert_status(&out, 1);
    assert!(
        stderr(&out).contains("is already stored") && stderr(&out).contains("replace"),
        "{}",
        stderr(&out)
    );
    assert_eq!(store_files(&store).len(), 1);
    assert_eq!(
        std::fs::read(store.join(&store_files(&store)[0])).unwrap(),
        before
    );

    let path = data("valid/cert.sswan");
    let out = corridor(
        &store,
        &[
            "profile",
            "import",
            "--replace",
            "--json",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_status(&out, 0);
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["replaced"].as_array().unwrap().len(), 1);
    assert_eq!(store_files(&store).len(), 1);
}

#[test]
fn every_invalid_sample_is_refused_with_its_file_named_and_nothing_written() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let mut checked = 0;
    for entry in std::fs::read_dir(data("invalid")).unwrap() {
        let path = entry.unwrap().path();
        let out = corridor(&store, &["profile", "import", path.to_str().unwrap()], None);
        assert_status(&out, 65);
        let err = stderr(&out);
        let file_name = path.file_name().unwrap().to_str().unwrap();
        assert!(err.starts_with("corridor: error: "), "{err}");
        assert!(err.contains(file_name), "{file_name}: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "{file_name}: one line expected: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            store_files(&store).is_empty(),
            "{file_name} left files behind"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} invalid samples");
}

#[test]
fn field_path_and_reason_are_in_the_error() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let out = import(&store, "invalid/port-wrong-type.json");
    assert_status(&out, 65);
    let err = stderr(&out);
    assert!(err.contains("port-wrong-type.json:"), "{err}");
    assert!(err.contains("gateway.port"), "{err}");

    let out = import(&store, "invalid/unknown-type.sswan");
    assert_status(&out, 65);
    assert!(stderr(&out).contains("type"), "{}", stderr(&out));
}

#[test]
fn huge_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let file = dir.path().join("huge.json");
    let mut text = String::from("{\"name\": \"");
    text.push_str(&"x".repeat(50 * 1024 * 1024));
    text.push_str("\"}");
    std::fs::write(&file, text).unwrap();
    let out = corridor(&store, &["profile", "import", file.to_str().unwrap()], None);
    assert_status(&out, 65);
    assert!(stderr(&out).contains("huge.json"), "{}", stderr(&out));
    assert!(store_files(&store).is_empty());
}

#[test]
fn validate_checks_without_writing() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let path = data("valid/split-proxy-apps.sswan");
    let out = corridor(
        &store,
        &["profile", "validate", path.to_str().unwrap()],
        None,
    );
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("valid profile"), "{text}");
    assert!(text.contains("not mapped"), "{text}");
    assert!(store_files(&store).is_empty());

    let bad = data("invalid/weak-proposal.sswan");
    let out = corridor(
        &store,
        &["profile", "validate", bad.to_str().unwrap()],
        None,
    );
    assert_status(&out, 65);
    assert!(stderr(&out).contains("weak-proposal.sswan"));
}

#[test]
fn pkcs12_password_from_stdin_is_checked() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let path = data("valid/corridor-eap-tls.json");
    let args = [
        "profile",
        "validate",
        "--p12-password-stdin",
        path.to_str().unwrap(),
    ];

    let out = corridor(&store, &args, Some(&format!("{P12_PASSWORD}\n")));
    assert_status(&out, 0);

    let out = corridor(&store, &args, Some("not-the-password\n"));
    assert_status(&out, 65);
    let err = stderr(&out);
    assert!(err.contains("corridor-eap-tls.json"), "{err}");
    assert!(err.to_lowercase().contains("password"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    for args in [
        vec!["profile"],
        vec!["profile", "import"],
        vec!["profile", "frobnicate"],
        vec!["profile", "list", "--bogus"],
    ] {
        let out = corridor(&store, &args, None);
        assert_status(&out, 2);
        assert!(!stderr(&out).contains("panicked"));
    }
}

#[test]
fn missing_file_names_the_file() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    let out = corridor(
        &store,
        &["profile", "import", "/nonexistent/vpn.sswan"],
        None,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("/nonexistent/vpn.sswan"),
        "{}",
        stderr(&out)
    );
    assert!(store_files(&store).is_empty());
}

#[test]
fn damaged_store_file_is_reported_by_list() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("profiles");
    assert_status(&import(&store, "valid/eap.sswan"), 0);
    std::fs::write(
        store.join("00000000-0000-0000-0000-000000000000.json"),
        "{ not json",
    )
    .unwrap();
    let out = corridor(&store, &["profile", "list"], None);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("damaged: "), "{text}");
    assert!(
        text.contains("00000000-0000-0000-0000-000000000000.json"),
        "{text}"
    );
}

#[test]
fn set_export_backup_and_restore_in_a_local_store() {
    let dir = TempDir::new().expect("tempdir");
    let store = dir.path().join("store");
    let out = corridor(
        &store,
        &[
            "profile",
            "import",
            data("valid/corridor-psk.json").to_str().expect("utf-8"),
        ],
        None,
    );
    assert_status(&out, 0);

    let out = corridor(
        &store,
        &[
            "profile",
            "set",
            "Lab (PSK)",
            "gateway.port=4500",
            "name=Lab two",
        ],
        None,
    );
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        "changed \"Lab two\":\n  gateway.port\n  name\n"
    );
    let out = corridor(
        &store,
        &["profile", "set", "Lab two", "gateway.port=x"],
        None,
    );
    assert_status(&out, 65);
    assert!(stderr(&out).contains("gateway.port"), "{}", stderr(&out));

    // Export: no pre-shared key; an existing file is kept unless --force.
    let exported = dir.path().join("lab.json");
    let out = corridor(
        &store,
        &[
            "profile",
            "export",
            "Lab two",
            "-o",
            exported.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_status(&out, 0);
    let text = std::fs::read_to_string(&exported).expect("export written");
    assert!(!text.contains("lab-shared-key"), "{text}");
    assert!(text.contains("4500"), "{text}");
    let out = corridor(
        &store,
        &[
            "profile",
            "export",
            "Lab two",
            "-o",
            exported.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_status(&out, 1);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));

    // Backup (private to the user), then restore into an empty store.
    let backup = dir.path().join("backup.json");
    let out = corridor(
        &store,
        &["profile", "backup", backup.to_str().expect("utf-8")],
        None,
    );
    assert_status(&out, 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&backup)
            .expect("backup")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        std::fs::read_to_string(&backup)
            .expect("backup")
            .contains("lab-shared-key")
    );
    let other = dir.path().join("other");
    let out = corridor(
        &other,
        &["profile", "restore", backup.to_str().expect("utf-8")],
        None,
    );
    assert_status(&out, 0);
    assert!(
        stdout(&out).contains("restored 1 profile(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read(other.join(&store_files(&store)[0])).expect("restored"),
        std::fs::read(store.join(&store_files(&store)[0])).expect("stored"),
    );
    // Restoring again clashes and changes nothing.
    let before = store_files(&other);
    let out = corridor(
        &other,
        &["profile", "restore", backup.to_str().expect("utf-8")],
        None,
    );
    assert_status(&out, 1);
    assert_eq!(store_files(&other), before);
}
