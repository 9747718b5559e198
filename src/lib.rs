//! Memoize Rust functions with one attribute.
//!
//! `#[memoize]` on a function keeps its signature and its call sites and puts a
//! cache behind it: the arguments become a key, the key is looked up, and the
//! body runs only on a miss. It reads like Python's `functools.lru_cache`:
//!
//! ```
//! use memo::memoize;
//!
//! #[memoize]
//! fn fib(n: u64) -> u64 {
//!     if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
//! }
//!
//! assert_eq!(fib(90), 2_880_067_194_370_816_120);
//! println!("{}", fib_cache().info()); // CacheInfo(hits=88, misses=91, maxsize=None, currsize=91)
//! fib_cache().clear();
//! ```
//!
//! # Options
//!
//! | option | meaning |
//! | --- | --- |
//! | (none) | an [`Unbounded`] cache: every result is kept |
//! | `maxsize = N` | an [`Lru`] cache of at most `N` entries (a literal or a const expression, at least 1) |
//! | `key = expr` | the key is `expr`, an expression over the arguments, instead of the arguments themselves |
//! | `typed` | argument types are part of the key (`f(1u8)` and `f(1u16)` are cached apart), as Python's `typed=True`: in Rust every function has it, since each instantiation has its own cache; accepted so that the option reads as in Python |
//! | `store = expr` | any [`Store`], made by `expr` on the first call |
//! | `ttl = duration` | each entry lives this long ([`Expiring`]); combines with `maxsize` |
//! | `expires = \|v: &V\| ...` | the value's own lifetime, an `Option<Duration>` (`None`: the `ttl`) |
//! | `cache_err = bool` | whether an `Err` is cached (default: no) |
//! | `cache_none = bool` | whether a `None` is cached (default: yes) |
//! | `ignore = [arg, ...]` | arguments left out of the key |
//! | `single_flight = false` | threads that miss one key at once each run the body |
//! | `scope = thread` | a cache per thread, with no synchronization ([`ThreadCacheHandle`]) |
//!
//! Options combine: `#[memoize(maxsize = 1000, typed)]`.
//!
//! ```
//! use memo::memoize;
//! use std::sync::Arc;
//!
//! #[memoize(maxsize = 128)]
//! fn render(page: &str, width: usize) -> Arc<String> {
//!     Arc::new(format!("<{page} width={width}>"))
//! }
//!
//! #[memoize(key = u64::from(x))]
//! fn label<T: Copy>(x: T) -> String
//! where
//!     u64: From<T>,
//! {
//!     format!("#{}", u64::from(x))
//! }
//!
//! assert_eq!(*render("home", 80), "<home width=80>");
//! assert_eq!(label(1_u8), label(1_u16)); // two instantiations: a cache each
//! assert_eq!(label_cache().info().misses, 2);
//! ```
//!
//! # The handle
//!
//! Beside each memoized function `f`, with the same visibility, `#[memoize]`
//! writes `f_cache()`, which returns the function's [`CacheHandle`]:
//! [`info`](CacheHandle::info) ([`CacheInfo`]: hits, misses, maxsize,
//! currsize), [`clear`](CacheHandle::clear), [`remove`](CacheHandle::remove),
//! [`len`](CacheHandle::len), [`refresh`](CacheHandle::refresh).
//!
//! # What holds
//!
//! - A memoized function returns what the plain function returns. A value is
//!   returned only for arguments equal to those it was computed for: the store
//!   compares keys, so a hash collision is a miss.
//! - Keys are built from the arguments: owned values, references (`&str` is
//!   stored as `String`, `&[T]` as `Vec<T>`), patterns, several arguments or
//!   none. Argument types must be `Hash + Eq`, owned ones `Clone`, and the
//!   return type `Clone`: a hit returns a clone, so return an `Arc<T>` for
//!   large values. Both must be `Send + Sync`: threads share the cache and
//!   read it without locks (`scope = thread` asks neither).
//! - A hit neither clones an argument nor allocates; only a miss builds the
//!   owned key.
//! - Each function has its own cache, shared by all threads. No lock is held
//!   while the body runs, so a recursive function recurses through its cache,
//!   and a slow call does not hold up calls on other keys.
//! - A generic function has one cache per instantiation (its type and const
//!   parameters, those of its `impl`, `Self` in a trait's provided method),
//!   whether or not they appear in its signature; its handle covers them all.
//!   Functions that one `macro_rules!` expansion writes are functions of their
//!   own, with a cache and a handle each.
//!
//! # Expansion
//!
//! ```text
//! #[memoize]
//! fn fib(n: u64) -> u64 { BODY }
//! ```
//!
//! becomes, in outline:
//!
//! ```text
//! fn fib(n: u64) -> u64 {
//!     // The function's place and a number of its own: `fib` and `fib_cache`
//!     // reach one `CacheHandle` through it.
//!     static SITE: Site = Site::new(Place { module_path!(), file!(), line!(), .., id: 0x5be1.. }, None);
//!     by_value_arg::<u64>(); value::<u64>();     // a missing trait is an error here, in words
//!     let view = View((ByVal(&n),));             // borrowed: no clone, no allocation
//!     // The closure's type names this instantiation of `fib` (and of its impl).
//!     match lookup(SITE.handle(), instance_of(&|| {}), || Cache::new(Unbounded::new()), &view) {
//!         Ok(value) => value,                    // a hit: a clone of the value
//!         Err(miss) => {
//!             let value = (move || -> u64 { BODY })();  // recursion calls the outer `fib`
//!             finish(miss, value, true)          // stored, and handed to waiting threads
//!         }
//!     }
//! }
//!
//! fn fib_cache() -> &'static memo::CacheHandle {
//!     static SITE: Site = /* the same place and number */;
//!     SITE.handle()
//! }
//! ```

#[cfg(feature = "memcached")]
pub use memo_core::Memcached;
#[cfg(feature = "redis")]
pub use memo_core::Redis;
#[cfg(feature = "metrics")]
pub use memo_core::metrics;
#[cfg(any(feature = "redis", feature = "memcached"))]
pub use memo_core::remote;
pub use memo_core::{
    Cache, CacheHandle, CacheInfo, Exact, Expiring, Found, FunctionId, KeyPart, KeyView, LRU_MAX_ENTRIES,
    ListedCache, Lru, Miss, Store, StoreError, ThreadCacheHandle, Tiered, Unbounded, caches, clock,
};
#[cfg(any(feature = "redis", feature = "memcached"))]
pub use memo_core::{Codec, MessagePack, Payload, Shared};
#[cfg(feature = "async")]
pub use memo_core::{Pending, PendingFresh};

/// Caches a function's results; see the [crate documentation](crate) for the
/// options and what holds.
pub use memo_macros::memoize;

#[doc(hidden)]
pub use memo_core::__private;
