//! [`Cache`]: one store with its statistics, and the call path of a memoized
//! function.

use core::any::TypeId;
use core::hash::Hash;
use core::marker::PhantomData;
use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::sync::OnceLock;

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::flight::{Claim, Claims, Flights, Ticket, Want};
use crate::memory::lru::Lru;
use crate::memory::unbounded::Unbounded;
use crate::parts::nesting::Inside;
use crate::store::expiry::Found;
use crate::store::key::{Exact, KeyView};
#[cfg(feature = "log")]
use crate::store::warnings::Warnings;
use crate::store::{FunctionId, Store, StoreError};

mod builtin;
mod expiring;
mod look;
mod manage;
mod miss;

pub(crate) use look::Lifetime;

pub use miss::Miss;

/// See `Cache::abandon`.
type Abandon<K, V, S> = fn(&Cache<K, V, S>, Ticket);

/// A cache from keys `K` to values `V`, kept in a [`Store`] `S`, with hit and
/// miss counts (kept by the store where it [counts them](Store::COUNTS_LOOKUPS)
/// under its own lock, else here). `#[memoize]` makes one per function (per
/// instantiation, for a generic function); it can also be used by hand, for
/// keys and values that are `Send + Sync + 'static`, as a shared cache's are.
///
/// # Single-flight
///
/// When threads miss the same key at once, one of them computes the value and
/// the others wait for it and receive it; threads on other keys never wait.
/// A thread that calls back into the cache for the key it is computing (which
/// is infinite recursion) panics with a message that says so rather than
/// waiting for itself. If the computing body panics, the panic goes to its
/// caller and one of the waiting threads computes the value instead. Turn it
/// off with [`single_flight(false)`](Cache::single_flight) (`#[memoize(single_flight = false)]`).
///
/// ```
/// use memo::{Cache, Lru};
/// use std::num::NonZeroUsize;
///
/// let cache = Cache::new(Lru::new(NonZeroUsize::new(100).unwrap()));
/// let len = cache.get_or_insert_with(&"hello".to_string(), || 5);
/// assert_eq!(len, 5);
/// assert_eq!(cache.info().to_string(), "CacheInfo(hits=0, misses=1, maxsize=100, currsize=1)");
/// ```
pub struct Cache<K, V, S = Unbounded<K, V>> {
    store: S,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Second looks into a store that counts lookups (one call, two counts).
    rechecks: AtomicU64,
    /// Expired entries removed by lookups and sweeps.
    expirations: AtomicU64,
    /// Operations the store failed.
    store_errors: AtomicU64,
    /// The limit on warnings of the store's errors.
    #[cfg(feature = "log")]
    warnings: Warnings,
    /// Values that misses stored under the cache's own flight table's locks
    /// (see `recheck`).
    settles: AtomicU64,
    /// The keys being computed, made on the first miss.
    /// Boxed: a built-in store keeps its claims itself, and the cache of
    /// such a store should not carry an empty table of parts (100 bytes).
    flights: OnceLock<Box<Flights<K, V>>>,
    /// Counts `clear()`s and `refresh()`es: a miss stores its value only if
    /// none came since it began (its claim's entry, or the miss, keeps the
    /// epoch it began in).
    epoch: AtomicU64,
    /// How a miss gives its claim up if its body panics: set by the first
    /// claimed miss, where the bounds are, for `Miss`'s `Drop`, where they
    /// are not (kept here rather than in every miss, which a memoized
    /// recursion keeps in every level's frame).
    abandon: OnceLock<Abandon<K, V, S>>,
    /// The I/O threads of an `async fn` on a store that blocks, made at its
    /// first blocking operation: a lane of the cache's own, so that a
    /// function never waits for the threads of another.
    #[cfg(feature = "async")]
    lane: OnceLock<Box<crate::call::offload::Lane>>,
    single_flight: bool,
    /// How often misses sweep expired entries out, and when one last did.
    sweep_every: Option<Duration>,
    /// For a cache whose values expire, how to look at an entry from
    /// outside: set with `sweep_every` (see `look`).
    lifetime: Option<Lifetime<V>>,
    last_sweep: Mutex<Option<Instant>>,
    pub(crate) name: &'static str,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, S> Cache<K, V, S> {
    /// A cache over `store`, with zero counts and single-flight on.
    pub const fn new(store: S) -> Self {
        Cache {
            store,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            rechecks: AtomicU64::new(0),
            expirations: AtomicU64::new(0),
            store_errors: AtomicU64::new(0),
            #[cfg(feature = "log")]
            warnings: Warnings::new(),
            settles: AtomicU64::new(0),
            flights: OnceLock::new(),
            epoch: AtomicU64::new(0),
            abandon: OnceLock::new(),
            #[cfg(feature = "async")]
            lane: OnceLock::new(),
            single_flight: true,
            sweep_every: None,
            lifetime: None,
            last_sweep: Mutex::new(None),
            name: "cache",
            types: PhantomData,
        }
    }

