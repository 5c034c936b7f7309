//! The sample corpus as a whole (`tests/data/profiles`): every valid file imports, every
//! invalid one is refused with an error that names the file, and each format IT uses has
//! enough real-world-shaped samples. The exact mapping of each sample and the exact text
//! of each error are asserted by the per-format tests (`import_*.rs`, `errors.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{data, with_password};
use corridor_profile::{ImportOptions, SourceFormat, import_file};

fn files(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(data(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    out.sort();
    out
}

fn options() -> ImportOptions {
    ImportOptions {
        // Windows samples of certificate methods leave the certificate to the import.
        client_certificate_file: Some(data("pki/client.p12")),
        ..with_password()
    }
}

#[test]
fn every_valid_sample_imports_and_each_format_has_three() {
    let mut per_format: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in files("valid") {
        let imported = import_file(&path, &options())
            .unwrap_or_else(|e| panic!("{} does not import: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        per_format
            .entry(imported.report.source.to_string())
            .or_default()
            .push(name);
    }
    for format in [
        SourceFormat::Corridor,
        SourceFormat::Sswan,
        SourceFormat::Mobileconfig,
        SourceFormat::ProfileXml,
        SourceFormat::PowerShell,
    ] {
        let samples = per_format
            .get(&format.to_string())
            .cloned()
            .unwrap_or_default();
        assert!(
            samples.len() >= 3,
            "{format}: only {samples:?} (at least three samples per format)"
        );
    }
}

#[test]
fn every_invalid_sample_is_refused_naming_the_file() {
    let invalid = files("invalid");
    assert!(
        invalid.len() >= 12,
        "only {} invalid samples",
        invalid.len()
    );
    for path in invalid {
        let err = match import_file(&path, &with_password()) {
            Ok(_) => panic!("{} imports although it is in invalid/", path.display()),
            Err(e) => e,
        };
        assert_eq!(err.origin(), path.display().to_string());
        let text = err.to_string();
        assert!(
            text.starts_with(&path.display().to_string()) && text.len() > err.origin().len() + 10,
            "{text}"
        );
    }
}
