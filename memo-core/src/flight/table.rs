//! [`Table`]: the keys in flight of one part, and how a miss claims, waits
//! for, or takes over one of them.

use core::hash::Hash;
use core::task::Waker;

use super::entries::Entries;

use super::{Claim, REENTRY_LIMIT, Reentry, TASK, ThreadId, Ticket, current_thread, holds_claims, small};
use crate::store::key::KeyView;
use crate::sync::Condvar;

/// The keys in flight of one part: the concurrent misses and the open
/// recursion levels whose keys fall in this part, which a deep recursion
/// makes thousands, so a hash table by the entries' own hashes (found by
/// hash and id, a settle never runs the user's `Eq`). An entry holds the
/// missed key itself from the claim to the settle, which moves it into the
/// store: a miss never clones its key.
pub(crate) struct Table<K, V> {
    pub(super) entries: Entries<K, V>,
    /// Numbers the entries of this part, so that a claim finds its own.
    pub(super) next_id: u64,
    /// Which part of its store or cache this table is in: a claim's
    /// ticket names it, since a growing store (see `Shards`) may place the
    /// key elsewhere by the time the claim is settled.
    pub(super) part: u16,
    /// Whether this is a cache's own table ([`Flights`]), not a store's.
    pub(super) cache_side: bool,
}

pub(super) struct Entry<K, V> {
    pub(super) hash: u64,
    /// The key, until the settle takes it to the store.
    pub(super) key: Option<K>,
    pub(super) id: u64,
    pub(super) owner: ThreadId,
    /// Times the owner came back to this key from inside its computation
    /// (see [`REENTRY_LIMIT`]).
    pub(super) reentries: u32,
    /// The owner's turn (see [`Ticket`]).
    pub(super) turn: u32,
    /// Begun before a `clear()` of the cache, or a `refresh()` of the key,
    /// that came since: its value is not stored, and later callers neither
    /// wait for it nor get it (the callers that wait already get it).
    pub(super) stale: bool,
    pub(super) waiters: u32,
    /// The tasks among the waiters (async lookups), to wake when it settles.
    /// Boxed: most entries never have one, and a part keeps its first
    /// entry inline (8 bytes, where a `Vec` is 24).
    #[allow(clippy::box_collection, reason = "a thin pointer, for the entry kept inline")]
    pub(super) wakers: Option<Box<Vec<Waker>>>,
    /// The cache's epoch when the computation was claimed: its value is
    /// stored only if no `clear()` or `refresh()` came since (see
    /// `Cache::epoch`).
    pub(super) born: u64,
    pub(super) state: State<V>,
}

impl<K, V> Entry<K, V> {
    /// `me` computes this abandoned entry now.
    pub(super) fn take_over(&mut self, me: ThreadId, cache_side: bool, part: u16) -> Ticket {
        self.owner = me;
        self.state = State::Running;
        self.turn = self.turn.wrapping_add(1);
        Ticket { hash: self.hash, id: self.id, turn: self.turn, part, cache_side, thread: me != TASK }
    }
}

/// Where a computation stands.
pub(crate) enum State<V> {
    Running,
    Done(V),
    Abandoned,
}

impl<K, V> Entry<K, V> {
    /// The entry of a claim of `key` by `owner`, running.
    pub(super) fn new(hash: u64, key: K, id: u64, owner: ThreadId, born: u64) -> Self {
        Entry {
            hash,
            key: Some(key),
            id,
            owner,
            reentries: 0,
            turn: 0,
            stale: false,
            waiters: 0,
            wakers: None,
            born,
            state: State::Running,
        }
    }
}

/// Whom a settled entry wakes, once its lock is released.
#[must_use]
pub(crate) struct Wake {
    threads: bool,
    tasks: Vec<Waker>,
}

impl Wake {
    /// Wakes the threads that sleep on `settled`, and the tasks.
    #[inline]
    pub(crate) fn run(self, settled: &Condvar) {
        // Tasks wait only where threads may: none of either, usually.
        if self.threads {
            settled.notify_all();
            self.tasks.into_iter().for_each(Waker::wake);
        }
    }
}

/// What a thread that missed does next.
pub(crate) enum Probe<V> {
    /// Nobody computes the key: claim it.
    Absent,
    /// This thread computes it already, further down its stack: it computes
    /// it again, without a claim (waiting for itself would never end). A
    /// same-key call is not always a loop: `key = n / 2` with `f(n)` calling
    /// `f(n - 1)`, or a work-stealing pool whose waiting thread runs a job
    /// that needs a key it holds.
    Reentered,
    /// Another thread computes it, and this one is inside a computation of
    /// its own, so waiting could close a cycle: it computes the key itself,
    /// without a claim.
    Busy,
    /// This thread has come back to the key more than [`REENTRY_LIMIT`]
    /// times while computing it: infinite recursion.
    Reentry,
    /// Another thread computed it.
    Value(V),
    /// This thread computes it, under this claim (whose entry holds the key).
    Compute(Ticket),
    /// Another thread computes it: wait for entry `id`.
    Wait(u64),
}

