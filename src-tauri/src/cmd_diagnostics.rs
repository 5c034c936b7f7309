//! `export_diagnostics`: gathers the service's log, versions, exported profiles and
//! the app's recent events, and writes the redacted archive ([`crate::diagnostics`]).

use std::io::Cursor;

use corridor_ipc::{LogLine, Reply, Request};
use serde::Serialize;
use tauri::State;

use crate::commands::blocking;
use crate::diagnostics::{Contents, Redactor, write_zip};
use crate::errors::UiError;
use crate::settings::write_atomically;
use crate::state::AppState;

/// Log lines the archive takes from the service.
const LOG_LINES: u32 = 5000;

/// `export_diagnostics`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct Exported {
    path: String,
    entries: Vec<String>,
}

fn log_text(line: &LogLine) -> String {
    let level = serde_json::to_value(line.level)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!("{} {level} {}: {}", line.unix_ms, line.target, line.message)
}

/// The first line of /etc/os-release that names the system, and the kernel.
fn os_description() -> serde_json::Value {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    serde_json::json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "name": pretty,
        "kernel": kernel,
    })
}

#[tauri::command]
pub(crate) async fn export_diagnostics(
    state: State<'_, AppState>,
    path: String,
) -> Result<Exported, UiError> {
    let link = &state.link;
    let mut contents = Contents::default();
    let mut redactor = Redactor::default();
    for var in ["USER", "LOGNAME"] {
        if let Ok(user) = std::env::var(var) {
            redactor.add(&user);
        }
    }
    let (hello, events) = {
        let known = link.known();
        (known.hello.clone(), known.events.iter().cloned().collect())
    };
    contents.events = events;
    if let Some(user) = hello.as_ref().and_then(|h| h.caller.user.as_deref()) {
        redactor.add(user);
    }
    contents.logs = match link
        .ask(Request::RecentLogs {
            max_lines: LOG_LINES,
        })
        .await
    {
        Ok(Reply::Logs { lines }) => lines.iter().map(log_text).collect(),
        Ok(_) => vec!["(the service gave no log)".to_string()],
        Err(e) => vec![format!("(no service log: {})", e.message)],
    };
    if let Ok(profiles) = link.refresh_profiles().await {
        for summary in profiles {
            match link
                .ask(Request::ExportProfile {
                    profile: summary.id.to_string(),
                })
                .await
            {
                Ok(Reply::Exported {
                    file_name,
                    contents: bytes,
                }) => {
                    if let Ok(json) = serde_json::from_slice(&bytes.0) {
                        redactor.add_profile(&json);
                    }
                    contents.profiles.push((file_name, bytes.0));
                }
                Ok(_) => {}
                Err(e) => tracing::debug!("diagnostics: {} not exported: {e}", summary.name),
            }
        }
    }
    contents.versions = serde_json::json!({
        "app": format!("corridor-app {}", env!("CARGO_PKG_VERSION")),
        "tauri": tauri::VERSION,
        "service": hello.as_ref().map(|h| h.server.clone()),
        "protocol": hello.as_ref().map(|h| h.protocol),
        "system": os_description(),
    });
    let target = std::path::PathBuf::from(&path);
    let entries = blocking(move || {
        let mut buffer = Cursor::new(Vec::new());
        let entries = write_zip(&mut buffer, &contents, &redactor)?;
        write_atomically(&target, &buffer.into_inner())?;
        Ok::<_, String>(entries)
    })
    .await?
    .map_err(|e| UiError::io("The diagnostics file could not be written.").with_details(e))?;
    tracing::info!("diagnostics written to {path}");
    Ok(Exported { path, entries })
}
