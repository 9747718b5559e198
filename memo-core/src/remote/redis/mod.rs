//! Redis: a single server, a Redis Cluster, or the master that Redis
//! Sentinel watches, through the `redis` crate (redis-rs), the client the
//! Rust ecosystem maintains: every URL form it reads, TLS with rustls, ACL
//! users, a cluster client that follows MOVED and ASK and learns the slot
//! map again after a failover, and a sentinel client asked for the master
//! at each connect.
//!
//! On top of it, memo's own guarantees: nothing connects before the first
//! operation, every operation has a deadline for the whole request (see
//! [`driver`]), a server that failed is left alone for `retry_after`, and
//! every failure is a [`StoreError`], never a hang or a panic.

mod clear;
mod driver;
mod link;

use std::sync::Arc;
use std::time::Duration;

use redis::cluster::ClusterClient;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{Client, IntoConnectionInfo, TlsCertificates};

use super::{Backend, Timeouts};
use crate::store::StoreError;
use link::{Link, Target};

/// The Redis side of a [`Shared`](crate::Shared) store.
pub struct RedisServer {
    link: Arc<Link>,
    /// What the client was made from, to make it again with a CA.
    made_from: MadeFrom,
    pub(crate) timeouts: Timeouts,
}

enum MadeFrom {
    Url(String),
    Nodes(Vec<String>),
    /// Sentinels, and the name of the master they watch.
    Sentinels(Vec<String>, String),
    /// A client of the user's, configured by the user.
    Given,
}

/// `url` as redis-rs reads it: a bare `host[:port]` is `redis://host[:port]`.
fn with_scheme(url: &str) -> String {
    let url = url.trim();
    if url.contains("://") { url.to_owned() } else { format!("redis://{url}") }
}

fn invalid(what: &str, error: &redis::RedisError) -> StoreError {
    StoreError::new(format!("{what}: {error}"))
}

/// What the log calls a server: its address as redis-rs reads it, without
/// user or password.
fn name(target: &Target, made_from: &MadeFrom) -> String {
    match (target, made_from) {
        (Target::One(client), _) => format!("Redis {}", client.get_connection_info().addr()),
        (Target::Cluster(_), MadeFrom::Nodes(nodes)) => {
            format!("the Redis Cluster of {}", addrs(nodes).join(","))
        }
        (Target::Cluster(_), _) => String::from("a Redis Cluster (of a client of your own)"),
        (Target::Sentinel(_), MadeFrom::Sentinels(nodes, master)) => {
            format!("the Redis master {master} of the sentinels at {}", addrs(nodes).join(","))
        }
        (Target::Sentinel(_), _) => String::from("a Redis master (of a sentinel client of your own)"),
    }
}

/// The addresses of `nodes`, without users or passwords.
fn addrs(nodes: &[String]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|node| with_scheme(node).into_connection_info().ok())
        .map(|info| info.addr().to_string())
        .collect()
}

fn certificates(ca: Option<Vec<u8>>) -> TlsCertificates {
    TlsCertificates { client_tls: None, root_cert: ca }
}

impl RedisServer {
    fn over(target: Target, made_from: MadeFrom) -> Self {
        let name = name(&target, &made_from);
        RedisServer { link: Link::new(target, name), made_from, timeouts: Timeouts::default() }
    }

    /// One server, at `url`: any URL redis-rs reads (`redis://`, `rediss://`,
    /// `redis+unix://`, a user and a password percent-encoded, `/db`,
    /// `?protocol=resp3`), or a bare `host[:port]`.
    pub(crate) fn single(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(with_scheme(url)).map_err(|e| invalid(url, &e))?;
        Ok(Self::over(Target::One(client), MadeFrom::Url(url.to_owned())))
    }

    /// A Redis Cluster reached through any of `nodes` (URLs or `host:port`).
    pub(crate) fn cluster(nodes: &[String]) -> Result<Self, StoreError> {
        let client = Self::cluster_client(nodes, None)?;
        Ok(Self::over(Target::Cluster(client), MadeFrom::Nodes(nodes.to_vec())))
    }

    fn cluster_client(nodes: &[String], ca: Option<Vec<u8>>) -> Result<ClusterClient, StoreError> {
        if nodes.is_empty() {
            return Err(StoreError::new("a Redis Cluster needs at least one node"));
        }
        let urls: Vec<String> = nodes.iter().map(|node| with_scheme(node)).collect();
        let mut builder = ClusterClient::builder(urls);
        if let Some(ca) = ca {
            builder = builder.certs(certificates(Some(ca)));
        }
        builder.build().map_err(|e| invalid("a Redis Cluster", &e))
    }

    /// The master named `master` of the sentinels at any of `nodes` (URLs or
    /// `host:port`, with the sentinels' own user and password if they have
    /// one), asked for at each connect.
    pub(crate) fn sentinel(nodes: &[String], master: &str) -> Result<Self, StoreError> {
        if nodes.is_empty() {
            return Err(StoreError::new("Redis Sentinel needs at least one sentinel"));
        }
        let urls: Vec<String> = nodes.iter().map(|node| with_scheme(node)).collect();
        let client = SentinelClient::build(urls, master, None, SentinelServerType::Master)
            .map_err(|e| invalid("Redis Sentinel", &e))?;
        let target = Target::Sentinel(tokio::sync::Mutex::new(client));
        Ok(Self::over(target, MadeFrom::Sentinels(nodes.to_vec(), master.to_owned())))
    }

    /// A sentinel client of the user's.
    pub(crate) fn given_sentinel(client: SentinelClient) -> Self {
        Self::over(Target::Sentinel(tokio::sync::Mutex::new(client)), MadeFrom::Given)
    }

