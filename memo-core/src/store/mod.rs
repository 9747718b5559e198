//! The contract between a cache and where it keeps its entries: the
//! [`Store`] trait, the keys a store is given ([`key`]), values that expire
//! ([`expiry`]), and what a cache reports ([`info`]).

pub(crate) mod expiry;
pub(crate) mod info;
pub(crate) mod key;
#[cfg(feature = "log")]
pub(crate) mod warnings;

use core::any::TypeId;
use core::fmt;
use std::error::Error;

use crate::store::expiry::Found;
use crate::store::info::CacheInfo;
use crate::store::key::KeyView;

/// Where a cache keeps its entries: [`Unbounded`](crate::Unbounded) (the
/// default), [`Lru`](crate::Lru) (`maxsize = N`), or any type of your own given
/// as `#[memoize(store = MyStore::new())]`.
///
/// A store is shared by every thread that calls the function, so it takes
/// `&self` and locks what it must inside. The cache never holds a store's lock
/// while the function body runs: it calls [`get`](Store::get), runs the body on
/// a miss, then calls [`insert`](Store::insert).
///
/// Lookups take a [`KeyView`], a borrowed view of the arguments, so that a hit
/// neither clones nor allocates; a store compares the view with its owned keys
/// with [`KeyView::matches`] and calls [`KeyView::to_owned_key`] only if it
/// needs an owned key it was not given.
///
/// Every operation can fail, for stores that live elsewhere (a cache server) or
/// encode their values. A failure is never the caller's problem: the cache
/// treats a failed `get` as a miss and a failed `insert` as a value it did not
/// keep, and the function still returns its own result.
///
/// # Example
///
/// A store that keeps its entries in a vector (fine for a handful of keys):
///
/// ```
/// use memo::{KeyView, Store, StoreError};
/// use std::sync::Mutex;
///
/// pub struct VecStore<K, V>(Mutex<Vec<(K, V)>>);
///
/// impl<K, V> VecStore<K, V> {
///     pub fn new() -> Self {
///         VecStore(Mutex::new(Vec::new()))
///     }
/// }
///
/// impl<K: Eq + std::hash::Hash + Send, V: Clone + Send> Store<K, V> for VecStore<K, V> {
///     fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
///     where
///         Q: KeyView<Owned = K> + ?Sized,
///     {
///         let entries = self.0.lock().map_err(|_| StoreError::new("poisoned"))?;
///         Ok(entries.iter().find(|(k, _)| key.matches(k)).map(|(_, v)| v.clone()))
///     }
///
///     fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
///         let mut entries = self.0.lock().map_err(|_| StoreError::new("poisoned"))?;
///         entries.retain(|(k, _)| *k != key);
///         entries.push((key, value));
///         Ok(())
///     }
///
///     fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
///     where
///         Q: KeyView<Owned = K> + ?Sized,
///     {
///         let mut entries = self.0.lock().map_err(|_| StoreError::new("poisoned"))?;
///         let before = entries.len();
///         entries.retain(|(k, _)| !key.matches(k));
///         Ok(entries.len() != before)
///     }
///
///     fn clear(&self) -> Result<(), StoreError> {
///         self.0.lock().map_err(|_| StoreError::new("poisoned"))?.clear();
///         Ok(())
///     }
///
///     fn len(&self) -> usize {
///         self.0.lock().map_or(0, |entries| entries.len())
///     }
/// }
///
/// #[memo::memoize(store = VecStore::new())]
/// fn square(x: u32) -> u32 {
///     x * x
/// }
///
/// assert_eq!(square(3), 9);
/// assert_eq!(square(3), 9);
/// assert_eq!(square_cache().info().hits, 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a store of `{K}` keys and `{V}` values",
    label = "not a `Store<{K}, {V}>`",
    note = "the store of `store = ...` keeps the function's keys (its arguments, or the value of `key = ...`) and return values"
)]
pub trait Store<K, V>: Send + Sync {
    /// Returns a clone of the value stored for `key`, or `None`.
    ///
    /// # Errors
    ///
    /// A store that cannot answer (a server that is down, a value that does not
    /// decode) returns an error; the cache counts it as a miss.
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized;

    /// Stores `value` for `key`, replacing any value stored for it. A bounded
    /// store makes room first by evicting entries of its choice.
    ///
    /// # Errors
    ///
    /// An error means the value was not kept; the caller still gets it.
    fn insert(&self, key: K, value: V) -> Result<(), StoreError>;

    /// Removes the entry for `key`; returns whether there was one.
    ///
    /// # Errors
    ///
    /// An error means the store could not be reached or did not answer.
    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized;

    /// Removes every entry, and resets the counts of a store that
    /// [counts lookups](Store::COUNTS_LOOKUPS).
    ///
    /// # Errors
    ///
    /// An error means the store could not be reached or did not answer.
    fn clear(&self) -> Result<(), StoreError>;

