//! Single-flight: the keys being computed right now, so that threads that miss
//! the same key at once run the body once and the others wait for its value.
//!
//! Each key in flight has an entry in a [`Table`]: who computes it, how many
//! wait, and its state. The built-in stores keep a table in each of their
//! parts, under the part's own lock, so that a miss claims its key in the same
//! lock as the lookup and a completion settles it in the same lock as the
//! insert. Other stores get a table of their own from the cache ([`Flights`]).
//! Waiters sleep on their part's `Condvar`. The computing thread settles its
//! claim with the value when the body returns, or as abandoned when the body
//! panics, in which case one waiter takes the computation over. Threads on
//! other keys never touch the entry, and no lock is held while a body runs.

use core::hash::Hash;
use core::ops::DerefMut;
use core::task::Waker;

use hashbrown::HashTable;

use crate::sync::Condvar;

use crate::key::{KeyView, hash_view};
use crate::shards::{DEFAULT_SHARDS, Shards, WriteGuard};

/// What a lookup accepts of what the store holds.
pub(crate) enum Want<'a, V> {
    /// Any value stored.
    Any,
    /// A value that is still fresh; a stale one is removed and counted.
    Fresh(&'a dyn Fn(&V) -> bool),
    /// Nothing: compute the value again (a handle's `refresh`).
    Recompute,
}

// Not derived: that would ask for `V: Copy`.
impl<V> Clone for Want<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Want<'_, V> {}

impl<V> Want<'_, V> {
    /// Whether a stored `value` answers the lookup.
    #[inline]
    pub(crate) fn accepts(&self, value: &V) -> bool {
        match self {
            Want::Any => true,
            Want::Fresh(fresh) => fresh(value),
            Want::Recompute => false,
        }
    }
}

/// What a claiming lookup found.
pub(crate) enum Claim<V> {
    /// A stored value.
    Hit(V),
    /// The value another thread computed while this one waited.
    Value(V),
    /// This thread computes the value, under this claim (which holds the key
    /// until the value is stored).
    Compute(Ticket),
    /// No claim to be had: compute without one.
    Unsupported,
}

