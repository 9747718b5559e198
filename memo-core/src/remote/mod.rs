//! Stores on a cache server that many processes share: [`Redis`]
//! (feature `redis`) and [`Memcached`] (feature `memcached`), both a
//! [`Shared`] store over a server of their kind.
//!
//! - Values are encoded by a [`Codec`] (MessagePack with named fields by
//!   default) behind a header with the fingerprint of their type's shape as
//!   serde sees it: a value written by a build whose function returned a type
//!   of another shape is a miss.
//! - Keys are `memo:<function>:<namespace>:<digest>`. The namespace is a hash
//!   of the function (module path, name, and the `TypeId` of its item and
//!   instantiation) or of the namespace you give, the version, and the
//!   fingerprint of the key type. The digest is BLAKE3 over the namespace and
//!   the key's encoding, used only if that encoding decodes back to an equal
//!   key, so that two unequal keys never share an entry. At most 127 bytes,
//!   ASCII letters, digits, `_` and `:` only, so memcached takes every key.
//! - Same build: keys and fingerprints are the same in every process. Another
//!   build, toolchain or platform may change them: a miss, never a wrong
//!   value. [`Shared::namespace`] shares entries across builds, at your word.
//! - A store that is not named after its function and has no namespace (made
//!   by hand, or inside a store of your own that does not forward the hook)
//!   refuses every operation.
//! - A `ttl` becomes the server's expiry.
//! - Failures are misses: every operation has a deadline for the whole
//!   request (50 ms by default), connecting is lazy, a failed server is left
//!   alone for a second and then tried again, and every error is counted in
//!   `CacheInfo::store_errors`. The log (the `log` crate, target `memo`)
//!   gets one warning when a server goes bad and one when it answers again,
//!   not one per failed call; other store errors, at most one per cache per
//!   10 s.

mod codec;
mod digest;
mod lock;
#[cfg(feature = "memcached")]
mod memcached;
mod namespace;
#[cfg(feature = "redis")]
mod redis;
mod server;
mod shape;

use core::fmt;
use core::hash::Hash;
use core::marker::PhantomData;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use codec::{Codec, MessagePack, Payload};
#[cfg(feature = "memcached")]
pub use memcached::MemcachedServers;
#[cfg(feature = "redis")]
pub use redis::RedisServer;
pub use server::Timeouts;

use lock::Lock;
use namespace::{Namespace, Naming, UNNAMED, hex};
use shape::fingerprint;

use crate::store::key::KeyView;
use crate::store::{FunctionId, Store, StoreError};

/// What a cache server does for a [`Shared`] store: bytes under string keys.
#[doc(hidden)]
pub trait Backend: Send + Sync {
    /// The bytes stored under `key`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key`, to expire after `ttl`.
    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), StoreError>;
    /// Stores `token` under `key` only if nothing is stored there, to
    /// expire after `ttl`; whether it was stored.
    fn add(&self, key: &str, token: &str, ttl: Duration) -> Result<bool, StoreError>;
    /// Deletes `key` if it holds `token`.
    fn delete_if(&self, key: &str, token: &str) -> Result<(), StoreError>;
    /// Deletes `key`; whether it was there.
    fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Deletes every key that starts with `prefix`.
    fn clear(&self, prefix: &str) -> Result<(), StoreError>;
    /// The timeouts, to configure.
    fn timeouts(&mut self) -> &mut Timeouts;
}

/// A store on a cache server shared by many processes: [`Redis`] or
/// [`Memcached`]. Keys `K` must be `Serialize + DeserializeOwned` (their
/// encoding is decoded back and compared with the key, see
/// [`key_of`](Shared::key_of)), values `V` too (see [`Payload`]).
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
    /// What the namespace is made of: the function (told when its cache is
    /// made) or the user's namespace, and the version.
    naming: Naming,
    /// The namespace, derived at the first operation after `naming` changed
    /// (not on every operation); empty while the store is unnamed.
    namespace: OnceLock<Namespace>,
    /// One computation per key across processes (see [`lock`](Self::lock)).
    lock: Lock,
    types: PhantomData<fn(K) -> V>,
}

