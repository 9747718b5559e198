//! Warnings of store errors that do not flood the log: at most one per
//! [`QUIET`] from one source, each saying how many were held back.

use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::store::StoreError;

/// The least time between two warnings of one kind from one source: one
/// cache's store errors, or one server's outages.
pub(crate) const QUIET: Duration = Duration::from_secs(10);

/// A limit of one warning per [`QUIET`], lock-free.
pub(crate) struct Warnings {
    /// When the last warning was let through, in milliseconds since
    /// [`origin`], plus one (0: never).
    last: AtomicU64,
    /// Warnings held back since then.
    held: AtomicU64,
}

/// The instant the limits count from.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl Warnings {
    pub(crate) const fn new() -> Self {
        Warnings { last: AtomicU64::new(0), held: AtomicU64::new(0) }
    }

    /// Warns of `error` of the cache `name` (the call goes on without its
    /// store), unless the log knows of it already or a warning went out less
    /// than [`QUIET`] ago.
    pub(crate) fn store_error(&self, name: &str, error: &StoreError) {
        if error.is_told() {
            return;
        }
        let Some(held) = self.allow(Instant::now()) else { return };
        let held = match held {
            0 => String::new(),
            1 => String::from(" (1 more store error since the last warning)"),
            n => format!(" ({n} more store errors since the last warning)"),
        };
        log::warn!(target: "memo", "{name}: {error}; the call goes on without the cache{held}");
    }

    /// Whether a warning may go out at `now`: `Some` with the number held
    /// back since the last one, or `None` (this one is held back too).
    pub(crate) fn allow(&self, now: Instant) -> Option<u64> {
        let at =
            u64::try_from(now.saturating_duration_since(origin()).as_millis()).unwrap_or(u64::MAX - 1) + 1;
        let last = self.last.load(Relaxed);
        let quiet = u64::try_from(QUIET.as_millis()).unwrap_or(u64::MAX);
        if (last != 0 && at.saturating_sub(last) < quiet)
            || self.last.compare_exchange(last, at, Relaxed, Relaxed).is_err()
        {
            self.held.fetch_add(1, Relaxed);
            return None;
        }
        Some(self.held.swap(0, Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_quiet_period_with_the_count_held_back() {
        let warnings = Warnings::new();
        let t0 = origin() + Duration::from_secs(1);
        assert_eq!(warnings.allow(t0), Some(0));
        for i in 1..=99 {
            assert_eq!(warnings.allow(t0 + Duration::from_millis(i * 100)), None);
        }
        assert_eq!(warnings.allow(t0 + QUIET), Some(99));
        assert_eq!(warnings.allow(t0 + QUIET + Duration::from_secs(1)), None);
    }
}
