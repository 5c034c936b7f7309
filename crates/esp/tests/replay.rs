//! The anti-replay window against a naive model, and ESN inference (RFC 4303 §3.4.3,
//! Appendix A; RFC 6479).

use std::collections::BTreeSet;

use corridor_esp::{REPLAY_WINDOW, ReplayVerdict, ReplayWindow};

/// The window as RFC 4303 §3.4.3 describes it, with a set instead of a bitmap.
#[derive(Default)]
struct Model {
    top: u64,
    seen: BTreeSet<u64>,
}

impl Model {
    fn check(&self, seq: u64) -> ReplayVerdict {
        if seq == 0 || (seq <= self.top && self.top - seq >= REPLAY_WINDOW) {
            ReplayVerdict::TooOld
        } else if self.seen.contains(&seq) {
            ReplayVerdict::Duplicate
        } else {
            ReplayVerdict::Fresh
        }
    }

    fn accept(&mut self, seq: u64) {
        self.top = self.top.max(seq);
        self.seen.insert(seq);
    }
}

/// A small deterministic generator for test sequences.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn window_is_at_least_1024() {
    const { assert!(REPLAY_WINDOW >= 1024) };
}

#[test]
fn in_order_and_duplicates() {
    let mut w = ReplayWindow::new();
    assert_eq!(w.check(0), ReplayVerdict::TooOld, "zero is never sent");
    for seq in 1..=5000 {
        assert_eq!(w.check(seq), ReplayVerdict::Fresh);
        w.accept(seq);
        assert_eq!(w.check(seq), ReplayVerdict::Duplicate);
    }
    assert_eq!(w.top(), 5000);
    for seq in 5001 - REPLAY_WINDOW..=5000 {
        assert_eq!(w.check(seq), ReplayVerdict::Duplicate, "{seq}");
    }
    assert_eq!(w.check(5000 - REPLAY_WINDOW), ReplayVerdict::TooOld);
    assert_eq!(w.check(1), ReplayVerdict::TooOld);
}

#[test]
fn old_packets_inside_the_window_are_accepted_once() {
    let mut w = ReplayWindow::new();
    w.accept(3000);
    let lowest = 3001 - REPLAY_WINDOW;
    assert_eq!(w.check(lowest), ReplayVerdict::Fresh);
    assert_eq!(w.check(lowest - 1), ReplayVerdict::TooOld);
    w.accept(lowest);
    assert_eq!(w.check(lowest), ReplayVerdict::Duplicate);
    assert_eq!(w.top(), 3000);
}

#[test]
fn far_ahead_jump_clears_the_whole_window() {
    let mut w = ReplayWindow::new();
    for seq in 1..=100 {
        w.accept(seq);
    }
    w.accept(1_000_000);
    assert_eq!(w.check(100), ReplayVerdict::TooOld);
    // Every slot of the ring was cleared: numbers just below the new top, which share
    // ring positions with the old ones, are fresh.
    for seq in 1_000_001 - REPLAY_WINDOW..1_000_000 {
        assert_eq!(w.check(seq), ReplayVerdict::Fresh, "{seq}");
    }
    assert_eq!(w.check(1_000_000), ReplayVerdict::Duplicate);
}

#[test]
fn refused_numbers_do_not_change_the_window() {
    let mut w = ReplayWindow::new();
    w.accept(5000);
    let before = w.clone();
    w.accept(5000); // duplicate
    w.accept(1); // too old
    w.accept(0);
    assert_eq!(w, before);
}

/// Slides of every size, across block boundaries, with reordering, compared with the
/// model at every step.
#[test]
fn matches_the_model_under_reordering_and_jumps() {
    let mut rng = Lcg(7);
    let mut w = ReplayWindow::new();
    let mut m = Model::default();
    let mut next = 1u64;
    for step in 0..200_000 {
        let seq = match rng.next() % 10 {
            // Mostly in order, sometimes a little ahead (loss), sometimes a jump.
            0..=5 => next,
            6 => next + rng.next() % 70,
            7 => next + rng.next() % (3 * REPLAY_WINDOW),
            // Late or replayed packets around the window's lower edge.
            8 => next.saturating_sub(rng.next() % (REPLAY_WINDOW + 200)),
            _ => next.saturating_sub(rng.next() % 64),
        };
        let verdict = w.check(seq);
        assert_eq!(verdict, m.check(seq), "step {step}, seq {seq}");
        if verdict == ReplayVerdict::Fresh {
            w.accept(seq);
            m.accept(seq);
        }
        next = m.top + 1;
    }
}

#[test]
fn esn_inference_case_a() {
    // The window lies within one 2^32 subspace: Tl >= W - 1.
    let mut w = ReplayWindow::new();
    let top = (5u64 << 32) | 0xffff_fff0;
    w.accept(top);
    assert_eq!(w.infer_esn(0xffff_fff1), Some((5 << 32) | 0xffff_fff1));
    assert_eq!(w.infer_esn(0xffff_ff00), Some((5 << 32) | 0xffff_ff00));
    // Below the window: read as the next subspace (the sender wrapped).
    assert_eq!(w.infer_esn(3), Some((6 << 32) | 3));
}

#[test]
fn esn_inference_case_b_across_rollover() {
    // The window spans two subspaces: Tl < W - 1.
    let mut w = ReplayWindow::new();
    let top = (6u64 << 32) | 5;
    w.accept(top);
    assert_eq!(w.infer_esn(6), Some((6 << 32) | 6));
    assert_eq!(w.infer_esn(2), Some((6 << 32) | 2));
    // Late packets from before the rollover.
    assert_eq!(w.infer_esn(0xffff_fff0), Some((5 << 32) | 0xffff_fff0));
    assert_eq!(
        w.infer_esn(0u32.wrapping_sub(REPLAY_WINDOW as u32) + 6),
        Some((5 << 32) | (0u32.wrapping_sub(REPLAY_WINDOW as u32) + 6) as u64)
    );
    // A fresh SA cannot have received anything before 1.
    let fresh = ReplayWindow::new();
    assert_eq!(fresh.infer_esn(1), Some(1));
    assert_eq!(fresh.infer_esn(u32::MAX), None);
}

#[test]
fn esn_rollover_stream_is_accepted_in_order() {
    let mut w = ReplayWindow::new();
    let start = u64::from(u32::MAX) - 3000;
    w.accept(start);
    for seq in start + 1..start + 6000 {
        let inferred = w.infer_esn(seq as u32).unwrap();
        assert_eq!(inferred, seq);
        assert_eq!(w.check(inferred), ReplayVerdict::Fresh);
        w.accept(inferred);
    }
    assert_eq!(w.top() >> 32, 1);
}
