//! The commands the page invokes (see the app's GUI contract): profiles, settings and
//! the service's state. Connecting, importing and diagnostics have their own modules;
//! this one registers them all and holds their shared helpers.

use corridor_client::keychain::{self, Kind};
use corridor_ipc::{ConnectionStatus, ImportNote, LogLine, ProfileSummary, Reply, Request};
use serde::Serialize;
use tauri::{AppHandle, Manager as _, State};
use tauri_plugin_autostart::ManagerExt as _;
use uuid::Uuid;

use crate::errors::{Code, UiError};
use crate::link::{ServiceInfo, unexpected};
use crate::settings::{self, Settings};
use crate::state::AppState;
use crate::tray;

pub(crate) use crate::cmd_connect::{start_connect, stop};

/// A profile as the page lists it: the service's summary, and what the app adds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AppProfile {
    #[serde(flatten)]
    pub(crate) summary: ProfileSummary,
    /// A password or key passphrase is in the user's keychain.
    pub(crate) remembered: bool,
    /// The profile the tray toggles.
    pub(crate) is_default: bool,
}

/// Which secrets of a profile the keychain holds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Remembered {
    pub(crate) password: bool,
    pub(crate) key_passphrase: bool,
}

impl Remembered {
    fn any(self) -> bool {
        self.password || self.key_passphrase
    }
}

/// Runs blocking work (the keychain asks D-Bus, files) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, UiError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| UiError::internal("A background task failed.").with_details(e.to_string()))
}

/// What the keychain holds for `id` (blocking).
pub(crate) fn remembered_now(id: Uuid) -> Remembered {
    Remembered {
        password: keychain::get(id, Kind::Password).is_some(),
        key_passphrase: keychain::get(id, Kind::KeyPassphrase).is_some(),
    }
}

/// The page's view of `summaries`, with keychain and default-profile flags.
pub(crate) async fn app_profiles(
    state: &AppState,
    summaries: Vec<ProfileSummary>,
) -> Result<Vec<AppProfile>, UiError> {
    let default = state.settings().default_profile.clone();
    let ids: Vec<Uuid> = summaries.iter().map(|p| p.id).collect();
    let remembered =
        blocking(move || ids.into_iter().map(remembered_now).collect::<Vec<_>>()).await?;
    Ok(summaries
        .into_iter()
        .zip(remembered)
        .map(|(summary, remembered)| AppProfile {
            is_default: default.as_deref() == Some(summary.id.to_string().as_str()),
            remembered: remembered.any(),
            summary,
        })
        .collect())
}

pub(crate) async fn app_profile(
    state: &AppState,
    summary: ProfileSummary,
) -> Result<AppProfile, UiError> {
    let mut list = app_profiles(state, vec![summary]).await?;
    list.pop()
        .ok_or_else(|| UiError::internal("a profile went missing"))
}

#[tauri::command]
pub(crate) fn service_info(state: State<'_, AppState>) -> ServiceInfo {
    state.link.known().service_info()
}

#[tauri::command]
pub(crate) async fn list_profiles(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<Vec<AppProfile>, UiError> {
    let mut profiles = state.link.refresh_profiles().await?;
    profiles.sort_by_key(|p| p.name.to_lowercase());
    tray::refresh(&app);
    app_profiles(&state, profiles).await
}

/// `get_profile`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct ProfileView {
    profile: serde_json::Value,
    managed: bool,
    locked: Vec<String>,
    remembered: Remembered,
}

#[tauri::command]
pub(crate) async fn get_profile(
    state: State<'_, AppState>,
    profile: String,
) -> Result<ProfileView, UiError> {
    match state.link.ask(Request::GetProfile { profile }).await? {
        Reply::Profile {
            profile,
            managed,
            locked,
        } => {
            let id = profile.id;
            let json = serde_json::to_value(&profile).map_err(|e| {
                UiError::internal("The profile cannot be shown.").with_details(e.to_string())
            })?;
            Ok(ProfileView {
                profile: json,
                managed,
                locked,
                remembered: blocking(move || remembered_now(id)).await?,
            })
        }
        other => Err(unexpected(&other)),
    }
}

#[tauri::command]
pub(crate) async fn remove_profile(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: String,
) -> Result<(), UiError> {
    let removed = match state.link.ask(Request::RemoveProfile { profile }).await? {
        Reply::Removed { profile } => profile,
        other => return Err(unexpected(&other)),
    };
    let id = removed.id;
    let forgotten = blocking(move || keychain::forget(id)).await?;
    tracing::info!(
        "removed “{}” and forgot {forgotten} remembered secret(s)",
        removed.name
    );
    let changed = {
        let mut settings = state.settings();
        let id = id.to_string();
        let before = settings.clone();
        if settings.default_profile.as_deref() == Some(id.as_str()) {
            settings.default_profile = None;
        }
        if settings.connect_at_start.as_deref() == Some(id.as_str()) {
            settings.connect_at_start = None;
        }
        (*settings != before).then(|| settings.clone())
    };
    if let (Some(settings), Some(path)) = (changed, state.settings_path.clone()) {
        blocking(move || settings::save(&path, &settings))
            .await?
            .map_err(UiError::io)?;
    }
    let _ = state.link.refresh_profiles().await;
    tray::refresh(&app);
    Ok(())
}

