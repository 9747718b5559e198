//! A Redis server, cluster or Sentinel-watched master as memo uses it: one
//! redis-rs client, its connection made at the first operation, a deadline
//! on every request, and the server left alone for `retry_after` once it
//! failed.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::SentinelClient;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisError, RedisResult, ServerErrorKind};
use tokio::time::timeout;

use super::driver;
use crate::remote::Timeouts;
use crate::remote::server::Health;
use crate::store::StoreError;

/// The client: of a server, of a cluster, or of the sentinels that say
/// which server is the master.
pub(super) enum Target {
    One(Client),
    Cluster(ClusterClient),
    /// Asked for the master at each connect (a connection is made afresh
    /// after a failure, so a promoted replica is found).
    Sentinel(tokio::sync::Mutex<SentinelClient>),
}

/// A connection, cheap to clone: redis-rs multiplexes the requests of every
/// clone over one socket per server (pipelined, answered in order).
#[derive(Clone)]
pub(super) enum Conn {
    One(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Sends `cmd` (routed by its key on a cluster) and reads the reply.
    pub(super) async fn query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> RedisResult<T> {
        match self {
            Conn::One(conn) => cmd.query_async(conn).await,
            Conn::Cluster(conn) => cmd.query_async(conn).await,
        }
    }
}

pub(super) struct Link {
    target: Target,
    /// Says in the log when the server goes bad and when it comes back.
    health: Health,
    conn: Mutex<Option<Conn>>,
    /// Held while connecting, so that callers who find no connection wait for
    /// one connect rather than each making their own.
    connecting: tokio::sync::Mutex<()>,
    down_until: Mutex<Option<Instant>>,
}

impl Link {
    /// A link to `target`, called `name` in the log (an address, never a
    /// password).
    pub(super) fn new(target: Target, name: String) -> Arc<Self> {
        Arc::new(Link {
            target,
            health: Health::new(name),
            conn: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            down_until: Mutex::new(None),
        })
    }

    /// An error if the server failed less than `retry_after` ago.
    fn check_down(&self) -> Result<(), StoreError> {
        match *self.down_until.lock() {
            // Not tried: the outage was announced, and its end will be.
            Some(until) if Instant::now() < until => Err(StoreError::new(NOT_TRIED).told()),
            _ => Ok(()),
        }
    }

    /// The server failed: leave it alone for a while, and connect afresh
    /// the next time.
    fn failed(&self, timeouts: &Timeouts) {
        *self.down_until.lock() = Some(Instant::now() + timeouts.retry_after);
        self.conn.lock().take();
    }

    /// A request lost its connection, or passed its deadline. A server is
    /// left alone for a while. A cluster is not: one node down must not make
    /// misses of the keys of the others. Its connection is made afresh at the
    /// next call, which asks the nodes that answer for the slot map (so a
    /// promoted replica is found at once); if no node answers, that connect
    /// fails and the cluster is left alone.
    fn request_failed(&self, timeouts: &Timeouts) {
        match self.target {
            Target::One(_) | Target::Sentinel(_) => self.failed(timeouts),
            Target::Cluster(_) => drop(self.conn.lock().take()),
        }
    }

    /// The connection, made now if there is none: `Ok(None)` if the
    /// server failed less than `retry_after` ago (not tried).
    async fn connection(&self, timeouts: &Timeouts) -> RedisResult<Option<Conn>> {
        if let Some(conn) = self.conn.lock().clone() {
            return Ok(Some(conn));
        }
        let _connecting = self.connecting.lock().await;
        if let Some(conn) = self.conn.lock().clone() {
            return Ok(Some(conn));
        }
        // Another caller's connect failed while this one waited for it.
        if self.check_down().is_err() {
            return Ok(None);
        }
        crypto();
        let conn = match &self.target {
            Target::One(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeouts.connect))
                    .set_response_timeout(Some(timeouts.op));
                Conn::One(client.get_multiplexed_async_connection_with_config(&config).await?)
            }
            Target::Sentinel(sentinels) => {
                let master = sentinels.lock().await.async_get_client().await?;
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeouts.connect))
                    .set_response_timeout(Some(timeouts.op));
                Conn::One(master.get_multiplexed_async_connection_with_config(&config).await?)
            }
            Target::Cluster(client) => {
                let config = ClusterConfig::new()
                    .set_connection_timeout(timeouts.connect)
                    .set_response_timeout(timeouts.op);
                Conn::Cluster(client.get_async_connection_with_config(config).await?)
            }
        };
        *self.down_until.lock() = None;
        *self.conn.lock() = Some(conn.clone());
        Ok(Some(conn))
    }

    /// Runs `op` on a connection, connecting first if there is none: at most
    /// `timeouts.connect` to connect, then at most `timeouts.op` for the
    /// whole of `op`, however the server dribbles its reply. A failed
    /// connect, or on a single server a lost connection or a deadline
    /// passed, leaves it alone for `timeouts.retry_after`; an error reply of
    /// the server does not.
    pub(super) fn call<T, F, Fut>(self: &Arc<Self>, timeouts: Timeouts, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Conn) -> Fut + Send + 'static,
        Fut: Future<Output = RedisResult<T>> + Send,
    {
        self.check_down()?;
        let link = Arc::clone(self);
        driver::run(timeouts.connect.saturating_add(timeouts.op), async move {
            let retry = timeouts.retry_after;
            let conn = match timeout(timeouts.connect, link.connection(&timeouts)).await {
                Ok(Ok(Some(conn))) => conn,
                Ok(Ok(None)) => return Err(StoreError::new(NOT_TRIED).told()),
                Ok(Err(error)) => {
                    link.failed(&timeouts);
                    return Err(link.health.failed(format!("cannot connect: {error}"), retry));
                }
                Err(_) => {
                    link.failed(&timeouts);
                    let error = format!("cannot connect within {:?}", timeouts.connect);
                    return Err(link.health.failed(error, retry));
                }
            };
            match timeout(timeouts.op, op(conn)).await {
                Ok(Ok(value)) => {
                    link.health.answered();
                    Ok(value)
                }
                Ok(Err(error)) if lost(&error) => {
                    link.request_failed(&timeouts);
                    Err(link.health.failed(error, retry))
                }
                // A master of the sentinels' that was demoted (it came back
                // after a failover, as a replica): ask them again at once.
                Ok(Err(error)) if demoted(&link.target, &error) => {
                    link.conn.lock().take();
                    Err(StoreError::new(error))
                }
                // An error reply: the server answers.
                Ok(Err(error)) => {
                    link.health.answered();
                    Err(StoreError::new(error))
                }
                Err(_) => {
                    link.request_failed(&timeouts);
                    Err(link.health.failed(format!("no answer within {:?}", timeouts.op), retry))
                }
            }
        })
    }
}

/// What a connect says that was not tried, the server having failed less
/// than `retry_after` ago.
const NOT_TRIED: &str = "failed recently; not tried again yet";

/// Whether `error` says the connection is gone or unusable, rather than
/// being an answer of the server.
fn lost(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
}

/// Whether `error` says that the master the sentinels named is one no
/// longer.
fn demoted(target: &Target, error: &RedisError) -> bool {
    matches!(target, Target::Sentinel(_))
        && error.kind() == redis::ErrorKind::Server(ServerErrorKind::ReadOnly)
}

/// rustls needs a process-wide crypto provider. memo enables only `ring`
/// in rustls, so rustls picks it by itself, unless another crate of the
/// program enables a second provider and installs none: then memo installs
/// ring's, rather than let every TLS connect fail.
fn crypto() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}
