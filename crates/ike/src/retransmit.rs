//! Retransmission of our outstanding request (RFC 7296 §2.1, §2.4).
//!
//! RFC 7296 §2.1: "For every pair of IKE messages, the initiator is responsible for
//! retransmission in the event of a timeout." The same section asks for retransmission
//! timers that back off, until the IKE SA is deemed to have failed. We keep exactly one
//! request outstanding (window size 1), so one `Outstanding` entry is all the table there is.

use std::time::{Duration, Instant};

/// When to retransmit and when to give up.
///
/// The default sends at 0, 1, 3, 7, 15 and 31 s (six tries) and gives up at 35 s at the
/// latest: long enough to ride out a lossy Wi-Fi hand-over, short enough that a person
/// watching "connecting…" is told something within half a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetransmitPolicy {
    /// Wait after the first transmission.
    pub initial: Duration,
    /// Each wait is the previous one times this factor.
    pub multiplier: u32,
    /// No single wait is longer than this.
    pub max_interval: Duration,
    /// Transmissions of one request, the first included.
    pub max_tries: u32,
    /// Give up this long after the first transmission, whatever the tries left.
    pub budget: Duration,
}

impl Default for RetransmitPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            multiplier: 2,
            max_interval: Duration::from_secs(16),
            max_tries: 6,
            budget: Duration::from_secs(35),
        }
    }
}

impl RetransmitPolicy {
    /// The wait after transmission number `tries` (1 = the first).
    fn interval(&self, tries: u32) -> Duration {
        let factor = self
            .multiplier
            .max(1)
            .saturating_pow(tries.saturating_sub(1));
        self.initial
            .saturating_mul(factor)
            .min(self.max_interval.max(self.initial))
    }
}

/// `at + d`, or a day after `at` if that overflows the platform's `Instant`.
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(at)
}

/// What to do when the retransmission timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Send the request again.
    Retransmit,
    /// Give up: `tries` transmissions over `elapsed`.
    GiveUp { tries: u32, elapsed: Duration },
}

/// Our one outstanding request: its datagrams (several when fragmented) and its timer.
#[derive(Debug, Clone)]
pub(crate) struct Outstanding {
    pub(crate) message_id: u32,
    /// The datagrams exactly as sent (with the non-ESP marker when on port 4500).
    pub(crate) datagrams: Vec<Vec<u8>>,
    /// The gateway's port they go to.
    pub(crate) port: u16,
    first_sent: Instant,
    next: Instant,
    tries: u32,
}

impl Outstanding {
    /// A request sent for the first time at `now`.
    pub(crate) fn new(
        message_id: u32,
        datagrams: Vec<Vec<u8>>,
        port: u16,
        now: Instant,
        policy: &RetransmitPolicy,
    ) -> Self {
        Self {
            message_id,
            datagrams,
            port,
            first_sent: now,
            next: later(now, policy.interval(1)),
            tries: 1,
        }
    }

    /// When the timer fires next.
    pub(crate) fn deadline(&self) -> Instant {
        self.next
    }

    /// Transmissions so far.
    pub(crate) fn tries(&self) -> u32 {
        self.tries
    }

    /// Called when `now` has reached [`Self::deadline`].
    pub(crate) fn on_timeout(&mut self, now: Instant, policy: &RetransmitPolicy) -> Expiry {
        let elapsed = now.saturating_duration_since(self.first_sent);
        if self.tries >= policy.max_tries || elapsed >= policy.budget {
            return Expiry::GiveUp {
                tries: self.tries,
                elapsed,
            };
        }
        self.tries += 1;
        let give_up_at = later(self.first_sent, policy.budget);
        self.next = later(now, policy.interval(self.tries)).min(give_up_at);
        Expiry::Retransmit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule() {
        let p = RetransmitPolicy::default();
        let t0 = Instant::now();
        let mut o = Outstanding::new(0, vec![vec![1]], 500, t0, &p);
        let mut sends = vec![0];
        loop {
            let at = o.deadline();
            match o.on_timeout(at, &p) {
                Expiry::Retransmit => sends.push(at.duration_since(t0).as_secs()),
                Expiry::GiveUp { tries, elapsed } => {
                    assert_eq!(tries, 6);
                    assert_eq!(elapsed.as_secs(), 35);
                    break;
                }
            }
        }
        assert_eq!(sends, [0, 1, 3, 7, 15, 31]);
    }

    #[test]
    fn budget_caps_a_long_schedule() {
        let p = RetransmitPolicy {
            max_tries: 100,
            budget: Duration::from_secs(10),
            ..RetransmitPolicy::default()
        };
        let t0 = Instant::now();
        let mut o = Outstanding::new(0, vec![], 4500, t0, &p);
        let mut n = 0;
        while o.on_timeout(o.deadline(), &p) == Expiry::Retransmit {
            n += 1;
            assert!(n < 100);
        }
        assert!(o.deadline().duration_since(t0) <= Duration::from_secs(10));
    }
}
