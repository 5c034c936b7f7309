//! A clock that stands still while the machine sleeps, so that comparing it with the
//! wall clock tells a sleep apart from a slow tick.
//!
//! Rust's `Instant` is that clock on Linux (`CLOCK_MONOTONIC`: "does not count time
//! that the system is suspended", clock_gettime(2)) and on macOS
//! (`CLOCK_UPTIME_RAW`, which "does not increment while the system is asleep",
//! clock_gettime(3)), but not on Windows, where it is `QueryPerformanceCounter` and
//! keeps counting through sleep. There the clock is `QueryUnbiasedInterruptTime`,
//! whose documentation says it "does not include time the system spends in sleep or
//! hibernation".

use std::time::Duration;

/// Time the machine has been awake, from an arbitrary origin fixed for the life of the
/// process: only differences between two readings mean anything.
pub fn awake_time() -> Duration {
    imp::awake_time()
}

#[cfg(not(windows))]
mod imp {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    pub(super) fn awake_time() -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
}

#[cfg(windows)]
mod imp {
    #![allow(unsafe_code)]
    use std::time::Duration;

    use windows_sys::Win32::System::WindowsProgramming::QueryUnbiasedInterruptTime;

    pub(super) fn awake_time() -> Duration {
        let mut ticks: u64 = 0;
        // SAFETY: the argument points to a live, aligned u64 that the call only writes.
        let ok = unsafe { QueryUnbiasedInterruptTime(&mut ticks) };
        if ok == 0 {
            // Documented to fail only for a null pointer; fall back to a clock that
            // at least never goes back.
            return super::fallback();
        }
        // In 100-nanosecond units.
        Duration::from_nanos(ticks.saturating_mul(100))
    }
}

#[cfg(windows)]
fn fallback() -> Duration {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_moves_forward_with_time_awake() {
        let before = awake_time();
        std::thread::sleep(Duration::from_millis(50));
        let after = awake_time();
        let moved = after.saturating_sub(before);
        assert!(moved >= Duration::from_millis(40), "{moved:?}");
        assert!(moved < Duration::from_secs(30), "{moved:?}");
    }
}
