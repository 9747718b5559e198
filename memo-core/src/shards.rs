//! [`Shards`]: a store split into independently locked parts, read without
//! their locks.
//!
//! Writers (misses, inserts, evictions) lock one part, so that threads writing
//! different keys rarely queue behind one lock; each part sits on cache lines
//! of its own. Hits take no lock at all ([`Shards::read`], under the protocol
//! of `readers`): a lock written by every hit would move its cache line from
//! core to core and stop the cache from scaling.

use core::hash::BuildHasher;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::Ordering::Relaxed;

use foldhash::fast::RandomState;

use crate::sync::{Access, AtomicBool, AtomicU64, Condvar, Mutex, MutexGuard, UnsafeCell};

use crate::nesting::{self, Inside};
use crate::readers::{self, REGISTRY, Registry, SLOTS};

/// The parts of a store that is not bounded by count, and the most parts of a
/// bounded one: enough that threads missing at once rarely meet on a lock
/// (with locked hits, 32 parts gave two threads 1.5 times the hits of one and
/// 128 parts 1.7-1.8 times; hits no longer lock).
pub(crate) const DEFAULT_SHARDS: usize = 128;

/// Bounded stores smaller than this are one part: an exact LRU.
pub(crate) const EXACT_BELOW: usize = 128;

/// What marks part `slot` in a reader's slot: its address.
fn marker<T>(slot: &Slot<T>) -> usize {
    core::ptr::from_ref(slot).addr()
}

/// A value padded to its own cache lines (two, as adjacent-line prefetch pairs
/// them on x86), so that parts never share one.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub T);

/// `T` split into a power-of-two number of locked parts, chosen by hash, with
/// the seeded hasher that places keys.
pub(crate) struct Shards<T> {
    parts: Box<[Padded<Slot<T>>]>,
    state: RandomState,
    /// Hits of lock-free reads, one counter per reader slot (each written by
    /// one thread only, on a line of its own).
    hits: Box<[Line]>,
    /// The sum of `hits` at the last reset: the counters themselves are
    /// never written by another thread than their own, since a reset's
    /// store could be lost against a reader's load and store.
    hits_base: AtomicU64,
    /// Lookups that could not have a part (inside memo's bookkeeping, see
    /// `nesting`): misses the parts did not count.
    bypassed: AtomicU64,
    /// Whether the parts are read without their locks. A store whose hits
    /// change the part (an exact LRU) says no, and its writers then have no
    /// readers to keep out.
    lock_free: bool,
}

/// A counter on a cache line of its own.
#[repr(align(64))]
struct Line(AtomicU64);

/// One part: its lock, whether a writer is in it (for lock-free readers, see
/// `readers`), and where threads waiting for a computation of one of its keys
/// sleep.
struct Slot<T> {
    lock: Mutex,
    /// What the lock guards: written only under it, with `writing` set;
    /// read under it, or without it under the protocol of `readers`.
    data: UnsafeCell<T>,
    writing: AtomicBool,
    settled: Condvar,
}

// SAFETY: as for `Mutex<T>`: the data is reached by one thread at a time
// under the lock, so `T: Send` suffices for that; the lock-free reads that
// share `&T` between threads ask for `T: Sync` (`Shards::read`).
#[allow(unsafe_code, reason = "the part is a lock beside its data")]
unsafe impl<T: Send> Sync for Slot<T> {}

/// A locked part, with lock-free readers kept out until it is dropped.
pub(crate) struct WriteGuard<'a, T> {
    guard: MutexGuard<'a>,
    /// The access to the part's data, ended before readers come back in.
    data: Access<T>,
    /// The part's flag, if it has lock-free readers to let back in.
    writing: Option<&'a AtomicBool>,
    /// Whether this thread was inside memo's bookkeeping already when it
    /// took the lock (see `nesting`): then it must not wait under it.
    pub(crate) nested: bool,
    _inside: Inside,
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;

    #[allow(unsafe_code, reason = "the part's data, under its lock with readers kept out")]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the part's lock, and readers are kept out
        // (`exclude`) until `data` is given up: no other access exists.
        unsafe { self.data.get() }
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    #[allow(unsafe_code, reason = "the part's data, under its lock with readers kept out")]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`, and `&mut self` makes this access the only
        // one through this guard.
        unsafe { self.data.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // The access ends, then readers come back in before the lock goes:
        // they read, writers wait.
        self.data.release();
        if let Some(writing) = self.writing {
            Registry::admit(writing);
        }
    }
}

