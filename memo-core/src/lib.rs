//! The runtime of [`memo`](https://docs.rs/memo): caches, stores, keys and
//! statistics. Use it through the `memo` crate, which re-exports all of it
//! beside the `#[memoize]` attribute.
//!
//! - [`Cache`]: one store with hit and miss counts, and the call path;
//! - [`Store`]: where entries live: [`Unbounded`], [`Lru`], or your own;
//! - [`KeyView`]: borrowed keys, so that a hit neither clones nor allocates;
//! - [`CacheHandle`] and [`CacheInfo`]: what `fib_cache()` returns and reports.

// `unsafe` in four places: a downcast by a stored `TypeId` (handle.rs);
// a cache's view of its store as the built-in store it is, by the store
// type's `TypeId` (cache/mod.rs);
// the parts of a store, a lock beside an `UnsafeCell` that is read without
// the lock under the protocol of `readers` (shards.rs, model-checked with
// loom); and the `UnsafeCell` itself, which is loom's under `--cfg loom`,
// and the once-set pointer to a growing store's parts (sync.rs). None else.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod cache;
pub mod clock;
mod expiry;
mod flight;
mod handle;
mod info;
mod instances;
mod key;
mod local;
mod lru;
mod nesting;
#[cfg(feature = "async")]
mod offload;
#[cfg(feature = "async")]
mod pending;
mod readers;
#[cfg(feature = "remote")]
pub mod remote;
mod shards;
mod site;
mod store;
#[allow(unsafe_code, reason = "the UnsafeCell of the read protocol's parts, as loom has it")]
mod sync;
mod tiered;
mod unbounded;

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

pub use cache::{Cache, Miss};
pub use expiry::{Expiring, Found};
pub use handle::CacheHandle;
pub use info::CacheInfo;
pub use key::{Exact, KeyPart, KeyView};
pub use local::ThreadCacheHandle;
pub use lru::{LRU_MAX_ENTRIES, Lru};
#[cfg(feature = "async")]
pub use pending::{Pending, PendingFresh};
#[cfg(feature = "memcached")]
pub use remote::Memcached;
#[cfg(feature = "redis")]
pub use remote::Redis;
#[cfg(feature = "remote")]
pub use remote::{Codec, MessagePack, Payload, Shared};
pub use store::{FunctionId, Store, StoreError};
pub use tiered::Tiered;
pub use unbounded::Unbounded;
