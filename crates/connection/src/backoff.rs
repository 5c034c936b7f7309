//! When to try again after a connection was lost: quickly at first (a gateway restart
//! or a Wi-Fi roam is over in seconds), then less and less often up to a ceiling, so a
//! gateway that is gone for long is not hammered, with jitter so that many clients
//! that lost the same gateway do not all come back in the same second.

use std::time::Duration;

/// The first wait.
pub const FIRST: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const CEILING: Duration = Duration::from_secs(60);

/// Waits between reconnection attempts: 1 s, 2 s, 4 s … 60 s, each shortened by up to a
/// fifth at random.
#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// Before the first attempt.
    pub fn new() -> Self {
        Self { attempt: 0 }
    }

    /// Attempts made since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The wait before the next attempt; `jitter` in `0.0..=1.0` (a random draw) picks
    /// how much of the last fifth to leave out.
    pub fn next_wait(&mut self, jitter: f64) -> Duration {
        let exponent = self.attempt.min(16);
        self.attempt = self.attempt.saturating_add(1);
        let full = FIRST
            .checked_mul(1u32 << exponent)
            .unwrap_or(CEILING)
            .min(CEILING);
        let cut = full.mul_f64(jitter.clamp(0.0, 1.0) / 5.0);
        full.saturating_sub(cut)
    }

    /// The connection came up: start over.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_ceiling() {
        let mut b = Backoff::new();
        let waits: Vec<u64> = (0..9).map(|_| b.next_wait(0.0).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.attempts(), 9);
    }

    #[test]
    fn jitter_shortens_by_at_most_a_fifth() {
        let mut b = Backoff::new();
        for _ in 0..6 {
            b.next_wait(0.0);
        }
        assert_eq!(b.next_wait(1.0), Duration::from_secs(48));
        assert_eq!(b.next_wait(7.0), Duration::from_secs(48), "clamped");
    }

    #[test]
    fn reset_starts_over_and_many_attempts_do_not_overflow() {
        let mut b = Backoff::new();
        for _ in 0..1000 {
            b.next_wait(0.5);
        }
        assert!(b.next_wait(0.0) <= CEILING);
        b.reset();
        assert_eq!(b.next_wait(0.0), FIRST);
    }
}
