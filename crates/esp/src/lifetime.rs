//! SA lifetimes (RFC 4301 §4.4.2.1): soft limits ask for a rekey, hard limits stop the
//! SA. Time is whatever `Instant` the caller passes; this crate never reads a clock.

use std::time::{Duration, Instant};

use crate::stats::SaStats;

/// Byte, packet and age limits of one SA direction. `None` means no limit.
///
/// RFC 4301 §4.4.2.1 (SA lifetime) distinguishes a soft lifetime, which warns that the
/// SA should be replaced, from a hard lifetime, at which it is terminated. IKEv2 does not
/// negotiate lifetimes (RFC 7296 §2.8): each side rekeys on its own limits, which the
/// caller sets here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifetime {
    /// Inner bytes after which a rekey is wanted.
    pub soft_bytes: Option<u64>,
    /// Inner bytes after which the SA refuses to send.
    pub hard_bytes: Option<u64>,
    /// Packets after which a rekey is wanted.
    pub soft_packets: Option<u64>,
    /// Packets after which the SA refuses to send.
    pub hard_packets: Option<u64>,
    /// Age after which a rekey is wanted.
    pub soft_age: Option<Duration>,
    /// Age after which the SA is expired.
    pub hard_age: Option<Duration>,
}

impl Lifetime {
    /// When the age limits of an SA created at `created` are reached.
    pub(crate) fn deadlines(&self, created: Instant) -> AgeDeadlines {
        AgeDeadlines {
            soft: AgeDeadline::new(created, self.soft_age),
            hard: AgeDeadline::new(created, self.hard_age),
        }
    }

    pub(crate) fn soft_reached(&self, stats: &SaStats, at: &AgeDeadlines, now: Instant) -> bool {
        reached(self.soft_bytes, stats.bytes)
            || reached(self.soft_packets, stats.packets)
            || at.soft.reached(now)
    }

    pub(crate) fn hard_reached(&self, stats: &SaStats, at: &AgeDeadlines, now: Instant) -> bool {
        reached(self.hard_bytes, stats.bytes)
            || reached(self.hard_packets, stats.packets)
            || at.hard.reached(now)
    }
}

/// The instants at which an SA's age limits are reached, computed once when it is
/// created: the checks that run for every packet compare two instants instead of
/// computing an age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AgeDeadlines {
    soft: AgeDeadline,
    hard: AgeDeadline,
}

/// When one age limit is reached: exactly when `age(created, now) >= limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgeDeadline {
    /// No limit, or one beyond what an `Instant` can express.
    Never,
    /// A zero limit: reached at any time (the age saturates at zero).
    Always,
    /// Reached from this instant on.
    At(Instant),
}

impl AgeDeadline {
    fn new(created: Instant, limit: Option<Duration>) -> Self {
        match limit {
            None => Self::Never,
            Some(limit) if limit.is_zero() => Self::Always,
            Some(limit) => created.checked_add(limit).map_or(Self::Never, Self::At),
        }
    }

    fn reached(self, now: Instant) -> bool {
        match self {
            Self::Never => false,
            Self::Always => true,
            Self::At(at) => now >= at,
        }
    }
}

fn reached(limit: Option<u64>, value: u64) -> bool {
    limit.is_some_and(|limit| value >= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deadlines say what comparing the age with the limit says.
    #[test]
    fn deadlines_agree_with_the_age() {
        let created = Instant::now();
        let stats = SaStats::default();
        for limit in [0u64, 1, 5, 3600] {
            let lifetime = Lifetime {
                soft_age: Some(Duration::from_secs(limit)),
                hard_age: Some(Duration::from_secs(limit)),
                ..Lifetime::default()
            };
            let at = lifetime.deadlines(created);
            for offset in [0u64, 1, 4, 5, 6, 3599, 3600, 3601] {
                let now = created + Duration::from_secs(offset);
                let expected = now.saturating_duration_since(created) >= Duration::from_secs(limit);
                assert_eq!(lifetime.soft_reached(&stats, &at, now), expected);
                assert_eq!(lifetime.hard_reached(&stats, &at, now), expected);
            }
            // A time before the creation counts as age zero.
            if let Some(before) = created.checked_sub(Duration::from_secs(1)) {
                assert_eq!(lifetime.hard_reached(&stats, &at, before), limit == 0);
            }
        }
        let none = Lifetime::default();
        let at = none.deadlines(created);
        assert!(!none.soft_reached(&stats, &at, created + Duration::from_secs(1 << 30)));
        let huge = Lifetime {
            hard_age: Some(Duration::MAX),
            ..Lifetime::default()
        };
        assert!(!huge.hard_reached(&stats, &huge.deadlines(created), created));
    }
}
