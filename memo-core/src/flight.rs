//! Single-flight: the keys being computed right now, so that threads that miss
//! the same key at once run the body once and the others wait for its value.
//!
//! Each key in flight has an entry: who computes it, how many wait, and its
//! state. Waiters sleep on their part's `Condvar`. The entry is settled by the
//! computing thread's [`Flight`] guard: with the value when the body returns,
//! or as abandoned when the body panics (the guard's `Drop`), in which case
//! one waiter takes the computation over. Threads on other keys never touch the
//! entry, and no lock is held while a body runs.

use core::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::key::{KeyView, hash_view};
use crate::shards::{DEFAULT_SHARDS, Padded};

/// The keys in flight of one cache, split by hash like the stores.
pub(crate) struct Flights<K, V> {
    parts: Box<[Padded<Part<K, V>>]>,
    state: RandomState,
}

struct Part<K, V> {
    table: Mutex<Table<K, V>>,
    settled: Condvar,
}

struct Table<K, V> {
    entries: HashTable<Entry<K, V>>,
    /// Numbers the entries of this part, so that a guard finds its own.
    next_id: u64,
}

/// Which thread: the address of a thread-local, unique among the threads
/// alive, and cheaper to get than `std::thread::current().id()` (which clones
/// an `Arc`). A thread's claims are settled before it exits, so an address
/// reused by a later thread never meets a claim of the earlier one.
type ThreadId = usize;

fn current_thread() -> ThreadId {
    thread_local!(static HERE: u8 = const { 0 });
    HERE.with(|here| core::ptr::from_ref(here).addr())
}

struct Entry<K, V> {
    key: K,
    id: u64,
    owner: ThreadId,
    waiters: usize,
    state: State<V>,
}

enum State<V> {
    Running,
    Done(V),
    Abandoned,
}

/// What a thread that missed does next.
pub(crate) enum Turn<K, V> {
    /// Another thread computed the value while this one waited, or the store
    /// had it after all.
    Value(V),
    /// This thread computes it, under this claim, and stores it under this key.
    Compute(Flight, K),
}

/// The computing thread's claim on a key: settle it with [`Flights::done`] or
/// [`Flights::abandon`].
pub(crate) struct Flight {
    hash: u64,
    id: u64,
}

impl<K, V> Flights<K, V> {
    pub(crate) fn new() -> Self {
        let part = || {
            Padded(Part {
                table: Mutex::new(Table { entries: HashTable::new(), next_id: 0 }),
                settled: Condvar::new(),
            })
        };
        Flights { parts: (0..DEFAULT_SHARDS).map(|_| part()).collect(), state: RandomState::default() }
    }

    #[allow(clippy::cast_possible_truncation, reason = "masked to the number of parts")]
    fn part(&self, hash: u64) -> &Part<K, V> {
        &self.parts[(hash >> 32) as usize & (self.parts.len() - 1)].0
    }
}

impl<K: core::hash::Hash + Eq + Clone, V: Clone> Flights<K, V> {
    /// Called after a miss in the store: waits for the thread that computes
    /// this key, if any, else claims it. `recheck` looks in the store again,
    /// under this part's lock: a thread that finished between the caller's
    /// miss and now has stored its value before it left the flight table.
    ///
    /// Panics if the calling thread is computing this very key already: that
    /// is infinite recursion, and waiting for itself would hang.
    pub(crate) fn enter<Q>(&self, view: &Q, name: &str, recheck: impl FnOnce() -> Option<V>) -> Turn<K, V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(&self.state, view);
        let part = self.part(hash);
        let me = current_thread();
        let mut table = part.table.lock();
        let Some(entry) = table.entries.find_mut(hash, |e| view.matches(&e.key)) else {
            if let Some(value) = recheck() {
                return Turn::Value(value);
            }
            let key = view.to_owned_key();
            return Turn::Compute(claim(&mut table, &self.state, hash, key.clone(), me), key);
        };
        match &entry.state {
            State::Running if entry.owner == me => {
                drop(table);
                panic!(
                    "memo: `{name}` was called again, on the same thread, with the arguments it is computing: \
                     that is infinite recursion, so the cache stops it here instead of waiting forever"
                );
            }
            State::Done(value) => return Turn::Value(value.clone()),
            State::Abandoned => {
                // Its computer panicked; this thread takes over, and whoever
                // waits keeps waiting, for this thread now.
                entry.owner = me;
                entry.state = State::Running;
                return Turn::Compute(Flight { hash, id: entry.id }, entry.key.clone());
            }
            State::Running => {}
        }
        let id = entry.id;
        entry.waiters += 1;
        loop {
            part.settled.wait(&mut table);
            let Some(entry) = find(&mut table, hash, id) else {
                // Unreachable: an entry with waiters stays until they leave.
                let key = view.to_owned_key();
                return Turn::Compute(claim(&mut table, &self.state, hash, key.clone(), me), key);
            };
            match &entry.state {
                State::Running => {}
                State::Done(value) => {
                    let value = value.clone();
                    leave(&mut table, hash, id);
                    return Turn::Value(value);
                }
                State::Abandoned => {
                    entry.waiters -= 1;
                    entry.owner = me;
                    entry.state = State::Running;
                    return Turn::Compute(Flight { hash, id }, entry.key.clone());
                }
            }
        }
    }

    /// Settles `flight` with its value (already in the store) and wakes whoever
    /// waits for it.
    pub(crate) fn done(&self, flight: &Flight, value: &V) {
        self.settle(flight, || State::Done(value.clone()));
    }
}

impl<K, V> Flights<K, V> {
    /// Settles `flight` as abandoned: its body did not return. A waiter, if
    /// any, takes the computation over.
    pub(crate) fn abandon(&self, flight: &Flight) {
        self.settle(flight, || State::Abandoned);
    }

    fn settle(&self, flight: &Flight, state: impl FnOnce() -> State<V>) {
        let part = self.part(flight.hash);
        let mut table = part.table.lock();
        let Some(entry) = find(&mut table, flight.hash, flight.id) else {
            return;
        };
        if entry.waiters == 0 {
            let removed =
                table.entries.find_entry(flight.hash, |e| e.id == flight.id).ok().map(|e| e.remove().0);
            drop(table);
            // The key is the user's type: dropped after the lock is released.
            drop(removed);
            return;
        }
        entry.state = state();
        drop(table);
        part.settled.notify_all();
    }
}

fn find<K, V>(table: &mut Table<K, V>, hash: u64, id: u64) -> Option<&mut Entry<K, V>> {
    table.entries.find_mut(hash, |e| e.id == id)
}

fn claim<K, V>(
    table: &mut MutexGuard<'_, Table<K, V>>,
    state: &RandomState,
    hash: u64,
    key: K,
    owner: ThreadId,
) -> Flight
where
    K: core::hash::Hash,
{
    let id = table.next_id;
    table.next_id += 1;
    let entry = Entry { key, id, owner, waiters: 0, state: State::Running };
    table.entries.insert_unique(hash, entry, |e| state.hash_one(&e.key));
    Flight { hash, id }
}

/// A waiter takes its leave of a settled entry; the last one removes it.
fn leave<K, V>(table: &mut Table<K, V>, hash: u64, id: u64) {
    if let Ok(mut entry) = table.entries.find_entry(hash, |e| e.id == id) {
        entry.get_mut().waiters -= 1;
        if entry.get().waiters == 0 {
            entry.remove();
        }
    }
}
