//! [`CacheInfo`]: what a cache holds and how well it has served.

use core::fmt;

/// Statistics of a cache, as `fib_cache().info()` returns them. Reads like
/// Python's `functools` `CacheInfo` on purpose, and prints like it:
///
/// ```
/// #[memo::memoize(maxsize = 128)]
/// fn double(x: u32) -> u32 {
///     x * 2
/// }
///
/// double(1);
/// double(1);
/// double(2);
/// let info = double_cache().info();
/// assert_eq!((info.hits, info.misses, info.currsize), (1, 2, 2));
/// assert_eq!(info.to_string(), "CacheInfo(hits=1, misses=2, maxsize=128, currsize=2)");
/// ```
///
/// More fields may be added; the type is `#[non_exhaustive]`, so match it with
/// `..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheInfo {
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls that ran the function body (including those whose store failed to
    /// answer).
    pub misses: u64,
    /// The most entries the cache keeps, or `None` when it is unbounded.
    pub maxsize: Option<usize>,
    /// The entries it holds now.
    pub currsize: usize,
    /// Entries that expired (`ttl`) and were removed, when a call found them
    /// or a sweep did.
    pub expirations: u64,
    /// Entries removed to make room for new ones (`maxsize`).
    pub evictions: u64,
    /// Operations the store failed (a cache server down or too slow, a value
    /// that did not decode or was too large): each was a miss, or a value not
    /// kept, and the function returned its own result.
    pub store_errors: u64,
}

impl CacheInfo {
    /// The share of calls answered from the cache, from 0.0 to 1.0 (0.0 before
    /// the first call).
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "a ratio needs no more than f64's precision")]
    pub fn hit_rate(&self) -> f64 {
        let calls = self.hits + self.misses;
        if calls == 0 { 0.0 } else { self.hits as f64 / calls as f64 }
    }

    /// Adds the counts of `other` to these, for handles over several caches.
    pub(crate) fn absorb(&mut self, other: CacheInfo) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.currsize += other.currsize;
        self.expirations += other.expirations;
        self.evictions += other.evictions;
        self.store_errors += other.store_errors;
    }
}

impl fmt::Display for CacheInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheInfo(hits={}, misses={}, maxsize=", self.hits, self.misses)?;
        match self.maxsize {
            Some(n) => write!(f, "{n}")?,
            None => f.write_str("None")?,
        }
        write!(f, ", currsize={}", self.currsize)?;
        if self.expirations > 0 {
            write!(f, ", expirations={}", self.expirations)?;
        }
        if self.evictions > 0 {
            write!(f, ", evictions={}", self.evictions)?;
        }
        if self.store_errors > 0 {
            write!(f, ", store_errors={}", self.store_errors)?;
        }
        f.write_str(")")
    }
}