/// A store on Redis (a server, a Redis Cluster, or the master that Redis
/// Sentinel watches), through the `redis` crate. Read the address from
/// `MEMO_REDIS_URL` (any URL redis-rs reads:
/// `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS,
/// `redis+unix:///path`; user and password percent-encoded) or, for a
/// cluster, `MEMO_REDIS_CLUSTER` (`host:port,host:port,...` or URLs), or,
/// for Sentinel, `MEMO_REDIS_SENTINEL` and `MEMO_REDIS_SENTINEL_MASTER`, and
/// a CA file from `MEMO_REDIS_CA`, with [`from_env`](Shared::from_env); or
/// give them with [`new`](Shared::new), [`cluster`](Shared::cluster),
/// [`sentinel`](Shared::sentinel) and [`tls_ca_file`](Shared::tls_ca_file);
/// or hand over a client of your own with
/// [`with_client`](Shared::with_client),
/// [`with_cluster_client`](Shared::with_cluster_client) or
/// [`with_sentinel_client`](Shared::with_sentinel_client).
#[cfg(feature = "redis")]
pub type Redis<K, V, C = MessagePack> = Shared<RedisServer, K, V, C>;

/// A store on one or more memcached servers, keys spread over them by
/// consistent hashing. Read the addresses from `MEMO_MEMCACHED_SERVERS`
/// (`host:port,host:port,...`) with [`from_env`](Shared::from_env), or give
/// them with [`new`](Shared::new).
#[cfg(feature = "memcached")]
pub type Memcached<K, V, C = MessagePack> = Shared<MemcachedServers, K, V, C>;

impl<B: Backend, K, V> Shared<B, K, V> {
    fn over(backend: Result<B, StoreError>) -> Self {
        Shared {
            backend: backend.map_err(|error| error.to_string()),
            codec: MessagePack,
            naming: Naming::default(),
            namespace: OnceLock::new(),
            lock: Lock::default(),
            types: PhantomData,
        }
    }
}

#[cfg(feature = "redis")]
impl<K, V> Shared<RedisServer, K, V> {
    /// A store on the Redis server at `url`: `redis://`, `rediss://` (TLS,
    /// trusting the system's roots, or [`tls_ca_file`](Self::tls_ca_file)),
    /// `redis+unix:///path`, a user and a password percent-encoded
    /// (`redis://memo:p%40ss@host`), `/db`, `?protocol=resp3`, or a bare
    /// `host[:port]`. Nothing connects until the first call; a URL that
    /// cannot be read makes every call a miss, counted as a store error.
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self::over(RedisServer::single(url))
    }

    /// A store on a Redis Cluster, reached through any of `nodes`
    /// (`host:port`, or URLs as for [`new`](Self::new)). redis-rs's cluster
    /// client follows MOVED and ASK and learns the slots again when a node
    /// fails, so a promoted replica is found without a restart.
    #[must_use]
    pub fn cluster<S: AsRef<str>>(nodes: impl IntoIterator<Item = S>) -> Self {
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().trim().to_owned()).collect();
        Self::over(RedisServer::cluster(&nodes))
    }

    /// A store on the server of a `redis::Client` of your own (redis 1.x),
    /// used with its own configuration (TLS, credentials); memo's timeouts
    /// still bound every operation.
    #[must_use]
    pub fn with_client(client: ::redis::Client) -> Self {
        Self::over(Ok(RedisServer::given(client)))
    }

    /// A store on the cluster of a `redis::cluster::ClusterClient` of your
    /// own (redis 1.x). Its connection and response timeouts are memo's.
    #[must_use]
    pub fn with_cluster_client(client: ::redis::cluster::ClusterClient) -> Self {
        Self::over(Ok(RedisServer::given_cluster(client)))
    }

    /// A store on the master that Redis Sentinel watches under the name
    /// `master`, reached through any of the sentinels at `nodes`
    /// (`host:port`, or URLs as for [`new`](Self::new), with the sentinels'
    /// own user and password if they have one). The sentinels are asked
    /// which server is the master at each connect, and memo connects afresh
    /// after a failure, so after a failover the promoted replica is found
    /// without a restart; a master that came back demoted (a `READONLY`
    /// reply) makes memo ask again at once. The master is reached with no
    /// user or password and in database 0; for those, or TLS, make a
    /// `redis::sentinel::SentinelClient` and use
    /// [`with_sentinel_client`](Self::with_sentinel_client).
    #[must_use]
    pub fn sentinel<S: AsRef<str>>(nodes: impl IntoIterator<Item = S>, master: &str) -> Self {
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().trim().to_owned()).collect();
        Self::over(RedisServer::sentinel(&nodes, master))
    }

    /// A store on the master of a `redis::sentinel::SentinelClient` of your
    /// own (redis 1.x, made for `SentinelServerType::Master`), used with its
    /// own configuration; memo's timeouts still bound every operation.
    #[must_use]
    pub fn with_sentinel_client(client: ::redis::sentinel::SentinelClient) -> Self {
        Self::over(Ok(RedisServer::given_sentinel(client)))
    }

    /// For `rediss://`: trust the CA certificates in the PEM file at `path`,
    /// instead of the system's roots (a private CA). A file that cannot be
    /// read makes every call a miss, counted as a store error.
    #[must_use]
    pub fn tls_ca_file(self, path: impl AsRef<std::path::Path>) -> Self {
        let path = path.as_ref();
        let backend = self.backend.and_then(|server| {
            let pem = std::fs::read(path).map_err(|e| format!("the CA file {}: {e}", path.display()))?;
            server.trusting(pem).map_err(|e| e.to_string())
        });
        Shared { backend, ..self }
    }

    /// A store on the cluster in `MEMO_REDIS_CLUSTER` if it is set, else on
    /// the master that the sentinels in `MEMO_REDIS_SENTINEL`
    /// (`host:port,...` or URLs) watch under the name in
    /// `MEMO_REDIS_SENTINEL_MASTER` (default `mymaster`), else on the server
    /// in `MEMO_REDIS_URL`, else on `redis://127.0.0.1:6379`; trusting the
    /// CA file in `MEMO_REDIS_CA` if it is set.
    #[must_use]
    pub fn from_env() -> Self {
        let store = if let Ok(nodes) = std::env::var("MEMO_REDIS_CLUSTER") {
            Self::cluster(nodes.split(',').filter(|n| !n.trim().is_empty()))
        } else if let Ok(nodes) = std::env::var("MEMO_REDIS_SENTINEL") {
            let master =
                std::env::var("MEMO_REDIS_SENTINEL_MASTER").unwrap_or_else(|_| String::from("mymaster"));
            Self::sentinel(nodes.split(',').filter(|n| !n.trim().is_empty()), &master)
        } else {
            Self::new(
                &std::env::var("MEMO_REDIS_URL").unwrap_or_else(|_| String::from("redis://127.0.0.1:6379")),
            )
        };
        match std::env::var_os("MEMO_REDIS_CA") {
            Some(ca) => store.tls_ca_file(ca),
            None => store,
        }
    }
}