impl<K, V> Table<K, V> {
    pub(crate) const fn new() -> Self {
        Self::at(0)
    }

    /// The empty table of part `part`.
    pub(crate) const fn at(part: usize) -> Self {
        Table { entries: Entries::new(), next_id: 0, part: small(part), cache_side: false }
    }

    /// The tables of parts `1..count` for a store or cache that grows
    /// (see `Shards`), empty; `None` while this one has claims in flight,
    /// which would not be found at their keys' new places.
    pub(crate) fn parts_after(&self, count: usize) -> Option<Vec<Self>> {
        if !self.entries.is_empty() {
            return None;
        }
        Some((1..count).map(|part| Table { cache_side: self.cache_side, ..Table::at(part) }).collect())
    }

    /// Settles `ticket` with `value` (`None`: abandoned, for a waiter to take
    /// over): its entry goes if nobody waits for it, else takes a clone of
    /// the value and the waiters are to be woken. What is removed is
    /// returned, to be dropped once the lock is released, and so is the
    /// panic of a `Clone` that panicked, to be resumed then: the entry is
    /// abandoned instead, and its waiters still woken.
    #[inline]
    pub(crate) fn settle(&mut self, ticket: &Ticket, value: Option<&V>) -> Settled<K>
    where
        V: Clone,
    {
        self.settle_keeping(ticket, value, |_| false, |_| ())
    }

    /// [`settle`](Table::settle), storing the value first: unless a
    /// `clear()` or `refresh()` came since the computation began (its entry
    /// is stale, or `current` says so), `store` gets the entry's key, to
    /// store the value under (the caller has the value). Both in one look
    /// at the entry, under the lock of the part that stores.
    #[inline]
    pub(crate) fn settle_keeping(
        &mut self,
        ticket: &Ticket,
        value: Option<&V>,
        current: impl FnOnce(u64) -> bool,
        store: impl FnOnce(&mut Option<K>),
    ) -> Settled<K>
    where
        V: Clone,
    {
        let mut settled =
            Settled { wake: Wake { threads: false, tasks: Vec::new() }, removed: None, panic: None };
        let Some(mut found) =
            self.entries.find_entry(ticket.hash, |e| e.id == ticket.id && e.turn == ticket.turn)
        else {
            return settled;
        };
        let e = found.get_mut();
        // The key stays in the entry until the store has it: if the user's
        // `Hash` or `Eq` panics in the store, the claim is given up with its
        // key, and a waiter that takes it over can still store its value.
        if !e.stale && e.key.is_some() && current(e.born) {
            store(&mut e.key);
        }
        if e.waiters == 0 {
            settled.removed = found.remove().key;
            return settled;
        }
        e.state = match value.map(|value| crate::parts::nesting::catch(|| value.clone())) {
            Some(Ok(value)) => State::Done(value),
            Some(Err(panic)) => {
                settled.panic = Some(panic);
                State::Abandoned
            }
            None => State::Abandoned,
        };
        settled.wake = Wake { threads: true, tasks: e.wakers.take().map_or_else(Vec::new, |tasks| *tasks) };
        settled
    }

    /// `clear()`: every computation running now is from before it.
    pub(crate) fn forget_all(&mut self) {
        self.entries.iter_mut().for_each(|e| e.stale = true);
    }

    /// Whether a computed value is to be stored: no `clear()` or
    /// `refresh()` came since its computation began. Its claim's entry
    /// says so, if it has one (`ticket`), and so does `current`, the
    /// cache's epoch (of any key's refresh: a nested refresh may not have
    /// marked its key's entries, see `nesting`).
    #[inline]
    pub(crate) fn keeps(&self, ticket: Option<&Ticket>, current: impl FnOnce(u64) -> bool) -> bool {
        match ticket {
            Some(ticket) => self
                .entries
                .find(ticket.hash, |e| e.id == ticket.id && e.turn == ticket.turn)
                .is_some_and(|e| !e.stale && current(e.born)),
            // A miss without a claim knows its own epoch.
            None => current(0),
        }
    }

    /// The key that `ticket`'s entry holds, taken out to be stored by the
    /// caller, unless a `clear()` or `refresh()` came since the computation
    /// began.
    pub(crate) fn take_key(&mut self, ticket: &Ticket) -> Option<(K, u64)> {
        let e = self.entries.find_mut(ticket.hash, |e| e.id == ticket.id && e.turn == ticket.turn)?;
        if e.stale { None } else { Some((e.key.take()?, e.born)) }
    }

