//! A virtual X display (Xvfb) for the app under test.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};
use lab::process::{Proc, wait_until};

/// An Xvfb server on the first free display number from 90 up; stopped when dropped.
#[derive(Debug)]
pub struct VirtualDisplay {
    display: String,
    _server: Proc,
}

impl VirtualDisplay {
    /// Starts Xvfb with a 1280×800 screen, on its Unix socket only; its output goes to
    /// `log`.
    pub fn start(log: &Path) -> Result<Self> {
        let number = (90..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                    && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            })
            .context("no free X display number between 90 and 199")?;
        let display = format!(":{number}");
        let mut server = Proc::spawn(
            "Xvfb (Debian package xvfb)",
            Command::new("Xvfb").args([
                &display,
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "1280x800x24",
            ]),
            log,
        )?;
        let socket = format!("/tmp/.X11-unix/X{number}");
        wait_until("the X server's socket", Duration::from_secs(15), || {
            server.check_running()?;
            Ok(Path::new(&socket).exists())
        })?;
        Ok(VirtualDisplay {
            display,
            _server: server,
        })
    }

    /// The `DISPLAY` value, like `:90`.
    pub fn display(&self) -> &str {
        &self.display
    }
}
