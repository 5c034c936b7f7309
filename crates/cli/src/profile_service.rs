//! `corridor profile …` through the service: without `--profiles-dir`, profiles live in
//! the service's store for the calling user (and IT's managed profiles sit beside
//! them), where `corridor connect` and the desktop app find them.
//!
//! The file is read and checked here, as the user: files it refers to (CA certificates,
//! a PKCS#12 container) are read with the user's own rights and embedded, because the
//! service (root) does not open paths on a caller's behalf. A PEM private key stays a
//! file reference by design, so such a profile cannot go to the service.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use corridor_ipc::{ProfileSummary, Reply, Request};
use corridor_model::Base64Bytes;
use corridor_profile::to_json_redacted;
use serde_json::json;

use crate::Failure;
use crate::args::ProfileCommand;
use crate::service_cmd::{ask, open, print, runtime};

/// The service's socket for profile commands: `CORRIDOR_SOCKET`, else the default.
fn socket() -> PathBuf {
    corridor_client::default_socket()
}

/// Runs a profile command against the service (`validate` never reaches here).
pub(crate) fn run(
    command: ProfileCommand,
    options_for: impl FnOnce(
        &crate::args::ImportArgs,
    ) -> Result<corridor_profile::ImportOptions, Failure>,
) -> Result<(), Failure> {
    match command {
        ProfileCommand::Import {
            file,
            replace,
            remember,
            options,
            json,
        } => {
            let prepared = corridor_client::import::prepare(&file, &options_for(&options)?)
                .map_err(|e| Failure::BadInput(anyhow!(e)))?;
            let is_signed = prepared.signed;
            let imported = prepared.local;
            let request = Request::ImportProfile {
                file_name: prepared.file_name,
                contents: Base64Bytes(prepared.request_contents),
                replace,
                dry_run: false,
            };
            let reply = exchange(request)?;
            let Reply::Imported {
                profile: summary,
                report,
            } = reply
            else {
                return Err(unexpected(&reply));
            };
            let mut text = if is_signed {
                // The service's report: only it knows which keys this computer trusts.
                report
                    .iter()
                    .map(|note| format!("  {}\n", note.outcome))
                    .collect::<String>()
            } else {
                imported.report.to_string()
            };
            text.push_str(&format!("posture: {}\n", summary.posture));
            let secrets_note = carried_secrets(summary.id, &imported.secrets, remember);
            if json {
                return print(&pretty(&json!({
                    "id": summary.id,
                    "name": summary.name,
                    "service": true,
                    "eap_password_in_file": imported.secrets.eap_password.is_some(),
                    "p12_password_in_file": imported.secrets.p12_password.is_some(),
                    "notes": secrets_note.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(),
                })));
            }
            text.push_str(&format!(
                "imported \"{}\" ({}) into the Corridor service",
                summary.name, summary.id
            ));
            text.push_str(&secrets_note);
            print(&text)
        }
        ProfileCommand::Validate { .. }
        | ProfileCommand::Sign { .. }
        | ProfileCommand::PublicKey { .. } => Err(Failure::System(anyhow!(
            "this command works on local files; it does not use the service"
        ))),
        ProfileCommand::List { json } => {
            let reply = exchange(Request::ListProfiles)?;
            let Reply::Profiles { profiles } = reply else {
                return Err(unexpected(&reply));
            };
            if json {
                return print(&pretty(&json!({ "profiles": profiles })));
            }
            print(&listing(&profiles))
        }
        ProfileCommand::Show { profile, json } => {
            let reply = exchange(Request::GetProfile { profile })?;
            let Reply::Profile {
                profile,
                managed,
                locked,
            } = reply
            else {
                return Err(unexpected(&reply));
            };
            if json {
                return print(to_json_redacted(&profile).trim_end());
            }
            let mut text = crate::summary::profile(&profile, Path::new("(the service)"));
            if managed {
                text.push_str("managed              yes (installed by IT)\n");
            }
            if !locked.is_empty() {
                text.push_str(&format!(
                    "locked               {} (set by your IT department)\n",
                    locked.join(", ")
                ));
            }
            print(text.trim_end())
        }
        ProfileCommand::Set {
            profile,
            assignments,
        } => {
            let changes = crate::profile_files::patch(&assignments)?;
            let reply = exchange(Request::EditProfile { profile, changes })?;
            let Reply::Edited { profile, changed } = reply else {
                return Err(unexpected(&reply));
            };
            print(&crate::profile_files::changed_text(&profile.name, &changed))
        }
        ProfileCommand::Export {
            profile,
            output,
            force,
        } => {
            if let Some(path) = &output
                && !force
                && path.exists()
            {
                // Checked before asking, so that nothing is fetched in vain.
                return crate::profile_files::write_file(path, &[], false, false);
            }
            let reply = exchange(Request::ExportProfile { profile })?;
            let Reply::Exported { contents, .. } = reply else {
                return Err(unexpected(&reply));
            };
            crate::profile_files::write_export(output.as_deref(), contents.as_slice(), force)
        }
        ProfileCommand::Backup { file, force } => {
            if !force && file.exists() {
                return crate::profile_files::write_file(&file, &[], false, true);
            }
            let reply = exchange(Request::BackupProfiles)?;
            let Reply::Backup { contents, count } = reply else {
                return Err(unexpected(&reply));
            };
            crate::profile_files::write_file(&file, contents.as_slice(), force, true)?;
            print(&format!(
                "wrote {count} profile(s) to {} (it holds their pre-shared keys: keep it private)",
                file.display()
            ))
        }
        ProfileCommand::Restore { file, replace } => {
            let contents = crate::profile_files::read_backup_file(&file)?;
            let reply = exchange(Request::RestoreProfiles {
                contents: Base64Bytes(contents),
                replace,
            })?;
            let Reply::Restored { profiles } = reply else {
                return Err(unexpected(&reply));
            };
            let mut text = format!(
                "restored {} profile(s) into the Corridor service",
                profiles.len()
            );
            for p in &profiles {
                text.push_str(&format!("\n  \"{}\" ({})", p.name, p.id));
            }
            print(&text)
        }
        ProfileCommand::Remove { profile } => {
            let reply = exchange(Request::RemoveProfile { profile })?;
            let Reply::Removed { profile } = reply else {
                return Err(unexpected(&reply));
            };
            print(&format!(
                "removed \"{}\" ({}) from the Corridor service",
                profile.name, profile.id
            ))
        }
    }
}

