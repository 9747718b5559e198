//! `scope = thread`: a cache per thread, with no synchronization at all.
//!
//! Each thread has its own caches, in a thread-local registry keyed by the
//! function's [`Place`]; the function and its handle both find them there,
//! the function through a thread-local [`LocalSite`] that keeps what it found.
//! Entries live in a `RefCell`, borrowed only to look up and to insert, never
//! while the body runs, so recursion is free to come back. Values need not be
//! `Send`: an `Rc` is fine.

use core::any::{Any, TypeId};
use core::cell::{Cell, OnceCell, RefCell};
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::num::NonZeroUsize;
use std::collections::HashMap;
use std::rc::Rc;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use crate::info::CacheInfo;
use crate::key::{Exact, KeyView, hash_view};
use crate::lru::Part;
use crate::site::Place;

/// The entries of one thread's cache: all of them, or an exact LRU.
enum Entries<K, V> {
    Unbounded(HashTable<(K, V)>),
    Lru(Part<K, V>, usize),
}

/// One thread's cache of one function (of one instantiation).
pub struct LocalCache<K, V> {
    entries: RefCell<Entries<K, V>>,
    /// Keys whose body is running on this thread: a call on one of them is
    /// infinite recursion.
    computing: RefCell<HashTable<K>>,
    state: RandomState,
    hits: Cell<u64>,
    misses: Cell<u64>,
    evictions: Cell<u64>,
    name: &'static str,
}

impl<K: Hash + Eq + Clone, V: Clone> LocalCache<K, V> {
    fn new(name: &'static str, maxsize: Option<NonZeroUsize>) -> Self {
        let entries = match maxsize {
            Some(maxsize) => Entries::Lru(Part::new(), maxsize.get()),
            None => Entries::Unbounded(HashTable::new()),
        };
        LocalCache {
            entries: RefCell::new(entries),
            computing: RefCell::new(HashTable::new()),
            state: RandomState::default(),
            hits: Cell::new(0),
            misses: Cell::new(0),
            evictions: Cell::new(0),
            name,
        }
    }

    fn find<Q: KeyView<Owned = K> + ?Sized>(&self, hash: u64, view: &Q) -> Option<V> {
        match &mut *self.entries.borrow_mut() {
            Entries::Unbounded(table) => table.find(hash, |(k, _)| view.matches(k)).map(|(_, v)| v.clone()),
            Entries::Lru(part, _) => {
                let i = part.find(hash, |k| view.matches(k))?;
                part.touch(i);
                Some(part.nodes[i as usize].value.clone())
            }
        }
    }

    /// Looks `view` up; a miss claims the key for this thread's computation.
    ///
    /// # Panics
    ///
    /// If this thread is computing `view` already (infinite recursion).
    fn lookup<Q: KeyView<Owned = K> + ?Sized>(self: Rc<Self>, view: &Q) -> Result<V, LocalMiss<K, V>> {
        let hash = hash_view(&self.state, view);
        if let Some(value) = self.find(hash, view) {
            self.hits.set(self.hits.get() + 1);
            return Ok(value);
        }
        self.misses.set(self.misses.get() + 1);
        let key = view.to_owned_key();
        {
            let mut computing = self.computing.borrow_mut();
            if computing.find(hash, |k| view.matches(k)).is_some() {
                drop(computing);
                panic!(
                    "memo: `{}` was called again, on the same thread, with the arguments it is computing: \
                     that is infinite recursion, so the cache stops it here",
                    self.name
                );
            }
            computing.insert_unique(hash, key.clone(), |k| self.state.hash_one(k));
        }
        Err(LocalMiss { cache: self, key: Some(key), hash })
    }

    fn insert(&self, hash: u64, key: K, value: V) {
        let displaced = match &mut *self.entries.borrow_mut() {
            Entries::Unbounded(table) => {
                let state = &self.state;
                match table.entry(hash, |(k, _)| *k == key, |(k, _)| state.hash_one(k)) {
                    hashbrown::hash_table::Entry::Occupied(mut entry) => {
                        Some((None, core::mem::replace(&mut entry.get_mut().1, value)))
                    }
                    hashbrown::hash_table::Entry::Vacant(entry) => {
                        entry.insert((key, value));
                        None
                    }
                }
            }
            Entries::Lru(part, maxsize) => {
                if let Some(i) = part.find(hash, |k| *k == key) {
                    part.touch(i);
                    Some((None, core::mem::replace(&mut part.nodes[i as usize].value, value)))
                } else if part.nodes.len() < *maxsize {
                    part.push(&self.state, hash, key, value);
                    None
                } else {
                    let (k, v) = part.replace_victim(&self.state, hash, key, value, true);
                    self.evictions.set(self.evictions.get() + 1);
                    Some((Some(k), v))
                }
            }
        };
        // Dropped after the borrow ends, so that a value's `Drop` may use this cache.
        drop(displaced);
    }

    fn stop_computing(&self, hash: u64, key: &K) {
        let removed = match self.computing.borrow_mut().find_entry(hash, |k| k == key) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        };
        drop(removed);
    }
}

