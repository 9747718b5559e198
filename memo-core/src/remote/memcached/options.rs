//! The options of a [`Memcached`](crate::Memcached) store that only
//! memcached has: its servers, the largest value, and its connections.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::MemcachedServers;
use crate::remote::Shared;
use crate::store::StoreError;

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

    /// The largest encoded value sent to the servers or read from them
    /// (default: 1 MiB less 512 bytes, what memcached keeps by default; at
    /// most 512 MiB, to which a larger limit is clamped). A larger value is
    /// not sent, and one the server announces is not read, nor allocated:
    /// either way a store error, counted, and the call goes on without the
    /// cache.
    #[must_use]
    pub fn max_value_bytes(mut self, bytes: usize) -> Self {
        if let Ok(backend) = &mut self.backend {
            backend.set_max_value(bytes);
        }
        self
    }

    /// The address of the server that holds the entry for `key`.
    ///
    /// # Errors
    ///
    /// As for [`key_of`](Shared::key_of).
    pub fn server_of(&self, key: &K) -> Result<String, StoreError>
    where
        K: Serialize + DeserializeOwned + PartialEq,
    {
        Ok(self.server()?.server_of(&self.key_of(key)?).to_owned())
    }

    /// The most connections open to each server at once (default 64, at
    /// least 1). Callers beyond it wait for a connection in use to come
    /// back, within their request's deadline (then a store error, counted,
    /// and the call goes on without the cache), rather than each opening
    /// and closing one of their own. 64 is the most I/O threads an
    /// `async fn` has busy at once: those never wait.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        if let Ok(backend) = &mut self.backend {
            backend.limits.max = max.max(1);
        }
        self
    }

    /// How long a connection may stay unused before it is closed (default
    /// 60 s), when the pool is next used.
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        if let Ok(backend) = &mut self.backend {
            backend.limits.idle = idle;
        }
        self
    }
}