fn exchange(request: Request) -> Result<Reply, Failure> {
    runtime()?.block_on(async {
        let mut conn = open(&socket()).await?;
        ask(&mut conn, request).await
    })
}

fn unexpected(reply: &Reply) -> Failure {
    Failure::System(anyhow!("the service answered {reply:?}"))
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// One line per profile, managed ones marked.
fn listing(profiles: &[ProfileSummary]) -> String {
    if profiles.is_empty() {
        return "no profiles (import one with `corridor profile import FILE`)".to_string();
    }
    let width = profiles.iter().map(|p| p.name.len()).max().unwrap_or(0);
    profiles
        .iter()
        .map(|p| {
            format!(
                "{:<width$}  {}  {}  {}  {}{}",
                p.name,
                p.id,
                p.gateway,
                p.auth,
                p.posture,
                if p.managed { "  (managed)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What became of the passwords the imported file carried: kept in the user's keychain
/// (with `--remember`, under the stored profile's id, where `corridor connect` looks),
/// or left out with a note. Profiles themselves never hold passwords.
fn carried_secrets(
    id: corridor_model::Uuid,
    secrets: &corridor_profile::ImportedSecrets,
    remember: bool,
) -> String {
    use corridor_client::keychain::{self, Kind};
    let carried = [
        (Kind::Password, "EAP password", &secrets.eap_password),
        (
            Kind::KeyPassphrase,
            "PKCS#12 password",
            &secrets.p12_password,
        ),
    ];
    let mut text = String::new();
    for (kind, what, secret) in carried {
        let Some(secret) = secret else { continue };
        if !remember {
            text.push_str(&format!(
                "\nnote: the file carried the {what}; profiles never hold passwords, so it \
                 was left out (`--remember` keeps it in your keychain)"
            ));
            continue;
        }
        match keychain::set(id, kind, secret) {
            Ok(()) => text.push_str(&format!("\nkept the {what} in your keychain")),
            Err(reason) => text.push_str(&format!(
                "\nnote: the {what} was not kept: {reason}; you will be asked for it"
            )),
        }
    }
    text
}
