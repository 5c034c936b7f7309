//! The anti-replay window (RFC 4303 §3.4.3) as a ring of 64-bit blocks (RFC 6479), and
//! the inference of the high half of extended sequence numbers (RFC 4303 Appendix A).
//!
//! RFC 6479 §2: the bitmap is "divided into blocks", and "when the window slides, the
//! bits of the blocks that fall out of the window are cleared" instead of shifting the
//! whole bitmap, so an update costs at most a few block writes whatever the window
//! size. One block more than the window is kept so that the block holding the newest
//! number never has to share space with bits still inside the window.

/// Blocks in the ring. A power of two, so the block index is a mask.
const BLOCKS: usize = 32;
const BLOCK_BITS: u64 = 64;

/// The number of sequence numbers the window covers: 1984, comfortably above the 1024
/// that line-rate tunnels on multi-queue links need to survive reordering.
pub const REPLAY_WINDOW: u64 = (BLOCKS as u64 - 1) * BLOCK_BITS;

/// Why a sequence number is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayVerdict {
    /// Not seen yet and inside (or ahead of) the window.
    Fresh,
    /// Already received.
    Duplicate,
    /// Older than the window's lower edge (or zero, which is never sent).
    TooOld,
}

/// A sliding window over full 64-bit sequence numbers.
///
/// The check ([`check`](Self::check)) and the update ([`accept`](Self::accept)) are
/// separate because RFC 4303 §3.4.3 orders them around the integrity check: "If the
/// received packet falls within the window and is not a duplicate, or if the packet is
/// to the right of the window, then the receiver proceeds to ICV verification." and
/// "The receive window is updated only if the ICV verification succeeds."
#[derive(Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    /// The highest sequence number accepted so far (0: none yet).
    top: u64,
    ring: [u64; BLOCKS],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayWindow {
    /// An empty window: nothing received yet.
    pub fn new() -> Self {
        Self {
            top: 0,
            ring: [0; BLOCKS],
        }
    }

    /// The highest sequence number accepted so far (0 before the first packet).
    pub fn top(&self) -> u64 {
        self.top
    }

    fn slot(seq: u64) -> (usize, u64) {
        // Truncation is the point: the ring index is the block number modulo BLOCKS.
        let block = ((seq / BLOCK_BITS) as usize) & (BLOCKS - 1);
        (block, 1u64 << (seq % BLOCK_BITS))
    }

    /// Whether `seq` may be accepted. Does not change the window.
    pub fn check(&self, seq: u64) -> ReplayVerdict {
        // RFC 4303 §3.3.3: the counter is incremented before the first packet, "thus,
        // the first packet sent using a given SA will contain a sequence number of 1",
        // so zero never arrives honestly.
        if seq == 0 {
            return ReplayVerdict::TooOld;
        }
        if seq > self.top {
            return ReplayVerdict::Fresh;
        }
        if self.top - seq >= REPLAY_WINDOW {
            return ReplayVerdict::TooOld;
        }
        let (block, bit) = Self::slot(seq);
        if self.ring[block] & bit != 0 {
            ReplayVerdict::Duplicate
        } else {
            ReplayVerdict::Fresh
        }
    }

    /// Records `seq` as received, sliding the window if it is ahead. Call only after
    /// [`check`](Self::check) said `Fresh` and the ICV verified; a number the window
    /// refuses is ignored.
    pub fn accept(&mut self, seq: u64) {
        if self.check(seq) != ReplayVerdict::Fresh {
            return;
        }
        if seq > self.top {
            let new_block = seq / BLOCK_BITS;
            let top_block = self.top / BLOCK_BITS;
            // Clear the blocks the window slides over, at most the whole ring.
            let slide = (new_block - top_block).min(BLOCKS as u64);
            for i in 1..=slide {
                let index = ((top_block + i) as usize) & (BLOCKS - 1);
                self.ring[index] = 0;
            }
            self.top = seq;
        }
        let (block, bit) = Self::slot(seq);
        self.ring[block] |= bit;
    }

    /// The full sequence number for the low 32 bits carried in a packet, on an SA with
    /// extended sequence numbers; `None` if it would lie before the first packet.
    ///
    /// RFC 4303 Appendix A2.1, with `Tl`/`Th` the low and high halves of the window's
    /// top and `W` its size:
    ///
    /// > If (Tl >= W - 1)  Case A: if (Seql >= Tl - W + 1) Seqh = Th else Seqh = Th + 1.
    /// > If (Tl < W - 1)  Case B: if (Seql >= Tl - W + 1) Seqh = Th - 1 else Seqh = Th.
    ///
    /// (In case B the comparison is modulo 2^32.)
    pub fn infer_esn(&self, seq_low: u32) -> Option<u64> {
        // Truncations split the 64-bit top into its halves.
        let tl = self.top as u32;
        let th = (self.top >> 32) as u32;
        let w = REPLAY_WINDOW as u32;
        let bottom = tl.wrapping_sub(w).wrapping_add(1);
        let high = if tl >= w - 1 {
            if seq_low >= bottom {
                th
            } else {
                th.checked_add(1)?
            }
        } else if seq_low >= bottom {
            th.checked_sub(1)?
        } else {
            th
        };
        Some((u64::from(high) << 32) | u64::from(seq_low))
    }
}

impl std::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("top", &self.top)
            .field("size", &REPLAY_WINDOW)
            .finish_non_exhaustive()
    }
}
