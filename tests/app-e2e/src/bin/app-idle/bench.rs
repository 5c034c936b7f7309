//! The benchmark itself (Linux only, like the lab it runs in).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use app_e2e::desktop::{app_env, artifact, start_corridord};
use app_e2e::display::VirtualDisplay;
use app_e2e::driver::{Driver, processes_running, wait_for};
use app_e2e::proc_stats::{TreeSample, sample};
use app_e2e::tray::TrayHost;
use clap::Parser;
use fantoccini::Client;
use lab::secret_service::SecretService;
use lab::{Lab, LabConfig, Scenario};

#[derive(Parser)]
#[command(about = "Idle CPU, memory, cold start and page responsiveness of the desktop app")]
struct Args {
    /// Seconds of each idle measurement.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds to let the app settle before measuring.
    #[arg(long, default_value_t = 5)]
    settle: u64,
    /// Page round trips per responsiveness measurement (one every 50 ms).
    #[arg(long, default_value_t = 200)]
    probes: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// CPU % of one core and memory over one idle window.
#[derive(Debug, serde::Serialize)]
struct Idle {
    cpu_percent: f64,
    rss_mib: f64,
    pss_mib: f64,
    processes: usize,
}

/// Round-trip times of a script in the page, in milliseconds.
#[derive(Debug, serde::Serialize)]
struct Responsiveness {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, serde::Serialize)]
struct Results {
    cold_start_ms: f64,
    first_contentful_paint_ms: Option<f64>,
    idle_disconnected: Idle,
    idle_connected: Idle,
    page_disconnected: Responsiveness,
    page_connected: Responsiveness,
}

pub(crate) fn main() -> Result<()> {
    let args = Args::parse();
    let app = artifact("CORRIDOR_APP", "corridor-app")?;
    let corridord = artifact("CORRIDORD", "corridord")?;
    let cli = artifact("CORRIDOR_CLI", "corridor")?;

    let lab = Lab::start(LabConfig::new(Scenario::EapMschapv2))
        .context("starting the lab (root and the lab packages are needed)")?;
    let dir = tempfile::tempdir()?;
    let (_service, socket) = start_corridord(&lab, &corridord, dir.path())?;
    let display = VirtualDisplay::start(&dir.path().join("xvfb.log"))?;
    let keychain = SecretService::start(dir.path())?;
    let bus = keychain.bus_address();
    let corridor = |args: &[&str], input: &str| -> Result<String> {
        let mut child = Command::new(&cli)
            .args(args)
            .env("CORRIDOR_SOCKET", &socket)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "corridor {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let profile = lab.write_sswan_profile()?;
    corridor(&["profile", "import", &profile.to_string_lossy()], "")?;
    let listed: serde_json::Value =
        serde_json::from_str(&corridor(&["profile", "list", "--json"], "")?)?;
    let id = listed["profiles"][0]["id"]
        .as_str()
        .context("the imported profile has no id")?
        .to_string();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let tray = runtime.block_on(TrayHost::start(&bus))?;
    let env = app_env(display.display(), &bus, &socket, dir.path())?;
    let driver = Driver::start(&env, &dir.path().join("webdriver.log"))?;

    let results = runtime.block_on(async {
        let started = Instant::now();
        let page = driver.session(&app, &[]).await?;
        wait_for(&page, "li.profile", Duration::from_secs(60)).await?;
        let cold_start_ms = started.elapsed().as_secs_f64() * 1000.0;
        let fcp = page
            .execute(
                "const e = performance.getEntriesByName('first-contentful-paint')[0];
                 return e ? e.startTime : null;",
                vec![],
            )
            .await?
            .as_f64();
        let pid = *processes_running(&app)?
            .first()
            .context("the app is not running")?;

        let idle_disconnected = idle(pid, &args).await;
        let page_disconnected = responsiveness(&page, args.probes).await?;

        let password = format!("{}\n", lab.credentials().eap_password);
        corridor(&["connect", &id, "--password-stdin"], &password)?;
        wait_for(
            &page,
            "li.profile[data-state=\"connected\"]",
            Duration::from_secs(30),
        )
        .await?;
        let idle_connected = idle(pid, &args).await;
        let page_connected = responsiveness(&page, args.probes).await?;
        corridor(&["disconnect", &id], "")?;

        let item = tray.wait_for_item(Duration::from_secs(10)).await?;
        tray.click(&item, "Quit").await?;
        let _ = page.close().await;
        anyhow::Ok(Results {
            cold_start_ms,
            first_contentful_paint_ms: fcp,
            idle_disconnected,
            idle_connected,
            page_disconnected,
            page_connected,
        })
    });
    driver.stop_after_app(&app, Duration::from_secs(20))?;
    let results = results?;
    print(&results, &args);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)?;
    }
    Ok(())
}

/// Lets the app settle, then measures one idle window of `args.seconds`.
async fn idle(pid: u32, args: &Args) -> Idle {
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let before: TreeSample = sample(pid);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let after = sample(pid);
    let wall = start.elapsed().as_secs_f64();
    Idle {
        cpu_percent: 100.0 * (after.cpu_secs - before.cpu_secs) / wall,
        rss_mib: after.rss_kib as f64 / 1024.0,
        pss_mib: after.pss_kib as f64 / 1024.0,
        processes: after.processes,
    }
}

/// Round trips of a trivial script through the page's main thread.
async fn responsiveness(page: &Client, probes: usize) -> Result<Responsiveness> {
    let mut times = Vec::with_capacity(probes);
    for _ in 0..probes {
        let start = Instant::now();
        page.execute("return document.readyState;", vec![]).await?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(Responsiveness {
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    })
}

fn print(r: &Results, args: &Args) {
    println!("desktop app, idle (windows of {} s)", args.seconds);
    println!(
        "  cold start to profile list     {:>8.0} ms",
        r.cold_start_ms
    );
    match r.first_contentful_paint_ms {
        Some(fcp) => println!("  page first contentful paint    {fcp:>8.0} ms"),
        None => println!("  page first contentful paint         n/a (not reported by WebKitGTK)"),
    }
    for (what, idle) in [
        ("disconnected", &r.idle_disconnected),
        ("connected", &r.idle_connected),
    ] {
        println!(
            "  idle {what:<13} CPU {:>5.2} % of a core, RSS {:>6.1} MiB, PSS {:>6.1} MiB ({} processes)",
            idle.cpu_percent, idle.rss_mib, idle.pss_mib, idle.processes
        );
    }
    for (what, page) in [
        ("disconnected", &r.page_disconnected),
        ("connected", &r.page_connected),
    ] {
        println!(
            "  page round trip {what:<13} p50 {:>5.1} ms, p99 {:>5.1} ms, max {:>5.1} ms",
            page.p50_ms, page.p99_ms, page.max_ms
        );
    }
}
