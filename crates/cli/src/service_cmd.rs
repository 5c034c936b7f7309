//! Commands that talk to the Corridor service (corridord) over its socket: `status`
//! and `logs`.

use std::io::Write as _;
use std::path::Path;

use anyhow::anyhow;
use corridor_client::ClientError;
use corridor_ipc::{ConnectionState, ConnectionStatus, Event, LogLevel, LogLine, Reply, Request};

use crate::Failure;
use crate::args::{LevelArg, LogsArgs, StatusArgs};

pub(crate) use corridor_client::Client;

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::System(anyhow!("cannot start the runtime: {e}")))
}

/// Opens the socket and exchanges hellos; errors say what to do about them.
pub(crate) async fn open(socket: &Path) -> Result<Client, Failure> {
    let program = format!("corridor {}", env!("CARGO_PKG_VERSION"));
    Client::open(socket, &program)
        .await
        .map(|(client, _hello)| client)
        .map_err(failure)
}

/// Sends `request` and waits for its answer (events in between are kept for later).
pub(crate) async fn ask(conn: &mut Client, request: Request) -> Result<Reply, Failure> {
    conn.ask(request).await.map_err(failure)
}

/// The failure a client error makes: the service's refusal and an unreachable service
/// are the user's to resolve (exit 1); a broken conversation is the system's.
pub(crate) fn failure(e: ClientError) -> Failure {
    match e {
        ClientError::Unavailable { .. } => Failure::Conflict(anyhow!("{e}")),
        ClientError::Refused(ref reply)
            if reply.code == corridor_ipc::ErrorCode::UnsupportedVersion =>
        {
            Failure::Conflict(anyhow!("the service refused: {e}"))
        }
        ClientError::Refused(_) => Failure::Conflict(anyhow!("{e}")),
        ClientError::Protocol(_) => Failure::System(anyhow!(e)),
    }
}

pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::System(anyhow!("cannot write to standard output: {e}")))
}

/// `corridor status`.
pub(crate) fn status(args: &StatusArgs) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let mut conn = open(&args.service.socket).await?;
        let Reply::Status { connections } = ask(&mut conn, Request::Status).await? else {
            return Err(Failure::System(anyhow!(
                "the service answered something else"
            )));
        };
        if args.json {
            let text = serde_json::to_string_pretty(&connections)
                .map_err(|e| Failure::System(anyhow!(e)))?;
            return print(&text);
        }
        if connections.is_empty() {
            return print("no connections");
        }
        for status in &connections {
            print(&describe(status))?;
        }
        Ok(())
    })
}

pub(crate) fn describe(status: &ConnectionStatus) -> String {
    let state = match status.state {
        ConnectionState::Disconnected => "disconnected".to_string(),
        ConnectionState::Connecting => "connecting".to_string(),
        ConnectionState::Connected => "connected".to_string(),
        ConnectionState::Reconnecting {
            attempt,
            retry_in_secs,
        } => format!("reconnecting (attempt {attempt}, next in {retry_in_secs} s)"),
        ConnectionState::Disconnecting => "disconnecting".to_string(),
    };
    let mut text = format!("{}: {state}", status.profile.name);
    if let Some(reason) = &status.reason {
        text.push_str(&format!(" ({reason})"));
    }
    if let Some(d) = &status.details {
        let ips: Vec<String> = d.virtual_ips.iter().map(ToString::to_string).collect();
        text.push_str(&format!(
            "\n  address  {}\n  gateway  {}\n  suite    IKE {}; ESP {}",
            ips.join(", "),
            d.gateway,
            d.ike_suite,
            d.esp_suite
        ));
    }
    if let Some(s) = &status.stats {
        text.push_str(&format!(
            "\n  traffic  {} B in, {} B out; up {} s",
            s.bytes_in, s.bytes_out, s.uptime_secs
        ));
    }
    text
}

fn level(arg: LevelArg) -> LogLevel {
    match arg {
        LevelArg::Trace => LogLevel::Trace,
        LevelArg::Debug => LogLevel::Debug,
        LevelArg::Info => LogLevel::Info,
        LevelArg::Warn => LogLevel::Warn,
        LevelArg::Error => LogLevel::Error,
    }
}

fn log_line(line: &LogLine) -> String {
    let secs = line.unix_ms / 1000;
    let ms = line.unix_ms % 1000;
    format!(
        "{secs}.{ms:03} {:5} {}: {}",
        format!("{:?}", line.level).to_uppercase(),
        line.target,
        line.message
    )
}

/// `corridor logs`.
pub(crate) fn logs(args: &LogsArgs) -> Result<(), Failure> {
    let min = level(args.level);
    runtime()?.block_on(async {
        let mut conn = open(&args.service.socket).await?;
        let Reply::Logs { lines } = ask(
            &mut conn,
            Request::RecentLogs {
                max_lines: args.lines,
            },
        )
        .await?
        else {
            return Err(Failure::System(anyhow!(
                "the service answered something else"
            )));
        };
        for line in lines.iter().filter(|l| l.level >= min) {
            print(&log_line(line))?;
        }
        if !args.follow {
            return Ok(());
        }
        ask(
            &mut conn,
            Request::Subscribe {
                log_level: Some(min),
            },
        )
        .await?;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                event = conn.next_event() => match event {
                    Ok(Some(Event::Log { line })) => print(&log_line(&line))?,
                    Ok(Some(_)) => {}
                    Ok(None) => return Err(Failure::Conflict(anyhow!("the service stopped"))),
                    Err(e) => return Err(failure(e)),
                },
            }
        }
    })
}