impl<T> Shards<T> {
    /// `count` parts (rounded up to a power of two), each made by `make`,
    /// read without their locks if `lock_free`.
    pub(crate) fn new(count: usize, lock_free: bool, make: impl FnMut() -> T) -> Self {
        let mut make = make;
        let count = count.max(1).next_power_of_two();
        Shards {
            parts: (0..count)
                .map(|_| {
                    Padded(Slot {
                        lock: Mutex::new(),
                        data: UnsafeCell::new(make()),
                        writing: AtomicBool::new(false),
                        settled: Condvar::new(),
                    })
                })
                .collect(),
            state: RandomState::default(),
            // No lock-free reads, no counters for them.
            hits: (0..if lock_free { SLOTS } else { 0 }).map(|_| Line(AtomicU64::new(0))).collect(),
            bypassed: AtomicU64::new(0),
            hits_base: AtomicU64::new(0),
            lock_free,
        }
    }

    /// Counts a lookup that could not have its part: a miss.
    #[cold]
    fn count_bypass(&self) {
        self.bypassed.fetch_add(1, Relaxed);
    }

    /// Lookups that could not have their part.
    pub(crate) fn bypassed(&self) -> u64 {
        self.bypassed.load(Relaxed)
    }

    /// How many parts a store of at most `maxsize` entries gets: one below
    /// [`EXACT_BELOW`] entries, an exact LRU; above, one per 8 entries, up to
    /// [`DEFAULT_SHARDS`], so that threads scale.
    pub(crate) fn for_maxsize(maxsize: usize) -> usize {
        if maxsize < EXACT_BELOW { 1 } else { (maxsize / 8).clamp(1, DEFAULT_SHARDS) }
    }

    pub(crate) fn hasher(&self) -> &RandomState {
        &self.state
    }

    pub(crate) fn hash_one(&self, value: impl core::hash::Hash) -> u64 {
        self.state.hash_one(value)
    }

    /// The index of the part that holds keys of this hash. Bits 32 and up: the
    /// table inside a part uses the low bits for buckets and the top seven for
    /// tags.
    #[inline]
    #[allow(clippy::cast_possible_truncation, reason = "masked to the number of parts")]
    pub(crate) fn index(&self, hash: u64) -> usize {
        (hash >> 32) as usize & (self.parts.len() - 1)
    }

