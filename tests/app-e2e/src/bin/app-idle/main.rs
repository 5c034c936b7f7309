//! `bench/app-idle`: what the desktop app costs while it sits in the tray, and whether
//! status updates ever hold up its page. Starts the lab, corridord, a virtual display,
//! a keychain and a tray host (tests/app-e2e), then the built app through
//! WebKitWebDriver, and prints:
//!
//! - cold start: from starting the app to its profile list on screen, and the page's own
//!   first contentful paint;
//! - idle, disconnected and connected (stats events once a second): CPU % of one core
//!   and memory (RSS and PSS) of the app with its WebKit processes;
//! - page responsiveness while connected: round trips of a script run in the page (the
//!   page's main thread), p50 / p99 / max, next to the same measurement disconnected.
//!
//! A benchmark: it prints numbers and asserts nothing. Needs root (the lab).

#[cfg(target_os = "linux")]
mod bench;

#[cfg(target_os = "linux")]
fn main() -> anyhow::Result<()> {
    bench::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("app-idle: the desktop app's harness runs only on Linux");
    std::process::ExitCode::from(2)
}
