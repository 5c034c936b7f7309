//! The desktop app's end-to-end harness. A test starts, in this order:
//!
//! - [`display::VirtualDisplay`]: an Xvfb server of its own, so the app has a screen;
//! - the lab's private session bus with a Secret Service on it (the user's keychain),
//!   where [`tray::TrayHost`] owns `org.kde.StatusNotifierWatcher`, so the app's tray icon
//!   registers with the test (as it would with a desktop's panel) and the test can read
//!   and click its menu over dbusmenu;
//! - [`driver::Driver`]: WebKitWebDriver, which starts the built app with its webview
//!   under automation and lets the test click and type in the page like a user.
//!
//! Every process is started by this harness and stopped by pid when its handle drops.
//! Nothing here is specific to one test; the tests under `tests/` put the pieces
//! together with a real corridord and the strongSwan lab.
#![cfg(target_os = "linux")]

pub mod desktop;
pub mod display;
pub mod driver;
pub mod proc_stats;
pub mod tray;