impl<B: Backend, K, V, C> Shared<B, K, V, C> {
    /// The deadline of each operation (default 50 ms): of the whole
    /// request, from its first byte sent to the last byte of its answer,
    /// however slowly the server answers.
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with_timeouts(|t| t.op = timeout)
    }

    /// The timeout of each connect (default 50 ms). On memcached, the
    /// lookup of a server's name waits at most this long too (a lookup that
    /// takes longer is a failure of that call; it goes on, for the next).
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

    /// One computation per key across processes (default: on). When several
    /// processes (or stores) miss one key at once, the first takes a lock key
    /// on the server (Redis `SET NX PX`, memcached `add`) and computes; the
    /// others poll the value key, with a backoff from 5 ms to 100 ms, and
    /// return its value when it comes. A waiter takes the lock and computes
    /// when the lock is gone without a value (it expired), and computes
    /// without it after [`lock_wait`](Self::lock_wait): a holder that
    /// crashed, hangs, or whose result is not cached (an `Err`, a panic:
    /// its lock is left to expire) keeps nobody waiting longer than that.
    /// The holder deletes the lock once it has stored the value, only if it
    /// still holds it (Redis: compare and delete in one Lua script;
    /// memcached: read, then delete). Threads of one process never wait for
    /// a lock of their own store: the cache's single-flight has them wait for
    /// the thread that computes. It costs a miss two more round trips (take
    /// and delete the lock); `lock(false)` turns it off, and every process
    /// that misses computes. In an `async fn`, a waiter holds one of memo's
    /// I/O threads while it waits (never the executor's).
    #[must_use]
    pub fn lock(mut self, on: bool) -> Self {
        self.lock.on = on;
        self
    }

    /// How long a lock lives on the server if its holder never deletes it
    /// (default 5 s): a holder that crashes, or whose result is not cached.
    /// Rounded up to whole seconds on memcached.
    #[must_use]
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// The longest a miss waits for another process's value (default 5 s)
    /// before it computes the value itself. Each poll is one operation under
    /// the store's [`timeout`](Self::timeout); a failure ends the wait as a
    /// miss, counted as a store error.
    #[must_use]
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock.wait = wait;
        self
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
        self.naming.version = version;
        self.namespace = OnceLock::new();
        self
    }

    /// The namespace, instead of the function's own (its module path, name
    /// and instantiation in this build): stores that give the same namespace,
    /// version and key type share entries, in any function of any program.
    /// Also what a store needs that `#[memoize]` cannot name: one made by
    /// hand for a [`Cache`](crate::Cache), or one inside a store of your own.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.naming.explicit = Some(namespace.into());
        self.namespace = OnceLock::new();
        self
    }

    /// Encodes values with `codec` instead of MessagePack.
    #[must_use]
    pub fn codec<C2: Codec>(self, codec: C2) -> Shared<B, K, V, C2> {
        Shared {
            backend: self.backend,
            codec,
            naming: self.naming,
            namespace: self.namespace,
            lock: self.lock.settings(),
            types: PhantomData,
        }
    }

    /// The namespace, or why there is none.
    fn named(&self) -> Result<&Namespace, StoreError>
    where
        K: DeserializeOwned,
    {
        if let Some(namespace) = self.namespace.get() {
            return Ok(namespace);
        }
        let namespace = self.naming.derive(&fingerprint::<K>()).ok_or_else(|| StoreError::new(UNNAMED))?;
        Ok(self.namespace.get_or_init(|| namespace))
    }

    /// The server key of the entry for `key`.
    ///
    /// # Errors
    ///
    /// If the store has no namespace (see [`namespace`](Self::namespace)), or
    /// the key has no exact encoding: its `Serialize` fails, or what it writes
    /// does not decode back to an equal key (`#[serde(untagged)]`,
    /// `#[serde(skip)]`), so that it could be another key's.
    pub fn key_of(&self, key: &K) -> Result<String, StoreError>
    where
        K: Serialize + DeserializeOwned + PartialEq,
    {
        let namespace = self.named()?;
        let digest = digest::digest(&namespace.hash, key).map_err(StoreError::new)?;
        Ok(format!("{}{}", namespace.prefix, hex(&digest)))
    }

    /// The server, or why there is none.
    fn server(&self) -> Result<&B, StoreError> {
        self.backend.as_ref().map_err(|why| StoreError::new(why.clone()))
    }
}