    /// A waiting task that gives up (its future was dropped) before it was
    /// answered: it no longer waits, and a settled entry that nobody else
    /// waits for goes (returned, to be dropped after the lock).
    #[cfg(feature = "async")]
    pub(super) fn leave(&mut self, hash: u64, id: u64) -> Option<K> {
        let mut found = self.entries.find_entry(hash, |e| e.id == id)?;
        let e = found.get_mut();
        e.waiters -= 1;
        if e.waiters == 0 && !matches!(e.state, State::Running) {
            return found.remove().key;
        }
        None
    }
}

/// What settling a claim leaves to do once the lock is released.
#[must_use]
pub(crate) struct Settled<K> {
    pub(crate) wake: Wake,
    /// The entry's key, if it went: the user's type, dropped after the lock.
    pub(crate) removed: Option<K>,
    /// The panic of the value's `Clone` for the waiters.
    pub(crate) panic: Option<crate::parts::nesting::Panic>,
}

impl<K> Settled<K> {
    /// Wakes the waiters (threads on `settled`), drops what went, and
    /// passes a panic of the user's `Clone` on to the caller.
    #[inline]
    pub(crate) fn finish(self, settled: &Condvar) {
        self.wake.run(settled);
        drop(self.removed);
        if let Some(panic) = self.panic {
            resume(panic);
        }
    }
}

/// Passes on a panic caught under a lock.
#[cold]
#[inline(never)]
pub(super) fn resume(panic: crate::parts::nesting::Panic) -> ! {
    std::panic::resume_unwind(panic)
}

impl<K: Hash + Eq + Clone, V: Clone> Table<K, V> {
    /// `refresh()` of the key that `matches`: the computations of it running
    /// now are from before it.
    pub(crate) fn forget(&mut self, hash: u64, matches: impl Fn(&K) -> bool) {
        self.entries.each_of_hash(hash, |e| {
            if e.key.as_ref().is_some_and(&matches) {
                e.stale = true;
            }
        });
    }

    /// Looks for a computation of the key that `matches`. A settled entry,
    /// kept for its waiters, or a stale one, is not: a caller that comes
    /// now computes (or finds) a value of its own. `nested`: this thread is
    /// inside memo's bookkeeping (see `nesting`) and must not wait.
    #[inline]
    pub(crate) fn probe(
        &mut self,
        hash: u64,
        matches: impl Fn(&K) -> bool,
        me: ThreadId,
        nested: bool,
    ) -> Probe<V> {
        let found = self.entries.find_mut(hash, |e| {
            !e.stale && !matches!(e.state, State::Done(_)) && e.key.as_ref().is_some_and(&matches)
        });
        let Some(entry) = found else {
            return Probe::Absent;
        };
        match &entry.state {
            State::Running if entry.owner == me && me != TASK => {
                entry.reentries += 1;
                if entry.reentries > REENTRY_LIMIT { Probe::Reentry } else { Probe::Reentered }
            }
            State::Done(_) => Probe::Absent,
            State::Abandoned => {
                // Its computer panicked; this thread takes over, and whoever
                // waits keeps waiting, for this thread now.
                Probe::Compute(entry.take_over(me, self.cache_side, self.part))
            }
            State::Running if me != TASK && (nested || holds_claims()) => Probe::Busy,
            State::Running => {
                entry.waiters += 1;
                Probe::Wait(entry.id)
            }
        }
    }

    /// Claims `key`, which the entry keeps until the settle stores it, for
    /// `me`.
    #[inline]
    pub(crate) fn claim(&mut self, hash: u64, key: K, me: ThreadId, born: u64) -> Ticket {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.entries.insert(Entry::new(hash, key, id, me, born));
        Ticket { part: self.part, hash, id, turn: 0, cache_side: self.cache_side, thread: me != TASK }
    }

    /// After a wake-up: `None` while entry `id` still runs; else the value
    /// (the last waiter removes the entry), or the computation to take over.
    pub(super) fn woken(&mut self, hash: u64, id: u64, me: ThreadId) -> Option<Probe<V>> {
        let (cache_side, part) = (self.cache_side, self.part);
        let Some(mut found) = self.entries.find_entry(hash, |e| e.id == id) else {
            // Unreachable: an entry with waiters stays until they leave.
            return Some(Probe::Absent);
        };
        let e = found.get_mut();
        match &e.state {
            State::Running => None,
            State::Done(value) => {
                // Counted out before the clone, which is the user's and may
                // panic: the entry never keeps a waiter that left.
                e.waiters -= 1;
                if e.waiters > 0 {
                    return Some(Probe::Value(value.clone()));
                }
                match found.remove().state {
                    State::Done(value) => Some(Probe::Value(value)),
                    State::Running | State::Abandoned => None,
                }
            }
            State::Abandoned => {
                e.waiters -= 1;
                Some(Probe::Compute(e.take_over(me, cache_side, part)))
            }
        }
    }
}

