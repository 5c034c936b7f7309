//! What Corridor's clients (the `corridor` CLI, the desktop app) and its privileged
//! service (`corridord`) say to each other, and how it is framed on the wire.
//!
//! A connection is a byte stream (a Unix socket, or a named pipe on Windows) carrying
//! frames: a 4-byte big-endian length, then that many bytes of one JSON message
//! ([`frame`]). The client speaks first with [`ClientHello`]; the server answers with
//! [`ServerHello`], naming the protocol version and who the OS says the caller is. Then
//! the client sends [`Request`]s, each with an id the [`ServerMessage::Response`] echoes,
//! and after [`Request::Subscribe`] the server also pushes [`Event`]s.
//!
//! Everything is strict: unknown fields, unknown message types, oversized frames and bad
//! JSON are errors that name the problem. A server answers such input with
//! [`ServerMessage::Goodbye`] and closes that connection only.
//!
//! This crate does no I/O of its own except behind the `tokio` feature
//! ([`connection`]), which frames messages over any async byte stream.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod frame;
mod message;

#[cfg(feature = "tokio")]
pub mod connection;

/// Passwords cross the channel as the profile model's [`corridor_model::Secret`]: a plain
/// JSON string on the wire, `***` in every `Debug` and `Display`, wiped on drop.
pub use corridor_model::Secret;
pub use frame::{FrameDecoder, FrameError, MAX_FRAME_LEN, encode_frame};
pub use message::{
    Caller, ClientHello, ClientMessage, ConnectSecrets, ConnectedDetails, ConnectionState,
    ConnectionStatus, ErrorCode, ErrorReply, Event, ImportNote, LogLevel, LogLine, Outcome,
    ProfileSummary, Reply, Request, ServerHello, ServerMessage, Stats,
};

/// Where corridord listens unless told otherwise: a Unix socket in the runtime
/// directory (`/var/run` on macOS, which has no `/run`), or a named pipe on Windows.
#[cfg(all(unix, not(target_os = "macos")))]
pub const DEFAULT_SOCKET: &str = "/run/corridor/corridord.sock";
/// Where corridord listens unless told otherwise (see the other platforms).
#[cfg(target_os = "macos")]
pub const DEFAULT_SOCKET: &str = "/var/run/corridor/corridord.sock";
/// Where corridord listens unless told otherwise (see the other platforms).
#[cfg(windows)]
pub const DEFAULT_SOCKET: &str = r"\\.\pipe\corridord";

/// The protocol version both sides announce in their hello. A server refuses a client
/// of another version with [`ErrorCode::UnsupportedVersion`] rather than guessing.
pub const PROTOCOL_VERSION: u32 = 1;

/// Decodes one message from a frame's payload, naming what was wrong.
///
/// # Errors
/// The payload is not valid JSON for `T` (the error carries serde's line, column and
/// reason, never the payload, which may hold secrets).
pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(payload).map_err(|e| DecodeError {
        line: e.line(),
        column: e.column(),
        reason: strip_position(&e.to_string()),
    })
}

/// Encodes `message` as one frame (length prefix included).
///
/// # Errors
/// The message is larger than [`MAX_FRAME_LEN`] once encoded.
pub fn encode<T: serde::Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let payload = serde_json::to_vec(message).map_err(|e| FrameError::Encode(e.to_string()))?;
    encode_frame(&payload)
}

/// A message that is not what the protocol allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad message at line {line}, column {column}: {reason}")]
pub struct DecodeError {
    /// 1-based line of the payload where decoding stopped.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What serde found (unknown variant, missing field, wrong type...).
    pub reason: String,
}

/// serde_json appends " at line L column C"; the position is kept in its own fields.
fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}
