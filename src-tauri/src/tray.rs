//! The tray icon: its menu (from [`crate::tray_model`]), an icon per overall state
//! drawn here, and what its entries do. Rebuilt whenever profiles or states change.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager as _, Wry};

use crate::state::{AppState, show_main_window};
use crate::tray_model::{self, DEFAULT_ID, Item, Look, OPEN_ID, PROFILE_PREFIX, QUIT_ID};
use crate::{commands, notify};

/// The tray icon's id.
const TRAY_ID: &str = "corridor";

/// The icon's edge in pixels.
const SIZE: u32 = 32;

/// The icon for `look`: a shield in the state's colour (grey, amber, green, red) with
/// a white corridor through it.
pub(crate) fn icon_rgba(look: Look) -> Vec<u8> {
    let (r, g, b) = match look {
        Look::Disconnected => (0x8a, 0x8f, 0x98),
        Look::Connecting => (0xf0, 0xa2, 0x02),
        Look::Connected => (0x2e, 0xa0, 0x43),
        Look::Error => (0xd1, 0x24, 0x2f),
    };
    let mut pixels = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (fy, fx) = (y as f32 + 0.5, x as f32 + 0.5);
            let half_width = if fy < 17.0 {
                12.0
            } else {
                12.0 * (30.0 - fy) / 13.0
            };
            let inside = (2.0..30.0).contains(&fy) && (fx - 16.0).abs() <= half_width;
            let bar = (9.0..23.0).contains(&fy)
                && ((11.0..14.0).contains(&fx) || (18.0..21.0).contains(&fx));
            let pixel = match (inside, bar) {
                (true, true) => [0xff, 0xff, 0xff, 0xff],
                (true, false) => [r, g, b, 0xff],
                _ => [0, 0, 0, 0],
            };
            pixels.extend_from_slice(&pixel);
        }
    }
    pixels
}

fn icon(look: Look) -> Image<'static> {
    Image::new_owned(icon_rgba(look), SIZE, SIZE)
}

/// The current menu model and look.
fn model(app: &AppHandle) -> (Vec<Item>, Look) {
    let state = app.state::<AppState>();
    let default = state.settings().default_profile.clone();
    let known = state.link.known();
    let up = known.hello.is_some();
    let states = known.states();
    (
        tray_model::menu(&known.profiles, &states, default.as_deref(), up),
        tray_model::look(&states, up),
    )
}

fn native_menu(app: &AppHandle, items: &[Item]) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    for item in items {
        match item {
            Item::Entry { id, label, enabled } => {
                menu.append(&MenuItem::with_id(app, id, label, *enabled, None::<&str>)?)?;
            }
            Item::Separator => menu.append(&PredefinedMenuItem::separator(app)?)?,
        }
    }
    Ok(menu)
}

/// Creates the tray icon. A desktop without a tray only loses it.
pub(crate) fn create(app: &AppHandle) {
    let (items, look) = model(app);
    let built = native_menu(app, &items).and_then(|menu| {
        TrayIconBuilder::with_id(TRAY_ID)
            .icon(icon(look))
            .tooltip(tray_model::tooltip(look))
            .menu(&menu)
            .show_menu_on_left_click(false)
            .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
            .on_tray_icon_event(|tray, event| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = event
                {
                    toggle_default(tray.app_handle());
                }
            })
            .build(app)
    });
    if let Err(e) = built {
        tracing::warn!("no tray icon: {e}");
    }
}

/// Rebuilds the menu and icon from what the app knows now.
pub(crate) fn refresh(app: &AppHandle) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let (items, look) = model(app);
    let result = native_menu(app, &items)
        .and_then(|menu| tray.set_menu(Some(menu)))
        .and_then(|()| tray.set_icon(Some(icon(look))))
        .and_then(|()| tray.set_tooltip(Some(tray_model::tooltip(look))));
    if let Err(e) = result {
        tracing::debug!("cannot update the tray: {e}");
    }
}

fn on_menu(app: &AppHandle, id: &str) {
    match id {
        OPEN_ID => show_main_window(app),
        QUIT_ID => app.exit(0),
        DEFAULT_ID => toggle_default(app),
        _ => {
            if let Some(profile) = id.strip_prefix(PROFILE_PREFIX) {
                toggle(app, profile.to_string());
            }
        }
    }
}

/// Toggles the default profile (left click, first menu entry).
fn toggle_default(app: &AppHandle) {
    let state = app.state::<AppState>();
    let chosen = state.settings().default_profile.clone();
    let profile = {
        let known = state.link.known();
        tray_model::default_profile(&known.profiles, chosen.as_deref()).map(|p| p.id.to_string())
    };
    match profile {
        Some(profile) => toggle(app, profile),
        None => show_main_window(app),
    }
}

/// Connects `profile` when it is idle, disconnects it otherwise. A connect that needs
/// a secret nobody remembered opens the window instead.
fn toggle(app: &AppHandle, profile: String) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let current = {
            let known = state.link.known();
            known
                .statuses
                .values()
                .find(|s| s.profile.id.to_string() == profile)
                .map(|s| s.state)
        };
        let result = if tray_model::is_active(current) {
            commands::stop(&app, Some(profile.clone())).await
        } else {
            commands::start_connect(&app, &profile).await
        };
        if let Err(e) = result {
            tracing::info!("tray: {e}");
            show_main_window(&app);
            if state.settings().notifications {
                notify::show(
                    &app,
                    notify::Notice {
                        title: "Corridor".to_string(),
                        body: e.message,
                    },
                );
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_differ_per_state_and_have_the_right_size() {
        let looks = [
            Look::Disconnected,
            Look::Connecting,
            Look::Connected,
            Look::Error,
        ];
        let icons: Vec<Vec<u8>> = looks.iter().map(|l| icon_rgba(*l)).collect();
        for icon in &icons {
            assert_eq!(icon.len(), (SIZE * SIZE * 4) as usize);
            // Corners are transparent, the middle is opaque.
            assert_eq!(icon[3], 0);
            let middle = ((16 * SIZE + 8) * 4) as usize;
            assert_eq!(icon[middle + 3], 0xff);
        }
        for (i, a) in icons.iter().enumerate() {
            for b in &icons[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
