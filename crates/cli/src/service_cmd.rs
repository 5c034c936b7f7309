//! Commands that talk to the Corridor service (corridord) over its socket: `status`
//! and `logs`.

use std::io::Write as _;
use std::path::Path;

use anyhow::anyhow;
use corridor_ipc::connection::Connection;
use corridor_ipc::{
    ClientHello, ClientMessage, ConnectionState, ConnectionStatus, Event, LogLevel, LogLine,
    Outcome, PROTOCOL_VERSION, Reply, Request, ServerMessage,
};
use tokio::net::UnixStream;

use crate::Failure;
use crate::args::{LevelArg, LogsArgs, StatusArgs};

pub(crate) type Client = Connection<UnixStream>;

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::System(anyhow!("cannot start the runtime: {e}")))
}

/// Opens the socket and exchanges hellos; errors say what to do about them.
pub(crate) async fn open(socket: &Path) -> Result<Client, Failure> {
    let stream = UnixStream::connect(socket).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                "the Corridor service is not running (start it with `systemctl start corridord`)"
                    .to_string()
            }
            std::io::ErrorKind::PermissionDenied => {
                "you may not use the Corridor service: ask an administrator to add you to the \
                 `corridor` group"
                    .to_string()
            }
            _ => e.to_string(),
        };
        Failure::Conflict(anyhow!("{}: {hint}", socket.display()))
    })?;
    let mut conn = Connection::new(stream);
    conn.send(&ClientMessage::Hello(ClientHello {
        protocol: PROTOCOL_VERSION,
        client: format!("corridor {}", env!("CARGO_PKG_VERSION")),
    }))
    .await
    .map_err(|e| Failure::System(anyhow!(e)))?;
    match conn.recv::<ServerMessage>().await {
        Ok(Some(ServerMessage::Hello(_))) => Ok(conn),
        Ok(Some(ServerMessage::Goodbye { error })) => Err(Failure::Conflict(anyhow!(
            "the service refused: {}",
            error.message
        ))),
        Ok(other) => Err(Failure::System(anyhow!(
            "the service answered the hello with {other:?}"
        ))),
        Err(e) => Err(Failure::System(anyhow!(e))),
    }
}

/// Sends `request` and waits for its answer (events in between are skipped).
pub(crate) async fn ask(conn: &mut Client, request: Request) -> Result<Reply, Failure> {
    conn.send(&ClientMessage::Request { id: 1, request })
        .await
        .map_err(|e| Failure::System(anyhow!(e)))?;
    loop {
        match conn.recv::<ServerMessage>().await {
            Ok(Some(ServerMessage::Response { outcome, .. })) => {
                return match *outcome {
                    Outcome::Ok { reply } => Ok(reply),
                    Outcome::Error { error } => {
                        Err(Failure::Conflict(anyhow!("{}", error.message)))
                    }
                };
            }
            Ok(Some(ServerMessage::Event { .. })) => {}
            Ok(Some(ServerMessage::Goodbye { error })) => {
                return Err(Failure::Conflict(anyhow!(
                    "the service closed: {}",
                    error.message
                )));
            }
            Ok(Some(ServerMessage::Hello(_))) | Ok(None) => {
                return Err(Failure::System(anyhow!(
                    "the service closed the connection"
                )));
            }
            Err(e) => return Err(Failure::System(anyhow!(e))),
        }
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
                message = conn.recv::<ServerMessage>() => match message {
                    Ok(Some(ServerMessage::Event { event: Event::Log { line } })) => {
                        print(&log_line(&line))?;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return Err(Failure::Conflict(anyhow!("the service stopped"))),
                    Err(e) => return Err(Failure::System(anyhow!(e))),
                },
            }
        }
    })
}
