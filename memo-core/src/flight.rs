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

use core::hash::{BuildHasher, Hash};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::key::{KeyView, hash_view};
use crate::shards::{DEFAULT_SHARDS, Padded};
use crate::store::Claim;

/// Which thread: the address of a thread-local, unique among the threads
/// alive, and cheaper to get than `std::thread::current().id()` (which clones
/// an `Arc`). A thread's claims are settled before it exits, so an address
/// reused by a later thread never meets a claim of the earlier one.
pub(crate) type ThreadId = usize;

pub(crate) fn current_thread() -> ThreadId {
    thread_local!(static HERE: u8 = const { 0 });
    HERE.with(|here| core::ptr::from_ref(here).addr())
}

/// The keys in flight of one part.
pub(crate) struct Table<K, V> {
    entries: HashTable<Entry<K, V>>,
    /// Numbers the entries of this part, so that a claim finds its own.
    next_id: u64,
}

struct Entry<K, V> {
    key: K,
    id: u64,
    owner: ThreadId,
    waiters: usize,
    state: State<V>,
}

/// Where a computation stands.
pub(crate) enum State<V> {
    Running,
    Done(V),
    Abandoned,
}

/// The computing thread's claim on a key, to be settled once.
#[doc(hidden)]
#[derive(Debug)]
pub struct Ticket {
    /// The key's hash, as the table that holds the claim computes it.
    pub(crate) hash: u64,
    id: u64,
}

/// What a thread that missed does next.
pub(crate) enum Probe<K, V> {
    /// Nobody computes the key: claim it.
    Absent,
    /// This thread computes it already: infinite recursion.
    Reentry,
    /// Another thread computed it.
    Value(V),
    /// This thread computes it, under this claim, and stores it under this key.
    Compute(Ticket, K),
    /// Another thread computes it: wait for entry `id`.
    Wait(u64),
}

impl<K, V> Table<K, V> {
    pub(crate) const fn new() -> Self {
        Table { entries: HashTable::new(), next_id: 0 }
    }

