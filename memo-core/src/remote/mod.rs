//! Stores on a cache server that many processes share: [`Redis`]
//! (feature `redis`) and [`Memcached`] (feature `memcached`), both a
//! [`Shared`] store over a server of their kind.
//!
//! - Values are encoded by a [`Codec`] (MessagePack with named fields by
//!   default) behind a header with the fingerprint of their type: a value
//!   written by a build whose function returned another type is a miss.
//! - Keys are `memo:<function>:<namespace>:<digest>`: the namespace is a hash
//!   of the function's module path and name, a version you can bump, and the
//!   key type; the digest is BLAKE3 over an unambiguous encoding of the
//!   arguments (type-tagged and length-prefixed). At most 140 bytes, ASCII letters, digits, `_` and
//!   `:` only, so memcached takes every key.
//! - A `ttl` becomes the server's expiry.
//! - Failures are misses: every operation has a timeout (50 ms by default),
//!   connecting is lazy, a failed server is left alone for a second and then
//!   tried again, and every error is counted in `CacheInfo::store_errors` and
//!   logged (the `log` crate, target `memo`).

mod codec;
mod digest;
#[cfg(feature = "memcached")]
mod memcached;
#[cfg(feature = "redis")]
mod redis;
mod server;

use core::any::type_name;
use core::fmt;
use core::hash::Hash;
use core::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;

pub use codec::{Codec, MessagePack, Payload};
#[cfg(feature = "memcached")]
pub use memcached::MemcachedServers;
#[cfg(feature = "redis")]
pub use redis::RedisServer;
pub use server::Timeouts;

use crate::key::KeyView;
use crate::store::{Store, StoreError};

/// What a cache server does for a [`Shared`] store: bytes under string keys.
#[doc(hidden)]
pub trait Backend: Send + Sync {
    /// The bytes stored under `key`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key`, to expire after `ttl`.
    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), StoreError>;
    /// Deletes `key`; whether it was there.
    fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Deletes every key that starts with `prefix`.
    fn clear(&self, prefix: &str) -> Result<(), StoreError>;
    /// The timeouts, to configure.
    fn timeouts(&mut self) -> &mut Timeouts;
}

/// A store on a cache server shared by many processes: [`Redis`] or
/// [`Memcached`]. Keys `K` must be `Serialize` (for their digest), values `V`
/// `Serialize + DeserializeOwned` (see [`Payload`]).
///
/// ```no_run
/// use std::time::Duration;
/// use memo::{Redis, memoize};
///
/// #[memoize(store = Redis::from_env(), ttl = Duration::from_secs(300))]
/// fn profile(user: u64) -> String {
///     format!("profile of {user}") // a slow query, in real life
/// }
/// ```
pub struct Shared<B, K, V, C = MessagePack> {
    /// The server, or why its address could not be read: then every
    /// operation fails with that, and the function still runs.
    backend: Result<B, String>,
    codec: C,
    /// The namespace and the key prefix, derived from what follows whenever
    /// it changes (not on every operation).
    namespace: Namespace,
    /// The function's module path and name, told when its cache is made.
    function: (&'static str, &'static str),
    explicit: Option<String>,
    version: u32,
    types: PhantomData<fn(K) -> V>,
}

/// A store on Redis (a server, or a Redis Cluster). Read the address from
/// `MEMO_REDIS_URL` (`redis://[:password@]host[:port][/db]`) or, for a
/// cluster, `MEMO_REDIS_CLUSTER` (`host:port,host:port,...`) with
/// [`from_env`](Shared::from_env), or give it with [`new`](Shared::new) or
/// [`cluster`](Shared::cluster).
#[cfg(feature = "redis")]
pub type Redis<K, V, C = MessagePack> = Shared<RedisServer, K, V, C>;

/// A store on one or more memcached servers, keys spread over them by
/// consistent hashing. Read the addresses from `MEMO_MEMCACHED_SERVERS`
/// (`host:port,host:port,...`) with [`from_env`](Shared::from_env), or give
/// them with [`new`](Shared::new).
#[cfg(feature = "memcached")]
pub type Memcached<K, V, C = MessagePack> = Shared<MemcachedServers, K, V, C>;