/// Sleeps on `settled` until entry `id` of the table that `table` finds in
/// the locked part is settled; returns the value or the computation to take
/// over (or [`Probe::Absent`], which cannot happen).
pub(crate) fn wait<G, K: Hash + Eq + Clone, V: Clone>(
    guard: &mut G,
    sleep: &mut impl FnMut(&mut G),
    table: impl Fn(&mut G) -> &mut Table<K, V>,
    hash: u64,
    id: u64,
    me: ThreadId,
) -> Probe<V> {
    loop {
        sleep(guard);
        if let Some(probe) = table(guard).woken(hash, id, me) {
            return probe;
        }
    }
}

/// Under the lock of a part, after a miss: waits for the thread that
/// computes the key, or, unless `recheck` finds the value stored after all,
/// claims it for this thread. `table` finds the part's claims. A same-thread
/// re-entry is `Claim::Unsupported` (compute without a claim); `Err` is one
/// past [`REENTRY_LIMIT`]: the caller releases the lock and calls [`reentry`].
#[allow(clippy::too_many_arguments, reason = "the parts of one step, each from another place")]
pub(crate) fn claim_in<G, K, V, Q>(
    part: &mut G,
    mut sleep: impl FnMut(&mut G),
    table: impl Fn(&mut G) -> &mut Table<K, V>,
    hash: u64,
    key: &Q,
    nested: bool,
    refresh: bool,
    born: u64,
    recheck: impl FnOnce() -> Option<V>,
) -> Result<Claim<V>, Reentry>
where
    K: Hash + Eq + Clone,
    V: Clone,
    Q: KeyView<Owned = K> + ?Sized,
{
    let me = current_thread();
    if refresh {
        table(part).forget(hash, |k| key.matches(k));
    }
    let mut probe = table(part).probe(hash, |k| key.matches(k), me, nested);
    if let Probe::Wait(id) = probe {
        probe = wait(part, &mut sleep, &table, hash, id, me);
    }
    match probe {
        Probe::Reentry => Err(Reentry),
        Probe::Reentered | Probe::Busy => Ok(Claim::Unsupported),
        Probe::Wait(_) | Probe::Absent => Ok(claim_absent(table(part), hash, key, recheck, me, born)),
        Probe::Value(value) => Ok(Claim::Value(value)),
        Probe::Compute(ticket) => Ok(Claim::Compute(ticket)),
    }
}

/// Nobody computes the key: unless `recheck` finds it stored after all, `me`
/// claims it.
pub(super) fn claim_absent<K, V, Q>(
    table: &mut Table<K, V>,
    hash: u64,
    key: &Q,
    recheck: impl FnOnce() -> Option<V>,
    me: ThreadId,
    born: u64,
) -> Claim<V>
where
    K: Hash + Eq + Clone,
    V: Clone,
    Q: KeyView<Owned = K> + ?Sized,
{
    if let Some(value) = recheck() {
        return Claim::Value(value);
    }
    Claim::Compute(table.claim(hash, key.to_owned_key(), me, born))
}

#[cfg(test)]
mod tests {
    use super::{Probe, Table};

    #[test]
    fn a_claim_with_the_id_of_another_keys_entry_settles_its_own() {
        // Ids are numbered per part; should one come back (2^64 claims
        // later, or by a fault), a ticket must still find only the entry of
        // its own hash. hashbrown's `find` trusts the closure alone: with
        // ids compared and not hashes, the settle of key 6 took the entry
        // of key 2, and key 2's waiter got key 6's value (found in review).
        let mut table: Table<u64, u64> = Table::new();
        let _inline = table.claim(100, 100, 7, 0);
        let _long = table.claim(2, 2, 7, 0);
        let Probe::Wait(id) = table.probe(2, |k| *k == 2, 8, false) else { panic!("no wait for key 2") };
        table.next_id = id;
        let newer = table.claim(6, 6, 9, 0);
        assert_eq!(newer.id, id, "the same id again");
        let found = table.entries.find(newer.hash, |e| e.id == newer.id && e.turn == newer.turn);
        assert_eq!(found.map(|e| e.hash), Some(6));
        drop(table.settle(&newer, Some(&666)));
        assert!(table.woken(2, id, 8).is_none(), "key 2 still runs: its waiter keeps waiting");
        assert!(table.entries.find(6, |e| e.id == id).is_none(), "key 6's entry went");
    }
}
