//! `scope = thread`: a cache per thread, with no synchronization at all.
//!
//! Each thread has its own caches, in a thread-local registry keyed by the
//! function's [`Place`]; the function and its handle both find them there,
//! the function through a thread-local [`LocalSite`] that keeps what it found.
//! Nothing here is shared with the stores of shared caches: no parts, no
//! atomics, no table of keys in flight (a thread waits for nobody). How the
//! entries stay right when the user's `Eq`, `Clone` or `Drop` call back into
//! the cache: see [`cache`]. Values need not be `Send`: an `Rc` is fine.

mod cache;
mod lru;

use core::any::{Any, TypeId};
use core::cell::{OnceCell, RefCell};
use core::fmt;
use core::hash::Hash;
use core::num::NonZeroUsize;
use std::collections::HashMap;
use std::rc::Rc;

use cache::LocalCache;
pub(crate) use cache::LocalMiss;

use crate::call::instances::slot_id;
use crate::call::site::Place;
use crate::store::info::CacheInfo;
use crate::store::key::KeyView;

/// What a thread's handle needs of its caches whose types it does not know.
trait ErasedLocal {
    fn info(&self) -> CacheInfo;
    fn clear(&self);
    fn remove_any(&self, key: &dyn Any) -> bool;
    /// Whether the cache has an entry of `key` (of its key type), with a
    /// clone of its value put in `out` if `out` is an `Option` of its value
    /// type.
    fn peek_any(&self, key: &dyn Any, out: Option<&mut dyn Any>) -> bool;
}

impl<K: Hash + Eq + Clone + 'static, V: Clone + 'static> ErasedLocal for LocalCache<K, V> {
    fn info(&self) -> CacheInfo {
        LocalCache::info(self)
    }

    fn clear(&self) {
        LocalCache::clear(self);
    }

    fn remove_any(&self, key: &dyn Any) -> bool {
        key.downcast_ref::<K>().is_some_and(|key| self.remove(key))
    }

    fn peek_any(&self, key: &dyn Any, out: Option<&mut dyn Any>) -> bool {
        let Some(value) = key.downcast_ref::<K>().and_then(|key| self.peek(key)) else { return false };
        if let Some(out) = out.and_then(|out| out.downcast_mut::<Option<V>>()) {
            *out = Some(value);
        }
        true
    }
}

/// One cache of one instantiation, on this thread.
#[derive(Clone)]
struct LocalSlot {
    /// [`slot_id`] of the instantiation and of the type of `any`.
    id: TypeId,
    /// A `LocalCache<K, V>`.
    any: Rc<dyn Any>,
    /// Where `any` points, without its vtable.
    thin: *const (),
    cache: Rc<dyn ErasedLocal>,
}

impl LocalSlot {
    fn new<F: ?Sized, K, V>(cache: LocalCache<K, V>) -> Self
    where
        K: Hash + Eq + Clone + 'static,
        V: Clone + 'static,
    {
        let cache = Rc::new(cache);
        let thin = Rc::as_ptr(&cache).cast::<()>();
        LocalSlot { id: slot_id::<F, LocalCache<K, V>>(), any: cache.clone(), thin, cache }
    }

    /// The cache, if this is the slot of instantiation `F` and its type is
    /// `LocalCache<K, V>`: one comparison, and no virtual call.
    #[inline]
    #[allow(unsafe_code, reason = "a downcast by the TypeId stored with the pointer")]
    fn cache<F: ?Sized, K: 'static, V: 'static>(&self) -> Option<&LocalCache<K, V>> {
        if self.id != slot_id::<F, LocalCache<K, V>>() {
            return None;
        }
        debug_assert!(self.any.is::<LocalCache<K, V>>());
        // SAFETY: `thin` is `Rc::as_ptr` of the `Rc<LocalCache<K2, V2>>` that
        // `any` holds, with `id` set to `slot_id::<G, LocalCache<K2, V2>>()`
        // (in `LocalSlot::new`, the only place that makes a slot), and `id ==
        // slot_id::<F, LocalCache<K, V>>()`: the pair types are one type, so
        // the pointee is a `LocalCache<K, V>`, alive as long as `self` holds
        // `any`, as in `<dyn Any>::downcast_ref`.
        Some(unsafe { &*self.thin.cast::<LocalCache<K, V>>() })
    }

