//! [`Miss`]: a lookup that missed, and how its value reaches the store and
//! the threads that wait for it.

use core::hash::Hash;
use core::sync::atomic::Ordering::Release;

use super::Cache;
use crate::flight::{self, Ticket};
use crate::store::key::Exact;
use crate::store::{Store, StoreError};

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
///
/// Small (32 bytes with a `u64` key), since a memoized recursion keeps one
/// in every level's frame: the cache's epoch when the miss began is kept
/// in its claim's entry, and how to give a claim up in the cache.
pub struct Miss<'c, K, V, S> {
    pub(super) cache: &'c Cache<K, V, S>,
    pub(super) hold: Hold<K>,
}

/// What a miss holds until it is completed.
pub(super) enum Hold<K> {
    /// The single-flight claim, whose entry holds the key. Counted in the
    /// thread's claims (`flight::hold`) while it is open, if a thread's.
    Claimed(Ticket),
    /// The owned key, for a miss without a claim, and the cache's epoch
    /// when the miss began: its value is stored only if no `clear()` or
    /// `refresh()` came since.
    Unclaimed(K, u64),
    /// Completed.
    Spent,
}

impl<'c, K, V, S> Miss<'c, K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    pub(super) fn claimed(cache: &'c Cache<K, V, S>, ticket: Ticket) -> Self {
        if ticket.thread {
            flight::hold();
        }
        // Known here, where the bounds are, for `Drop`, where they are not.
        cache.abandon.get_or_init(|| Cache::abandon);
        Miss { cache, hold: Hold::Claimed(ticket) }
    }

    pub(super) fn unclaimed(cache: &'c Cache<K, V, S>, key: K) -> Self {
        Miss { cache, hold: Hold::Unclaimed(key, cache.epoch()) }
    }

    /// Stores a clone of `value` under the missed key, hands it to the threads
    /// that wait for it, and returns `value`. A store that fails to keep it
    /// changes nothing for the caller.
    #[inline(never)]
    pub fn complete(mut self, value: V) -> V {
        self.settle_and_release(true, &value);
        value
    }

    /// [`complete`](Miss::complete) (or, unless `keep`,
    /// [`complete_uncached`](Miss::complete_uncached)) of a miss that stays
    /// where it is: what `#[memoize]` calls, so that the miss is not copied
    /// into the call. The miss is spent: dropping it then does nothing.
    ///
    /// Inline, around the work out of line: the caller then sees that the
    /// miss is spent, and its drop glue, with the register it would keep
    /// across the call, goes from every level's frame.
    #[doc(hidden)]
    #[inline(always)]
    pub fn complete_in_place(&mut self, value: V, keep: bool) -> V {
        let value = self.complete_here(value, keep);
        // Spent already: what was there needs no drop.
        core::mem::forget(core::mem::replace(&mut self.hold, Hold::Spent));
        value
    }

    #[inline(never)]
    fn complete_here(&mut self, value: V, keep: bool) -> V {
        self.settle_and_release(keep, &value);
        value
    }

    /// Hands `value` to the threads that wait for it and returns it, without
    /// storing it: for results that are not to be cached (an `Err`, by default).
    pub fn complete_uncached(mut self, value: V) -> V {
        self.settle_and_release(false, &value);
        value
    }

    /// [`settle`](Miss::settle), then tells the store of a key whose value
    /// it will not get (see [`Store::abandoned`]).
    fn settle_and_release(&mut self, store: bool, value: &V) {
        if let Some(key) = self.settle(store, value) {
            self.cache.store.abandoned(&Exact(&key));
        }
    }

    /// Stores `value` (if `store`) under the missed key (the claim's, or
    /// the miss's own) and settles the claim with it. The value is stored
    /// before the claim is settled, under the same lock, so a thread that
    /// misses meanwhile finds either the claim or the value. The claim
    /// stays with the miss until it is settled: if the user's `Clone` or
    /// store panics before, the miss's `Drop` gives it up. Returns the key
    /// of a value that a user's store will not get (`store` is false), for
    /// [`Store::abandoned`]: not called here, since an async miss calls it
    /// on memo's I/O threads.
    fn settle(&mut self, store: bool, value: &V) -> Option<K> {
        let cache = self.cache;
        // An unclaimed key is taken at once (its insert may panic); a claim
        // stays until it is settled, for `Drop` to give up if that panics.
        let (key, own) = match core::mem::replace(&mut self.hold, Hold::Spent) {
            Hold::Unclaimed(key, born) => (Some(key), Some(born)),
            Hold::Claimed(ticket) => {
                self.hold = Hold::Claimed(ticket);
                (None, None)
            }
            Hold::Spent => return None,
        };
        // The epoch the value was computed in: the claim's entry's, or the
        // miss's own.
        let current = move |claimed: u64| store && cache.epoch() == own.unwrap_or(claimed);
        let in_store = cache.claims_in_store();
        let mut abandoned = None;
        match &self.hold {
            Hold::Claimed(ticket) if in_store && !ticket.cache_side => {
                cache.settle_in_store(Some(ticket), None, store, Some(value), &current);
            }
            Hold::Claimed(ticket) => match cache.flights.get() {
                Some(flights) if !store => abandoned = flights.settle_unkept(ticket, Some(value)),
                Some(flights) => flights.settle_keeping(ticket, Some(value), current, |key| {
                    // A store of the user's takes the key by value.
                    if let Some(key) = key.take() {
                        cache.keep(S::insert, key, value);
                    }
                }),
                None => {}
            },
            _ if in_store => cache.settle_in_store(None, key, store, Some(value), &current),
            _ => match key {
                Some(key) if store => {
                    cache.flights().keep(key, || current(0), |key| cache.keep(S::insert, key, value))
                }
                key => abandoned = key,
            },
        }
        if let Hold::Claimed(ticket) = core::mem::replace(&mut self.hold, Hold::Spent) {
            if ticket.thread {
                flight::unhold();
            }
        }
        abandoned
    }
}

