//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use corridor_crypto::Random;

/// Decodes hex, ignoring spaces and newlines (vectors are pasted as printed in RFCs).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not hex: {c}"),
        })
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}

/// A "random" source that replays fixed bytes, to inject known private values.
pub struct FixedRandom {
    bytes: Vec<u8>,
    pos: usize,
}

impl FixedRandom {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes, pos: 0 }
    }
}

impl Random for FixedRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.bytes[self.pos % self.bytes.len()];
            self.pos += 1;
        }
    }
}