    /// The cache as an `Rc`, for a miss to keep.
    fn shared<K: 'static, V: 'static>(&self) -> Option<Rc<LocalCache<K, V>>> {
        Rc::clone(&self.any).downcast::<LocalCache<K, V>>().ok()
    }
}

/// One thread's caches of one function: one per instantiation.
struct LocalHandle {
    /// Every cache, by its [`slot_id`].
    all: RefCell<HashMap<TypeId, LocalSlot>>,
}

impl LocalHandle {
    fn caches(&self) -> Vec<Rc<dyn ErasedLocal>> {
        self.all.borrow().values().map(|slot| Rc::clone(&slot.cache)).collect()
    }
}

thread_local! {
    static REGISTRY: RefCell<HashMap<Place, Rc<LocalHandle>>> = RefCell::new(HashMap::new());
}

/// The thread-local that a `scope = thread` function keeps: its place, its
/// `maxsize`, this thread's cache of its first instantiation, and this
/// thread's caches of it all once found.
pub struct LocalSite {
    place: Place,
    maxsize: Option<NonZeroUsize>,
    /// The cache of the first instantiation called on this thread: for a
    /// function that is not generic, the only one.
    first: OnceCell<LocalSlot>,
    handle: OnceCell<Rc<LocalHandle>>,
}

impl LocalSite {
    /// A site that has not looked its caches up yet.
    #[must_use]
    pub const fn new(place: Place, maxsize: Option<NonZeroUsize>) -> Self {
        LocalSite { place, maxsize, first: OnceCell::new(), handle: OnceCell::new() }
    }

    fn handle(&self) -> Option<&Rc<LocalHandle>> {
        if let Some(handle) = self.handle.get() {
            return Some(handle);
        }
        let handle = registered(self.place, true)?;
        list(ThreadCacheHandle::new(self.place, self.maxsize));
        Some(self.handle.get_or_init(|| handle))
    }

    /// The slot of instantiation `F`, made the first time; `None` if the
    /// registry is in use (a call from inside a handle's own work).
    #[cold]
    #[inline(never)]
    fn slot<F: ?Sized, K, V>(&self) -> Option<LocalSlot>
    where
        K: Hash + Eq + Clone + 'static,
        V: Clone + 'static,
    {
        let id = slot_id::<F, LocalCache<K, V>>();
        let handle = self.handle()?;
        let found = handle.all.try_borrow().ok()?.get(&id).cloned();
        let slot = match found {
            Some(slot) => slot,
            None => {
                let slot = LocalSlot::new::<F, K, V>(LocalCache::new(self.place.name, self.maxsize));
                handle.all.try_borrow_mut().ok()?.insert(id, slot.clone());
                slot
            }
        };
        let _ = self.first.set(slot.clone());
        Some(slot)
    }
}

/// The `scope = thread` functions called on any thread so far, by place.
static LISTED: std::sync::Mutex<Option<HashMap<Place, ThreadCacheHandle>>> = std::sync::Mutex::new(None);

/// Lists a `scope = thread` function for `memo::caches()`, when a thread
/// makes its caches (the first thread lists it; later ones find it listed).
fn list(handle: ThreadCacheHandle) {
    let mut listed = LISTED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    listed.get_or_insert_with(HashMap::new).entry(handle.place).or_insert(handle);
}

/// Every `scope = thread` function called on any thread so far.
pub(crate) fn listed() -> Vec<ThreadCacheHandle> {
    let listed = LISTED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    listed.iter().flat_map(HashMap::values).copied().collect()
}

/// This thread's caches of the function at `place`, made if `make`.
fn registered(place: Place, make: bool) -> Option<Rc<LocalHandle>> {
    REGISTRY
        .try_with(|registry| {
            let mut registry = registry.try_borrow_mut().ok()?;
            if !make {
                return registry.get(&place).cloned();
            }
            let handle = registry
                .entry(place)
                .or_insert_with(|| Rc::new(LocalHandle { all: RefCell::new(HashMap::new()) }));
            Some(Rc::clone(handle))
        })
        .ok()
        .flatten()
}

