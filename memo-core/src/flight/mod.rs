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

use core::sync::atomic::AtomicU64;

use crate::store::key::KeyView;

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
    /// claims it, with the cache's `epoch` as it is then (read only on a
    /// miss, not on a hit), which the claim keeps.
    fn claim<Q>(&self, key: &Q, want: Want<'_, V>, epoch: &AtomicU64, name: &str) -> Claim<V>
    where
        Q: KeyView<Owned = K> + ?Sized;

    /// Settles a claim of [`claim`](Claims::claim), or completes a miss
    /// without one (`key`): if `store`, stores `value` under the claimed
    /// key (which the claim's entry holds) or `key`; hands `value` to the
    /// waiting threads, or, with no value, gives the claim up for a waiter
    /// to take over. A value is stored only if no `clear()` or `refresh()`
    /// came since its computation began: the claim's entry says so, and
    /// `current` of the claim's epoch (called under the lock that stores;
    /// without a claim, the miss's closure knows its own epoch).
    fn settle(
        &self,
        ticket: Option<&Ticket>,
        key: Option<K>,
        store: bool,
        value: Option<&V>,
        current: &dyn Fn(u64) -> bool,
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

mod entries;
mod flights;
mod table;

pub(crate) use flights::Flights;
pub(crate) use table::{Table, claim_in};

/// The computing thread's claim on a key, to be settled once.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// The key's hash, as the table that holds the claim computes it.
    pub(crate) hash: u64,
    /// The part whose table holds the claim.
    part: u16,
    /// Which entry of the part's table: the table's numbering wraps after
    /// 2^64 claims (never, in practice), and an entry is found by its hash
    /// too.
    id: u64,
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
#[allow(clippy::cast_possible_truncation, reason = "at most u16::MAX, checked")]
const fn small(part: usize) -> u16 {
    if part > u16::MAX as usize { u16::MAX } else { part as u16 }
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
    if let Err(panic) = crate::parts::nesting::catch(move || drop(removed)) {
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
    id: u64,
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
