//! [`Miss`]: a lookup that missed, and how its value reaches the store and
//! the threads that wait for it.

use core::hash::Hash;
use core::sync::atomic::Ordering::Release;

use super::Cache;
use crate::flight::{Held, State, Ticket};
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
    /// Counts a thread's claim as held while the miss is open (read by
    /// nobody: its `Drop` is what counts).
    pub(super) _held: Option<Held>,
}

/// Gives a claim up (the body panicked): known where the bounds are, called
/// from `Drop`, where they are not.
type Abandon<K, V, S> = fn(&Cache<K, V, S>, Ticket);

impl<'c, K: Hash + Eq + Clone, V: Clone, S: Store<K, V>> Miss<'c, K, V, S> {
    pub(super) fn claimed(cache: &'c Cache<K, V, S>, key: K, ticket: Ticket) -> Self {
        let held = ticket.thread.then(Held::new);
        Miss { cache, key: Some(key), claim: Some((ticket, Cache::abandon)), _held: held }
    }

    /// Stores a clone of `value` under the missed key, hands it to the threads
    /// that wait for it, and returns `value`. A store that fails to keep it
    /// changes nothing for the caller.
    #[inline]
    pub fn complete(mut self, value: V) -> V {
        let key = self.key.take();
        self.settle(key, &value);
        value
    }

    /// Hands `value` to the threads that wait for it and returns it, without
    /// storing it: for results that are not to be cached (an `Err`, by default).
    pub fn complete_uncached(mut self, value: V) -> V {
        self.key = None;
        self.settle(None, &value);
        value
    }

    /// Stores `key` with `value` (if given) and settles the claim with it.
    /// The value is stored before the claim is settled, so a thread that
    /// misses meanwhile finds either the claim or the value.
    fn settle(&mut self, key: Option<K>, value: &V) {
        let store = &self.cache.store;
        match self.claim.take() {
            Some((ticket, _)) if S::__FLIGHTS && !ticket.cache_side => {
                store.__settle(ticket, key, Some(value))
            }
            claim => {
                if let Some(key) = key {
                    if let Err(error) = store.insert(key, value.clone()) {
                        self.cache.store_failed(&error);
                    }
                }
                // Stored (or not) before the claim goes: a lookup that began
                // before this looks again (see `recheck`).
                self.cache.settles.fetch_add(1, Release);
                if let (Some((ticket, _)), Some(flights)) = (claim, self.cache.flights.get()) {
                    flights.settle(&ticket, || State::Done(value.clone()));
                }
            }
        }
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
        if let (true, Some(key)) = (keep, self.key.take()) {
            let (cache, stored) = (self.cache, value.clone());
            crate::offload::spawn(move || {
                if let Err(error) = cache.store.insert(key, stored) {
                    cache.store_failed(&error);
                }
            });
        }
        self.settle(None, &value);
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