    /// Turns single-flight on (the default) or off. Off, threads that miss the
    /// same key at once each run the body, and each stores its value: right for
    /// a body so cheap that waiting costs more than running it.
    #[must_use]
    pub const fn single_flight(mut self, on: bool) -> Self {
        self.single_flight = on;
        self
    }

    /// The store, for what only it can tell.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Tells the store which function, and which instantiation of it, it
    /// serves (see [`Store::bind`]).
    pub(crate) fn bind(&mut self, module: &'static str, function: &'static str, instance: TypeId)
    where
        S: Store<K, V>,
    {
        self.store.bind(&FunctionId::new(module, function, instance));
    }

    /// Counts a failure of the store (the call goes on without it) and logs it
    /// where a logger is set up (target `memo`), unless the log knows of it
    /// already (a server's outage, which its store announces once): at most
    /// one warning per 10 s, which says how many more there were.
    #[cold]
    pub(crate) fn store_failed(&self, error: &StoreError) {
        self.store_errors.fetch_add(1, Relaxed);
        #[cfg(feature = "tracing")]
        tracing::debug!(target: "memo", function = self.name, %error, "store error: the call goes on without the store");
        #[cfg(feature = "log")]
        self.warnings.store_error(self.name, error);
        #[cfg(not(feature = "log"))]
        let _ = error;
    }

    /// The cache's I/O threads (see [`Lane`](crate::call::offload::Lane)).
    #[cfg(feature = "async")]
    pub(crate) fn lane(&self) -> &crate::call::offload::Lane {
        self.lane.get_or_init(|| Box::new(crate::call::offload::Lane::new()))
    }

    /// The cache's own single-flight table, if a miss has made it.
    #[cfg(feature = "async")]
    pub(crate) fn flights_made(&self) -> Option<&Flights<K, V>> {
        self.flights.get().map(|flights| &**flights)
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    /// Returns the value cached for `key`, or runs `f`, caches its value and
    /// returns it. No lock is held while `f` runs.
    pub fn get_or_insert_with(&self, key: &K, f: impl FnOnce() -> V) -> V {
        match self.lookup(&Exact(key)) {
            Ok(value) => value,
            Err(miss) => miss.complete(f()),
        }
    }

    /// Looks `view` up. A hit counts and returns the value; a miss counts and
    /// returns a [`Miss`] that holds the owned key, to be completed with the
    /// value. The owned key is built here, before the caller's arguments move
    /// into the function body. With single-flight, a miss on a key that
    /// another thread is computing waits for it and returns its value.
    ///
    /// A store that fails to answer is a miss.
    ///
    /// # Errors
    ///
    /// A miss that this caller must compute is the `Err`: complete it with the
    /// value.
    ///
    /// # Panics
    ///
    /// If this thread has come back to `view` more than 32 times while
    /// computing it: infinite recursion (a few same-key calls, as with
    /// `key = n / 2`, just compute again).
    #[inline]
    pub fn lookup<Q>(&self, view: &Q) -> Result<V, Miss<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.find(view, Want::Any)
    }