    /// A client of the user's, used as it is configured (memo's timeouts
    /// still apply to every operation).
    pub(crate) fn given(client: Client) -> Self {
        Self::over(Target::One(client), MadeFrom::Given)
    }

    /// A cluster client of the user's.
    pub(crate) fn given_cluster(client: ClusterClient) -> Self {
        Self::over(Target::Cluster(client), MadeFrom::Given)
    }

    /// The same server, trusting the CA certificates of `pem` (instead of the
    /// system's roots) for `rediss://`.
    pub(crate) fn trusting(self, pem: Vec<u8>) -> Result<Self, StoreError> {
        let timeouts = self.timeouts;
        let mut server = match self.made_from {
            MadeFrom::Url(url) => {
                let client = Client::build_with_tls(with_scheme(&url), certificates(Some(pem)))
                    .map_err(|e| invalid(&url, &e))?;
                Self::over(Target::One(client), MadeFrom::Url(url))
            }
            MadeFrom::Nodes(nodes) => {
                let client = Self::cluster_client(&nodes, Some(pem))?;
                Self::over(Target::Cluster(client), MadeFrom::Nodes(nodes))
            }
            MadeFrom::Given => {
                return Err(StoreError::new(
                    "a CA for a redis::Client of your own: make it with redis::Client::build_with_tls",
                ));
            }
            MadeFrom::Sentinels(..) => {
                return Err(StoreError::new(
                    "a CA for Redis Sentinel: make a redis::sentinel::SentinelClient with \
                     SentinelClientBuilder's certificates and hand it to Redis::with_sentinel_client",
                ));
            }
        };
        server.timeouts = timeouts;
        Ok(server)
    }

    /// Runs `cmd` and reads its reply as `T`.
    fn query<T: redis::FromRedisValue + Send + 'static>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        self.link.call(self.timeouts, move |mut conn| async move { conn.query(&cmd).await })
    }
}

/// The longest `PX` memo sends: Redis adds its clock's milliseconds to `PX`
/// in a signed 64-bit integer and refuses a sum that overflows ("invalid
/// expire time"), so the exact limit depends on the server's clock. Half the
/// range, 146 million years, is taken by every server whatever its clock.
const LONGEST_PX: u64 = i64::MAX as u64 / 2;

/// `ttl` as `PX` takes it: whole milliseconds, rounded up, at least one (0
/// would be refused, and a value that expires at once is not sent at all), at
/// most [`LONGEST_PX`].
fn millis(ttl: Duration) -> u64 {
    let ms = ttl.as_millis() + u128::from(ttl.subsec_nanos() % 1_000_000 != 0);
    u64::try_from(ms).unwrap_or(u64::MAX).clamp(1, LONGEST_PX)
}

impl Backend for RedisServer {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.query(redis::cmd("GET").arg(key).to_owned())
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl).to_string());
        }
        self.query(cmd)
    }

    fn add(&self, key: &str, token: &str, ttl: Duration) -> Result<bool, StoreError> {
        let cmd =
            redis::cmd("SET").arg(key).arg(token).arg("NX").arg("PX").arg(millis(ttl).to_string()).to_owned();
        self.query::<Option<String>>(cmd).map(|reply| reply.is_some())
    }

    fn delete_if(&self, key: &str, token: &str) -> Result<(), StoreError> {
        // Compare and delete in one step on the server: a lock that expired
        // and was taken by another process since is not deleted.
        const SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
        self.query::<i64>(redis::cmd("EVAL").arg(SCRIPT).arg(1).arg(key).arg(token).to_owned()).map(|_| ())
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.query::<i64>(redis::cmd("DEL").arg(key).to_owned()).map(|n| n > 0)
    }

    fn clear(&self, prefix: &str) -> Result<(), StoreError> {
        clear::clear(&self.link, self.timeouts, prefix)
    }

    fn timeouts(&mut self) -> &mut Timeouts {
        &mut self.timeouts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(RedisServer::single("redis://:secret@localhost:7000/2").is_ok());
        assert!(RedisServer::single("rediss://memo:p%3Aw%40d%25@localhost:7000").is_ok());
        assert!(RedisServer::single("redis+unix:///run/redis.sock?db=1").is_ok());
        assert!(RedisServer::single("127.0.0.1").is_ok());
        assert!(RedisServer::single("redis://host:port:junk/x").is_err());
        assert!(RedisServer::cluster(&[]).is_err());
        assert!(RedisServer::sentinel(&[], "memo").is_err());
        let nodes = vec![String::from("redis://u:secret@10.0.0.1:26379"), String::from("10.0.0.2:26379")];
        assert!(RedisServer::sentinel(&nodes, "memo").is_ok());
        let urls: Vec<String> = nodes.iter().map(|node| with_scheme(node)).collect();
        let client = SentinelClient::build(urls, "memo", None, SentinelServerType::Master).unwrap();
        let target = Target::Sentinel(tokio::sync::Mutex::new(client));
        assert_eq!(
            name(&target, &MadeFrom::Sentinels(nodes, String::from("memo"))),
            "the Redis master memo of the sentinels at 10.0.0.1:26379,10.0.0.2:26379",
            "no password in the log"
        );
        assert_eq!(millis(Duration::from_micros(1)), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 2);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(millis(Duration::from_nanos(1)), 1);
        assert_eq!(millis(Duration::from_secs(1 << 62)), LONGEST_PX);
        assert_eq!(millis(Duration::MAX), LONGEST_PX);
    }
}
