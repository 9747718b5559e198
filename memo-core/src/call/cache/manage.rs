//! What a cache's handle asks of it: its counts and size, and `clear()`.

use core::fmt;
use core::sync::atomic::Ordering::{Relaxed, SeqCst};

use super::Cache;
use crate::store::Store;
use crate::store::info::CacheInfo;

impl<K, V, S: Store<K, V>> Cache<K, V, S> {
    /// Hits, misses, maxsize and current size.
    pub fn info(&self) -> CacheInfo {
        let rechecks = self.rechecks.load(Relaxed);
        let mut info = self.store.info();
        info.hits += self.hits.load(Relaxed);
        // Each recheck counted a second lookup for one call: the first was a
        // miss, so one miss too many.
        info.misses = (info.misses + self.misses.load(Relaxed)).saturating_sub(rechecks);
        info.expirations += self.expirations.load(Relaxed);
        info.store_errors += self.store_errors.load(Relaxed);
        info
    }

    /// Removes every entry and resets the counts to zero. It wins against
    /// computations running now: their values are still returned to their
    /// callers (and to the callers waiting for them), but not stored, and a
    /// call that comes after `clear()` neither waits for them nor gets
    /// their values.
    pub fn clear(&self) {
        // First the epoch, then every part of the flight tables (the stores'
        // own, in `Store::clear`): a value stored under a part's lock either
        // comes before the part's turn, and is cleared, or after, and sees
        // that it is from before (see `Flights::keep`).
        self.epoch.fetch_add(1, SeqCst);
        if let Some(flights) = self.flights.get() {
            flights.forget_all();
        }
        // A store that cannot clear keeps its entries, which stay correct.
        let cleared = self.store.clear();
        self.hits.store(0, Relaxed);
        self.misses.store(0, Relaxed);
        self.rechecks.store(0, Relaxed);
        self.expirations.store(0, Relaxed);
        self.store_errors.store(0, Relaxed);
        if let Err(error) = cleared {
            self.store_failed(&error);
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

impl<K, V, S: Store<K, V>> fmt::Debug for Cache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache").field("info", &self.info()).finish_non_exhaustive()
    }
}
