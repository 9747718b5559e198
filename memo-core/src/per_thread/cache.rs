//! [`LocalCache`]: one thread's cache of one function (of one instantiation).
//!
//! User code runs inside the bookkeeping (`Eq` during a lookup, `Clone` of a
//! hit, `Drop` of what an insert displaces), and it may call the same
//! function, or clear its cache, again. So:
//!
//! - a lookup holds only a shared borrow of the entries while it compares
//!   and clones: a nested call can look up too;
//! - an insert holds the mutable borrow only over the table's own work (it
//!   never hashes: nodes keep their hashes), and a nested call that finds the
//!   entries borrowed computes without storing, rather than panicking;
//! - displaced values are dropped after every borrow has ended;
//! - `clear()` bumps a generation, so that a value computed before it is
//!   never stored after it, and empties the entries at once or, if a lookup
//!   of this thread is using them, as soon as that lookup is done.
//!
//! There is no record of the keys being computed: a body that calls its own
//! function with the key it computes just computes it again (`key = n / 2`
//! with `f(n)` calling `f(n - 1)` is fine). Infinite recursion is caught by
//! sampling: every 8th open miss on this thread is remembered, and when 16
//! of the last 32 remembered ones have one key, that key has been re-entered
//! over a hundred levels deep, which is a panic rather than a stack overflow.

use core::cell::{Cell, RefCell};
use core::hash::Hash;
use core::num::NonZeroUsize;
use std::rc::Rc;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::lru::{Displaced, Lru};
use crate::store::info::CacheInfo;
use crate::store::key::{Exact, KeyView, hash_view};

/// Every this many open misses, one is remembered: a loop on one key panics
/// by 128 levels, before frames of kilobytes overflow a 2 MiB stack.
const SAMPLE_EVERY: u32 = 8;
/// Remembered misses of one key, among the last [`WINDOW`], that make
/// infinite recursion (a loop through two keys has half of them each).
const SAMPLES_OF_ONE_KEY: usize = 16;
/// How many of the latest samples a new one is compared with: a deep
/// recursion over distinct keys pays a bounded cost per sample.
const WINDOW: usize = 32;

enum Entries<K, V> {
    /// Key, value, and the key's hash (so the table grows without the
    /// user's `Hash`).
    Unbounded(HashTable<(K, V, u64)>),
    Lru(Lru<K, V>),
}

pub(crate) struct LocalCache<K, V> {
    entries: RefCell<Entries<K, V>>,
    state: RandomState,
    len: Cell<usize>,
    hits: Cell<u64>,
    misses: Cell<u64>,
    evictions: Cell<u64>,
    /// Bumped by every `clear`.
    generation: Cell<u64>,
    /// A `clear` that found the entries in use.
    clear_pending: Cell<bool>,
    /// Misses of this cache open on this thread (their bodies are running).
    open: Cell<u32>,
    /// Some of the open misses' keys (see the module's documentation).
    samples: RefCell<Vec<(u64, K)>>,
    name: &'static str,
}

impl<K: Hash + Eq + Clone, V: Clone> LocalCache<K, V> {
    pub(crate) fn new(name: &'static str, maxsize: Option<NonZeroUsize>) -> Self {
        let entries = match maxsize {
            Some(maxsize) => Entries::Lru(Lru::new(maxsize.get())),
            None => Entries::Unbounded(HashTable::new()),
        };
        LocalCache {
            entries: RefCell::new(entries),
            state: RandomState::default(),
            len: Cell::new(0),
            hits: Cell::new(0),
            misses: Cell::new(0),
            evictions: Cell::new(0),
            generation: Cell::new(0),
            clear_pending: Cell::new(false),
            open: Cell::new(0),
            samples: RefCell::new(Vec::new()),
            name,
        }
    }

    /// Looks `view` up: a clone of the value, or the key's hash, for
    /// [`miss`](Self::miss).
    #[inline]
    pub(crate) fn find_or_miss<Q: KeyView<Owned = K> + ?Sized>(&self, view: &Q) -> Result<V, u64> {
        let hash = hash_view(&self.state, view);
        match self.find(hash, view) {
            Some(value) => {
                self.hits.set(self.hits.get() + 1);
                Ok(value)
            }
            None => Err(hash),
        }
    }

