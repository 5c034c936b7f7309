//! Feeds arbitrary bytes to the service's IPC decoding: the frame decoder, pushed in
//! chunks whose sizes the input chooses, then every complete frame decoded as a client
//! message (what the service reads) and as a server message (what clients read).
//!
//! Checks that nothing panics, that the decoder never buffers more than one frame's
//! limit past what it was given, and that every message that decodes encodes again into
//! a frame that decodes to the same message.
//!
//! Input: octet 0 is the chunk size (1–256), the rest is the byte stream.

#![no_main]

use corridor_ipc::{ClientMessage, FrameDecoder, MAX_FRAME_LEN, ServerMessage, decode, encode};
use libfuzzer_sys::fuzz_target;

fn round_trip<T>(message: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let Ok(frame) = encode(message) else {
        // Larger than a frame may be: refused, never truncated.
        return;
    };
    let mut decoder = FrameDecoder::new();
    decoder.push(&frame);
    let payload = decoder
        .next_frame()
        .expect("an encoded frame decodes")
        .expect("an encoded frame is complete");
    let again: T = decode(&payload).expect("an encoded message decodes");
    assert_eq!(&again, message);
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = FrameDecoder::new();
    for piece in stream.chunks(chunk) {
        decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(payload)) => {
                    if let Ok(message) = decode::<ClientMessage>(&payload) {
                        round_trip(&message);
                    }
                    if let Ok(message) = decode::<ServerMessage>(&payload) {
                        round_trip(&message);
                    }
                }
                Ok(None) => break,
                // A bad length ends the connection; nothing more is read from it.
                Err(_) => return,
            }
        }
        assert!(decoder.buffered() <= MAX_FRAME_LEN + 4 + chunk);
    }
    let _ = decoder.finish();
});
