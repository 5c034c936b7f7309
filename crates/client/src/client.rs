//! One connection to the service: the hello exchange, requests matched to their
//! answers by id, and the events the service pushes in between.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use corridor_ipc::DEFAULT_SOCKET;
use corridor_ipc::connection::{Connection, ConnectionError};
use corridor_ipc::{
    ClientHello, ClientMessage, ErrorReply, Event, Outcome, PROTOCOL_VERSION, Reply, Request,
    ServerHello, ServerMessage,
};
use tokio::io::{AsyncRead, AsyncWrite};

/// The service's socket: `CORRIDOR_SOCKET` when set, else the platform's default.
pub fn default_socket() -> PathBuf {
    std::env::var_os("CORRIDOR_SOCKET").map_or_else(|| PathBuf::from(DEFAULT_SOCKET), PathBuf::from)
}

/// A byte stream to the service (a Unix socket, or a named pipe on Windows).
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Why talking to the service failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service cannot be reached: not running, or the caller may not use it.
    #[error("{}: {reason}", socket.display())]
    Unavailable {
        /// The socket or pipe tried.
        socket: PathBuf,
        /// What to do about it, in plain language.
        reason: String,
    },
    /// The service answered with an error; nothing was changed.
    #[error("{}", .0.message)]
    Refused(ErrorReply),
    /// The connection broke or the service said something unexpected.
    #[error("{0}")]
    Protocol(String),
}

impl From<ConnectionError> for ClientError {
    fn from(e: ConnectionError) -> Self {
        ClientError::Protocol(e.to_string())
    }
}

/// An open, greeted connection to the service.
pub struct Client {
    conn: Connection<Box<dyn Stream>>,
    next_id: u64,
    /// Events that arrived while a request waited for its answer.
    queued: VecDeque<Event>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("next_id", &self.next_id)
            .field("queued", &self.queued.len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `socket` and exchanges hellos; `program` names the client in the
    /// service's log (`corridor-app 0.1.0`).
    ///
    /// # Errors
    /// [`ClientError::Unavailable`] when the service is not running or refuses the
    /// caller, with what to do about it; [`ClientError::Refused`] when it refuses the
    /// hello (another protocol version).
    pub async fn open(socket: &Path, program: &str) -> Result<(Client, ServerHello), ClientError> {
        let stream = connect(socket)
            .await
            .map_err(|e| ClientError::Unavailable {
                socket: socket.to_path_buf(),
                reason: unavailable_reason(&e),
            })?;
        let mut conn = Connection::new(stream);
        conn.send(&ClientMessage::Hello(ClientHello {
            protocol: PROTOCOL_VERSION,
            client: program.to_string(),
        }))
        .await?;
        match conn.recv::<ServerMessage>().await? {
            Some(ServerMessage::Hello(hello)) => Ok((
                Client {
                    conn,
                    next_id: 1,
                    queued: VecDeque::new(),
                },
                hello,
            )),
            Some(ServerMessage::Goodbye { error }) => Err(ClientError::Refused(error)),
            Some(other) => Err(ClientError::Protocol(format!(
                "the service answered the hello with {}",
                kind(&other)
            ))),
            None => Err(ClientError::Protocol(
                "the service closed the connection during the hello".to_string(),
            )),
        }
    }

    /// Sends `request` and waits for its answer; events that arrive meanwhile are kept
    /// for [`Client::next_event`].
    ///
    /// # Errors
    /// [`ClientError::Refused`] with the service's reason, or a broken connection.
    pub async fn ask(&mut self, request: Request) -> Result<Reply, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        self.conn
            .send(&ClientMessage::Request { id, request })
            .await?;
        loop {
            match self.conn.recv::<ServerMessage>().await? {
                Some(ServerMessage::Response { id: got, outcome }) if got == id => {
                    return match *outcome {
                        Outcome::Ok { reply } => Ok(reply),
                        Outcome::Error { error } => Err(ClientError::Refused(error)),
                    };
                }
                Some(ServerMessage::Response { id: got, .. }) => {
                    return Err(ClientError::Protocol(format!(
                        "the service answered request {got} while request {id} was waiting"
                    )));
                }
                Some(ServerMessage::Event { event }) => self.queued.push_back(event),
                Some(ServerMessage::Goodbye { error }) => {
                    return Err(ClientError::Protocol(format!(
                        "the service closed the connection: {}",
                        error.message
                    )));
                }
                Some(ServerMessage::Hello(_)) => {
                    return Err(ClientError::Protocol(
                        "the service sent a second hello".to_string(),
                    ));
                }
                None => {
                    return Err(ClientError::Protocol(
                        "the service closed the connection".to_string(),
                    ));
                }
            }
        }
    }

    /// The next event (after [`Request::Subscribe`]); `Ok(None)` when the service
    /// closed the connection (it stopped or restarts).
    ///
    /// # Errors
    /// A broken connection, or a message that is no event.
    pub async fn next_event(&mut self) -> Result<Option<Event>, ClientError> {
        if let Some(event) = self.queued.pop_front() {
            return Ok(Some(event));
        }
        match self.conn.recv::<ServerMessage>().await? {
            Some(ServerMessage::Event { event }) => Ok(Some(event)),
            Some(ServerMessage::Goodbye { .. }) | None => Ok(None),
            Some(other) => Err(ClientError::Protocol(format!(
                "the service sent {} where an event was expected",
                kind(&other)
            ))),
        }
    }
}

fn kind(message: &ServerMessage) -> &'static str {
    match message {
        ServerMessage::Hello(_) => "a hello",
        ServerMessage::Response { .. } => "a response",
        ServerMessage::Event { .. } => "an event",
        ServerMessage::Goodbye { .. } => "a goodbye",
    }
}

#[cfg(unix)]
async fn connect(socket: &Path) -> std::io::Result<Box<dyn Stream>> {
    Ok(Box::new(tokio::net::UnixStream::connect(socket).await?))
}

#[cfg(windows)]
async fn connect(socket: &Path) -> std::io::Result<Box<dyn Stream>> {
    Ok(Box::new(
        tokio::net::windows::named_pipe::ClientOptions::new().open(socket)?,
    ))
}

/// Why the socket could not be opened, in words that say what to do.
fn unavailable_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            if cfg!(windows) {
                "the Corridor service is not running (start the \"Corridor\" service)".to_string()
            } else if cfg!(target_os = "macos") {
                "the Corridor service is not running (sudo launchctl kickstart system/org.corridor.corridord)".to_string()
            } else {
                "the Corridor service is not running (start it with `systemctl start corridord`)"
                    .to_string()
            }
        }
        std::io::ErrorKind::PermissionDenied => "you may not use the Corridor service: ask an \
                                                  administrator to add you to the `corridor` group"
            .to_string(),
        _ => e.to_string(),
    }
}