    /// The number of entries the store holds now (the `currsize` of
    /// [`CacheInfo`](crate::CacheInfo)). A store that cannot count returns 0.
    fn len(&self) -> usize;

    /// Whether the store holds no entry.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Like [`get`](Store::get), for entries that expire: an entry whose value
    /// is not `fresh` is removed, reported as [`Found::Expired`], and counted
    /// as a miss by a store that [counts lookups](Store::COUNTS_LOOKUPS).
    ///
    /// The default looks and removes in two steps; a store that can do both
    /// under one lock should, so that two callers never both remove (and count)
    /// one expired entry, and a fresh value stored between the two steps is
    /// never removed.
    ///
    /// # Errors
    ///
    /// As for [`get`](Store::get).
    fn get_fresh<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Result<Found<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        match self.get(key)? {
            Some(value) if fresh(&value) => Ok(Found::Hit(value)),
            Some(_) => Ok(if self.remove(key)? { Found::Expired } else { Found::Miss }),
            None => Ok(Found::Miss),
        }
    }

    /// What the store holds for `key` that is `fresh`, as
    /// [`get_fresh`](Store::get_fresh) finds it, but looked at from outside
    /// the function: no hit or miss counted, no entry's recency changed,
    /// nothing removed. A handle's `contains`, `peek` and `expires_in` ask
    /// it. The default calls `get`, which is right for a store whose `get`
    /// neither counts nor orders; the built-in stores override it.
    ///
    /// # Errors
    ///
    /// As for `get`.
    fn peek<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        Ok(self.get(key)?.filter(|value| fresh(value)))
    }

    /// Removes every entry for which `keep` is false; returns how many went.
    /// Caches with expiry call it now and then to give the memory of expired
    /// entries back. The default removes nothing: a store that cannot list its
    /// entries leaves expired ones until they are looked up (a cache server
    /// expires them itself).
    ///
    /// # Errors
    ///
    /// An error means the store could not be reached or did not answer.
    fn retain(&self, keep: &mut dyn FnMut(&K, &V) -> bool) -> Result<usize, StoreError> {
        let _ = keep;
        Ok(0)
    }

    /// The most entries the store keeps, or `None` if it is not bounded by
    /// count (the `maxsize` of [`CacheInfo`](crate::CacheInfo)).
    fn maxsize(&self) -> Option<usize> {
        None
    }

    /// Whether [`get`](Store::get) counts its own hits (`Ok(Some(_))`) and
    /// misses (`Ok(None)`) and [`info`](Store::info) reports them. A store that
    /// takes a lock on every lookup anyway counts under it, for free and
    /// exactly; otherwise (the default) the cache counts with atomic counters,
    /// which cost a few nanoseconds per call.
    const COUNTS_LOOKUPS: bool = false;

    /// Whether the store's operations block on the network (a cache
    /// server): then the lookups and inserts of an `async fn` run them on
    /// memo's I/O threads, never on the executor's, after asking
    /// [`get_in_process`](Store::get_in_process) and
    /// [`insert_in_process`](Store::insert_in_process) in line. The I/O
    /// threads are the cache's own (a function never waits for another's),
    /// and a cache starts one more whenever all of its are busy, up to 64.
    const BLOCKING: bool = false;

    /// Whether a store that [blocks](Store::BLOCKING) holds part of itself
    /// in this process, answered without blocking by
    /// [`get_in_process`](Store::get_in_process) and
    /// [`insert_in_process`](Store::insert_in_process). An `async fn` on a
    /// store that says no (the default) calls neither: a store that
    /// implements them says yes. A [`Tiered`](crate::Tiered) store says yes
    /// when one of its tiers does or does not block.
    const IN_PROCESS: bool = false;

    /// For a store that [blocks](Store::BLOCKING): what it holds for `key`
    /// in this process, found without blocking (a [`Tiered`](crate::Tiered)
    /// store's near tier), as [`get_fresh`](Store::get_fresh) would find it.
    /// The lookup of an `async fn` asks it in line, on the task's thread; a
    /// [`Found::Hit`] answers the call there, with no thread hop, and
    /// anything else sends [`get`](Store::get) to an I/O thread, which asks
    /// the whole store (this part again included). A store that
    /// [counts lookups](Store::COUNTS_LOOKUPS) counts a hit here as one of
    /// `get`'s, and nothing else (the `get` that follows counts it). Asked
    /// only of a store that says [`IN_PROCESS`](Store::IN_PROCESS). The
    /// default has nothing in the process: `Found::Miss`.
    fn get_in_process<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Found<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let _ = (key, fresh);
        Found::Miss
    }

    /// For a store that [blocks](Store::BLOCKING): stores `value` for `key`
    /// in what the store holds in this process, without blocking (a
    /// [`Tiered`](crate::Tiered) store's near tier). An `async fn` that
    /// computed a value calls it in line, before its waiting tasks get the
    /// value, then sends [`insert`](Store::insert), which stores it in the
    /// whole store (this part again included), to an I/O thread. Called
    /// only on a store that says [`IN_PROCESS`](Store::IN_PROCESS). The
    /// default keeps nothing in the process.
    ///
    /// # Errors
    ///
    /// As for [`insert`](Store::insert).
    fn insert_in_process(&self, key: K, value: V) -> Result<(), StoreError> {
        let _ = (key, value);
        Ok(())
    }

    /// Called once, when `#[memoize]` makes the cache of a function (of each
    /// instantiation of a generic one), with the [`FunctionId`] it serves. A
    /// store that keeps its entries where other functions' entries are too
    /// (a cache server, a directory) names them after it, so that two
    /// functions, or two instantiations of one, never share entries; a store
    /// that wraps others forwards it to them. The default does nothing: a
    /// store in the process has one function's entries only.
    fn bind(&mut self, function: &FunctionId) {
        let _ = function;
    }

    /// Called when a miss of `key` ends without a value for the store: the
    /// body's result is not to be cached (an `Err`, by default), or the
    /// body panicked and no other caller took its computation over. A store
    /// that holds something for a miss in flight lets it go: the shared
    /// stores give up the lock that keeps other processes waiting for this
    /// one's value (see [`Redis::lock`](crate::Redis::lock)). The default
    /// does nothing. It may be called for a key this store never missed.
    fn abandoned<Q>(&self, key: &Q)
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let _ = key;
    }

    /// What the store knows of itself: `maxsize`, `currsize`, and, if it
    /// [counts lookups](Store::COUNTS_LOOKUPS), `hits` and `misses` since it
    /// was made or last [cleared](Store::clear). The cache adds what it counted
    /// itself.
    fn info(&self) -> CacheInfo {
        CacheInfo { maxsize: self.maxsize(), currsize: self.len(), ..CacheInfo::default() }
    }
}

