//! [`Books`]: what a part of a built-in store keeps beside its entries and
//! only the holder of the part's lock reads or writes (its claims and its
//! counts), changed without keeping lock-free readers out (see `Shards`).

use crate::flight::Table;
use crate::store::info::CacheInfo;

pub(crate) struct Books<K, V> {
    /// The keys of this part being computed (single-flight).
    pub(crate) flights: Table<K, V>,
    /// Counted under the part's lock by lookups that take it; lock-free hits
    /// are counted per thread (see `Shards::read`).
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    /// Entries that made room for others (a bounded store's).
    pub(crate) evictions: u64,
    pub(crate) expirations: u64,
}

impl<K, V> Books<K, V> {
    /// The books of part `index` of its store, empty.
    pub(crate) const fn new(index: usize) -> Self {
        Self::with_flights(Table::at(index))
    }

    /// Empty books with the claims table `flights` (a new part's, made by
    /// a growth).
    pub(crate) const fn with_flights(flights: Table<K, V>) -> Self {
        Books { flights, hits: 0, misses: 0, evictions: 0, expirations: 0 }
    }

    /// Resets the counts, and marks the keys in flight as from before a
    /// `clear()`.
    pub(crate) fn clear(&mut self) {
        self.hits = 0;
        self.misses = 0;
        self.evictions = 0;
        self.expirations = 0;
        self.flights.forget_all();
    }

    /// Adds the counts to `info`.
    pub(crate) fn count_into(&self, info: &mut CacheInfo) {
        info.hits += self.hits;
        info.misses += self.misses;
        info.evictions += self.evictions;
        info.expirations += self.expirations;
    }
}