/// `edit_profile`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct Edited {
    profile: AppProfile,
    changed: Vec<String>,
}

#[tauri::command]
pub(crate) async fn edit_profile(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: String,
    changes: serde_json::Value,
) -> Result<Edited, UiError> {
    match state
        .link
        .ask(Request::EditProfile { profile, changes })
        .await?
    {
        Reply::Edited { profile, changed } => {
            let _ = state.link.refresh_profiles().await;
            tray::refresh(&app);
            Ok(Edited {
                profile: app_profile(&state, profile).await?,
                changed,
            })
        }
        other => Err(unexpected(&other)),
    }
}

#[tauri::command]
pub(crate) async fn export_profile(
    state: State<'_, AppState>,
    profile: String,
    path: String,
) -> Result<String, UiError> {
    let contents = match state.link.ask(Request::ExportProfile { profile }).await? {
        Reply::Exported { contents, .. } => contents.0,
        other => return Err(unexpected(&other)),
    };
    let target = std::path::PathBuf::from(&path);
    blocking(move || settings::write_atomically(&target, &contents))
        .await?
        .map_err(UiError::io)?;
    Ok(path)
}

#[tauri::command]
pub(crate) async fn status(state: State<'_, AppState>) -> Result<Vec<ConnectionStatus>, UiError> {
    state.link.refresh_status().await
}

/// The profile's id from an id, a name or an id prefix.
pub(crate) async fn resolve_id(state: &AppState, profile: &str) -> Result<Uuid, UiError> {
    if let Ok(id) = Uuid::parse_str(profile) {
        return Ok(id);
    }
    match state
        .link
        .ask(Request::GetProfile {
            profile: profile.to_string(),
        })
        .await?
    {
        Reply::Profile { profile, .. } => Ok(profile.id),
        other => Err(unexpected(&other)),
    }
}

#[tauri::command]
pub(crate) async fn forget_secrets(
    state: State<'_, AppState>,
    profile: String,
) -> Result<usize, UiError> {
    let id = resolve_id(&state, &profile).await?;
    state.link.known().remember.remove(&id);
    blocking(move || keychain::forget(id)).await
}

#[tauri::command]
pub(crate) async fn recent_logs(
    state: State<'_, AppState>,
    limit: u32,
) -> Result<Vec<LogLine>, UiError> {
    match state
        .link
        .ask(Request::RecentLogs { max_lines: limit })
        .await?
    {
        Reply::Logs { lines } => Ok(lines),
        other => Err(unexpected(&other)),
    }
}

#[tauri::command]
pub(crate) fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings().clone()
}

#[tauri::command]
pub(crate) async fn set_settings(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<Settings, UiError> {
    let before = state.settings().clone();
    if settings.start_at_login != before.start_at_login {
        let autostart = app.autolaunch();
        let result = if settings.start_at_login {
            autostart.enable()
        } else {
            autostart.disable()
        };
        result.map_err(|e| {
            UiError::io("Starting Corridor at login could not be changed.")
                .with_details(e.to_string())
        })?;
    }
    if let Some(path) = state.settings_path.clone() {
        let to_save = settings.clone();
        blocking(move || settings::save(&path, &to_save))
            .await?
            .map_err(|e| UiError::io("The settings could not be saved.").with_details(e))?;
    }
    *state.settings() = settings.clone();
    tray::refresh(&app);
    Ok(settings)
}

#[tauri::command]
pub(crate) fn take_pending_files(state: State<'_, AppState>) -> Vec<String> {
    std::mem::take(&mut *state.pending_files())
}

/// The report lines an import gave, for the page.
pub(crate) type Report = Vec<ImportNote>;

/// An unreadable local file.
pub(crate) fn unreadable(path: &str, e: &std::io::Error) -> UiError {
    UiError::new(Code::Io, format!("{path} cannot be read: {e}."))
}

/// Registers every command with the builder.
pub(crate) fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        service_info,
        list_profiles,
        get_profile,
        crate::cmd_import::preview_import,
        crate::cmd_import::import_profile,
        remove_profile,
        edit_profile,
        export_profile,
        crate::cmd_connect::connect,
        crate::cmd_connect::disconnect,
        status,
        forget_secrets,
        recent_logs,
        crate::cmd_diagnostics::export_diagnostics,
        get_settings,
        set_settings,
        take_pending_files,
    ]
}

/// The app state, for helpers called with an app handle (tray, link observer).
pub(crate) fn app_state(app: &AppHandle) -> State<'_, AppState> {
    app.state::<AppState>()
}
