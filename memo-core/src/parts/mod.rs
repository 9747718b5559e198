//! [`Shards`]: a store split into independently locked parts, read without
//! their locks (the protocol of [`readers`], and [`nesting`], which keeps a
//! thread inside user code from waiting on what it holds).
//!
//! Writers (misses, inserts, evictions) lock one part, so that threads writing
//! different keys rarely queue behind one lock; each part sits on cache lines
//! of its own. Hits take no lock at all ([`Shards::read`], under the protocol
//! of `readers`): a lock written by every hit would move its cache line from
//! core to core and stop the cache from scaling.

use core::hash::BuildHasher;
use core::sync::atomic::Ordering::Relaxed;

use foldhash::fast::RandomState;

use crate::sync::{
    Access, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, OnceBox, UnsafeCell,
};

mod grow;
mod guard;
mod hits;
pub(crate) mod nesting;
pub(crate) mod readers;

pub(crate) use grow::Split;

use nesting::Inside;
use readers::{REGISTRY, Registry};

/// The parts of a store that is not bounded by count, and the most parts of a
/// bounded one: enough that threads missing at once rarely meet on a lock
/// (with locked hits, 32 parts gave two threads 1.5 times the hits of one and
/// 128 parts 1.7-1.8 times; hits no longer lock).
pub(crate) const DEFAULT_SHARDS: usize = 128;

/// Bounded stores smaller than this are one part: an exact LRU.
pub(crate) const EXACT_BELOW: usize = 128;

/// What marks part `slot` in a reader's slot: its address.
fn marker<T, B>(slot: &Slot<T, B>) -> usize {
    core::ptr::from_ref(slot).addr()
}

/// A value padded to its own cache lines (two, as adjacent-line prefetch pairs
/// them on x86), so that parts never share one.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub T);

/// `T` split into a power-of-two number of locked parts, chosen by hash, with
/// the seeded hasher that places keys.
///
/// A store of a fixed number of parts has them all from the start. A store
/// that grows ([`Shards::growing`]) starts as one part and
/// gets the others the first time its lock is contended
/// [`GROW_AFTER`](grow::GROW_AFTER) times: a cache that one thread uses costs one table and
/// no part array, and its first call does no work per part.
///
/// Growing happens once, under part 0's lock with its readers kept out,
/// at a moment when part 0 has no claims in flight (see `flight`), and
/// moves part 0's entries whose hash places them elsewhere into the new
/// parts before the parts are published (a Release store, which readers
/// load with Acquire). So under part 0's lock the number of parts never
/// changes, and under any other part's lock it is final: a writer that
/// locked part 0 for a hash checks the place again under the lock and
/// moves on if the store grew meanwhile ([`Shards::lock_for`]). A reader
/// that placed a key before the growth and reads part 0 after it may miss
/// an entry that moved: a miss, which takes the lock and finds it. A
/// claim is always in its key's part; its ticket names the part.
pub(crate) struct Shards<T, B = ()> {
    /// Part 0, boxed: kept inline in the cache (a `static`), it cost two
    /// threads hitting it half their scaling (measured with
    /// `cargo bench --bench threads`: 1.14x one thread's hits per second
    /// inline, 2.09x boxed).
    first: Box<Part<T, B>>,
    /// Parts 1 and up: at once, for a fixed count; once grown, else.
    rest: OnceBox<Box<[Part<T, B>]>>,
    /// The number of parts once grown (for a fixed count: from the start).
    count: usize,
    /// How a growing store moves part 0's entries into new parts: `None`
    /// for a fixed count.
    split: Option<Split<T, B>>,
    /// How often a lock of part 0 found it taken (of a growing store).
    contended: AtomicU32,
    state: RandomState,
    /// Hits of lock-free reads, one counter per reader slot (each written by
    /// one thread only, on a line of its own, 4 KiB in all): made when a
    /// second reader slot hits, so that a cache one thread uses never has
    /// them.
    hits: OnceBox<Box<[Line]>>,
    /// The reader slot that hit first (`usize::MAX`: none yet): until
    /// another one hits, its thread alone counts its hits, in `sole_hits`.
    sole: AtomicUsize,
    /// The hits of the `sole` slot while there are no `hits` counters:
    /// written by that slot's thread only (a slot given back and taken by
    /// another thread passes on with the slot), read by anyone.
    sole_hits: AtomicU64,
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

/// A part, on cache lines of its own.
type Part<T, B> = Padded<Slot<T, B>>;

/// A counter on a cache line of its own.
#[repr(align(64))]
struct Line(AtomicU64);

/// One part: its lock, whether a writer is in it (for lock-free readers, see
/// `readers`), and where threads waiting for a computation of one of its keys
/// sleep.
struct Slot<T, B> {
    lock: Mutex,
    /// What the lock guards and readers read: written only under the lock,
    /// with `writing` set; read under it, or without it under the protocol
    /// of `readers`.
    data: UnsafeCell<T>,
    /// What only the lock's holder reads or writes (a part's claims and
    /// counts): changed without keeping readers out, since they never look.
    books: UnsafeCell<B>,
    writing: AtomicBool,
    settled: Condvar,
}

// SAFETY: as for `Mutex<(T, B)>`: the data and books are reached by one
// thread at a time under the lock, so `Send` suffices for that; the
// lock-free reads that share `&T` between threads ask for `T: Sync`
// (`Shards::read`), and nobody shares `&B`.
#[allow(unsafe_code, reason = "the part is a lock beside its data")]
unsafe impl<T: Send, B: Send> Sync for Slot<T, B> {}

/// A locked part. Its data is read beside lock-free readers until the
/// first change of it ([`DerefMut`]), which keeps them out from then until
/// the guard is dropped; its books ([`books`](WriteGuard::books)) are the
/// guard's alone all along.
pub(crate) struct WriteGuard<'a, T, B = ()> {
    guard: MutexGuard<'a>,
    slot: &'a Slot<T, B>,
    /// Which part.
    index: usize,
    /// The access to the part's data (shared until readers are kept out,
    /// then exclusive), ended before readers come back in.
    data: Access<T>,
    /// The access to the part's books.
    books: Access<B>,
    /// Whether readers are kept out: from the first change of the data, or
    /// from the start for a part without lock-free readers, or `nested`.
    excluded: bool,
    /// Whether the part has lock-free readers (to let back in, if kept out).
    lock_free: bool,
    /// Whether this thread was inside memo's bookkeeping already when it
    /// took the lock (see `nesting`): then it must not wait under it, and
    /// readers are kept out from the start (if none was in the part).
    pub(crate) nested: bool,
    _inside: Inside,
}

