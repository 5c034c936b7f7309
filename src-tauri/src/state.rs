//! The app's shared state (managed by Tauri) and what happens when the link sees the
//! service come and go or a connection change: tray, notifications, remembering typed
//! secrets, and the connect-at-start setting.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use corridor_client::keychain::{self, Kind};
use corridor_ipc::{ConnectionState, ConnectionStatus};
use tauri::{AppHandle, Manager as _};

use crate::link::{Link, Observer};
use crate::settings::Settings;
use crate::{commands, notify, tray};

/// Everything commands, the tray and the link share.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) link: Arc<Link>,
    settings: Mutex<Settings>,
    /// Where the settings live; `None` when the configuration directory is unknown
    /// (then changes last until the app quits).
    pub(crate) settings_path: Option<PathBuf>,
    /// Profile files to show, not yet taken by the page.
    pub(crate) pending_files: Mutex<Vec<String>>,
    /// Set once the connect-at-start setting was acted on.
    started: AtomicBool,
}

impl AppState {
    pub(crate) fn new(
        link: Arc<Link>,
        settings: Settings,
        settings_path: Option<PathBuf>,
        pending_files: Vec<String>,
    ) -> Self {
        AppState {
            link,
            settings: Mutex::new(settings),
            settings_path,
            pending_files: Mutex::new(pending_files),
            started: AtomicBool::new(false),
        }
    }

    pub(crate) fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn pending_files(&self) -> MutexGuard<'_, Vec<String>> {
        self.pending_files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Shows and focuses the main window.
pub(crate) fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The link's observer for the running app.
#[derive(Debug)]
pub(crate) struct AppObserver;

impl Observer for AppObserver {
    fn service_changed(&self, app: &AppHandle, up: bool) {
        tray::refresh(app);
        let state = app.state::<AppState>();
        if up && !state.started.swap(true, Ordering::SeqCst) {
            let chosen = state.settings().connect_at_start.clone();
            if let Some(profile) = chosen {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    tracing::info!("connecting {profile} as set for the app's start");
                    if let Err(e) = commands::start_connect(&app, &profile).await {
                        tracing::warn!("cannot connect {profile} at start: {e}");
                    }
                });
            }
        }
    }

    fn state_changed(
        &self,
        app: &AppHandle,
        old: Option<ConnectionState>,
        status: &ConnectionStatus,
    ) {
        tray::refresh(app);
        let state = app.state::<AppState>();
        if state.settings().notifications
            && let Some(notice) = notify::decide(old, status)
        {
            notify::show(app, notice);
        }
        let id = status.profile.id;
        match status.state {
            ConnectionState::Connected => {
                let pending = state.link.known().remember.remove(&id);
                if let Some(pending) = pending {
                    let name = status.profile.name.clone();
                    tauri::async_runtime::spawn_blocking(move || {
                        for (kind, secret) in [
                            (Kind::Password, pending.password),
                            (Kind::KeyPassphrase, pending.key_passphrase),
                        ] {
                            if let Some(secret) = secret {
                                match keychain::set(id, kind, &secret) {
                                    Ok(()) => tracing::info!("remembered a secret of “{name}”"),
                                    Err(e) => tracing::warn!("not remembered for “{name}”: {e}"),
                                }
                            }
                        }
                    });
                }
            }
            ConnectionState::Disconnected => {
                state.link.known().remember.remove(&id);
            }
            _ => {}
        }
    }
}
