//! Length-prefixed framing: a 4-byte big-endian payload length, then the payload.
//!
//! The decoder is sans-IO: bytes go in as they arrive ([`FrameDecoder::push`]) and whole
//! payloads come out ([`FrameDecoder::next_frame`]). The length is checked against
//! [`MAX_FRAME_LEN`] as soon as its 4 bytes are in, before any payload is buffered, so a
//! peer cannot make the other side allocate more than that.

/// The largest payload accepted: an imported profile file (at most 1 MiB) in base64
/// plus its envelope fits with room to spare.
pub const MAX_FRAME_LEN: usize = 4 * 1024 * 1024;

const HEADER: usize = 4;

/// Why a byte stream is not a valid sequence of frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The announced length exceeds [`MAX_FRAME_LEN`].
    #[error("frame of {len} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge {
        /// The announced payload length.
        len: usize,
    },
    /// A frame announced an empty payload, which no message encodes to.
    #[error("empty frame")]
    Empty,
    /// The stream ended inside a frame.
    #[error("the connection closed inside a frame ({have} of {want} bytes)")]
    Truncated {
        /// Bytes of the frame (header included) received.
        have: usize,
        /// Bytes the frame needed.
        want: usize,
    },
    /// A message could not be encoded.
    #[error("cannot encode the message: {0}")]
    Encode(String),
}

/// Prefixes `payload` with its length.
///
/// # Errors
/// [`FrameError::TooLarge`] or [`FrameError::Empty`].
pub fn encode_frame(payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    check_len(payload.len())?;
    let len =
        u32::try_from(payload.len()).map_err(|_| FrameError::TooLarge { len: payload.len() })?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

fn check_len(len: usize) -> Result<(), FrameError> {
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len });
    }
    Ok(())
}

/// Reassembles frames from a byte stream.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Set once a bad length was seen: the stream cannot be resynchronised.
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next whole payload, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// The stream announced a frame that is empty or too large; every later call
    /// returns the same error (framing is lost for good).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(header) = self.buf.get(..HEADER) else {
            return Ok(None);
        };
        let mut len_bytes = [0u8; HEADER];
        len_bytes.copy_from_slice(header);
        let len = u32::from_be_bytes(len_bytes) as usize;
        if let Err(e) = check_len(len) {
            self.buf = Vec::new();
            self.failed = Some(e.clone());
            return Err(e);
        }
        if self.buf.len() < HEADER + len {
            return Ok(None);
        }
        let payload = self.buf[HEADER..HEADER + len].to_vec();
        self.buf.drain(..HEADER + len);
        Ok(Some(payload))
    }

    /// Call when the stream ended: an error if it ended inside a frame.
    ///
    /// # Errors
    /// [`FrameError::Truncated`] with how much of the frame had arrived.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let want = match self.buf.get(..HEADER) {
            Some(h) => HEADER + u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => HEADER,
        };
        Err(FrameError::Truncated {
            have: self.buf.len(),
            want,
        })
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere_reassemble() {
        let a = encode_frame(b"{\"a\":1}").unwrap();
        let b = encode_frame(b"[2]").unwrap();
        let stream: Vec<u8> = [a, b].concat();
        for split in 0..=stream.len() {
            let mut d = FrameDecoder::new();
            d.push(&stream[..split]);
            let mut got = Vec::new();
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
            d.push(&stream[split..]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
            assert_eq!(got, vec![b"{\"a\":1}".to_vec(), b"[2]".to_vec()]);
            assert_eq!(d.finish(), Ok(()));
        }
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut d = FrameDecoder::new();
        d.push(&u32::MAX.to_be_bytes());
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLarge {
                len: u32::MAX as usize
            })
        );
        d.push(&[0; 1000]);
        assert_eq!(d.buffered(), 0);
        assert!(d.next_frame().is_err(), "framing stays lost");
    }

    #[test]
    fn empty_frame_is_refused() {
        let mut d = FrameDecoder::new();
        d.push(&[0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(FrameError::Empty));
        assert_eq!(encode_frame(b""), Err(FrameError::Empty));
    }

    #[test]
    fn truncation_is_reported_with_sizes() {
        let mut d = FrameDecoder::new();
        d.push(&[0, 0, 0, 10, b'{']);
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.finish(), Err(FrameError::Truncated { have: 5, want: 14 }));
        let mut d = FrameDecoder::new();
        d.push(&[0, 0]);
        assert_eq!(d.finish(), Err(FrameError::Truncated { have: 2, want: 4 }));
    }

    #[test]
    fn limit_is_inclusive() {
        assert!(encode_frame(&vec![b' '; MAX_FRAME_LEN]).is_ok());
        assert!(encode_frame(&vec![b' '; MAX_FRAME_LEN + 1]).is_err());
    }
}