    /// Locks part `index` for a change: lock-free readers are kept out, and
    /// those in it are waited for. Blocks, even inside memo's bookkeeping:
    /// for settling a claim (see `nesting`) and for threads outside.
    #[inline]
    pub(crate) fn lock(&self, index: usize) -> WriteGuard<'_, T> {
        let slot = &self.parts[index].0;
        let guard = slot.lock.lock();
        let writing = self.lock_free.then_some(&slot.writing);
        if let Some(writing) = writing {
            REGISTRY.exclude(marker(slot), writing);
        }
        WriteGuard { guard, data: Access::new(&slot.data), writing, nested: false, _inside: Inside::new() }
    }

    /// Locks part `index` as [`lock`](Shards::lock) does, unless this thread
    /// is inside memo's bookkeeping already: then only if the lock is free
    /// and no reader is in the part, `None` otherwise (the caller goes
    /// without the store), since waiting could close a cycle.
    #[inline]
    pub(crate) fn enter(&self, index: usize) -> Option<WriteGuard<'_, T>> {
        if !nesting::inside() {
            return Some(self.lock(index));
        }
        self.enter_nested(index)
    }

    /// [`lock`](Shards::lock) to settle a claim (`settling`), which may
    /// always block (see `nesting`); else [`enter`](Shards::enter).
    #[inline]
    pub(crate) fn take(&self, index: usize, settling: bool) -> Option<WriteGuard<'_, T>> {
        if settling { Some(self.lock(index)) } else { self.enter(index) }
    }

    /// [`enter`](Shards::enter) for a lookup: one that cannot have its part
    /// is a miss, counted here, since the part cannot count it.
    #[inline]
    pub(crate) fn enter_lookup(&self, index: usize) -> Option<WriteGuard<'_, T>> {
        let part = self.enter(index);
        if part.is_none() {
            self.count_bypass();
        }
        part
    }

    #[cold]
    fn enter_nested(&self, index: usize) -> Option<WriteGuard<'_, T>> {
        let slot = &self.parts[index].0;
        let guard = slot.lock.try_lock()?;
        let writing = self.lock_free.then_some(&slot.writing);
        if let Some(writing) = writing {
            if !REGISTRY.try_exclude(marker(slot), writing) {
                return None;
            }
        }
        Some(WriteGuard {
            guard,
            data: Access::new(&slot.data),
            writing,
            nested: true,
            _inside: Inside::new(),
        })
    }

    /// Sleeps until a computation in part `index` is settled: the lock is
    /// released, and readers let in, meanwhile.
    pub(crate) fn wait(&self, index: usize, guard: &mut WriteGuard<'_, T>) {
        let slot = &self.parts[index].0;
        // The access ends while the lock is released and readers read.
        guard.data.release();
        if let Some(writing) = guard.writing {
            Registry::admit(writing);
        }
        slot.settled.wait(&mut guard.guard);
        if let Some(writing) = guard.writing {
            REGISTRY.exclude(marker(slot), writing);
        }
        guard.data.retake(&slot.data);
    }

    /// Wakes the threads that sleep on part `index`.
    pub(crate) fn settled(&self, index: usize) -> &Condvar {
        &self.parts[index].0.settled
    }

    /// Runs `read` on part `index` without its lock, and with no write to
    /// memory that another thread reads; counts a hit if `read` says it is
    /// one. `None` when a writer is in the part (or this thread cannot read
    /// so): the caller takes the lock instead.
    #[inline(always)]
    #[allow(unsafe_code, reason = "a read that the readers' protocol keeps apart from every write")]
    pub(crate) fn read<R>(&self, index: usize, read: impl FnOnce(&T) -> Option<R>) -> Option<R>
    where
        T: Sync,
    {
        if !self.lock_free {
            return None;
        }
        let me = readers::mine()?;
        let slot = &self.parts[index].0;
        let found = REGISTRY.read(me, marker(slot), &slot.writing, || {
            // SAFETY: every `&mut T` comes from a `WriteGuard`, made only
            // after `exclude` has seen no reader in this part and set
            // `writing`, and dropped only after it cleared `writing` again;
            // `read` runs only while this thread's slot names this part and
            // `writing` was clear after that: the protocol of `readers` makes
            // the two never overlap. `T: Sync`, so sharing `&T` between
            // readers is sound.
            let data = slot.data.get();
            read(unsafe { data.deref() })
        })??;
        // Only this thread writes this counter: no atomic read-modify-write.
        let hits = &self.hits[me].0;
        hits.store(hits.load(Relaxed) + 1, Relaxed);
        Some(found)
    }

    /// The hits of lock-free reads since the last reset.
    pub(crate) fn read_hits(&self) -> u64 {
        self.hits_total().saturating_sub(self.hits_base.load(Relaxed))
    }

    fn hits_total(&self) -> u64 {
        self.hits.iter().map(|line| line.0.load(Relaxed)).sum()
    }

    /// Sets the hits of lock-free reads, and the lookups that could not have
    /// a part, back to zero.
    pub(crate) fn reset_read_hits(&self) {
        self.hits_base.store(self.hits_total(), Relaxed);
        self.bypassed.store(0, Relaxed);
    }

    pub(crate) fn len(&self) -> usize {
        self.parts.len()
    }

    /// Every part in turn, each locked only while `f` looks at it; inside
    /// memo's bookkeeping (a `Clone` that clears a cache), only the parts
    /// that [`enter`](Shards::enter) can have.
    pub(crate) fn each(&self, mut f: impl FnMut(&mut T)) {
        for index in 0..self.parts.len() {
            if let Some(mut part) = self.enter(index) {
                f(&mut part);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_a_power_of_two_on_their_own_cache_lines() {
        let shards = Shards::new(5, true, || 0_u8);
        assert_eq!(shards.len(), 8);
        assert!(core::mem::align_of::<Padded<Slot<u8>>>() >= 128);
        assert!((0..1000_u64).all(|h| shards.index(shards.hash_one(h)) < 8));
        assert_eq!(Shards::<u8>::for_maxsize(3), 1);
        assert_eq!(Shards::<u8>::for_maxsize(127), 1);
        assert_eq!(Shards::<u8>::for_maxsize(1000), 125);
        assert_eq!(Shards::<u8>::for_maxsize(1 << 30), DEFAULT_SHARDS);
    }
}

#[cfg(all(test, loom))]
#[path = "loom_model.rs"]
mod loom_model;