struct Namespace {
    /// Hashed into every digest.
    full: String,
    /// Starts every key: `memo:<function>:<hash of full>:`.
    prefix: String,
}

impl Namespace {
    fn new(full: String, function: &str) -> Self {
        let readable: String = function
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
            .take(40)
            .collect();
        let hash = blake3::hash(full.as_bytes());
        let prefix = format!("memo:{readable}:{}:", hex(&hash.as_bytes()[..8]));
        Namespace { full, prefix }
    }
}

/// The namespace of the function `(module, name)` with key type `K`, or of
/// `explicit` if given, at `version`.
fn namespace<K>((module, function): (&str, &str), explicit: Option<&str>, version: u32) -> Namespace {
    let base = explicit.map_or_else(|| format!("{module}::{function}"), str::to_owned);
    let name = explicit.map_or(function, |ns| ns.rsplit("::").next().unwrap_or(ns));
    Namespace::new(format!("{base}@v{version}|{}", type_name::<K>()), name)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        use fmt::Write;
        let _ = write!(out, "{b:02x}");
        out
    })
}

impl<B: Backend, K, V> Shared<B, K, V> {
    fn over(backend: Result<B, StoreError>) -> Self {
        let function = ("memo", "unnamed");
        Shared {
            backend: backend.map_err(|error| error.to_string()),
            codec: MessagePack,
            namespace: namespace::<K>(function, None, 0),
            function,
            explicit: None,
            version: 0,
            types: PhantomData,
        }
    }
}

#[cfg(feature = "redis")]
impl<K, V> Shared<RedisServer, K, V> {
    /// A store on the Redis server at `url`
    /// (`redis://[:password@]host[:port][/db]`). Nothing connects until the
    /// first call; a URL that cannot be read makes every call a miss, counted
    /// as a store error.
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self::over(RedisServer::single(url))
    }

    /// A store on a Redis Cluster, reached through any of `nodes`
    /// (`host:port`).
    #[must_use]
    pub fn cluster<S: AsRef<str>>(nodes: impl IntoIterator<Item = S>) -> Self {
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().trim().to_owned()).collect();
        Self::over(RedisServer::cluster(&nodes))
    }

    /// A store on the cluster in `MEMO_REDIS_CLUSTER` if it is set, else on
    /// the server in `MEMO_REDIS_URL`, else on `redis://127.0.0.1:6379`.
    #[must_use]
    pub fn from_env() -> Self {
        if let Ok(nodes) = std::env::var("MEMO_REDIS_CLUSTER") {
            return Self::cluster(nodes.split(',').filter(|n| !n.trim().is_empty()));
        }
        Self::new(&std::env::var("MEMO_REDIS_URL").unwrap_or_else(|_| String::from("redis://127.0.0.1:6379")))
    }
}

#[cfg(feature = "memcached")]
impl<K, V> Shared<MemcachedServers, K, V> {
    /// A store on the memcached servers at `addrs` (`host:port`). Nothing
    /// connects until the first call.
    #[must_use]
    pub fn new<S: AsRef<str>>(addrs: impl IntoIterator<Item = S>) -> Self {
        let addrs: Vec<String> = addrs.into_iter().map(|a| a.as_ref().trim().to_owned()).collect();
        Self::over(MemcachedServers::new(&addrs))
    }

    /// A store on the servers in `MEMO_MEMCACHED_SERVERS`
    /// (`host:port,host:port,...`), else on `127.0.0.1:11211`.
    #[must_use]
    pub fn from_env() -> Self {
        let servers =
            std::env::var("MEMO_MEMCACHED_SERVERS").unwrap_or_else(|_| String::from("127.0.0.1:11211"));
        Self::new(servers.split(',').filter(|s| !s.trim().is_empty()))
    }

    /// The largest encoded value sent to the servers (default: 1 MiB less
    /// 512 bytes, what memcached keeps by default); a larger one is not kept,
    /// and counted as a store error.
    #[must_use]
    pub fn max_value_bytes(mut self, bytes: usize) -> Self {
        if let Ok(backend) = &mut self.backend {
            backend.max_value = bytes;
        }
        self
    }

