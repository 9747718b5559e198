//! The runtime of [`memo`](https://docs.rs/memo): caches, stores, keys and
//! statistics. Use it through the `memo` crate, which re-exports all of it
//! beside the `#[memoize]` attribute.
//!
//! - [`Cache`]: one store with hit and miss counts, and the call path;
//! - [`Store`]: where entries live: [`Unbounded`], [`Lru`], or your own;
//! - [`KeyView`]: borrowed keys, so that a hit neither clones nor allocates;
//! - [`CacheHandle`] and [`CacheInfo`]: what `fib_cache()` returns and reports.

// `unsafe` in four places: a downcast by a stored `TypeId` (call/handle.rs);
// a cache's view of its store as the built-in store it is, by the store
// type's `TypeId` (call/cache/builtin.rs);
// the parts of a store, a lock beside an `UnsafeCell` that is read without
// the lock under the protocol of `readers` (parts/mod.rs, model-checked with
// loom); and the `UnsafeCell` itself, which is loom's under `--cfg loom`,
// and the once-set pointer to a growing store's parts (sync.rs). None else.
#![deny(unsafe_code)]
#![warn(missing_docs)]

// The layers, each using only those above it in this list (checked by
// `tests/layers.rs`):
// - `sync` and `clock`: what everything stands on (loom's primitives under
//   `--cfg loom`; the clock that tests can drive);
// - `store`: the contract between a cache and where it keeps entries (the
//   `Store` trait, keys, expiring values, statistics);
// - `parts`: a store in parts, each a lock beside entries that readers read
//   without it, and the read protocol that makes that sound;
// - `flight`: single-flight, the keys being computed and who waits for them;
// - `memory` and `remote`: the stores, in the process (unbounded, LRU, two
//   tiers) and on cache servers;
// - `call`: the call path of a shared cache, and its handle;
// - `per_thread`: the caches of `scope = thread`, apart from the shared ones;
// - `listing`: every memoized function of the process (`memo::caches()`),
//   and `metrics`, which records their counts through the metrics facade;
// - `__private`: what the macro's expansion calls.
mod call;
pub mod clock;
mod flight;
mod listing;
mod memory;
#[cfg(feature = "metrics")]
pub mod metrics;
mod parts;
mod per_thread;
#[cfg(feature = "remote")]
pub mod remote;
mod store;
#[allow(unsafe_code, reason = "the UnsafeCell of the read protocol's parts, as loom has it")]
mod sync;

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

pub use call::cache::{Cache, Miss};
pub use call::handle::CacheHandle;
#[cfg(feature = "async")]
pub use call::pending::{Pending, PendingFresh};
pub use listing::{ListedCache, caches};
pub use memory::lru::{LRU_MAX_ENTRIES, Lru};
pub use memory::tiered::Tiered;
pub use memory::unbounded::Unbounded;
pub use per_thread::ThreadCacheHandle;
#[cfg(feature = "memcached")]
pub use remote::Memcached;
#[cfg(feature = "redis")]
pub use remote::Redis;
#[cfg(feature = "remote")]
pub use remote::{Codec, MessagePack, Payload, Shared};
pub use store::expiry::{Expiring, Found};
pub use store::info::CacheInfo;
pub use store::key::{Exact, KeyPart, KeyView};
pub use store::{FunctionId, Store, StoreError};
