//! The desktop app end to end, as an employee uses it: the built app (`npx tauri build
//! --debug`) on a virtual display, driven through its webview with WebKitWebDriver and
//! through its tray menu over D-Bus, talking to a real corridord in the lab's client
//! namespace, which connects to the lab's strongSwan gateway.
//!
//! The employee opens an IT-supplied `.sswan` file with the app, reads the import
//! report and imports it, connects and types the password (remembered in the keychain),
//! sees Connected with the virtual IP, reaches the LAN web server through the tunnel,
//! disconnects from the tray, connects again from the tray with nothing typed, and
//! disconnects in the window. Screenshots of the states go to `$CORRIDOR_SCREENSHOTS`
//! (default `target/app-e2e/screenshots`).
//!
//! Needs root (network namespaces), the built app and corridord
//! (`$CORRIDOR_APP`, `$CORRIDORD`; default `target/debug/…`), Xvfb, WebKitWebDriver,
//! dbus-daemon and gnome-keyring. `scripts/test` builds the app and runs this test;
//! plain `cargo test` skips it because of the build it needs.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use app_e2e::desktop::{app_env, artifact, start_corridord, tunnel_address};
use app_e2e::display::VirtualDisplay;
use app_e2e::driver::{Driver, screenshot, text, wait_for, wait_gone};
use app_e2e::tray::TrayHost;
use fantoccini::Locator;
use lab::process::tail;
use lab::secret_service::SecretService;
use lab::{Host, Lab, LabConfig, Scenario};

/// The workspace's target directory (this test runs from `target/debug/deps`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

