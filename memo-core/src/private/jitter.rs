//! `jitter = fraction`: each entry's lifetime spread at random by up to that
//! fraction of it, either way, so that entries written together (a cache
//! filled at start-up, a burst of misses) do not all expire together and
//! come back as one burst of misses.

use core::cell::Cell;
use core::hash::BuildHasher;
use std::time::Duration;

thread_local! {
    /// This thread's random state (wyrand), seeded once from foldhash's
    /// per-process random seed and the thread's own address.
    static STATE: Cell<u64> = Cell::new({
        let seed = foldhash::fast::RandomState::default();
        let place = core::ptr::from_ref(&seed).addr();
        seed.hash_one(place)
    });
}

/// A random number in `[0, 1)`.
fn unit() -> f64 {
    let next = STATE
        .try_with(|state| {
            let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
            state.set(s);
            let wide = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
            (wide >> 64) as u64 ^ wide as u64
        })
        // A thread that is exiting: no spread.
        .unwrap_or(1 << 63);
    // The top 53 bits, as the fraction of an `f64`.
    (next >> 11) as f64 / (1_u64 << 53) as f64
}

/// `lifetime` spread by a random factor in `[1 - jitter, 1 + jitter)`,
/// `jitter` clamped to `[0, 1)` (`NaN` is no jitter). A lifetime the factor
/// would take past what a `Duration` holds stays as it was.
#[must_use]
pub fn jittered(lifetime: Option<Duration>, jitter: f64) -> Option<Duration> {
    let lifetime = lifetime?;
    let jitter = if jitter.is_nan() { 0.0 } else { jitter.clamp(0.0, 1.0 - f64::EPSILON) };
    if jitter == 0.0 {
        return Some(lifetime);
    }
    let factor = 1.0 + jitter * (2.0 * unit() - 1.0);
    let spread = Duration::try_from_secs_f64(lifetime.as_secs_f64() * factor).unwrap_or(lifetime);
    // Rounded to zero (a lifetime of nanoseconds): the shortest there is,
    // since zero would mean "do not store".
    Some(spread.max(Duration::from_nanos(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_spread_over_the_whole_range_and_never_past_it() {
        let ttl = Duration::from_secs(100);
        let spread: Vec<Duration> = (0..10_000).map(|_| jittered(Some(ttl), 0.1).unwrap()).collect();
        let (min, max) = (spread.iter().min().unwrap(), spread.iter().max().unwrap());
        assert!(*min >= Duration::from_secs(90) && *max < Duration::from_secs(110), "{min:?}..{max:?}");
        // 10,000 uniform draws: each end's last percent is reached.
        assert!(*min < Duration::from_secs(91) && *max > Duration::from_secs(109), "{min:?}..{max:?}");
    }

    #[test]
    fn no_jitter_bad_jitter_and_huge_lifetimes_are_kept() {
        let ttl = Duration::from_millis(1500);
        assert_eq!(jittered(Some(ttl), 0.0), Some(ttl));
        assert_eq!(jittered(Some(ttl), -3.0), Some(ttl));
        assert_eq!(jittered(Some(ttl), f64::NAN), Some(ttl));
        assert_eq!(jittered(None, 0.5), None);
        // Clamped below 1: never zero, never past twice.
        for _ in 0..1000 {
            let spread = jittered(Some(ttl), 7.0).unwrap();
            assert!(!spread.is_zero() && spread < ttl * 2, "{spread:?}");
        }
        // A lifetime of nanoseconds never rounds to zero.
        assert!((0..10_000).all(|_| !jittered(Some(Duration::from_nanos(1)), 0.9).unwrap().is_zero()));
        let forever = Duration::MAX;
        assert!(jittered(Some(forever), 0.5).is_some());
    }
}