/// A miss of a [`LocalCache`]: complete it with the value.
#[must_use = "a miss does nothing until it is completed with the value"]
pub struct LocalMiss<K: Hash + Eq + Clone, V: Clone> {
    cache: Rc<LocalCache<K, V>>,
    key: Option<K>,
    hash: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> LocalMiss<K, V> {
    /// Stores a clone of `value` and returns `value`.
    pub fn complete(mut self, value: V) -> V {
        if let Some(key) = self.key.take() {
            self.cache.stop_computing(self.hash, &key);
            self.cache.insert(self.hash, key, value.clone());
        }
        value
    }
}

impl<K: Hash + Eq + Clone, V: Clone> LocalMiss<K, V> {
    /// Returns `value` without storing it (a result not to be cached).
    pub fn complete_uncached(mut self, value: V) -> V {
        if let Some(key) = self.key.take() {
            self.cache.stop_computing(self.hash, &key);
        }
        value
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for LocalMiss<K, V> {
    fn drop(&mut self) {
        // The body panicked: the key is no longer being computed.
        if let Some(key) = self.key.take() {
            self.cache.stop_computing(self.hash, &key);
        }
    }
}

/// What a thread's handle needs of its caches whose types it does not know.
trait ErasedLocal {
    fn info(&self) -> CacheInfo;
    fn clear(&self);
    fn remove_any(&self, key: &dyn Any) -> bool;
}

impl<K: Hash + Eq + Clone + 'static, V: Clone> ErasedLocal for LocalCache<K, V> {
    fn info(&self) -> CacheInfo {
        let (maxsize, currsize) = match &*self.entries.borrow() {
            Entries::Unbounded(table) => (None, table.len()),
            Entries::Lru(part, maxsize) => (Some(*maxsize), part.nodes.len()),
        };
        CacheInfo {
            hits: self.hits.get(),
            misses: self.misses.get(),
            maxsize,
            currsize,
            evictions: self.evictions.get(),
            ..CacheInfo::default()
        }
    }

    fn clear(&self) {
        let old = match &mut *self.entries.borrow_mut() {
            Entries::Unbounded(table) => (Some(core::mem::take(table)), None),
            Entries::Lru(part, _) => (None, Some(part.empty())),
        };
        // Dropped after the borrow ends, so that a value's `Drop` may use this cache.
        drop(old);
        self.hits.set(0);
        self.misses.set(0);
        self.evictions.set(0);
    }

    fn remove_any(&self, key: &dyn Any) -> bool {
        let Some(key) = key.downcast_ref::<K>() else { return false };
        let view = Exact(key);
        let hash = hash_view(&self.state, &view);
        let removed = match &mut *self.entries.borrow_mut() {
            Entries::Unbounded(table) => {
                table.find_entry(hash, |(k, _)| k == key).ok().map(|entry| drop(entry.remove().0))
            }
            Entries::Lru(part, _) => part.remove(&self.state, hash, |k| k == key).map(drop),
        };
        removed.is_some()
    }
}

/// One thread's caches of one function: one per instantiation.
struct LocalHandle {
    name: &'static str,
    /// The first instantiation's cache, found with one comparison.
    first: OnceCell<LocalSlot>,
    /// Every cache, the first included, by the `TypeId` of its instantiation.
    all: RefCell<HashMap<TypeId, LocalSlot>>,
}

#[derive(Clone)]
struct LocalSlot {
    instance: TypeId,
    any: Rc<dyn Any>,
    cache: Rc<dyn ErasedLocal>,
}

impl LocalHandle {
    fn instance<K, V>(&self, instance: TypeId, maxsize: Option<NonZeroUsize>) -> Option<Rc<LocalCache<K, V>>>
    where
        K: Hash + Eq + Clone + 'static,
        V: Clone + 'static,
    {
        let cast = |slot: &LocalSlot| Rc::clone(&slot.any).downcast::<LocalCache<K, V>>().ok();
        if let Some(slot) = self.first.get().filter(|slot| slot.instance == instance) {
            return cast(slot);
        }
        if let Some(slot) = self.all.try_borrow().ok()?.get(&instance) {
            return cast(slot);
        }
        let cache = Rc::new(LocalCache::<K, V>::new(self.name, maxsize));
        let slot = LocalSlot { instance, any: cache.clone(), cache: cache.clone() };
        let _ = self.first.set(slot.clone());
        self.all.try_borrow_mut().ok()?.insert(instance, slot);
        Some(cache)
    }

