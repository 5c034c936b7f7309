//! `corridor profile ...`: the profile store from the command line.
//!
//! Imports never leave half a profile behind: the file is read, mapped and validated in
//! full before the store writes it (atomically, temp file and rename), so a bad file
//! changes nothing.

use std::io::{BufRead as _, Write};
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use corridor_model::Secret;
use corridor_profile::{
    ImportOptions, ImportReport, Imported, Outcome, SaveMode, Store, StoreError, import_file,
    to_json_redacted,
};
use serde_json::{Value, json};

use crate::Failure;
use crate::args::{ImportArgs, ProfileCommand};
use crate::summary;

/// Runs one `corridor profile` command against the store in `dir` (or the default one).
pub(crate) fn run(dir: Option<PathBuf>, command: ProfileCommand) -> Result<(), Failure> {
    match command {
        ProfileCommand::Import {
            file,
            replace,
            options,
            json,
        } => {
            let imported = read_profile(&file, &options)?;
            let store = open_store(dir)?;
            let mode = if replace {
                SaveMode::Replace
            } else {
                SaveMode::CreateNew
            };
            let saved = store.save(&imported.profile, mode).map_err(store_failure)?;
            let profile = &imported.profile;
            if json {
                let replaced: Vec<Value> = saved
                    .replaced
                    .iter()
                    .map(|(id, name)| json!({ "id": id, "name": name }))
                    .collect();
                print_json(&json!({
                    "id": profile.id,
                    "name": profile.name,
                    "path": saved.path,
                    "replaced": replaced,
                    "eap_password_in_file": imported.secrets.eap_password.is_some(),
                    "report": report_json(&imported.report),
                }))
            } else {
                let mut text = imported.report.to_string();
                for (id, name) in &saved.replaced {
                    text.push_str(&format!("replaced \"{name}\" ({id})\n"));
                }
                text.push_str(&format!(
                    "imported \"{}\" ({}) into {}\n",
                    profile.name,
                    profile.id,
                    store.dir().display()
                ));
                text.push_str(&password_notice(&imported));
                print_text(&text)
            }
        }
        ProfileCommand::Validate {
            file,
            options,
            json,
        } => {
            let imported = read_profile(&file, &options)?;
            let profile = &imported.profile;
            if json {
                print_json(&json!({
                    "valid": true,
                    "id": profile.id,
                    "name": profile.name,
                    "eap_password_in_file": imported.secrets.eap_password.is_some(),
                    "report": report_json(&imported.report),
                }))
            } else {
                let mut text = imported.report.to_string();
                text.push_str(&format!(
                    "{}: valid profile \"{}\" ({})\n",
                    file.display(),
                    profile.name,
                    profile.id
                ));
                print_text(&text)
            }
        }
        ProfileCommand::List { json } => {
            let store = open_store(dir)?;
            let listing = store.list().map_err(store_failure)?;
            if json {
                let profiles: Vec<Value> = listing
                    .profiles
                    .iter()
                    .map(|s| {
                        json!({
                            "id": s.profile.id,
                            "name": s.profile.name,
                            "gateway": s.profile.gateway.host,
                            "auth": s.profile.auth.method.as_str(),
                            "path": s.path,
                        })
                    })
                    .collect();
                let problems: Vec<String> =
                    listing.problems.iter().map(ToString::to_string).collect();
                print_json(&json!({ "profiles": profiles, "problems": problems }))
            } else {
                print_text(&summary::listing(&listing))
            }
        }
        ProfileCommand::Show { profile, json } => {
            let store = open_store(dir)?;
            let stored = store.get(&profile).map_err(store_failure)?;
            if json {
                print_text(&to_json_redacted(&stored.profile))
            } else {
                print_text(&summary::profile(&stored.profile, &stored.path))
            }
        }
        ProfileCommand::Remove { profile } => {
            let store = open_store(dir)?;
            let removed = store.remove(&profile).map_err(store_failure)?;
            print_text(&format!(
                "removed \"{}\" ({})\n",
                removed.profile.name, removed.profile.id
            ))
        }
    }
}

/// Reads and validates a profile file with the command's import options.
pub(crate) fn read_profile(file: &std::path::Path, args: &ImportArgs) -> Result<Imported, Failure> {
    let p12_password = if args.p12_password_stdin {
        Some(read_password_line().map_err(Failure::System)?)
    } else {
        None
    };
    let options = ImportOptions {
        p12_password,
        base_dir: None,
        client_certificate_file: args.client_cert.clone(),
    };
    import_file(file, &options).map_err(|e| Failure::BadInput(anyhow!(e)))
}

/// The first line of standard input, without its line ending.
fn read_password_line() -> anyhow::Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the PKCS#12 password from standard input")?;
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(Secret::new(trimmed))
}

fn open_store(dir: Option<PathBuf>) -> Result<Store, Failure> {
    match dir {
        Some(dir) => Store::open(dir),
        None => Store::open_default(),
    }
    .map_err(store_failure)
}

/// Sorts store errors into the exit-status classes.
fn store_failure(error: StoreError) -> Failure {
    match error {
        StoreError::NotFound(_)
        | StoreError::Ambiguous { .. }
        | StoreError::DuplicateId { .. }
        | StoreError::DuplicateName { .. } => Failure::Conflict(anyhow!(error)),
        StoreError::Invalid(_) => Failure::BadInput(anyhow!(error)),
        _ => Failure::System(anyhow!(error)),
    }
}

/// What the user should know about a password the file carried.
fn password_notice(imported: &Imported) -> String {
    if imported.secrets.eap_password.is_some() {
        "note: the file carried an EAP password; profiles never hold passwords, so it was \
         not stored; you will be asked for it when you connect\n"
            .to_string()
    } else {
        String::new()
    }
}

fn report_json(report: &ImportReport) -> Value {
    let entries: Vec<Value> = report
        .entries
        .iter()
        .map(|entry| {
            let (outcome, to, note) = match &entry.outcome {
                Outcome::Mapped { to, note } => ("mapped", Some(to.as_str()), note.as_deref()),
                Outcome::Derived { to, note } => {
                    ("derived", Some(to.as_str()), Some(note.as_str()))
                }
                Outcome::Checked { note } => ("checked", None, Some(note.as_str())),
                Outcome::NotMapped { reason } => ("not_mapped", None, Some(reason.as_str())),
                _ => ("other", None, None),
            };
            json!({ "key": entry.key, "outcome": outcome, "to": to, "note": note })
        })
        .collect();
    json!({ "source": report.source.to_string(), "entries": entries })
}

fn print_json(value: &Value) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::System(anyhow!("cannot format the output: {e}")))?;
    text.push('\n');
    print_text(&text)
}

/// Writes to stdout, turning a closed pipe into an error instead of a panic.
fn print_text(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .or_else(|e| {
            // A reader that went away (`corridor profile list | head -1`) is not a failure.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|e| Failure::System(anyhow!("cannot write to standard output: {e}")))
}