impl<K, V: Clone, S: Store<K, V>> Cache<K, V, S> {
    /// Stores a clone of `value` under `key` with `insert` (the store's
    /// [`insert`](Store::insert), or for an async miss on a store that
    /// blocks, its [`insert_in_process`](Store::insert_in_process)) in a
    /// store that keeps no claims, under the lock of the cache's flight
    /// table that settles the miss: a lookup that began before this and
    /// finds no claim then looks again (see `recheck`).
    fn keep(&self, insert: impl FnOnce(&S, K, V) -> Result<(), StoreError>, key: K, value: &V) {
        if let Err(error) = insert(&self.store, key, value.clone()) {
            self.store_failed(&error);
        }
        self.settles.fetch_add(1, Release);
    }
}

#[cfg(feature = "async")]
impl<K, V, S> Miss<'static, K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    /// [`complete`](Miss::complete) for a store that blocks on the network,
    /// from an `async fn`: the value goes to the in-process part of the
    /// store in line ([`Store::insert_in_process`]) and to the waiting tasks
    /// at once, and to the whole store on an I/O thread of the cache's lane.
    /// A lookup that starts before the store has it may compute it again; it
    /// never gets a wrong value.
    pub(crate) fn complete_offloaded(mut self, value: V, keep: bool) -> V {
        let cache = self.cache;
        // In line, as a sync miss stores: under the flight table's lock,
        // unless a `clear()` or `refresh()` came since the miss began, so
        // that one that comes now wins (see `Flights::settle_keeping`). A
        // store with nothing in the process gets no clones for nothing.
        let in_process = |key: &K| {
            if S::IN_PROCESS {
                cache.keep(S::insert_in_process, key.clone(), &value);
            } else {
                cache.settles.fetch_add(1, Release);
            }
        };
        let key = match (keep, &mut self.hold) {
            (false, _) => None,
            (true, Hold::Claimed(ticket)) => cache.flights_made().and_then(|flights| {
                flights.take_key(ticket, |key, born| {
                    if cache.epoch() == born {
                        in_process(key);
                    }
                })
            }),
            (true, hold) => match core::mem::replace(hold, Hold::Spent) {
                Hold::Unclaimed(key, born) => {
                    cache.flights().keep(key.clone(), || cache.epoch() == born, |key| in_process(&key));
                    Some((key, born))
                }
                _ => None,
            },
        };
        if let Some((key, born)) = key {
            let stored = value.clone();
            cache.lane().spawn(move || {
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
        if let Some(key) = self.settle(false, &value) {
            cache.lane().spawn(move || cache.store.abandoned(&Exact(&key)));
        }
        value
    }
}

impl<K, V, S> Miss<'_, K, V, S> {
    /// The claim this miss computes, in the cache's own table, if it has one:
    /// what a body computing it is polled under (see `flight::computing`).
    #[cfg(feature = "async")]
    pub(crate) fn mark(&self) -> Option<crate::flight::Mark> {
        let Hold::Claimed(ticket) = &self.hold else { return None };
        Some(self.cache.flights_made()?.mark(ticket))
    }
}

impl<K, V, S> Drop for Miss<'_, K, V, S> {
    #[inline]
    fn drop(&mut self) {
        if matches!(self.hold, Hold::Claimed(_)) {
            self.give_up();
        }
    }
}

impl<K, V, S> Miss<'_, K, V, S> {
    /// Gives the claim up: the body did not return. Out of line, so that
    /// the frame of a memoized function, which every level of a recursion
    /// keeps, has no room for it.
    #[cold]
    #[inline(never)]
    fn give_up(&mut self) {
        if let Hold::Claimed(ticket) = core::mem::replace(&mut self.hold, Hold::Spent) {
            let thread = ticket.thread;
            // Set by `claimed`, which made this miss.
            if let Some(abandon) = self.cache.abandon.get() {
                abandon(self.cache, ticket);
            }
            if thread {
                flight::unhold();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Miss;
    use crate::Unbounded;

    #[test]
    fn a_miss_of_a_u64_key_is_32_bytes() {
        // A memoized recursion keeps one in every level's frame.
        assert!(core::mem::size_of::<Miss<'_, u64, u64, Unbounded<u64, u64>>>() <= 32);
    }
}