/// Looks the call's view up in this thread's cache of the function of
/// instantiation `F`: a hit, or a miss to complete, or `Err(None)` when the
/// thread is exiting and its caches are gone (compute, uncached).
#[inline]
pub(crate) fn lookup<F: ?Sized, Q, V>(
    site: &'static std::thread::LocalKey<LocalSite>,
    view: &Q,
) -> Result<V, LocalProbe>
where
    Q: KeyView,
    Q::Owned: Clone + 'static,
    V: Clone + 'static,
{
    // A hit returns the value, a miss only the key's hash: the miss itself
    // is made apart ([`open`]), in the frame's one place for it, so that
    // what a hit moves stays small.
    let found = site.try_with(|site| match site.first.get() {
        Some(slot) if slot.id == slot_id::<F, LocalCache<Q::Owned, V>>() => look::<F, Q, V>(slot, view),
        _ => look_found::<F, Q, V>(site, view),
    });
    match found {
        Ok(Some(Ok(value))) => Ok(value),
        Ok(Some(Err(hash))) => Err(LocalProbe(Some(hash))),
        _ => Err(LocalProbe(None)),
    }
}

#[inline(always)]
fn look<F: ?Sized, Q, V>(slot: &LocalSlot, view: &Q) -> Option<Result<V, u64>>
where
    Q: KeyView,
    Q::Owned: Clone + 'static,
    V: Clone + 'static,
{
    slot.cache::<F, Q::Owned, V>().map(|cache| cache.find_or_miss(view))
}

/// [`look`] into a cache that is not the thread's first of the function
/// (an instantiation of a generic function but the first, or any before
/// the first is made). Out of line: the slot it finds stays in its own
/// frame, not in the recursion's.
#[cold]
#[inline(never)]
fn look_found<F: ?Sized, Q, V>(site: &LocalSite, view: &Q) -> Option<Result<V, u64>>
where
    Q: KeyView,
    Q::Owned: Clone + 'static,
    V: Clone + 'static,
{
    look::<F, Q, V>(&site.slot::<F, Q::Owned, V>()?, view)
}

/// What a thread's lookup that did not hit found: the key's hash, for
/// [`open`] to make the miss with, or nothing where this thread's caches
/// are gone (it is exiting) or in use by the registry.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct LocalProbe(Option<u64>);

impl LocalProbe {
    /// Nothing found: the call is not cached.
    pub(crate) const NONE: LocalProbe = LocalProbe(None);
}

/// The miss that `probe` found for `view`: `None` where the call is not to
/// be cached (the thread's caches are gone).
#[inline(always)]
pub(crate) fn open<F: ?Sized, Q, V>(
    site: &'static std::thread::LocalKey<LocalSite>,
    probe: LocalProbe,
    view: &Q,
) -> Option<LocalMiss<Q::Owned, V>>
where
    Q: KeyView,
    Q::Owned: Clone + 'static,
    V: Clone + 'static,
{
    miss::<F, Q, V>(site, probe.0?, view)
}

/// The miss of `view` (whose hash is `hash`) in this thread's cache of
/// instantiation `F`.
#[cold]
#[inline(never)]
fn miss<F: ?Sized, Q, V>(
    site: &'static std::thread::LocalKey<LocalSite>,
    hash: u64,
    view: &Q,
) -> Option<LocalMiss<Q::Owned, V>>
where
    Q: KeyView,
    Q::Owned: Clone + 'static,
    V: Clone + 'static,
{
    let cache = site.try_with(|site| match site.first.get() {
        Some(slot) if slot.id == slot_id::<F, LocalCache<Q::Owned, V>>() => slot.shared(),
        _ => site.slot::<F, Q::Owned, V>()?.shared(),
    });
    let cache = cache.ok().flatten();
    LocalCache::miss(cache, hash, view)
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

    /// Where the function is written.
    pub(crate) fn place(&self) -> Place {
        self.place
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

    /// Whether this thread's cache holds a value for `key`, as
    /// [`CacheHandle::contains`](crate::CacheHandle::contains): a look, not
    /// a lookup (no hit counted, no change to an LRU's order).
    pub fn contains<K: Any>(&self, key: &K) -> bool {
        self.caches().iter().any(|cache| cache.peek_any(key, None))
    }

    /// A clone of the value this thread's cache holds for `key`, as
    /// [`CacheHandle::peek`](crate::CacheHandle::peek).
    ///
    /// ```
    /// #[memo::memoize(scope = thread)]
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// square(3);
    /// assert_eq!(square_cache().peek(&3_u64), Some(9_u64));
    /// assert!(!square_cache().contains(&4_u64));
    /// assert_eq!(square_cache().info().hits, 0);
    /// ```
    pub fn peek<K: Any, V: Any>(&self, key: &K) -> Option<V> {
        self.caches().iter().find_map(|cache| {
            let mut value = None::<V>;
            cache.peek_any(key, Some(&mut value));
            value
        })
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
