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
    pub(crate) fn soft_reached(&self, stats: &SaStats, age: Duration) -> bool {
        reached(self.soft_bytes, stats.bytes)
            || reached(self.soft_packets, stats.packets)
            || self.soft_age.is_some_and(|limit| age >= limit)
    }

    pub(crate) fn hard_reached(&self, stats: &SaStats, age: Duration) -> bool {
        reached(self.hard_bytes, stats.bytes)
            || reached(self.hard_packets, stats.packets)
            || self.hard_age.is_some_and(|limit| age >= limit)
    }
}

fn reached(limit: Option<u64>, value: u64) -> bool {
    limit.is_some_and(|limit| value >= limit)
}

/// The age of an SA created at `created`, saturating at zero if `now` is earlier.
pub(crate) fn age(created: Instant, now: Instant) -> Duration {
    now.saturating_duration_since(created)
}