/// A store that keeps single-flight claims in its own parts, so that a miss
/// claims its key under the lookup's lock and a completion settles it under
/// the insert's: the built-in in-memory stores, which the cache finds behind
/// its store type (see `Cache::claims`). Every other store, a user's
/// included, gets single-flight from the cache's own table ([`Flights`]).
pub(crate) trait Claims<K, V> {
    /// A lookup that, on a miss, waits for the thread computing the key or
    /// claims it.
    fn claim<Q>(&self, key: &Q, want: Want<'_, V>, name: &str) -> Claim<V>
    where
        Q: KeyView<Owned = K> + ?Sized;

    /// Settles a claim of [`claim`](Claims::claim), or completes a miss
    /// without one (`key`): if `store`, stores `value` under the claimed
    /// key (which the claim's entry holds) or `key`; hands `value` to the
    /// waiting threads, or, with no value, gives the claim up for a waiter
    /// to take over. A value is stored only if no `clear()` or `refresh()`
    /// came since its computation began: the claim's entry says so, and
    /// `current` (called under the lock that stores).
    fn settle(
        &self,
        ticket: Option<&Ticket>,
        key: Option<K>,
        store: bool,
        value: Option<&V>,
        current: &dyn Fn() -> bool,
    ) where
        V: Clone;
}

/// Which thread: the address of a thread-local, unique among the threads
/// alive, and cheaper to get than `std::thread::current().id()` (which clones
/// an `Arc`). A thread's claims are settled before it exits, so an address
/// reused by a later thread never meets a claim of the earlier one.
pub(crate) type ThreadId = usize;

/// The owner of a claim made by an async lookup, and the "thread" of an async
/// lookup: a task moves between threads, so it is never one of them. Never the
/// address of a thread-local.
pub(crate) const TASK: ThreadId = usize::MAX;

thread_local! {
    /// How many claims this thread holds: how many memoized computations are
    /// open on its stack.
    static HELD: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// Counts a claim that this thread holds from its making (`hold`) to its
/// settle or abandon (`unhold`). Only threads' claims are, not tasks'.
pub(crate) fn hold() {
    let _ = HELD.try_with(|held| held.set(held.get().saturating_add(1)));
}

/// See [`hold`].
pub(crate) fn unhold() {
    let _ = HELD.try_with(|held| held.set(held.get().saturating_sub(1)));
}

/// Whether this thread is inside a memoized computation of its own. Such a
/// thread never waits for another's computation: the other may be waiting,
/// in a way memo cannot see (a work-stealing pool's `join`), for this
/// thread's, and the two would wait for ever. It computes the key itself.
fn holds_claims() -> bool {
    HELD.try_with(|held| held.get() > 0).unwrap_or(false)
}

pub(crate) fn current_thread() -> ThreadId {
    thread_local!(static HERE: u8 = const { 0 });
    HERE.with(|here| core::ptr::from_ref(here).addr())
}

/// The keys in flight of one part: the concurrent misses and the open
/// recursion levels whose keys fall in this part, which a deep recursion
/// makes thousands, so a hash table by the entries' own hashes (found by
/// hash and id, a settle never runs the user's `Eq`). An entry holds the
/// missed key itself from the claim to the settle, which moves it into the
/// store: a miss never clones its key.
pub(crate) struct Table<K, V> {
    entries: HashTable<Entry<K, V>>,
    /// Numbers the entries of this part, so that a claim finds its own.
    next_id: u32,
    /// Which part of its store or cache this table is in: a claim's
    /// ticket names it, since a growing store (see `Shards`) may place the
    /// key elsewhere by the time the claim is settled.
    part: usize,
    /// Whether this is a cache's own table ([`Flights`]), not a store's.
    cache_side: bool,
}

struct Entry<K, V> {
    hash: u64,
    /// The key, until the settle takes it to the store.
    key: Option<K>,
    id: u32,
    owner: ThreadId,
    /// Times the owner came back to this key from inside its computation
    /// (see [`REENTRY_LIMIT`]).
    reentries: u32,
    /// The owner's turn (see [`Ticket`]).
    turn: u32,
    /// Begun before a `clear()` of the cache, or a `refresh()` of the key,
    /// that came since: its value is not stored, and later callers neither
    /// wait for it nor get it (the callers that wait already get it).
    stale: bool,
    waiters: usize,
    /// The tasks among the waiters (async lookups), to wake when it settles.
    wakers: Vec<Waker>,
    state: State<V>,
}

impl<K, V> Entry<K, V> {
    /// `me` computes this abandoned entry now.
    fn take_over(&mut self, me: ThreadId, cache_side: bool, part: usize) -> Ticket {
        self.owner = me;
        self.state = State::Running;
        self.turn = self.turn.wrapping_add(1);
        Ticket {
            hash: self.hash,
            id: self.id,
            turn: self.turn,
            part: small(part),
            cache_side,
            thread: me != TASK,
        }
    }
}

/// Where a computation stands.
pub(crate) enum State<V> {
    Running,
    Done(V),
    Abandoned,
}

/// The computing thread's claim on a key, to be settled once.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// The key's hash, as the table that holds the claim computes it.
    pub(crate) hash: u64,
    /// The part whose table holds the claim.
    part: u16,
    /// Which entry of the part's table: the table's numbering wraps after
    /// 2^32 claims, and an entry is found by its hash too.
    id: u32,
    /// Which owner of the entry: one more each time a waiter takes an
    /// abandoned entry over, so that a late settle by an earlier owner (the
    /// `Drop` of a miss whose settling panicked) changes nothing.
    turn: u32,
    /// Held in a cache's own table, not in its store's.
    pub(crate) cache_side: bool,
    /// Held by a thread, not a task.
    pub(crate) thread: bool,
}

impl Ticket {
    /// The part whose table holds the claim.
    #[inline]
    pub(crate) fn part(&self) -> usize {
        usize::from(self.part)
    }
}

/// A part's index in a ticket: parts are at most `DEFAULT_SHARDS` (128).
fn small(part: usize) -> u16 {
    u16::try_from(part).unwrap_or(u16::MAX)
}

impl Entry<(), ()> {
    /// The hash an entry is placed by: its own.
    fn hash_of<K, V>(entry: &Entry<K, V>) -> u64 {
        entry.hash
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
    Wait(u32),
}

impl<K, V> Table<K, V> {
    pub(crate) const fn new() -> Self {
        Self::at(0)
    }