impl<T, B> Slot<T, B> {
    fn new((data, books): (T, B)) -> Padded<Self> {
        Padded(Slot {
            lock: Mutex::new(),
            data: UnsafeCell::new(data),
            books: UnsafeCell::new(books),
            writing: AtomicBool::new(false),
            settled: Condvar::new(),
        })
    }
}

impl<T, B> Shards<T, B> {
    /// `count` parts (rounded up to a power of two), each made by `make`
    /// from its index, all at once, read without their locks if `lock_free`.
    pub(crate) fn new(count: usize, lock_free: bool, make: impl FnMut(usize) -> (T, B)) -> Self {
        let mut make = make;
        let count = count.max(1).next_power_of_two();
        let shards = Self::with(Slot::new(make(0)), count, None, lock_free);
        if count > 1 {
            shards.rest.get_or_init(|| (1..count).map(|index| Slot::new(make(index))).collect());
        }
        shards
    }

    fn with(first: Part<T, B>, count: usize, split: Option<Split<T, B>>, lock_free: bool) -> Self {
        Shards {
            first: Box::new(first),
            rest: OnceBox::new(),
            count,
            split,
            contended: AtomicU32::new(0),
            state: RandomState::default(),
            hits: OnceBox::new(),
            sole: AtomicUsize::new(usize::MAX),
            sole_hits: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
            hits_base: AtomicU64::new(0),
            lock_free,
        }
    }

    /// Part `index` (of the parts there are now).
    #[inline]
    fn slot(&self, index: usize) -> &Slot<T, B> {
        self.slot_in(self.rest.get().map(|rest| &**rest), index)
    }

    /// The part that holds keys of `hash` now, from one look at the parts.
    #[inline]
    fn slot_for(&self, hash: u64) -> &Slot<T, B> {
        let rest = self.rest.get().map(|rest| &**rest);
        self.slot_in(rest, place(hash, rest.map_or(1, |rest| rest.len() + 1)))
    }

