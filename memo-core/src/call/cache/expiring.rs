//! The lookups of a cache whose values expire ([`Expiring`]), and the
//! sweeps that give expired entries' memory back.

use core::hash::Hash;
use core::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::Cache;
use super::look;
use crate::Miss;
use crate::clock;
use crate::flight::Want;
use crate::store::Store;
use crate::store::expiry::Expiring;
use crate::store::key::KeyView;

impl<K, V: 'static, S> Cache<K, Expiring<V>, S> {
    /// For a cache whose values expire: at most once per `every`, a miss first
    /// removes every expired entry from the store (with
    /// [`Store::retain`]), so that entries that are never asked for again
    /// still give their memory back. `#[memoize(ttl = ...)]` sweeps every half
    /// `ttl`.
    #[must_use]
    pub const fn sweep_every(mut self, every: Duration) -> Self {
        self.sweep_every = Some(every);
        self.lifetime = Some(look::expiring::<V>());
        self
    }
}

impl<K, V, S> Cache<K, Expiring<V>, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, Expiring<V>> + 'static,
{
    /// [`lookup`](Cache::lookup) for values that expire: an entry past its
    /// deadline is never returned; the lookup removes it, counts an
    /// expiration, and is a miss. Misses also sweep now and then (see
    /// [`sweep_every`](Cache::sweep_every)).
    ///
    /// # Errors
    ///
    /// A miss that this caller must compute is the `Err`: complete it with the
    /// value and its deadline.
    ///
    /// # Panics
    ///
    /// If this thread has come back to `view` more than 32 times while
    /// computing it: infinite recursion (a few same-key calls, as with
    /// `key = n / 2`, just compute again).
    #[inline]
    pub fn lookup_fresh<Q>(&self, view: &Q) -> Result<V, Miss<'_, K, Expiring<V>, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let now = clock::now();
        let fresh = move |entry: &Expiring<V>| entry.is_fresh(now);
        let found = self.find(view, Want::Fresh(&fresh));
        if found.is_err() {
            // This call computes the value: it may sweep first.
            self.sweep(now);
        }
        found.map(|entry| entry.value)
    }

    /// Removes every expired entry, if the last sweep is `sweep_every` old.
    #[cold]
    pub(crate) fn sweep(&self, now: Instant) {
        let Some(every) = self.sweep_every else { return };
        // One thread sweeps; the others go on.
        let Some(mut last) = self.last_sweep.try_lock() else { return };
        if last.is_some_and(|last| now.saturating_duration_since(last) < every) {
            return;
        }
        *last = Some(now);
        drop(last);
        if let Ok(removed) = self.store.retain(&mut |_, entry| entry.is_fresh(now)) {
            self.expirations.fetch_add(removed as u64, Relaxed);
        }
    }
}