#[test]
#[ignore = "needs the built desktop app and a display server: scripts/test builds and runs it"]
fn an_employee_imports_connects_browses_and_disconnects_from_window_and_tray() {
    let app = artifact("CORRIDOR_APP", "corridor-app").unwrap();
    let corridord = artifact("CORRIDORD", "corridord").unwrap();
    let shots = std::env::var_os("CORRIDOR_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("app-e2e/screenshots"));
    std::fs::create_dir_all(&shots).unwrap();

    let lab = match Lab::start(LabConfig::new(Scenario::EapMschapv2)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let before = lab.network_state(Host::Client);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let (mut service, socket) = start_corridord(&lab, &corridord, dir.path()).unwrap();
    let display = VirtualDisplay::start(&logs.join("xvfb.log")).unwrap();
    let keychain = SecretService::start(dir.path()).unwrap();
    let bus = keychain.bus_address();
    let profile_file = lab.write_sswan_profile().unwrap();
    let name = format!("Corridor lab ({})", Scenario::EapMschapv2);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tray = runtime.block_on(TrayHost::start(&bus)).unwrap();
    let env = app_env(display.display(), &bus, &socket, dir.path()).unwrap();
    let driver = Driver::start(&env, &logs.join("webdriver.log")).unwrap();

    let result = runtime.block_on(async {
        let page = driver
            .session(&app, &[profile_file.to_str().unwrap().to_string()])
            .await?;
        // A WebDriver command has no deadline of its own: the whole session gets one.
        let outcome = tokio::time::timeout(
            Duration::from_secs(300),
            drive(&page, &tray, &lab, &name, &shots),
        )
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the session did not finish within 300 s")));
        // Quit through the tray, as a user would; the session ends with the app.
        let quit = async {
            let item = tray.wait_for_item(Duration::from_secs(5)).await?;
            tray.click(&item, "Quit").await
        }
        .await;
        let _ = page.close().await;
        outcome.and(quit)
    });
    let exited = driver.stop_after_app(&app, Duration::from_secs(20));
    if let Err(e) = result {
        panic!(
            "{e:#}\n--- webdriver log:\n{}\n--- corridord log:\n{}\n--- gateway log:\n{}",
            tail(&logs.join("webdriver.log"), 40),
            tail(&dir.path().join("corridord.log"), 40),
            tail(&lab.gateway_log_path(), 30)
        );
    }
    exited.unwrap();

    // The app is gone; stopping the service restores the namespace exactly.
    service.stop();
    assert_eq!(lab.network_state(Host::Client), before);
    drop(tray);
    drop(keychain);
    drop(display);
}

/// The employee's session in the window and the tray; fails with what went wrong.
async fn drive(
    page: &fantoccini::Client,
    tray: &TrayHost,
    lab: &Lab,
    name: &str,
    shots: &Path,
) -> anyhow::Result<()> {
    let long = Duration::from_secs(30);

    // Opened with the file, the app shows the importer's report before saving anything.
    let preview = wait_for(page, "dialog.import-preview", long).await?;
    anyhow::ensure!(
        text(page, "dialog.import-preview .file-name")
            .await?
            .ends_with(".sswan"),
        "the preview names another file"
    );
    let heading = text(page, "dialog.import-preview h2").await?;
    anyhow::ensure!(
        heading == format!("Import “{name}”?"),
        "preview heading: {heading}"
    );
    screenshot(page, &shots.join("import-preview.png")).await?;
    preview
        .find(Locator::XPath(".//button[normalize-space()='Import']"))
        .await?
        .click()
        .await?;
    wait_gone(page, "dialog.import-preview", long).await?;
    let card = wait_for(page, "li.profile", long).await?;
    let id = card
        .attr("data-profile")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the profile card has no id"))?;
    let card_css = format!("li.profile[data-profile=\"{id}\"]");
    let info = text(page, "#info").await?;
    anyhow::ensure!(
        info == format!("“{name}” was imported."),
        "after import: {info}"
    );

    // Connect: the service needs the password, which the app asks for.
    page.find(Locator::Css(&format!("{card_css} button.connect")))
        .await?
        .click()
        .await?;
    wait_for(page, "dialog.prompt", long).await?;
    let user = page
        .find(Locator::Css("#prompt-username"))
        .await?
        .prop("value")
        .await?;
    anyhow::ensure!(
        user.as_deref() == Some(lab::EAP_IDENTITY),
        "prompt user: {user:?}"
    );
    page.find(Locator::Css("#prompt-secret"))
        .await?
        .send_keys(lab.credentials().eap_password)
        .await?;
    page.find(Locator::Css("#prompt-remember"))
        .await?
        .click()
        .await?;
    screenshot(page, &shots.join("password-prompt.png")).await?;
    page.find(Locator::XPath(
        "//dialog[contains(@class,'prompt')]//button[normalize-space()='Connect']",
    ))
    .await?
    .click()
    .await?;
    wait_for(page, &format!("{card_css}[data-state=\"connected\"]"), long).await?;
    let shown_ip = text(page, &format!("{card_css} .virtual-ip")).await?;
    let tunnel_ip = tunnel_address(lab);
    anyhow::ensure!(
        tunnel_ip.as_deref() == Some(shown_ip.as_str()),
        "the window shows {shown_ip}, the tunnel has {tunnel_ip:?}"
    );
    let state = text(page, &format!("{card_css} .state")).await?;
    anyhow::ensure!(state == "Connected", "state: {state}");

    // Traffic through the tunnel: the LAN's web server answers; the counters move.
    let response = lab.http_get(Host::Client, lab.lan_host_addr(), "/")?;
    anyhow::ensure!(response.status == 200, "LAN page: {}", response.status);
    let counted = |t: &str| {
        t.split_whitespace()
            .next()
            .and_then(|n| n.parse::<f64>().ok())
            .is_some_and(|n| n > 0.0)
    };
    wait_for_text(page, &format!("{card_css} .bytes-in"), counted).await?;
    wait_for_text(page, &format!("{card_css} .bytes-out"), counted).await?;
    page.find(Locator::Css(&format!(
        "{card_css} .connection-details summary"
    )))
    .await?
    .click()
    .await?;
    let suites = text(page, &format!("{card_css} .suites")).await?;
    anyhow::ensure!(suites.contains("aes256gcm16"), "suites: {suites}");
    screenshot(page, &shots.join("connected.png")).await?;

    // The tray: its menu shows the connection; disconnect there.
    let item = tray.wait_for_item(long).await?;
    let disconnect = format!("Disconnect {name}");
    tray.wait_for_entry(&item, &disconnect, long).await?;
    let menu = tray.menu(&item).await?;
    let labels: Vec<&str> = menu.iter().map(|e| e.label.as_str()).collect();
    anyhow::ensure!(
        labels.contains(&"Open Corridor") && labels.contains(&"Quit"),
        "tray menu: {labels:?}"
    );
    tray.click(&item, &disconnect).await?;
    wait_for(
        page,
        &format!("{card_css}[data-state=\"disconnected\"]"),
        long,
    )
    .await?;
    anyhow::ensure!(tunnel_address(lab).is_none(), "the tunnel is still up");
    screenshot(page, &shots.join("disconnected.png")).await?;

    // Connect again from the tray: the remembered password is used, nothing is asked.
    let connect = format!("Connect {name}");
    tray.wait_for_entry(&item, &connect, long).await?;
    tray.click(&item, &connect).await?;
    wait_for(page, &format!("{card_css}[data-state=\"connected\"]"), long).await?;
    anyhow::ensure!(
        page.find_all(Locator::Css("dialog.prompt"))
            .await?
            .is_empty(),
        "the app asked for the password it had remembered"
    );
    tray.wait_for_entry(&item, &disconnect, long).await?;

    // And disconnect in the window.
    page.find(Locator::Css(&format!("{card_css} button.connect")))
        .await?
        .click()
        .await?;
    wait_for(
        page,
        &format!("{card_css}[data-state=\"disconnected\"]"),
        long,
    )
    .await?;
    let reason = text(page, &format!("{card_css} .reason")).await?;
    anyhow::ensure!(
        reason.contains("disconnected by the user"),
        "reason: {reason}"
    );
    tray.wait_for_entry(&item, &connect, long).await?;
    Ok(())
}

/// Waits (up to 10 s) until the element's text passes `ok`.
async fn wait_for_text(
    page: &fantoccini::Client,
    css: &str,
    ok: impl Fn(&str) -> bool,
) -> anyhow::Result<()> {
    let mut last = String::new();
    for _ in 0..100 {
        last = text(page, css).await?;
        if ok(&last) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("`{css}` still reads `{last}` after 10 s")
}
