//! [`Miss`]: a lookup that missed, and how its value reaches the store and
//! the threads that wait for it.

use core::hash::Hash;
use core::sync::atomic::Ordering::Release;

use super::Cache;
use crate::flight::{Held, Ticket};
use crate::store::Store;

/// A lookup that missed: holds the owned key (and, with single-flight, the
/// claim on it) until the caller has computed the value and hands it to
/// [`complete`](Miss::complete). Dropped without completing (the body
/// panicked), it gives the claim up, and a thread waiting for the key computes
/// it instead.
///
/// ```
/// use memo::{Cache, Exact, Unbounded};
///
/// let cache: Cache<String, usize> = Cache::new(Unbounded::new());
/// let key = String::from("hello");
/// let length = match cache.lookup(&Exact(&key)) {
///     Ok(hit) => hit,
///     Err(miss) => miss.complete(key.len()),
/// };
/// assert_eq!(length, 5);
/// assert_eq!(cache.lookup(&Exact(&key)).ok(), Some(5));
/// ```
#[must_use = "a miss does nothing until it is completed with the value"]
pub struct Miss<'c, K, V, S> {
    pub(super) cache: &'c Cache<K, V, S>,
    pub(super) key: Option<K>,
    /// The single-flight claim, and how to give it up if the body panics.
    pub(super) claim: Option<(Ticket, Abandon<K, V, S>)>,
    /// The cache's epoch when the miss began: without a claim, its value is
    /// stored only if no `clear()` or `refresh()` came since.
    pub(super) born: u64,
    /// Counts a thread's claim as held while the miss is open (read by
    /// nobody: its `Drop` is what counts).
    pub(super) _held: Option<Held>,
}

/// Gives a claim up (the body panicked): known where the bounds are, called
/// from `Drop`, where they are not.
type Abandon<K, V, S> = fn(&Cache<K, V, S>, Ticket);

impl<'c, K: Hash + Eq + Clone, V: Clone, S: Store<K, V>> Miss<'c, K, V, S> {
    pub(super) fn claimed(cache: &'c Cache<K, V, S>, ticket: Ticket) -> Self {
        let held = ticket.thread.then(Held::new);
        Miss { cache, key: None, claim: Some((ticket, Cache::abandon)), born: cache.epoch(), _held: held }
    }

    /// Stores a clone of `value` under the missed key, hands it to the threads
    /// that wait for it, and returns `value`. A store that fails to keep it
    /// changes nothing for the caller.
    #[inline(never)]
    pub fn complete(mut self, value: V) -> V {
        self.settle(true, &value);
        value
    }

    /// Hands `value` to the threads that wait for it and returns it, without
    /// storing it: for results that are not to be cached (an `Err`, by default).
    pub fn complete_uncached(mut self, value: V) -> V {
        self.key = None;
        self.settle(false, &value);
        value
    }

    /// Stores `value` (if `store`) under the missed key (the claim's, or
    /// the miss's own) and settles the claim with it. The value is stored
    /// before the claim is settled, under the same lock, so a thread that
    /// misses meanwhile finds either the claim or the value. The claim
    /// stays with the miss until it is settled: if the user's `Clone` or
    /// store panics before, the miss's `Drop` gives it up.
    fn settle(&mut self, store: bool, value: &V) {
        let cache = self.cache;
        let born = self.born;
        let current = || store && cache.epoch() == born;
        let key = self.key.take();
        match &self.claim {
            Some((ticket, _)) if S::__FLIGHTS && !ticket.cache_side => {
                cache.store.__settle(Some(ticket), None, store, Some(value), &current);
            }
            None if S::__FLIGHTS => cache.store.__settle(None, key, store, Some(value), &current),
            Some((ticket, _)) => {
                if let Some(flights) = cache.flights.get() {
                    flights.settle_keeping(ticket, Some(value), current, |key| cache.keep(key, value));
                }
            }
            None => {
                if let (true, Some(key)) = (store, key) {
                    cache.flights().keep(key, current, |key| cache.keep(key, value));
                }
            }
        }
        self.claim = None;
    }
}

impl<K, V: Clone, S: Store<K, V>> Cache<K, V, S> {
    /// Stores a clone of `value` under `key` in a store that keeps no
    /// claims, under the lock of the cache's flight table that settles the
    /// miss: a lookup that began before this and finds no claim then looks
    /// again (see `recheck`).
    fn keep(&self, key: K, value: &V) {
        if let Err(error) = self.store.insert(key, value.clone()) {
            self.store_failed(&error);
        }
        self.settles.fetch_add(1, Release);
    }
}

#[cfg(feature = "async")]
impl<K, V, S> Miss<'static, K, V, S>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + 'static,
    S: Store<K, V> + 'static,
{
    /// [`complete`](Miss::complete) for a store that blocks on the network,
    /// from an `async fn`: the value goes to the store on an I/O thread, and
    /// to the waiting tasks at once. A lookup that starts before the store has
    /// it may compute it again; it never gets a wrong value.
    pub(crate) fn complete_offloaded(mut self, value: V, keep: bool) -> V {
        let claimed = |miss: &Self| {
            let (ticket, _) = miss.claim.as_ref()?;
            miss.cache.flights_made()?.take_key(ticket)
        };
        let key = if keep { self.key.take().or_else(|| claimed(&self)) } else { None };
        if let Some(key) = key {
            let (cache, stored, born) = (self.cache, value.clone(), self.born);
            crate::offload::spawn(move || {
                // A clear() or refresh() that came meanwhile wins (but one
                // that comes during the insert may not: the store is on a
                // server, and the insert is not under a lock of memo's).
                if cache.epoch() != born {
                    return;
                }
                if let Err(error) = cache.store.insert(key, stored) {
                    cache.store_failed(&error);
                }
            });
        }
        self.settle(false, &value);
        value
    }
}

impl<K, V, S> Miss<'_, K, V, S> {
    /// The claim this miss computes, in the cache's own table, if it has one:
    /// what a body computing it is polled under (see `flight::computing`).
    #[cfg(feature = "async")]
    pub(crate) fn mark(&self) -> Option<crate::flight::Mark> {
        let (ticket, _) = self.claim.as_ref()?;
        Some(self.cache.flights_made()?.mark(ticket))
    }
}

impl<K, V, S> Drop for Miss<'_, K, V, S> {
    fn drop(&mut self) {
        if let Some((ticket, abandon)) = self.claim.take() {
            abandon(self.cache, ticket);
        }
    }
}