impl<B, K, V, C> fmt::Debug for Shared<B, K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").field("naming", &self.naming).finish_non_exhaustive()
    }
}

impl<B, K, V, C> Store<K, V> for Shared<B, K, V, C>
where
    B: Backend,
    K: Serialize + DeserializeOwned + Hash + Eq + Clone + Send,
    V: Payload + Send,
    C: Codec,
{
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let name = self.key_of(&key.to_owned_key())?;
        let server = self.server()?;
        let found = match server.get(&name)? {
            None if self.lock.on => self.lock.wait_for(server, &name)?,
            found => found,
        };
        match found {
            None => Ok(None),
            Some(bytes) => V::__decode(&bytes, &self.codec).map(Some),
        }
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        let server = self.server()?;
        let name = self.key_of(&key)?;
        let stored = match value.__encode(&self.codec) {
            // Expired already: nothing to keep.
            Ok((_, Some(ttl))) if ttl.is_zero() => Ok(()),
            Ok((bytes, ttl)) => server.set(&name, &bytes, ttl),
            Err(error) => Err(error),
        };
        // Stored or not, the processes that wait for it need not wait longer.
        self.lock.release(server, &name);
        stored
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.server()?.delete(&self.key_of(&key.to_owned_key())?)
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.server()?.clear(&self.named()?.prefix)
    }

    /// Unknown: the server holds entries of every process. 0.
    fn len(&self) -> usize {
        0
    }

    const BLOCKING: bool = true;

    fn bind(&mut self, function: &FunctionId) {
        self.naming.function = Some(*function);
        self.namespace = OnceLock::new();
    }

    /// Gives the miss's lock up, if this store holds it, so that other
    /// processes stop waiting for a value that will not come.
    fn abandoned<Q>(&self, key: &Q)
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if !self.lock.on {
            return;
        }
        if let (Ok(server), Ok(name)) = (self.server(), self.key_of(&key.to_owned_key())) {
            self.lock.release(server, &name);
        }
    }
}
