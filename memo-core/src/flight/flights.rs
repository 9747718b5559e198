//! [`Flights`]: the keys in flight of a cache whose store keeps no claims
//! of its own (a user's store, a shared one, two tiers).

use core::hash::Hash;

#[cfg(feature = "async")]
use super::computing;
use super::table::{Table, claim_in};
use super::{Claim, Reentry, Ticket, reentry};
#[cfg(feature = "async")]
use super::{Mark, Waiting};
#[cfg(feature = "async")]
use super::{TASK, table::Probe, table::claim_absent};
use crate::parts::{DEFAULT_SHARDS, Shards, WriteGuard};
use crate::store::key::{KeyView, hash_view};
#[cfg(feature = "async")]
use core::task::Waker;

/// The keys in flight of one cache over a store that keeps none itself,
/// split by hash like the stores: [`Shards`] of tables (read only under
/// their locks).
pub(crate) struct Flights<K, V> {
    shards: Shards<Table<K, V>>,
}

impl<K, V> Flights<K, V> {
    pub(crate) fn new() -> Self {
        let first = Table { cache_side: true, ..Table::new() };
        Flights {
            shards: Shards::growing(DEFAULT_SHARDS, false, (first, ()), |table, (), count, _, _| {
                Some(table.parts_after(count)?.into_iter().map(|table| (table, ())).collect())
            }),
        }
    }

    /// Settles `ticket` with `value`, not stored (`None`: abandoned), and
    /// wakes whoever waits for it; returns its key if its entry went
    /// (nobody waits for it, or to take it over).
    pub(crate) fn settle_unkept(&self, ticket: &Ticket, value: Option<&V>) -> Option<K>
    where
        V: Clone,
    {
        let mut table = self.shards.lock(ticket.part());
        let mut settled = table.settle(ticket, value);
        drop(table);
        let removed = settled.removed.take();
        settled.finish(self.shards.settled(ticket.part()));
        removed
    }

    /// [`settle_unkept`](Flights::settle_unkept), after `store` (the user's store keeping
    /// the value) has the claimed key, under the lock of the claim's part,
    /// unless a `clear()` or `refresh()` came since the value's computation
    /// began: the claim's entry says so, and `current`. Under the lock, so
    /// that a `clear()`, which marks every part in turn before it clears the
    /// store, either comes after and removes the value, or came before and
    /// is seen.
    pub(crate) fn settle_keeping(
        &self,
        ticket: &Ticket,
        value: Option<&V>,
        current: impl FnOnce(u64) -> bool,
        store: impl FnOnce(&mut Option<K>),
    ) where
        V: Clone,
    {
        let mut table = self.shards.lock(ticket.part());
        let settled = table.settle_keeping(ticket, value, current, store);
        drop(table);
        settled.finish(self.shards.settled(ticket.part()));
    }

    /// [`settle_keeping`](Flights::settle_keeping) for a value computed
    /// without a claim: `store` has `key`, under the lock of its part, if
    /// `current`. Inside memo's bookkeeping, only if that lock is free.
    pub(crate) fn keep(&self, key: K, current: impl FnOnce() -> bool, store: impl FnOnce(K))
    where
        K: Hash,
    {
        let Some(table) = self.shards.enter_for(self.shards.hash_one(&key)) else { return };
        if current() {
            store(key);
        }
        drop(table);
    }

    /// The key that `ticket` holds, to be stored by the caller (not under
    /// this lock), unless a `clear()` came since, with the epoch its
    /// computation began in; `keep` has them first, under the lock, to
    /// store what can be stored at once (as `settle_keeping`'s `store`).
    #[cfg(feature = "async")]
    pub(crate) fn take_key(&self, ticket: &Ticket, keep: impl FnOnce(&K, u64)) -> Option<(K, u64)> {
        let mut table = self.shards.lock(ticket.part());
        let (key, born) = table.take_key(ticket)?;
        keep(&key, born);
        drop(table);
        Some((key, born))
    }

    /// `clear()`: every computation running now is from before it.
    pub(crate) fn forget_all(&self) {
        self.shards.each(|table| table.forget_all());
    }

    /// What tells this table apart from others in a [`Mark`].
    #[cfg(feature = "async")]
    fn address(&self) -> usize {
        core::ptr::from_ref(self).addr()
    }

    /// The mark of `ticket`, a claim of this table, for [`computing`].
    #[cfg(feature = "async")]
    pub(crate) fn mark(&self, ticket: &Ticket) -> Mark {
        Mark {
            flights: self.address(),
            at: Waiting { part: ticket.part(), hash: ticket.hash, id: ticket.id },
        }
    }

