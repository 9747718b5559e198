//! The call path of a shared cache: [`Cache`](cache::Cache) (a store, its
//! counts, and single-flight around it), the handle that `fib_cache()`
//! returns, how a function finds its handle ([`site`]) and the cache of each
//! of its instantiations ([`instances`]), and, for `async fn`, the futures
//! of a lookup and the I/O threads of blocking stores.

pub(crate) mod cache;
pub(crate) mod handle;
pub(crate) mod instances;
#[cfg(feature = "async")]
pub(crate) mod offload;
#[cfg(feature = "async")]
pub(crate) mod pending;
pub(crate) mod site;
