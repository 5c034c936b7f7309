//! WebKitWebDriver (Debian package webkit2gtk-driver) and a WebDriver session on the
//! built app: the driver starts the app's binary with its webview under automation
//! (the app allows it when `TAURI_WEBVIEW_AUTOMATION=true`), and the session clicks,
//! types, reads and takes screenshots in the page as a user would see it.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use lab::process::{Proc, wait_until};

/// The running driver.
#[derive(Debug)]
pub struct Driver {
    port: u16,
    process: Proc,
}

impl Driver {
    /// Starts WebKitWebDriver on a free loopback port with `env` added to its
    /// environment (the app it starts inherits it); its output goes to `log`.
    pub fn start(env: &[(String, String)], log: &Path) -> Result<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let mut command = Command::new("WebKitWebDriver");
        command
            .arg(format!("--port={port}"))
            .arg("--host=127.0.0.1");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut process = Proc::spawn(
            "WebKitWebDriver (Debian package webkit2gtk-driver)",
            &mut command,
            log,
        )?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        wait_until("WebKitWebDriver to listen", Duration::from_secs(15), || {
            process.check_running()?;
            Ok(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok())
        })?;
        Ok(Driver { port, process })
    }

    /// Starts `app` with `args` and opens a session on its webview.
    pub async fn session(&self, app: &Path, args: &[String]) -> Result<Client> {
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "webkitgtk:browserOptions".into(),
            serde_json::json!({ "binary": app, "args": args }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .with_context(|| format!("opening a WebDriver session on {}", app.display()))
    }

    /// Stops the driver once the app it started has exited, waiting up to `timeout`
    /// for that (stopping the driver first can leave the app behind). An app still
    /// running then is the driver's child and is stopped by its pid; that is reported
    /// as an error.
    pub fn stop_after_app(mut self, app: &Path, timeout: Duration) -> Result<()> {
        let waited = wait_for_exit_of(app, timeout);
        if waited.is_err()
            && let Some(driver) = self.process.pid()
        {
            for pid in processes_running(app)? {
                if parent_of(pid) == Some(driver)
                    && let Ok(pid) = i32::try_from(pid)
                {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGTERM,
                    );
                }
            }
            let _ = wait_for_exit_of(app, Duration::from_secs(5));
        }
        self.process.stop();
        waited
    }
}

/// The pids whose executable is `binary`.
pub fn processes_running(binary: &Path) -> Result<Vec<u32>> {
    let binary = std::fs::canonicalize(binary)?;
    Ok(std::fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary))
        .collect())
}

/// The parent pid of `pid` (from /proc/<pid>/stat, after the parenthesised name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Waits up to `timeout` for no process to run `binary` any more.
fn wait_for_exit_of(binary: &Path, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let running = processes_running(binary)?;
        if running.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the app (pids {running:?}) did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The page helpers a test uses: waits with a deadline and a message that says what
/// was awaited.
pub async fn wait_for(
    client: &Client,
    css: &str,
    timeout: Duration,
) -> Result<fantoccini::elements::Element> {
    client
        .wait()
        .at_most(timeout)
        .every(Duration::from_millis(100))
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("waiting {timeout:?} for `{css}` in the app's page"))
}

/// Waits until no element matches `css`.
pub async fn wait_gone(client: &Client, css: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if client.find_all(Locator::Css(css)).await?.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("`{css}` was still in the app's page after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the first element matching `css`.
pub async fn text(client: &Client, css: &str) -> Result<String> {
    let element = client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("finding `{css}` in the app's page"))?;
    Ok(element.text().await?)
}

/// Saves a PNG of the page to `path`.
///
/// WebKitGTK answers a screenshot request only after the page paints again, which an
/// idle page never does; so the page is first asked to repaint a few times in the
/// next moments (an invisible outline on and off), then the screenshot is requested.
pub async fn screenshot(client: &Client, path: &Path) -> Result<()> {
    client
        .execute(
            "const root = document.documentElement;
             [100, 300, 700, 1500, 3000].forEach((ms, i) => setTimeout(() => {
               root.style.outline = i % 2 === 0 ? '1px solid transparent' : '';
             }, ms));
             setTimeout(() => { root.style.outline = ''; }, 3500);
             return null;",
            vec![],
        )
        .await
        .context("asking the page to repaint")?;
    let png = client.screenshot().await.context("taking a screenshot")?;
    std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
}
