//! The Corridor desktop app: a window (the page in `ui/`), a tray icon and
//! notifications, all unprivileged, talking to corridord over its local IPC socket
//! (`CORRIDOR_SOCKET` overrides where). Without the service it starts anyway and says
//! so; it reconnects by itself. Logs go to standard error, filtered by `CORRIDOR_LOG`
//! (default `info`).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod cmd_connect;
mod cmd_diagnostics;
mod cmd_import;
mod commands;
mod diagnostics;
mod errors;
mod files;
mod link;
mod notify;
mod settings;
mod state;
mod tray;
mod tray_model;

use std::sync::Arc;

use tauri::{Manager as _, WindowEvent};
use tauri_plugin_autostart::MacosLauncher;
use tracing_subscriber::EnvFilter;

use crate::link::Link;
use crate::state::{AppObserver, AppState, show_main_window};

/// The option autostart passes: start in the tray, without the window.
const HIDDEN: &str = "--hidden";

fn init_logging() {
    let filter = EnvFilter::try_from_env("CORRIDOR_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let hidden = args.iter().any(|a| a == HIDDEN);
    let cwd = std::env::current_dir().unwrap_or_default();
    let initial_files = files::profile_paths(&args, &cwd);
    let socket = corridor_client::default_socket();
    tracing::info!(
        "corridor-app {} (service socket {})",
        env!("CARGO_PKG_VERSION"),
        socket.display()
    );
    let link = Link::new(socket);

    let result = tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, cwd| {
            files::second_instance(app, &argv, &cwd);
        }))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            Some(vec![HIDDEN]),
        ))
        .setup(move |app| {
            let handle = app.handle().clone();
            let settings_path = match app.path().app_config_dir() {
                Ok(dir) => Some(dir.join(settings::FILE_NAME)),
                Err(e) => {
                    tracing::warn!("no configuration directory ({e}); settings are not kept");
                    None
                }
            };
            let loaded = match &settings_path {
                Some(path) => {
                    let (loaded, warning) = settings::load(path);
                    if let Some(warning) = warning {
                        tracing::warn!("{warning}");
                    }
                    loaded
                }
                None => settings::Settings::initial(),
            };
            app.manage(AppState::new(
                Arc::clone(&link),
                loaded,
                settings_path,
                initial_files,
            ));
            tray::create(&handle);
            tauri::async_runtime::spawn(link::run(
                handle.clone(),
                Arc::clone(&link),
                Arc::new(AppObserver),
            ));
            if !hidden {
                show_main_window(&handle);
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window leaves the app in the tray; "Quit" ends it.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == "main"
            {
                api.prevent_close();
                if let Err(e) = window.hide() {
                    tracing::debug!("cannot hide the window: {e}");
                }
            }
        })
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("the app failed: {e}");
        std::process::exit(1);
    }
}