    fn caches(&self) -> Vec<Rc<dyn ErasedLocal>> {
        self.all.borrow().values().map(|slot| Rc::clone(&slot.cache)).collect()
    }
}

thread_local! {
    static REGISTRY: RefCell<HashMap<Place, Rc<LocalHandle>>> = RefCell::new(HashMap::new());
}

/// The thread-local that a `scope = thread` function keeps: its place, its
/// `maxsize`, and this thread's caches of it once found.
pub struct LocalSite {
    place: Place,
    maxsize: Option<NonZeroUsize>,
    handle: OnceCell<Rc<LocalHandle>>,
}

impl LocalSite {
    /// A site that has not looked its caches up yet.
    #[must_use]
    pub const fn new(place: Place, maxsize: Option<NonZeroUsize>) -> Self {
        LocalSite { place, maxsize, handle: OnceCell::new() }
    }

    fn handle(&self) -> Option<&Rc<LocalHandle>> {
        if let Some(handle) = self.handle.get() {
            return Some(handle);
        }
        let handle = registered(self.place, true)?;
        Some(self.handle.get_or_init(|| handle))
    }
}

/// This thread's caches of the function at `place`, made if `make`.
fn registered(place: Place, make: bool) -> Option<Rc<LocalHandle>> {
    REGISTRY
        .try_with(|registry| {
            let mut registry = registry.try_borrow_mut().ok()?;
            if !make {
                return registry.get(&place).cloned();
            }
            let handle = registry.entry(place).or_insert_with(|| {
                Rc::new(LocalHandle {
                    name: place.name,
                    first: OnceCell::new(),
                    all: RefCell::new(HashMap::new()),
                })
            });
            Some(Rc::clone(handle))
        })
        .ok()
        .flatten()
}

/// What a `scope = thread` lookup found.
pub enum LocalLookup<K: Hash + Eq + Clone, V: Clone> {
    /// In this thread's cache.
    Hit(V),
    /// Not there: compute it and complete the miss.
    Miss(LocalMiss<K, V>),
    /// The thread is exiting and its caches are gone: compute it, uncached.
    Unavailable,
}

/// Looks the call's view up in this thread's cache of the function.
pub fn lookup<Q, V>(
    site: &'static std::thread::LocalKey<LocalSite>,
    instance: TypeId,
    view: &Q,
) -> LocalLookup<Q::Owned, V>
where
    Q: KeyView,
    Q::Owned: Clone + 'static,
    V: Clone + 'static,
{
    let cache =
        site.try_with(|site| site.handle().and_then(|handle| handle.instance(instance, site.maxsize)));
    match cache {
        Ok(Some(cache)) => match cache.lookup(view) {
            Ok(value) => LocalLookup::Hit(value),
            Err(miss) => LocalLookup::Miss(miss),
        },
        _ => LocalLookup::Unavailable,
    }
}

/// The handle of a `#[memoize(scope = thread)]` function, as `fib_cache()`
/// returns it: it reports and manages the **calling thread's** cache, which
/// other threads never see.
///
/// ```
/// use memo::memoize;
///
/// #[memoize(scope = thread)]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// assert_eq!(square(4), 16);
/// assert_eq!(square(4), 16);
/// std::thread::spawn(|| {
///     assert_eq!(square_cache().info().currsize, 0); // a new thread: a cache of its own
///     square(4);
///     assert_eq!(square_cache().info().misses, 1);
/// })
/// .join()
/// .unwrap();
/// assert_eq!(square_cache().info().to_string(), "CacheInfo(hits=1, misses=1, maxsize=None, currsize=1)");
/// ```
#[derive(Clone, Copy)]
pub struct ThreadCacheHandle {
    place: Place,
    maxsize: Option<NonZeroUsize>,
}

impl ThreadCacheHandle {
    /// The handle of the function at `place`; the macro writes this.
    #[doc(hidden)]
    #[must_use]
    pub const fn new(place: Place, maxsize: Option<NonZeroUsize>) -> Self {
        ThreadCacheHandle { place, maxsize }
    }

    fn caches(&self) -> Vec<Rc<dyn ErasedLocal>> {
        registered(self.place, false).map(|handle| handle.caches()).unwrap_or_default()
    }

    /// The name of the function.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.place.name
    }

    /// Hits, misses, maxsize and current size of this thread's cache (for a
    /// generic function, of all its instantiations on this thread).
    pub fn info(&self) -> CacheInfo {
        let mut info = CacheInfo { maxsize: self.maxsize.map(NonZeroUsize::get), ..CacheInfo::default() };
        for cache in self.caches() {
            info.absorb(cache.info());
        }
        info
    }

    /// Empties this thread's cache and resets its counts.
    pub fn clear(&self) {
        for cache in self.caches() {
            cache.clear();
        }
    }

    /// The number of entries in this thread's cache.
    pub fn len(&self) -> usize {
        self.info().currsize
    }

    /// Whether this thread's cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the entry of one set of arguments from this thread's cache; the
    /// key is as for [`CacheHandle::remove`](crate::CacheHandle::remove).
    pub fn remove<K: Any>(&self, key: &K) -> bool {
        let mut removed = false;
        for cache in self.caches() {
            removed |= cache.remove_any(key);
        }
        removed
    }
}

impl fmt::Debug for ThreadCacheHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadCacheHandle")
            .field("function", &self.place.name)
            .field("info", &self.info())
            .finish()
    }
}