    /// The empty table of part `part`.
    pub(crate) const fn at(part: usize) -> Self {
        Table { entries: HashTable::new(), next_id: 0, part, cache_side: false }
    }

    /// The tables of parts `1..count` for a store or cache that grows
    /// (see `Shards`), empty; `None` while this one has claims in flight,
    /// which would not be found at their keys' new places.
    pub(crate) fn parts_after(&self, count: usize) -> Option<Vec<Self>> {
        if !self.entries.is_empty() {
            return None;
        }
        Some((1..count).map(|part| Table { part, cache_side: self.cache_side, ..Table::new() }).collect())
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
        self.settle_keeping(ticket, value, || false, |_| {})
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
        current: impl FnOnce() -> bool,
        store: impl FnOnce(K),
    ) -> Settled<K>
    where
        V: Clone,
    {
        let mut settled =
            Settled { wake: Wake { threads: false, tasks: Vec::new() }, removed: None, panic: None };
        let Ok(mut found) =
            self.entries.find_entry(ticket.hash, |e| e.id == ticket.id && e.turn == ticket.turn)
        else {
            return settled;
        };
        let e = found.get_mut();
        if !e.stale && current() {
            if let Some(key) = e.key.take() {
                store(key);
            }
        }
        if e.waiters == 0 {
            settled.removed = found.remove().0.key;
            return settled;
        }
        e.state = match value.map(|value| crate::nesting::catch(|| value.clone())) {
            Some(Ok(value)) => State::Done(value),
            Some(Err(panic)) => {
                settled.panic = Some(panic);
                State::Abandoned
            }
            None => State::Abandoned,
        };
        settled.wake = Wake { threads: true, tasks: core::mem::take(&mut e.wakers) };
        settled
    }

    /// Whether a computed value is to be stored: no `clear()` or
    /// `refresh()` came since its computation began. Its claim's entry
    /// says so, if it has one (`ticket`), and so does `current`, the
    /// cache's epoch (of any key's refresh: a nested refresh may not have
    /// marked its key's entries, see `nesting`).
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
    pub(crate) fn keeps(&self, ticket: Option<&Ticket>, current: impl FnOnce() -> bool) -> bool {
        ticket.is_none_or(|ticket| {
            self.entries
                .find(ticket.hash, |e| e.id == ticket.id && e.turn == ticket.turn)
                .is_some_and(|e| !e.stale)
        }) && current()
    }

    /// The key that `ticket`'s entry holds, taken out to be stored by the
    /// caller, unless a `clear()` or `refresh()` came since the computation
    /// began.
    pub(crate) fn take_key(&mut self, ticket: &Ticket) -> Option<K> {
        let e = self.entries.find_mut(ticket.hash, |e| e.id == ticket.id && e.turn == ticket.turn)?;
        if e.stale { None } else { e.key.take() }
    }

