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
    DEFAULT_POLICY_PATH, ImportOptions, ImportReport, Imported, Outcome, Policy, PolicyFile as _,
    SaveMode, Store, StoreError, assess, fingerprint, import_file, signed, to_json_redacted,
};
use serde_json::{Value, json};

use crate::Failure;
use crate::args::{ImportArgs, ProfileCommand};
use crate::{profile_files, summary};

/// Runs one `corridor profile` command against the store in `dir` (or the default one).
pub(crate) fn run(dir: Option<PathBuf>, command: ProfileCommand) -> Result<(), Failure> {
    match command {
        ProfileCommand::Import {
            file,
            replace,
            remember,
            options,
            json,
        } => {
            if remember {
                return Err(Failure::BadInput(anyhow!(
                    "--remember keeps passwords for `corridor connect`, which uses the \
                     service; it does not apply to a --profiles-dir store"
                )));
            }
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
                            "posture": assess(&s.profile).to_string(),
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
        ProfileCommand::Sign { file, key, output } => sign(&file, &key, output),
        ProfileCommand::PublicKey { key } => {
            let pem = read_key(&key)?;
            let public = corridor_profile::public_key_pem(&pem)
                .map_err(|e| Failure::BadInput(anyhow!("{}: {e}", key.display())))?;
            print_text(&public)
        }
        ProfileCommand::Remove { profile } => {
            let store = open_store(dir)?;
            let removed = store.remove(&profile).map_err(store_failure)?;
            print_text(&format!(
                "removed \"{}\" ({})\n",
                removed.profile.name, removed.profile.id
            ))
        }
        ProfileCommand::Set {
            profile,
            assignments,
        } => {
            let changes = profile_files::patch(&assignments)?;
            let store = open_store(dir)?;
            let stored = store.get(&profile).map_err(store_failure)?;
            let origin = format!("profile \"{}\"", stored.profile.name);
            let edited = corridor_profile::apply_edit(&origin, &stored.profile, &changes)
                .map_err(|e| Failure::BadInput(anyhow!(e)))?;
            if edited.changed.iter().any(|p| p == "name") {
                let lower = edited.profile.name.to_lowercase();
                let listing = store.list().map_err(store_failure)?;
                if let Some(other) = listing.profiles.iter().find(|s| {
                    s.profile.id != edited.profile.id && s.profile.name.to_lowercase() == lower
                }) {
                    return Err(Failure::Conflict(anyhow!(
                        "another profile is named \"{}\" ({}); choose another name",
                        other.profile.name,
                        other.profile.id
                    )));
                }
            }
            if !edited.changed.is_empty() {
                store
                    .save(&edited.profile, SaveMode::Replace)
                    .map_err(store_failure)?;
            }
            let mut text = profile_files::changed_text(&edited.profile.name, &edited.changed);
            text.push('\n');
            print_text(&text)
        }
        ProfileCommand::Export {
            profile,
            output,
            force,
        } => {
            let store = open_store(dir)?;
            let stored = store.get(&profile).map_err(store_failure)?;
            let contents = corridor_profile::to_json_export(&stored.profile, false);
            profile_files::write_export(output.as_deref(), contents.as_bytes(), force)
        }
        ProfileCommand::Backup { file, force } => {
            let store = open_store(dir)?;
            let backup = store.backup().map_err(store_failure)?;
            for problem in &backup.skipped {
                eprintln!("corridor: warning: not in the backup: {problem}");
            }
            profile_files::write_file(&file, &backup.contents, force, true)?;
            print_text(&format!(
                "wrote {} profile(s) to {} (it holds their pre-shared keys: keep it private)\n",
                backup.profiles.len(),
                file.display()
            ))
        }
        ProfileCommand::Restore { file, replace } => {
            let contents = profile_files::read_backup_file(&file)?;
            let store = open_store(dir)?;
            let mode = if replace {
                SaveMode::Replace
            } else {
                SaveMode::CreateNew
            };
            let restored = store.restore(&contents, mode).map_err(store_failure)?;
            let mut text = String::new();
            for (id, name) in &restored.replaced {
                text.push_str(&format!("replaced \"{name}\" ({id})\n"));
            }
            text.push_str(&format!(
                "restored {} profile(s) into {}\n",
                restored.profiles.len(),
                store.dir().display()
            ));
            for s in &restored.profiles {
                text.push_str(&format!("  \"{}\" ({})\n", s.profile.name, s.profile.id));
            }
            print_text(&text)
        }
    }
}

/// Reads and validates a profile file with the command's import options, under this
/// computer's policy file (`$CORRIDOR_POLICY`, else the system's; none means the
/// default policy).
pub(crate) fn read_profile(file: &std::path::Path, args: &ImportArgs) -> Result<Imported, Failure> {
    let path = std::env::var_os("CORRIDOR_POLICY")
        .map_or_else(|| PathBuf::from(DEFAULT_POLICY_PATH), PathBuf::from);
    let policy = Policy::load(&path).map_err(|e| Failure::BadInput(anyhow!(e)))?;
    read_with_policy(file, args, policy)
}

/// Reads and checks a profile file on its way to the service, whose policy decides
/// about signatures and legacy algorithms: here nothing is refused for them.
/// A policy that refuses nothing (for checks whose policy is applied elsewhere).
fn permissive() -> Policy {
    Policy {
        allow_unsigned_imports: true,
        allow_legacy_crypto: true,
        ..Policy::default()
    }
}

fn read_with_policy(
    file: &std::path::Path,
    args: &ImportArgs,
    policy: Policy,
) -> Result<Imported, Failure> {
    let options = ImportOptions {
        policy,
        ..import_options(args)?
    };
    import_file(file, &options).map_err(|e| Failure::BadInput(anyhow!(e)))
}

/// The import options the command line gives (the policy is the caller's to set).
pub(crate) fn import_options(args: &ImportArgs) -> Result<ImportOptions, Failure> {
    let p12_password = if args.p12_password_stdin {
        Some(read_password_line().map_err(Failure::System)?)
    } else {
        None
    };
    let options = ImportOptions {
        p12_password,
        base_dir: None,
        client_certificate_file: args.client_cert.clone(),
        // Relative to where the command runs, not to the profile file.
        ca_files: args
            .ca
            .iter()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .collect(),
        name: args.name.clone(),
        policy: Policy::default(),
    };
    Ok(options)
}

fn read_key(key: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(key).map_err(|e| Failure::System(anyhow!("cannot read {}: {e}", key.display())))
}

/// `corridor profile sign`: checks that the file imports (legacy algorithms are the
/// receiving computer's policy to judge), then writes the signed envelope.
fn sign(
    file: &std::path::Path,
    key: &std::path::Path,
    output: Option<PathBuf>,
) -> Result<(), Failure> {
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::System(anyhow!("cannot read {}: {e}", file.display())))?;
    if std::str::from_utf8(&bytes).is_ok_and(signed::is_envelope) {
        return Err(Failure::BadInput(anyhow!(
            "{}: the file is signed already; sign the profile file itself",
            file.display()
        )));
    }
    let options = ImportOptions {
        policy: permissive(),
        ..ImportOptions::default()
    };
    let imported = import_file(file, &options).map_err(|e| Failure::BadInput(anyhow!(e)))?;
    let key_pem = read_key(key)?;
    let envelope = signed::sign(&bytes, &key_pem)
        .map_err(|e| Failure::BadInput(anyhow!("{}: {e}", key.display())))?;
    let public = corridor_profile::public_key_pem(&key_pem)
        .ok()
        .and_then(|pem| signed::public_key_from_pem(pem.as_bytes()).ok())
        .map(|der| fingerprint(&der))
        .unwrap_or_default();
    let out = output.unwrap_or_else(|| file.with_extension("signed.json"));
    std::fs::write(&out, envelope)
        .map_err(|e| Failure::System(anyhow!("cannot write {}: {e}", out.display())))?;
    print_text(&format!(
        "signed \"{}\" ({}) with key {public}: {}\nposture: {}\n",
        imported.profile.name,
        imported.profile.id,
        out.display(),
        imported.posture
    ))
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