    /// Settles `ticket`: its entry goes if nobody waits for it, else takes
    /// `state` and the waiters are to be woken (`true`). What is removed is
    /// returned, to be dropped once the lock is released.
    pub(crate) fn settle(&mut self, ticket: &Ticket, state: impl FnOnce() -> State<V>) -> (bool, Option<K>) {
        let Ok(mut entry) = self.entries.find_entry(ticket.hash, |e| e.id == ticket.id) else {
            return (false, None);
        };
        if entry.get().waiters == 0 {
            return (false, Some(entry.remove().0.key));
        }
        entry.get_mut().state = state();
        (true, None)
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Table<K, V> {
    /// Looks for a computation of the key that `matches`.
    pub(crate) fn probe(&mut self, hash: u64, matches: impl Fn(&K) -> bool, me: ThreadId) -> Probe<K, V> {
        let Some(entry) = self.entries.find_mut(hash, |e| matches(&e.key)) else {
            return Probe::Absent;
        };
        match &entry.state {
            State::Running if entry.owner == me => Probe::Reentry,
            State::Done(value) => Probe::Value(value.clone()),
            State::Abandoned => {
                // Its computer panicked; this thread takes over, and whoever
                // waits keeps waiting, for this thread now.
                entry.owner = me;
                entry.state = State::Running;
                Probe::Compute(Ticket { hash, id: entry.id }, entry.key.clone())
            }
            State::Running => {
                entry.waiters += 1;
                Probe::Wait(entry.id)
            }
        }
    }

    /// Claims `key` (a clone of which the caller stores later) for `me`.
    pub(crate) fn claim(&mut self, state: &RandomState, hash: u64, key: K, me: ThreadId) -> Ticket {
        let id = self.next_id;
        self.next_id += 1;
        let entry = Entry { key, id, owner: me, waiters: 0, state: State::Running };
        self.entries.insert_unique(hash, entry, |e| state.hash_one(&e.key));
        Ticket { hash, id }
    }

    /// After a wake-up: `None` while entry `id` still runs; else the value
    /// (the last waiter removes the entry), or the computation to take over.
    fn woken(&mut self, hash: u64, id: u64, me: ThreadId) -> Option<Probe<K, V>> {
        let Ok(mut entry) = self.entries.find_entry(hash, |e| e.id == id) else {
            // Unreachable: an entry with waiters stays until they leave.
            return Some(Probe::Absent);
        };
        let e = entry.get_mut();
        match &e.state {
            State::Running => None,
            State::Done(value) => {
                let value = value.clone();
                e.waiters -= 1;
                if e.waiters == 0 {
                    entry.remove();
                }
                Some(Probe::Value(value))
            }
            State::Abandoned => {
                e.waiters -= 1;
                e.owner = me;
                e.state = State::Running;
                Some(Probe::Compute(Ticket { hash, id }, e.key.clone()))
            }
        }
    }
}

/// Sleeps on `settled` until entry `id` of the table that `table` finds in
/// the locked part is settled; returns the value or the computation to take
/// over (or [`Probe::Absent`], which cannot happen).
pub(crate) fn wait<P, K: Hash + Eq + Clone, V: Clone>(
    guard: &mut MutexGuard<'_, P>,
    settled: &Condvar,
    table: impl Fn(&mut P) -> &mut Table<K, V>,
    hash: u64,
    id: u64,
    me: ThreadId,
) -> Probe<K, V> {
    loop {
        settled.wait(guard);
        if let Some(probe) = table(guard).woken(hash, id, me) {
            return probe;
        }
    }
}

/// Under the lock of a part, after a miss: waits for the thread that
/// computes the key, or, unless `recheck` finds the value stored after all,
/// claims it for this thread. `table` finds the part's claims. `Err` is a
/// same-thread re-entry: the caller releases the lock and calls [`reentry`].
pub(crate) fn claim_in<P, K, V, Q>(
    part: &mut MutexGuard<'_, P>,
    settled: &Condvar,
    table: impl Fn(&mut P) -> &mut Table<K, V>,
    state: &RandomState,
    hash: u64,
    key: &Q,
    recheck: impl FnOnce() -> Option<V>,
) -> Result<Claim<K, V>, Reentry>
where
    K: Hash + Eq + Clone,
    V: Clone,
    Q: KeyView<Owned = K> + ?Sized,
{
    let me = current_thread();
    let mut probe = table(part).probe(hash, |k| key.matches(k), me);
    if let Probe::Wait(id) = probe {
        probe = wait(part, settled, &table, hash, id, me);
    }
    Ok(match probe {
        Probe::Reentry => return Err(Reentry),
        Probe::Value(value) => Claim::Value(value),
        Probe::Compute(ticket, owned) => Claim::Compute(ticket, owned),
        Probe::Absent | Probe::Wait(_) => {
            if let Some(value) = recheck() {
                return Ok(Claim::Value(value));
            }
            let owned = key.to_owned_key();
            let ticket = table(part).claim(state, hash, owned.clone(), me);
            Claim::Compute(ticket, owned)
        }
    })
}

/// A same-thread re-entry on a key being computed.
pub(crate) struct Reentry;

/// How a claim is settled: with the value, or abandoned without one.
pub(crate) fn outcome<V: Clone>(value: Option<&V>) -> State<V> {
    match value {
        Some(value) => State::Done(value.clone()),
        None => State::Abandoned,
    }
}

/// The panic of a same-thread re-entry: infinite recursion.
#[cold]
pub(crate) fn reentry(name: &str) -> ! {
    panic!(
        "memo: `{name}` was called again, on the same thread, with the arguments it is computing: \
         that is infinite recursion, so the cache stops it here instead of waiting forever"
    );
}

/// The keys in flight of one cache over a store that keeps none itself,
/// split by hash like the stores.
pub(crate) struct Flights<K, V> {
    parts: Box<[Padded<Part<K, V>>]>,
    state: RandomState,
}

struct Part<K, V> {
    table: Mutex<Table<K, V>>,
    settled: Condvar,
}

impl<K, V> Flights<K, V> {
    pub(crate) fn new() -> Self {
        let part = || Padded(Part { table: Mutex::new(Table::new()), settled: Condvar::new() });
        Flights { parts: (0..DEFAULT_SHARDS).map(|_| part()).collect(), state: RandomState::default() }
    }

    #[allow(clippy::cast_possible_truncation, reason = "masked to the number of parts")]
    fn part(&self, hash: u64) -> &Part<K, V> {
        &self.parts[(hash >> 32) as usize & (self.parts.len() - 1)].0
    }

    /// Settles `ticket` with `state` and wakes whoever waits for it.
    pub(crate) fn settle(&self, ticket: &Ticket, state: impl FnOnce() -> State<V>) {
        let part = self.part(ticket.hash);
        let mut table = part.table.lock();
        let (wake, removed) = table.settle(ticket, state);
        drop(table);
        // The key is the user's type: dropped after the lock is released.
        drop(removed);
        if wake {
            part.settled.notify_all();
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Flights<K, V> {
    /// Called after a miss in the store: waits for the thread that computes
    /// this key, if any, else claims it. `recheck` looks in the store again,
    /// under this part's lock: a thread that finished between the caller's
    /// miss and now has stored its value before it left the flight table.
    ///
    /// Panics if the calling thread is computing this very key already: that
    /// is infinite recursion, and waiting for itself would hang.
    pub(crate) fn enter<Q>(&self, view: &Q, name: &str, recheck: impl FnOnce() -> Option<V>) -> Claim<K, V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(&self.state, view);
        let part = self.part(hash);
        let mut table = part.table.lock();
        let claim = claim_in(&mut table, &part.settled, |t| t, &self.state, hash, view, recheck);
        drop(table);
        claim.unwrap_or_else(|Reentry| reentry(name))
    }
}