    #[inline]
    fn find<Q: KeyView<Owned = K> + ?Sized>(&self, hash: u64, view: &Q) -> Option<V> {
        let value = {
            // A nested call from inside an insert's table work cannot look:
            // it misses, and computes.
            let entries = self.entries.try_borrow().ok()?;
            match &*entries {
                Entries::Unbounded(table) => table.find(hash, |(k, _, _)| view.matches(k))?.1.clone(),
                Entries::Lru(_) => {
                    drop(entries);
                    return self.find_lru(hash, view);
                }
            }
        };
        // The value's `Clone` may have called back, and a `clear` may wait.
        self.clear_if_pending();
        Some(value)
    }

    /// [`find`](Self::find) in an LRU. Out of line: the unbounded cache's
    /// hit, inlined into the memoized function, then has one probe loop,
    /// not two (fewer instructions, fewer registers to save in every level
    /// of a recursion).
    #[inline(never)]
    fn find_lru<Q: KeyView<Owned = K> + ?Sized>(&self, hash: u64, view: &Q) -> Option<V> {
        let (i, value) = {
            let entries = self.entries.try_borrow().ok()?;
            let Entries::Lru(lru) = &*entries else { return None };
            let (i, value) = lru.find(hash, |k| view.matches(k))?;
            (i, value.clone())
        };
        // The value's `Clone` may have called back: nothing changed the
        // entries meanwhile (a nested insert needs the borrow this held),
        // but a `clear` may wait.
        if let Ok(mut entries) = self.entries.try_borrow_mut() {
            if let Entries::Lru(lru) = &mut *entries {
                lru.touch(i);
            }
        }
        self.clear_if_pending();
        Some(value)
    }

    /// The miss of `view`, whose hash is `hash`, in `cache` (`None`: the
    /// thread's caches are gone, and nothing is counted or stored).
    #[cold]
    #[inline(never)]
    pub(crate) fn miss<Q: KeyView<Owned = K> + ?Sized>(
        cache: Option<Rc<Self>>,
        hash: u64,
        view: &Q,
    ) -> Option<LocalMiss<K, V>> {
        let this = cache?;
        let miss = this.open_miss(hash, view);
        Some(miss)
    }

    fn open_miss<Q: KeyView<Owned = K> + ?Sized>(self: &Rc<Self>, hash: u64, view: &Q) -> LocalMiss<K, V> {
        self.misses.set(self.misses.get() + 1);
        let key = view.to_owned_key();
        let open = self.open.get() + 1;
        self.open.set(open);
        let sampled = open % SAMPLE_EVERY == 0;
        // Made before the check, so that the check's panic closes this miss.
        let miss = LocalMiss {
            cache: Rc::clone(self),
            key: Some(key),
            hash,
            generation: self.generation.get(),
            sampled,
        };
        if sampled {
            let key = miss.key.clone().unwrap_or_else(|| unreachable!("set above"));
            let mut samples = self.samples.borrow_mut();
            let recent = &samples[samples.len().saturating_sub(WINDOW)..];
            let same = recent.iter().filter(|(h, k)| *h == hash && *k == key).count();
            samples.push((hash, key));
            if same + 1 >= SAMPLES_OF_ONE_KEY {
                drop(samples);
                panic!(
                    "memo: `{}` was called with the arguments it is computing, {} levels deep on one thread: \
                     that is infinite recursion, so the cache stops it here",
                    self.name, open
                );
            }
        }
        miss
    }

    fn insert(&self, hash: u64, key: K, value: V) {
        let displaced: Displaced<K, V> = {
            let Ok(mut entries) = self.entries.try_borrow_mut() else {
                // A lookup or insert of this thread is using the entries (this
                // is a call from inside its `Eq` or `Clone`): not stored.
                return;
            };
            match &mut *entries {
                Entries::Unbounded(table) => match table.entry(hash, |(k, _, _)| *k == key, |(_, _, h)| *h) {
                    hashbrown::hash_table::Entry::Occupied(mut entry) => {
                        Some((Some(key), core::mem::replace(&mut entry.get_mut().1, value)))
                    }
                    hashbrown::hash_table::Entry::Vacant(entry) => {
                        entry.insert((key, value, hash));
                        self.len.set(self.len.get() + 1);
                        None
                    }
                },
                Entries::Lru(lru) => {
                    let before = lru.len();
                    let (displaced, evicted) = lru.insert(hash, key, value);
                    if evicted {
                        self.evictions.set(self.evictions.get() + 1);
                    }
                    self.len.set(self.len.get() + lru.len() - before);
                    displaced
                }
            }
        };
        drop(displaced);
        self.clear_if_pending();
    }

