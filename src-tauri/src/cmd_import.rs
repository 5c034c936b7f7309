//! Importing a profile file: the app reads it with the user's own rights
//! (`corridor_client::import::prepare`), the service checks it in a dry run for the
//! preview and stores it on confirmation; passwords the file carried go to the user's
//! keychain when the user asks, never to the service.

use std::path::{Path, PathBuf};

use corridor_client::import::{Prepared, prepare};
use corridor_client::keychain::{self, Kind};
use corridor_ipc::{ImportNote, ProfileSummary, Reply, Request};
use corridor_model::Base64Bytes;
use corridor_profile::ImportOptions;
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::commands::{AppProfile, Remembered, Report, app_profile, blocking, unreadable};
use crate::errors::{Code, UiError};
use crate::link::unexpected;
use crate::state::AppState;
use crate::tray;

/// `preview_import`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct ImportPreview {
    file_name: String,
    path: String,
    profile: AppProfile,
    report: Report,
    /// Passwords the file carries (offered to the keychain).
    carries: Remembered,
    /// A signed Corridor profile (the service checked the signer).
    signed: bool,
    /// The stored profile the import would replace (same id).
    replaces: Option<AppProfile>,
}

/// `import_profile`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct ImportDone {
    profile: AppProfile,
    report: Report,
    /// What became of the passwords the file carried.
    notes: Vec<String>,
}

/// Reads `path` for the service.
async fn read(path: &str) -> Result<Prepared, UiError> {
    let file = PathBuf::from(path);
    if let Err(e) = std::fs::metadata(&file) {
        return Err(unreadable(path, &e));
    }
    blocking(move || prepare(&file, &ImportOptions::default()))
        .await?
        .map_err(|e| {
            UiError::new(Code::InvalidProfile, "This file cannot be imported.").with_details(e)
        })
}

fn base_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

fn carries(prepared: &Prepared) -> Remembered {
    Remembered {
        password: prepared.local.secrets.eap_password.is_some(),
        key_passphrase: prepared.local.secrets.p12_password.is_some(),
    }
}

async fn send(
    state: &AppState,
    prepared: &Prepared,
    replace: bool,
    dry_run: bool,
) -> Result<(ProfileSummary, Vec<ImportNote>), UiError> {
    match state
        .link
        .ask(Request::ImportProfile {
            file_name: prepared.file_name.clone(),
            contents: Base64Bytes(prepared.request_contents.clone()),
            replace,
            dry_run,
        })
        .await?
    {
        Reply::Imported { profile, report } => Ok((profile, report)),
        other => Err(unexpected(&other)),
    }
}

#[tauri::command]
pub(crate) async fn preview_import(
    state: State<'_, AppState>,
    path: String,
) -> Result<ImportPreview, UiError> {
    let prepared = read(&path).await?;
    // The dry run may replace, so the preview shows what the import would do either
    // way; `replaces` tells the page whether to ask.
    let (profile, report) = send(&state, &prepared, true, true).await?;
    let existing = state.link.refresh_profiles().await?;
    let replaces = match existing.into_iter().find(|p| p.id == profile.id) {
        Some(p) => Some(app_profile(&state, p).await?),
        None => None,
    };
    Ok(ImportPreview {
        file_name: base_name(&path),
        carries: carries(&prepared),
        signed: prepared.signed,
        profile: app_profile(&state, profile).await?,
        report,
        replaces,
        path,
    })
}

#[tauri::command]
pub(crate) async fn import_profile(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    replace: bool,
    remember: bool,
) -> Result<ImportDone, UiError> {
    let prepared = read(&path).await?;
    let (profile, report) = send(&state, &prepared, replace, false).await?;
    tracing::info!("imported “{}” from {}", profile.name, base_name(&path));
    let id = profile.id;
    let secrets = prepared.local.secrets.clone();
    let notes = blocking(move || {
        let carried = [
            (Kind::Password, "EAP password", secrets.eap_password),
            (
                Kind::KeyPassphrase,
                "client certificate's password",
                secrets.p12_password,
            ),
        ];
        let mut notes = Vec::new();
        for (kind, what, secret) in carried {
            let Some(secret) = secret else { continue };
            notes.push(if !remember {
                format!("The file carried the {what}; it was not kept.")
            } else {
                match keychain::set(id, kind, &secret) {
                    Ok(()) => format!("The {what} from the file is kept in your keychain."),
                    Err(e) => format!("The {what} from the file could not be kept: {e}."),
                }
            });
        }
        notes
    })
    .await?;
    let _ = state.link.refresh_profiles().await;
    tray::refresh(&app);
    Ok(ImportDone {
        profile: app_profile(&state, profile).await?,
        report,
        notes,
    })
}