    /// The address of the server that holds the entry for `key`.
    ///
    /// # Errors
    ///
    /// If the key cannot be digested.
    pub fn server_of(&self, key: &K) -> Result<String, StoreError>
    where
        K: Serialize,
    {
        Ok(self.server()?.server_of(&self.key_of(key)?).to_owned())
    }
}

impl<B: Backend, K, V, C> Shared<B, K, V, C> {
    /// The timeout of each read and write (default 50 ms).
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with_timeouts(|t| t.op = timeout)
    }

    /// The timeout of each connect (default 50 ms).
    #[must_use]
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.with_timeouts(|t| t.connect = timeout)
    }

    /// How long a server that failed is left alone before it is tried again
    /// (default 1 s): meanwhile calls are misses at once.
    #[must_use]
    pub fn retry_after(self, wait: Duration) -> Self {
        self.with_timeouts(|t| t.retry_after = wait)
    }

    fn with_timeouts(mut self, set: impl FnOnce(&mut Timeouts)) -> Self {
        if let Ok(backend) = &mut self.backend {
            set(backend.timeouts());
        }
        self
    }

    /// The version of the function's meaning: bump it when the function
    /// changes what it returns for the same arguments, and the entries of the
    /// old version are never read again (default 0).
    #[must_use]
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self.renamed()
    }

    /// The namespace, instead of the function's module path and name: two
    /// functions (in two programs, say) that give the same namespace share
    /// entries.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.explicit = Some(namespace.into());
        self.renamed()
    }

    /// Encodes values with `codec` instead of MessagePack.
    #[must_use]
    pub fn codec<C2: Codec>(self, codec: C2) -> Shared<B, K, V, C2> {
        Shared {
            backend: self.backend,
            codec,
            namespace: self.namespace,
            function: self.function,
            explicit: self.explicit,
            version: self.version,
            types: PhantomData,
        }
    }

    /// Derives the namespace again after what it is made of changed.
    fn renamed(mut self) -> Self {
        self.namespace = namespace::<K>(self.function, self.explicit.as_deref(), self.version);
        self
    }

    /// The server key of the entry for `key`.
    ///
    /// # Errors
    ///
    /// If the key cannot be digested (its `Serialize` fails).
    pub fn key_of(&self, key: &K) -> Result<String, StoreError>
    where
        K: Serialize,
    {
        let digest = digest::digest(self.namespace.full.as_bytes(), key).map_err(StoreError::new)?;
        Ok(format!("{}{}", self.namespace.prefix, hex(&digest)))
    }

    /// The server, or why there is none.
    fn server(&self) -> Result<&B, StoreError> {
        self.backend.as_ref().map_err(|why| StoreError::new(why.clone()))
    }
}

impl<B, K, V, C> fmt::Debug for Shared<B, K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("namespace", &self.namespace.full)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl<B, K, V, C> Store<K, V> for Shared<B, K, V, C>
where
    B: Backend,
    K: Serialize + Hash + Eq + Clone + Send,
    V: Payload + Send,
    C: Codec,
{
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let name = self.key_of(&key.to_owned_key())?;
        match self.server()?.get(&name)? {
            None => Ok(None),
            Some(bytes) => V::__decode(&bytes, &self.codec).map(Some),
        }
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        let server = self.server()?;
        let name = self.key_of(&key)?;
        let (bytes, ttl) = value.__encode(&self.codec)?;
        if ttl.is_some_and(|ttl| ttl.is_zero()) {
            // Expired already: nothing to keep.
            return Ok(());
        }
        server.set(&name, &bytes, ttl)
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.server()?.delete(&self.key_of(&key.to_owned_key())?)
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.server()?.clear(&self.namespace.prefix)
    }

    /// Unknown: the server holds entries of every process. 0.
    fn len(&self) -> usize {
        0
    }

    const BLOCKING: bool = true;

    fn __bind(&mut self, module: &'static str, function: &'static str) {
        self.function = (module, function);
        self.namespace = namespace::<K>(self.function, self.explicit.as_deref(), self.version);
    }
}