    fn clear_if_pending(&self) {
        if self.clear_pending.get() {
            self.clear();
        }
    }

    pub(crate) fn clear(&self) {
        self.generation.set(self.generation.get() + 1);
        let old = match self.entries.try_borrow_mut() {
            Ok(mut entries) => {
                self.clear_pending.set(false);
                match &mut *entries {
                    Entries::Unbounded(table) => (Some(core::mem::take(table)), Vec::new()),
                    Entries::Lru(lru) => (None, lru.take()),
                }
            }
            // A lookup of this thread is cloning a value whose `Clone` cleared
            // the cache: emptied as soon as that lookup is done.
            Err(_) => {
                self.clear_pending.set(true);
                (None, Vec::new())
            }
        };
        if !self.clear_pending.get() {
            self.len.set(0);
        }
        self.hits.set(0);
        self.misses.set(0);
        self.evictions.set(0);
        // Dropped after the borrow ends: a value's `Drop` may use this cache.
        drop(old);
    }

    pub(crate) fn info(&self) -> CacheInfo {
        let maxsize = match self.entries.try_borrow().as_deref() {
            Ok(Entries::Lru(lru)) => Some(lru.maxsize()),
            _ => None,
        };
        CacheInfo {
            hits: self.hits.get(),
            misses: self.misses.get(),
            maxsize,
            currsize: self.len.get(),
            evictions: self.evictions.get(),
            ..CacheInfo::default()
        }
    }

    /// A clone of the value of `key`, looked at from outside: no hit
    /// counted, no recency changed. As a lookup, it only shares the
    /// entries while the value's `Clone` runs.
    pub(crate) fn peek(&self, key: &K) -> Option<V> {
        let hash = hash_view(&self.state, &Exact(key));
        let value = {
            let entries = self.entries.try_borrow().ok()?;
            match &*entries {
                Entries::Unbounded(table) => table.find(hash, |(k, _, _)| k == key)?.1.clone(),
                Entries::Lru(lru) => lru.find(hash, |k| k == key)?.1.clone(),
            }
        };
        self.clear_if_pending();
        Some(value)
    }

    pub(crate) fn remove(&self, key: &K) -> bool {
        let hash = hash_view(&self.state, &Exact(key));
        let removed = match self.entries.try_borrow_mut().as_deref_mut() {
            Ok(Entries::Unbounded(table)) => {
                table.find_entry(hash, |(k, _, _)| k == key).ok().map(|entry| entry.remove().0)
            }
            Ok(Entries::Lru(lru)) => lru.remove(hash, |k| k == key).map(|(k, v)| (k, v, hash)),
            Err(_) => None,
        };
        let found = removed.is_some();
        if found {
            self.len.set(self.len.get() - 1);
        }
        // Dropped after the borrow ends.
        drop(removed);
        found
    }
}

/// A miss of a [`LocalCache`]: complete it with the value.
#[must_use = "a miss does nothing until it is completed with the value"]
pub struct LocalMiss<K: Hash + Eq + Clone, V: Clone> {
    cache: Rc<LocalCache<K, V>>,
    key: Option<K>,
    hash: u64,
    /// The cache's generation when the lookup missed: a `clear` since then
    /// means the value is not to be stored.
    generation: u64,
    sampled: bool,
}

impl<K: Hash + Eq + Clone, V: Clone> LocalMiss<K, V> {
    /// Stores a clone of `value` (unless the cache was cleared since the
    /// lookup) and returns `value`.
    pub fn complete(mut self, value: V) -> V {
        if let Some(key) = self.key.take() {
            // Cloned first: the clone is the user's code, and may clear.
            let stored = value.clone();
            if self.cache.generation.get() == self.generation {
                self.cache.insert(self.hash, key, stored);
            }
        }
        value
    }

    /// Returns `value` without storing it (a result not to be cached).
    pub fn complete_uncached(mut self, value: V) -> V {
        self.key = None;
        value
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for LocalMiss<K, V> {
    fn drop(&mut self) {
        let cache = &self.cache;
        cache.open.set(cache.open.get().saturating_sub(1));
        if self.sampled {
            // Misses of one thread close in the reverse order they opened.
            let removed = cache.samples.try_borrow_mut().ok().and_then(|mut samples| samples.pop());
            drop(removed);
        }
    }
}