/// A store's failure to answer: the cache reads it as a miss.
///
/// ```
/// use memo::StoreError;
///
/// let error = StoreError::new("connection refused");
/// assert_eq!(error.to_string(), "cache store error: connection refused");
/// let io = StoreError::new(std::io::Error::other("timed out"));
/// assert!(std::error::Error::source(&io).is_some());
/// ```
pub struct StoreError {
    source: Box<dyn Error + Send + Sync + 'static>,
    /// Whether the log has been told of it already: a failure of a server
    /// whose outage its store announces once, rather than once per call.
    told: bool,
}

impl StoreError {
    /// Wraps any error, or a message (`StoreError::new("connection refused")`).
    pub fn new(source: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        StoreError { source: source.into(), told: false }
    }

    /// The error, marked as one that the log knows of: the cache counts it
    /// but does not warn of it again.
    #[cfg_attr(not(feature = "remote"), allow(dead_code, reason = "only the servers' stores tell the log"))]
    pub(crate) fn told(mut self) -> Self {
        self.told = true;
        self
    }

    /// Whether the log knows of it (see [`told`](Self::told)).
    #[cfg_attr(not(feature = "log"), allow(dead_code, reason = "read only where there is a log"))]
    pub(crate) fn is_told(&self) -> bool {
        self.told
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoreError").field(&self.source).finish()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cache store error: {}", self.source)
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.source)
    }
}

/// The function a cache serves, as [`Store::bind`] tells it: the module
/// path and name of the memoized function, and a `TypeId` that is
/// different for every item that `#[memoize]` rewrites and for every
/// instantiation of a generic one (two methods of one name in two `impl`
/// blocks of one module included). The `TypeId` is the same in every process
/// of one build and may differ in another build.
///
/// ```
/// use memo::FunctionId;
/// use std::any::TypeId;
///
/// let id = FunctionId::new("my_crate::pricing", "quote", TypeId::of::<u8>());
/// assert_eq!((id.module(), id.name()), ("my_crate::pricing", "quote"));
/// assert_eq!(id.to_string(), "my_crate::pricing::quote");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FunctionId {
    module: &'static str,
    name: &'static str,
    instance: TypeId,
}

impl FunctionId {
    /// The function `name` of module `module`, instantiation `instance`.
    #[must_use]
    pub const fn new(module: &'static str, name: &'static str, instance: TypeId) -> Self {
        FunctionId { module, name, instance }
    }

    /// The function's module path (`module_path!()`).
    #[must_use]
    pub const fn module(&self) -> &'static str {
        self.module
    }

    /// The function's name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Which item and instantiation: different for every function that
    /// `#[memoize]` rewrites and every instantiation of a generic one.
    #[must_use]
    pub const fn instance(&self) -> TypeId {
        self.instance
    }
}

impl fmt::Display for FunctionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.module, self.name)
    }
}