    /// A waiting task gives up before it was answered.
    #[cfg(feature = "async")]
    pub(crate) fn leave(&self, at: Waiting) {
        let removed = self.shards.lock(at.part).leave(at.hash, at.id);
        drop(removed);
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Flights<K, V> {
    /// Called after a miss in the store: waits for the thread that computes
    /// this key, if any, else claims it. `recheck` looks in the store again,
    /// under this part's lock: a thread that finished between the caller's
    /// miss and now has stored its value before it left the flight table.
    ///
    /// A calling thread that is computing this very key already computes it
    /// again, unclaimed; past [`REENTRY_LIMIT`] re-entries, that is infinite
    /// recursion, and a panic.
    ///
    /// `refresh`: the caller recomputes the key whatever runs now.
    pub(crate) fn enter<Q>(
        &self,
        view: &Q,
        name: &str,
        refresh: bool,
        born: u64,
        recheck: impl FnOnce() -> Option<V>,
    ) -> Claim<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(self.shards.hasher(), view);
        // Inside memo's bookkeeping and the part is taken: no claim.
        let Some(mut table) = self.shards.enter_for(hash) else { return Claim::Unsupported };
        let nested = table.nested;
        let sleep = |t: &mut WriteGuard<'_, Table<K, V>>| self.shards.wait(t);
        let claim = claim_in(&mut table, sleep, |t| &mut **t, hash, view, nested, refresh, born, recheck);
        drop(table);
        claim.unwrap_or_else(|Reentry| reentry(name))
    }

    /// [`enter`](Flights::enter) for a task, which must not block its thread:
    /// `Err` when another computes the key: the entry to be polled with
    /// [`poll`](Flights::poll) until it is settled.
    ///
    /// Panics if the key is being computed by a body that is polling this
    /// lookup (an `async fn` awaiting itself with the same arguments): that
    /// is infinite recursion, and the wait would never end.
    #[cfg(feature = "async")]
    pub(crate) fn enter_async<Q>(
        &self,
        view: &Q,
        name: &str,
        born: u64,
        recheck: impl FnOnce() -> Option<V>,
    ) -> Result<Claim<V>, Waiting>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(self.shards.hasher(), view);
        let Some(mut table) = self.shards.enter_for(hash) else {
            return Ok(Claim::Unsupported);
        };
        let part = table.index();
        match table.probe(hash, |k| view.matches(k), TASK, false) {
            Probe::Wait(id)
                if computing::polls(Mark { flights: self.address(), at: Waiting { part, hash, id } }) =>
            {
                let removed = table.leave(hash, id);
                drop(table);
                drop(removed);
                reentry(name)
            }
            Probe::Wait(id) => Err(Waiting { part, hash, id }),
            Probe::Value(value) => Ok(Claim::Value(value)),
            Probe::Compute(ticket) => Ok(Claim::Compute(ticket)),
            Probe::Absent | Probe::Reentry | Probe::Reentered | Probe::Busy => {
                Ok(claim_absent(&mut table, hash, view, recheck, TASK, born))
            }
        }
    }

    /// Whether entry `id`, which this task waits for, is settled: its value,
    /// or its computation to take over. Until then the task is woken when it
    /// is.
    #[cfg(feature = "async")]
    pub(crate) fn poll(&self, at: Waiting, waker: &Waker) -> core::task::Poll<Claim<V>> {
        use core::task::Poll;
        let Waiting { part, hash, id } = at;
        let mut table = self.shards.lock(part);
        match table.woken(hash, id, TASK) {
            Some(Probe::Value(value)) => Poll::Ready(Claim::Value(value)),
            Some(Probe::Compute(ticket)) => Poll::Ready(Claim::Compute(ticket)),
            // Unreachable (an entry with waiters stays until they leave):
            // computing it again is right in any case.
            Some(Probe::Absent | Probe::Reentry | Probe::Reentered | Probe::Busy | Probe::Wait(_)) => {
                Poll::Ready(Claim::Unsupported)
            }
            None => {
                if let Some(e) = table.entries.find_mut(hash, |e| e.id == id) {
                    let wakers = e.wakers.get_or_insert_with(Box::default);
                    if !wakers.iter().any(|w| w.will_wake(waker)) {
                        wakers.push(waker.clone());
                    }
                }
                Poll::Pending
            }
        }
    }
}