    /// The lookup behind [`lookup`](Cache::lookup), [`lookup_fresh`] and
    /// [`lookup_refresh`](Cache::lookup_refresh): `want` says which stored
    /// value answers. Hits are counted by the store if it
    /// [counts lookups](Store::COUNTS_LOOKUPS), else here.
    ///
    /// [`lookup_fresh`]: Cache::lookup_fresh
    #[inline]
    fn find<Q>(&self, view: &Q, want: Want<'_, V>) -> Result<V, Miss<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if self.single_flight {
            if let Some(unbounded) = self.store_as::<Unbounded<K, V>>() {
                return self.answer(view, unbounded.claim(view, want, &self.epoch, self.name));
            }
            if let Some(lru) = self.store_as::<Lru<K, V>>() {
                return self.answer(view, lru.claim(view, want, &self.epoch, self.name));
            }
        }
        self.find_unclaimed(view, want)
    }

    /// [`find`](Cache::find) without the store's claims: through the
    /// cache's own flight table, or without single-flight. Not inlined: a
    /// memoized recursion's every level keeps the frame of what is inlined
    /// into it, the paths it does not take included.
    #[inline(never)]
    fn find_unclaimed<Q>(&self, view: &Q, want: Want<'_, V>) -> Result<V, Miss<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let seen = self.settles();
        match self.look(view, want) {
            Ok(value) => Ok(value),
            Err(counted) => self.miss(view, counted, want, seen),
        }
    }

    /// One look into the store, outside single-flight: a hit, counted, or a
    /// miss and whether the store counted it.
    #[inline]
    pub(crate) fn look<Q>(&self, view: &Q, want: Want<'_, V>) -> Result<V, bool>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        // A user's store may take locks of its own and run the user's
        // `Eq`: what it calls back into memo must not wait (see `nesting`).
        let inside = (!self.claims_in_store()).then(Inside::new);
        let found = match want {
            Want::Any => self.store.get(view).map(|value| value.map_or(Found::Miss, Found::Hit)),
            Want::Fresh(fresh) => self.store.get_fresh(view, fresh),
            Want::Recompute => return Err(false),
        };
        drop(inside);
        self.tally(found)
    }

    /// Counts what one look into the store found: a hit (the value), or a
    /// miss and whether the store counted it.
    #[inline]
    pub(crate) fn tally(&self, found: Result<Found<V>, StoreError>) -> Result<V, bool> {
        match found {
            Ok(Found::Hit(value)) => {
                self.count_hit();
                Ok(value)
            }
            Ok(Found::Expired) => {
                self.count_expired();
                Err(S::COUNTS_LOOKUPS)
            }
            Ok(Found::Miss) => Err(S::COUNTS_LOOKUPS),
            // The store could not answer: a miss it did not count.
            Err(error) => {
                self.store_failed(&error);
                Err(false)
            }
        }
    }

    /// The value, or the miss this thread computes, from what a claim found.
    #[inline]
    fn answer<Q>(&self, view: &Q, claim: Claim<V>) -> Result<V, Miss<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.answer_with(|| view.to_owned_key(), claim)
    }

    /// [`answer`](Cache::answer), with the owned key made by `key` if needed.
    #[inline]
    pub(crate) fn answer_with(
        &self,
        key: impl FnOnce() -> K,
        claim: Claim<V>,
    ) -> Result<V, Miss<'_, K, V, S>> {
        match claim {
            Claim::Hit(value) | Claim::Value(value) => Ok(value),
            Claim::Compute(ticket) => Err(Miss::claimed(self, ticket)),
            // A store that says it keeps claims and then does not: go without.
            Claim::Unsupported => Err(self.unclaimed(key())),
        }
    }

    /// A miss to compute without a claim.
    pub(crate) fn unclaimed(&self, key: K) -> Miss<'_, K, V, S> {
        Miss::unclaimed(self, key)
    }

    /// Gives a claim up: its body did not return. A waiter takes it over.
    fn abandon(&self, ticket: Ticket) {
        if self.claims_in_store() && !ticket.cache_side {
            self.settle_in_store(Some(&ticket), None, false, None, &|_| false);
        } else if let Some(flights) = self.flights.get() {
            if let Some(key) = flights.settle_unkept(&ticket, None) {
                // During the panic's unwinding: a panic of the user's store
                // here is not passed on (it would abort the process).
                let abandon = || self.store.abandoned(&Exact(&key));
                let _ = std::panic::catch_unwind(core::panic::AssertUnwindSafe(abandon));
            }
        }
    }

    /// A lookup that ignores what the store holds, so that the caller computes
    /// the value again and replaces it: what a handle's `refresh` does. Other
    /// threads that miss the key meanwhile wait for the new value.
    ///
    /// # Errors
    ///
    /// The miss, usually: `Ok` only if another thread was computing the key
    /// already, with its value.
    #[cold]
    pub fn lookup_refresh<Q>(&self, view: &Q) -> Result<V, Miss<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        // Misses without a claim that run now are from before the refresh.
        self.epoch.fetch_add(1, SeqCst);
        self.find(view, Want::Recompute)
    }

    /// A miss in a store without claims of its own: counted here if the store
    /// did not count it, then single-flight through the cache's table.
    #[cold]
    #[inline(never)]
    fn miss<Q>(&self, view: &Q, counted: bool, want: Want<'_, V>, seen: u64) -> Result<V, Miss<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if !self.count_miss(counted) {
            return Err(self.unclaimed(view.to_owned_key()));
        }
        let refresh = matches!(want, Want::Recompute);
        let claim =
            self.flights().enter(view, self.name, refresh, self.epoch(), || self.recheck(view, want, seen));
        self.answer(view, claim)
    }

    /// Counts a hit, unless the store counted it.
    #[inline]
    pub(crate) fn count_hit(&self) {
        if !S::COUNTS_LOOKUPS {
            self.hits.fetch_add(1, Relaxed);
        }
    }

    /// Counts an expired entry that a lookup found (and removed).
    pub(crate) fn count_expired(&self) {
        self.expirations.fetch_add(1, Relaxed);
    }

    /// Counts a miss that the store did not count; returns whether it goes
    /// through single-flight.
    pub(crate) fn count_miss(&self, counted: bool) -> bool {
        if !counted {
            self.misses.fetch_add(1, Relaxed);
        }
        self.single_flight
    }

    /// The cache's own single-flight table.
    pub(crate) fn flights(&self) -> &Flights<K, V> {
        self.flights.get_or_init(|| Box::new(Flights::new()))
    }

    /// The count of `clear()`s and `refresh()`es so far.
    #[inline]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Acquire)
    }

    /// How many claims of the cache's own flight table were settled so far:
    /// read before a lookup, so that a miss knows whether a value may have
    /// been stored since.
    #[inline]
    pub(crate) fn settles(&self) -> u64 {
        self.settles.load(Acquire)
    }

    /// The second look into the store after a miss, under the lock of the
    /// flight table: a value that another thread stored between the first
    /// look and now. `want` says which stored values answer. Skipped when no
    /// claim was settled since `seen` ([`settles`](Cache::settles) before the
    /// first look): nothing can have been stored by this cache then, and a
    /// store on a server is spared a second round trip per miss.
    pub(crate) fn recheck<Q>(&self, view: &Q, want: Want<'_, V>, seen: u64) -> Option<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if self.settles.load(Acquire) == seen {
            return None;
        }
        let found = match want {
            Want::Any => self.store.get_fresh(view, &|_| true),
            Want::Fresh(fresh) => self.store.get_fresh(view, fresh),
            Want::Recompute => return None,
        };
        if S::COUNTS_LOOKUPS {
            self.rechecks.fetch_add(1, Relaxed);
        }
        match found {
            Ok(Found::Hit(value)) => Some(value),
            Ok(Found::Expired) => {
                self.expirations.fetch_add(1, Relaxed);
                None
            }
            Ok(Found::Miss) => None,
            Err(error) => {
                self.store_failed(&error);
                None
            }
        }
    }

    /// Removes the entry for `key`; returns whether there was one (`false` also
    /// when the store could not be reached).
    pub fn remove(&self, key: &K) -> bool {
        self.store.remove(&Exact(key)).unwrap_or_else(|error| {
            self.store_failed(&error);
            false
        })
    }
}
