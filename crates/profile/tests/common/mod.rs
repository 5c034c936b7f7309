//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use corridor_profile::model::{IpNet, Secret};
use corridor_profile::{ImportOptions, ImportReport, Outcome};

/// The password of every PKCS#12 container under `tests/data/profiles/pki`.
pub(crate) const P12_PASSWORD: &str = "corridor-test";

/// `tests/data/profiles` at the workspace root.
pub(crate) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/profiles")
}

/// A file under `tests/data/profiles`.
pub(crate) fn data(rel: &str) -> PathBuf {
    data_dir().join(rel)
}

/// The canonical path of a file under `tests/data/profiles`, as stored after an import.
pub(crate) fn canonical(rel: &str) -> PathBuf {
    dunce::canonicalize(data(rel)).unwrap()
}

/// Import options without a PKCS#12 password.
pub(crate) fn no_password() -> ImportOptions {
    ImportOptions::default()
}

/// Import options with the test PKCS#12 password.
pub(crate) fn with_password() -> ImportOptions {
    ImportOptions {
        p12_password: Some(Secret::new(P12_PASSWORD)),
        ..ImportOptions::default()
    }
}

/// A prefix written as text.
pub(crate) fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// The Corridor field (and note) the source key `key` was mapped to; panics otherwise.
pub(crate) fn mapped(report: &ImportReport, key: &str) -> (String, Option<String>) {
    match report.get(key) {
        Some(Outcome::Mapped { to, note }) => (to.clone(), note.clone()),
        other => panic!("{key}: {other:?}"),
    }
}

/// Why the source key `key` was not mapped; panics otherwise.
pub(crate) fn not_mapped(report: &ImportReport, key: &str) -> String {
    match report.get(key) {
        Some(Outcome::NotMapped { reason }) => reason.clone(),
        other => panic!("{key}: {other:?}"),
    }
}
