//! Typed messages over an async byte stream: one [`Connection`] per Unix socket or
//! named pipe, on either side.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::frame::{FrameDecoder, FrameError};
use crate::{DecodeError, decode, encode};

/// Why a connection cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The stream failed.
    #[error("IPC connection: {0}")]
    Io(#[from] std::io::Error),
    /// The byte stream is not valid framing.
    #[error("IPC framing: {0}")]
    Frame(#[from] FrameError),
    /// A frame did not hold a valid message.
    #[error("IPC message: {0}")]
    Decode(#[from] DecodeError),
}

/// One end of an IPC connection.
#[derive(Debug)]
pub struct Connection<S> {
    stream: S,
    decoder: FrameDecoder,
    read_buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            decoder: FrameDecoder::new(),
            read_buf: vec![0; 16 * 1024],
        }
    }

    /// Sends one message as one frame.
    ///
    /// # Errors
    /// The message is too large, or the stream failed.
    pub async fn send<T: Serialize>(&mut self, message: &T) -> Result<(), ConnectionError> {
        let frame = encode(message)?;
        self.stream.write_all(&frame).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// Waits for the next message; `Ok(None)` when the peer closed the stream between
    /// messages.
    ///
    /// # Errors
    /// The stream failed or ended inside a frame, the framing is broken, or the frame
    /// is not a valid `T`. After an error the connection should be closed.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ConnectionError> {
        loop {
            if let Some(payload) = self.decoder.next_frame()? {
                return Ok(Some(decode(&payload)?));
            }
            let n = self.stream.read(&mut self.read_buf).await?;
            if n == 0 {
                self.decoder.finish()?;
                return Ok(None);
            }
            self.decoder.push(&self.read_buf[..n]);
        }
    }

    /// The underlying stream (for peer credentials).
    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}