    /// A waiting task that gives up (its future was dropped) before it was
    /// answered: it no longer waits, and a settled entry that nobody else
    /// waits for goes (returned, to be dropped after the lock).
    #[cfg(feature = "async")]
    fn leave(&mut self, hash: u64, id: u32) -> Option<K> {
        let mut found = self.entries.find_entry(hash, |e| e.id == id).ok()?;
        let e = found.get_mut();
        e.waiters -= 1;
        if e.waiters == 0 && !matches!(e.state, State::Running) {
            return found.remove().0.key;
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
    pub(crate) panic: Option<crate::nesting::Panic>,
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
fn resume(panic: crate::nesting::Panic) -> ! {
    std::panic::resume_unwind(panic)
}

impl<K: Hash + Eq + Clone, V: Clone> Table<K, V> {
    /// `refresh()` of the key that `matches`: the computations of it running
    /// now are from before it.
    pub(crate) fn forget(&mut self, hash: u64, matches: impl Fn(&K) -> bool) {
        for e in self.entries.iter_hash_mut(hash) {
            if e.key.as_ref().is_some_and(&matches) {
                e.stale = true;
            }
        }
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
    pub(crate) fn claim(&mut self, hash: u64, key: K, me: ThreadId) -> Ticket {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let entry = Entry {
            hash,
            key: Some(key),
            id,
            owner: me,
            reentries: 0,
            turn: 0,
            stale: false,
            waiters: 0,
            wakers: Vec::new(),
            state: State::Running,
        };
        self.entries.insert_unique(hash, entry, Entry::hash_of);
        Ticket { part: small(self.part), hash, id, turn: 0, cache_side: self.cache_side, thread: me != TASK }
    }

    /// After a wake-up: `None` while entry `id` still runs; else the value
    /// (the last waiter removes the entry), or the computation to take over.
    fn woken(&mut self, hash: u64, id: u32, me: ThreadId) -> Option<Probe<V>> {
        let (cache_side, part) = (self.cache_side, self.part);
        let Ok(mut found) = self.entries.find_entry(hash, |e| e.id == id) else {
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
                match found.remove().0.state {
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
pub(crate) fn wait<G, P, K: Hash + Eq + Clone, V: Clone>(
    guard: &mut G,
    sleep: &mut impl FnMut(&mut G),
    table: impl Fn(&mut P) -> &mut Table<K, V>,
    hash: u64,
    id: u32,
    me: ThreadId,
) -> Probe<V>
where
    G: DerefMut<Target = P>,
{
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
pub(crate) fn claim_in<G, P, K, V, Q>(
    part: &mut G,
    mut sleep: impl FnMut(&mut G),
    table: impl Fn(&mut P) -> &mut Table<K, V>,
    hash: u64,
    key: &Q,
    nested: bool,
    refresh: bool,
    recheck: impl FnOnce() -> Option<V>,
) -> Result<Claim<V>, Reentry>
where
    G: DerefMut<Target = P>,
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
        Probe::Wait(_) | Probe::Absent => Ok(claim_absent(table(part), hash, key, recheck, me)),
        Probe::Value(value) => Ok(Claim::Value(value)),
        Probe::Compute(ticket) => Ok(Claim::Compute(ticket)),
    }
}

/// Nobody computes the key: unless `recheck` finds it stored after all, `me`
/// claims it.
fn claim_absent<K, V, Q>(
    table: &mut Table<K, V>,
    hash: u64,
    key: &Q,
    recheck: impl FnOnce() -> Option<V>,
    me: ThreadId,
) -> Claim<V>
where
    K: Hash + Eq + Clone,
    V: Clone,
    Q: KeyView<Owned = K> + ?Sized,
{
    if let Some(value) = recheck() {
        return Claim::Value(value);
    }
    Claim::Compute(table.claim(hash, key.to_owned_key(), me))
}

/// A same-thread re-entry on a key being computed, past [`REENTRY_LIMIT`].
pub(crate) struct Reentry;

/// How often one thread may come back to a key it is computing before that
/// is taken for infinite recursion. The first re-entry that completes stores
/// the value, so later calls hit: a program that is not a loop comes back a
/// few times (once per nesting of one key: `key = n / 2` once, a pool's
/// stolen jobs once per job stolen while the key is open and not yet
/// stored), and a loop comes back once per level. Small, so that a loop
/// whose levels use kilobytes of stack panics long before a 2 MiB thread
/// stack overflows, which would abort the process.
pub(crate) const REENTRY_LIMIT: u32 = 32;

/// Drops what a miss removed under the lock (an expired entry, whose `Drop`
/// is the user's) once the lock is released and `claim` is made: if that
/// `Drop` panics, the claim is given up with `abandon` before the panic goes
/// on, so that it never stays behind.
pub(crate) fn drop_claimed<T, V>(
    removed: T,
    claim: &Result<Claim<V>, Reentry>,
    abandon: impl FnOnce(&Ticket),
) {
    if let Err(panic) = crate::nesting::catch(move || drop(removed)) {
        if let Ok(Claim::Compute(ticket)) = claim {
            abandon(ticket);
        }
        std::panic::resume_unwind(panic);
    }
}

/// The panic of a same-thread re-entry: infinite recursion.
#[cold]
pub(crate) fn reentry(name: &str) -> ! {
    panic!(
        "memo: `{name}` was called again, from inside its own computation, with the arguments it is computing: \
         that is infinite recursion, so the cache stops it here instead of waiting forever"
    );
}

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
            shards: Shards::growing(DEFAULT_SHARDS, false, first, |table, count, _, _| {
                table.parts_after(count)
            }),
        }
    }

    /// Settles `ticket` with `value` (`None`: abandoned) and wakes whoever
    /// waits for it.
    pub(crate) fn settle(&self, ticket: &Ticket, value: Option<&V>)
    where
        V: Clone,
    {
        self.settle_keeping(ticket, value, || false, |_| {});
    }

    /// [`settle`](Flights::settle), after `store` (the user's store keeping
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
        current: impl FnOnce() -> bool,
        store: impl FnOnce(K),
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
    /// this lock), unless a `clear()` or `refresh()` came since.
    #[cfg(feature = "async")]
    pub(crate) fn take_key(&self, ticket: &Ticket) -> Option<K> {
        self.shards.lock(ticket.part()).take_key(ticket)
    }

    /// `clear()`: every computation running now is from before it.
    pub(crate) fn forget_all(&self) {
        self.shards.each(Table::forget_all);
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
        let claim = claim_in(&mut table, sleep, |t| t, hash, view, nested, refresh, recheck);
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
                Ok(claim_absent(&mut table, hash, view, recheck, TASK))
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
                    let wakers = &mut e.wakers;
                    if !wakers.iter().any(|w| w.will_wake(waker)) {
                        wakers.push(waker.clone());
                    }
                }
                Poll::Pending
            }
        }
    }
}

/// A claim of a cache's own table, as a body computing it is polled.
#[cfg(feature = "async")]
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    flights: usize,
    at: Waiting,
}

/// An entry of a cache's own table that a task waits for: in which part,
/// by which hash, which one.
#[cfg(feature = "async")]
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    part: usize,
    hash: u64,
    id: u32,
}

/// Which claims the bodies being polled on this thread compute: a lookup
/// inside one of them that would wait for one of them waits for itself.
#[cfg(feature = "async")]
pub(crate) mod computing {
    use core::cell::RefCell;

    use super::Mark;

    thread_local! {
        static POLLING: RefCell<Vec<Mark>> = const { RefCell::new(Vec::new()) };
    }

    /// Runs `poll`, a poll of the body computing `mark`, with `mark` known
    /// to lookups inside it. The thread counts as holding a claim meanwhile
    /// (the task's): a synchronous lookup inside the body never waits for
    /// another thread's computation, which might be blocked on this one.
    pub(crate) fn during<R>(mark: Mark, poll: impl FnOnce() -> R) -> R {
        struct Held;
        impl Drop for Held {
            fn drop(&mut self) {
                super::unhold();
            }
        }
        super::hold();
        let _held = Held;
        struct Pop;
        impl Drop for Pop {
            fn drop(&mut self) {
                let _ = POLLING.try_with(|polling| polling.borrow_mut().pop());
            }
        }
        let pushed = POLLING.try_with(|polling| polling.borrow_mut().push(mark)).is_ok();
        let _pop = pushed.then_some(Pop);
        poll()
    }

    /// Whether a body computing `mark` is being polled on this thread.
    pub(crate) fn polls(mark: Mark) -> bool {
        POLLING.try_with(|polling| polling.borrow().contains(&mark)).unwrap_or(false)
    }
}