    /// Part `index` of part 0 and `rest`.
    #[inline]
    fn slot_in<'a>(&'a self, rest: Option<&'a [Part<T, B>]>, index: usize) -> &'a Slot<T, B> {
        match rest {
            Some(rest) if index > 0 => rest.get(index - 1).map_or(&self.first.0, |part| &part.0),
            _ => &self.first.0,
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

    /// The index of the part that holds keys of this hash now. Bits 32 and
    /// up: the table inside a part uses the low bits for buckets and the top
    /// seven for tags. Only part 0 may be told before a growth and another
    /// part after it: see [`lock_for`](Shards::lock_for).
    #[inline]
    pub(crate) fn index(&self, hash: u64) -> usize {
        place(hash, self.len())
    }

    /// Locks part `index` for a change: lock-free readers are kept out, and
    /// those in it are waited for. Blocks, even inside memo's bookkeeping:
    /// for settling a claim (see `nesting`) and for threads outside. The
    /// part of a claim, or of a fixed count: else [`lock_for`](Shards::lock_for).
    #[inline]
    pub(crate) fn lock(&self, index: usize) -> WriteGuard<'_, T, B> {
        let slot = self.slot(index);
        let guard = match slot.lock.try_lock() {
            Some(guard) => guard,
            None => {
                if index == 0 && self.split.is_some() {
                    self.contended.fetch_add(1, Relaxed);
                }
                slot.lock.lock()
            }
        };
        self.guard(slot, index, guard, false)
    }

    /// A guard of `slot`, whose lock `guard` holds: readers are kept out
    /// at its first change, or already (`nested`: by the caller's
    /// `try_exclude`).
    #[inline]
    fn guard<'a>(
        &'a self,
        slot: &'a Slot<T, B>,
        index: usize,
        guard: MutexGuard<'a>,
        nested: bool,
    ) -> WriteGuard<'a, T, B> {
        let excluded = nested || !self.lock_free;
        let data = if excluded { Access::new(&slot.data) } else { Access::shared(&slot.data) };
        WriteGuard {
            guard,
            slot,
            index,
            data,
            books: Access::new(&slot.books),
            excluded,
            lock_free: self.lock_free,
            nested,
            _inside: Inside::new(),
        }
    }

    /// Locks the part that holds keys of `hash`, as [`lock`](Shards::lock)
    /// does: a growing store that was contended enough grows first; one
    /// that grew while this thread waited for part 0 is locked again at
    /// the key's new place.
    #[inline]
    pub(crate) fn lock_for(&self, hash: u64) -> WriteGuard<'_, T, B> {
        let guard = self.lock(self.index(hash));
        self.settle_place(guard, hash, |index| Some(self.lock(index)))
            .unwrap_or_else(|| self.lock(self.index(hash)))
    }

    /// Locks part `index` as [`lock`](Shards::lock) does, unless this thread
    /// is inside memo's bookkeeping already: then only if the lock is free
    /// and no reader is in the part, `None` otherwise (the caller goes
    /// without the store), since waiting could close a cycle.
    #[inline]
    pub(crate) fn enter(&self, index: usize) -> Option<WriteGuard<'_, T, B>> {
        if !nesting::inside() {
            return Some(self.lock(index));
        }
        self.enter_nested(index)
    }

    /// [`enter`](Shards::enter) of the part that holds keys of `hash`, as
    /// [`lock_for`](Shards::lock_for) finds it.
    #[inline]
    pub(crate) fn enter_for(&self, hash: u64) -> Option<WriteGuard<'_, T, B>> {
        let guard = self.enter(self.index(hash))?;
        self.settle_place(guard, hash, |index| self.enter(index))
    }

    /// [`lock_for`](Shards::lock_for) to settle a claim (`settling`), which
    /// may always block (see `nesting`); else [`enter_for`](Shards::enter_for).
    #[inline]
    pub(crate) fn take_for(&self, hash: u64, settling: bool) -> Option<WriteGuard<'_, T, B>> {
        if settling { Some(self.lock_for(hash)) } else { self.enter_for(hash) }
    }

    /// [`enter_for`](Shards::enter_for) for a lookup: one that cannot have
    /// its part is a miss, counted here, since the part cannot count it.
    #[inline]
    pub(crate) fn enter_lookup(&self, hash: u64) -> Option<WriteGuard<'_, T, B>> {
        let part = self.enter_for(hash);
        if part.is_none() {
            self.count_bypass();
        }
        part
    }

    #[cold]
    fn enter_nested(&self, index: usize) -> Option<WriteGuard<'_, T, B>> {
        let slot = self.slot(index);
        let guard = slot.lock.try_lock()?;
        if self.lock_free && !REGISTRY.try_exclude(marker(slot), &slot.writing) {
            return None;
        }
        // Readers are out, and `writing` keeps them out until the guard goes.
        Some(self.guard(slot, index, guard, true))
    }

    /// Sleeps until a computation in `guard`'s part is settled: the lock is
    /// released, and readers let in, meanwhile. Readers are kept out again
    /// at the next change of the data (at once, if `nested`).
    pub(crate) fn wait(&self, guard: &mut WriteGuard<'_, T, B>) {
        let slot = guard.slot;
        // The accesses end while the lock is released and readers read.
        guard.data.release();
        guard.books.release();
        if guard.lock_free && guard.excluded {
            Registry::admit(&slot.writing);
            guard.excluded = false;
        }
        slot.settled.wait(&mut guard.guard);
        guard.books.retake(&slot.books);
        if guard.excluded {
            guard.data.retake(&slot.data);
        } else {
            guard.data.retake_shared(&slot.data);
            if guard.nested {
                guard.keep_readers_out();
            }
        }
    }

    /// Wakes the threads that sleep on part `index`.
    pub(crate) fn settled(&self, index: usize) -> &Condvar {
        &self.slot(index).settled
    }

    /// Runs `read` on the part that holds keys of `hash` without its lock,
    /// and with no write to memory that another thread reads; counts a hit
    /// if `read` says it is one. `None` when a writer is in the part (or
    /// this thread cannot read so): the caller takes the lock instead.
    #[inline(always)]
    #[allow(unsafe_code, reason = "a read that the readers' protocol keeps apart from every write")]
    pub(crate) fn read<R>(&self, hash: u64, read: impl FnOnce(&T) -> Option<R>) -> Option<R>
    where
        T: Sync,
    {
        if !self.lock_free {
            return None;
        }
        let me = readers::mine()?;
        let slot = self.slot_for(hash);
        let found = REGISTRY.read(me, marker(slot), &slot.writing, || {
            // SAFETY: every `&mut T` comes from a `WriteGuard`, made only
            // after `exclude` has seen no reader in this part and set
            // `writing`, and dropped only after it cleared `writing` again;
            // `read` runs only while this thread's slot names this part and
            // `writing` was clear after that: the protocol of `readers` makes
            // the two never overlap. A part made by a growth was written
            // before it was published, and this thread loaded it after.
            // `T: Sync`, so sharing `&T` between readers is sound.
            let data = slot.data.get();
            read(unsafe { data.deref() })
        })??;
        self.count_hit(me);
        Some(found)
    }

    /// The number of parts now.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.rest.get().map_or(1, |rest| rest.len() + 1)
    }

    /// Every part in turn, each locked only while `f` looks at it; inside
    /// memo's bookkeeping (a `Clone` that clears a cache), only the parts
    /// that [`enter`](Shards::enter) can have. Part 0 first, and the number
    /// of parts read after it: a growth either came before part 0's turn,
    /// and its parts are seen, or comes after it, with only entries made
    /// after that turn.
    pub(crate) fn each(&self, mut f: impl FnMut(&mut WriteGuard<'_, T, B>)) {
        if let Some(mut part) = self.enter(0) {
            f(&mut part);
        }
        for index in 1..self.len() {
            if let Some(mut part) = self.enter(index) {
                f(&mut part);
            }
        }
    }
}

/// The part of `hash` among `count` parts (a power of two).
#[inline]
#[allow(clippy::cast_possible_truncation, reason = "masked to the number of parts")]
fn place(hash: u64, count: usize) -> usize {
    (hash >> 32) as usize & (count - 1)
}

#[cfg(test)]
mod tests;

#[cfg(all(test, loom))]
mod loom_model;
