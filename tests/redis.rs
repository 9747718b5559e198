//! The Redis store against real servers: a server, a Redis Cluster, and
//! servers of the test's own that it kills and restarts. See `tests/common`
//! for where the addresses come from; without them these tests say they were
//! skipped.

#![cfg(feature = "redis")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{OwnServer, dribbling_redis, host_port, raw, resp, resp_set, run, server_env, silent_server};
use memo::{Exact, Redis, Store, memoize};

fn url() -> String {
    std::env::var("MEMO_TEST_REDIS_URL").unwrap_or_default()
}

/// Deletes what earlier runs left on the server under `namespace` (a
/// function's handle clears only the caches this process has made).
fn wipe<K, V>(store: Redis<K, V>, namespace: &str)
where
    K: serde::Serialize + serde::de::DeserializeOwned + std::hash::Hash + Eq + Clone + Send,
    V: memo::Payload + Send,
{
    store.namespace(namespace).clear().unwrap();
}

static SQUARES: AtomicUsize = AtomicUsize::new(0);

// Named after the function (its module path, name and instantiation), in a
// version of this run's own.
#[memoize(store = Redis::new(&url()).version(run()))]
fn square(x: u64) -> u64 {
    SQUARES.fetch_add(1, SeqCst);
    x * x
}

#[test]
fn values_are_kept_on_the_server() {
    let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
    assert_eq!(square(12), 144);
    assert_eq!(square(12), 144);
    assert_eq!(SQUARES.load(SeqCst), 1);
    let info = square_cache().info();
    assert_eq!((info.hits, info.misses, info.store_errors), (1, 1, 0));
    assert!(square_cache().remove(&12_u64));
    assert_eq!(square(12), 144);
    assert_eq!(SQUARES.load(SeqCst), 2);
}

static SHARED: AtomicUsize = AtomicUsize::new(0);

#[memoize(store = Redis::new(&url()).namespace("tests::redis::two_processes"))]
fn shared_between_processes(name: &str, n: u32) -> String {
    SHARED.fetch_add(1, SeqCst);
    format!("{name}-{}", n * 2)
}

static SHARED_BY_NAME: AtomicUsize = AtomicUsize::new(0);

// Named after the function: one name in every process of this build.
#[memoize(store = Redis::new(&url()).version(run()))]
fn shared_by_name(n: u32) -> u32 {
    SHARED_BY_NAME.fetch_add(1, SeqCst);
    n * 3
}

/// Run by `two_processes_share_one_cache` in a process of its own.
#[test]
fn child_process_computes() {
    if std::env::var_os("MEMO_TEST_CHILD").is_none() {
        return;
    }
    assert_eq!(shared_between_processes("child", 21), "child-42");
    assert_eq!(SHARED.load(SeqCst), 1, "the child computes");
    assert_eq!(shared_by_name(5), 15);
    assert_eq!(SHARED_BY_NAME.load(SeqCst), 1, "the child computes");
}

#[test]
fn two_processes_share_one_cache() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    wipe(Redis::<(String, u32), String>::new(&url), "tests::redis::two_processes");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_computes", "--nocapture"])
        .env("MEMO_TEST_CHILD", "1")
        .env("MEMO_TEST_RUN", run().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    // This process hits what the other computed.
    assert_eq!(shared_between_processes("child", 21), "child-42");
    assert_eq!(SHARED.load(SeqCst), 0);
    assert_eq!(shared_between_processes_cache().info().hits, 1);
    assert_eq!(shared_by_name(5), 15);
    assert_eq!(SHARED_BY_NAME.load(SeqCst), 0, "a function's own namespace is the same in both processes");
}

#[memoize(store = Redis::new(&url()).namespace("tests::redis::expiring"), ttl = Duration::from_millis(300))]
fn expiring(x: u64) -> u64 {
    x + 1
}

#[test]
fn the_server_expires_entries() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    wipe(Redis::<u64, u64>::new(&url), "tests::redis::expiring");
    assert_eq!(expiring(1), 2);
    // Another store of the same namespace (another process, say) sees it...
    let twin: Redis<u64, u64> = Redis::new(&url).namespace("tests::redis::expiring");
    let key = twin.key_of(&1).unwrap();
    let raw_get = |key: &str| {
        raw(&host_port(&url), format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes())
    };
    assert!(raw_get(&key).starts_with(b"$"), "stored with its expiry");
    assert_ne!(raw_get(&key), b"$-1\r\n");
    // ...until the server expires it by itself.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(raw_get(&key), b"$-1\r\n");
    assert_eq!(expiring(1), 2);
    assert_eq!(expiring_cache().info().misses, 2);
}

static RESTARTS: AtomicUsize = AtomicUsize::new(0);

fn own_url() -> String {
    std::env::var("MEMO_TEST_OWN_REDIS").unwrap_or_default()
}

#[memoize(store = Redis::new(&own_url()).timeout(Duration::from_millis(30)).retry_after(Duration::from_millis(100)))]
fn on_own_server(x: u64) -> u64 {
    RESTARTS.fetch_add(1, SeqCst);
    x * 3
}

#[test]
fn a_server_killed_mid_run_is_a_miss_and_the_cache_recovers() {
    let Some(mut server) = OwnServer::redis() else { return };
    // SAFETY of the test: only this test reads MEMO_TEST_OWN_REDIS.
    unsafe { std::env::set_var("MEMO_TEST_OWN_REDIS", format!("redis://{}", server.addr())) };
    assert_eq!(on_own_server(5), 15);
    assert_eq!(on_own_server(5), 15);
    assert_eq!(RESTARTS.load(SeqCst), 1);

    server.kill();
    let start = Instant::now();
    for _ in 0..50 {
        assert_eq!(on_own_server(5), 15, "the function's own result while the server is down");
    }
    assert!(start.elapsed() < Duration::from_secs(5), "a dead server does not cost every call a timeout");
    assert!(on_own_server_cache().info().store_errors >= 1);

    server.restart();
    std::thread::sleep(Duration::from_millis(150));
    let computed = RESTARTS.load(SeqCst);
    assert_eq!(on_own_server(6), 18);
    assert_eq!(on_own_server(6), 18);
    assert_eq!(RESTARTS.load(SeqCst), computed + 1, "back on the server: the second call hits");
}

#[test]
fn a_server_that_never_answers_is_a_miss_after_the_timeout() {
    let silent = silent_server();
    let store = Redis::<u64, u64>::new(&silent).namespace("tests::redis::silent");
    let cache = memo::Cache::new(store.timeout(Duration::from_millis(30)));
    let start = Instant::now();
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    let info = cache.info();
    assert!(info.store_errors >= 2, "{info}");
    assert_eq!(info.hits, 0);
}

#[test]
fn an_address_that_cannot_be_read_is_a_miss() {
    let cache = memo::Cache::new(Redis::<u64, u64>::new("redis://host:port:junk/x").namespace("tests::junk"));
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.info().store_errors, 2, "the lookup and the insert");
}

#[test]
fn a_garbage_value_is_a_miss_and_is_replaced() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    wipe(Redis::<u64, String>::new(&url), "tests::redis::garbage");
    let store: Redis<u64, String> = Redis::new(&url).namespace("tests::redis::garbage");
    let key = store.key_of(&7).unwrap();
    assert_eq!(raw(&host_port(&url), &resp_set(&key, b"\xff\x00 not memo")), b"+OK\r\n");
    let cache = memo::Cache::new(store);
    assert_eq!(cache.get_or_insert_with(&7, || String::from("seven")), "seven");
    assert_eq!(cache.info().store_errors, 1);
    assert_eq!(cache.get_or_insert_with(&7, || unreachable!()), "seven");
}

#[test]
fn a_value_of_another_type_is_a_miss() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    let old = memo::Cache::new(Redis::<u64, u64>::new(&url).namespace("tests::redis::type_change"));
    old.clear();
    assert_eq!(old.get_or_insert_with(&1, || 1), 1);
    // A new build of the function returns a string now.
    let new = memo::Cache::new(Redis::<u64, String>::new(&url).namespace("tests::redis::type_change"));
    assert_eq!(new.get_or_insert_with(&1, || String::from("one")), "one");
    assert_eq!(new.info().store_errors, 1);
    assert_eq!(new.get_or_insert_with(&1, || unreachable!()), "one");
}

#[test]
fn keys_are_short_and_plain_whatever_the_arguments() {
    let store: Redis<(String, Vec<u8>), u8> = Redis::new("127.0.0.1:1").namespace("tests::redis::keys");
    for text in ["", "with spaces", "new\nline\r\n", "\u{0}nul", &"long ".repeat(10_000), "ünïcödé 🦀"]
    {
        let key = store.key_of(&(text.to_owned(), text.as_bytes().to_vec())).unwrap();
        assert!(key.len() <= 250, "{key}");
        assert!(key.bytes().all(|b| b.is_ascii_graphic()), "{key}");
    }
    let a = store.key_of(&(String::from("ab"), vec![1])).unwrap();
    let b = store.key_of(&(String::from("a"), vec![b'b', 1])).unwrap();
    assert_ne!(a, b);
}

static CLUSTERED: AtomicUsize = AtomicUsize::new(0);

#[memoize(store = Redis::cluster(std::env::var("MEMO_TEST_REDIS_CLUSTER").unwrap_or_default().split(',')).version(run()))]
fn clustered(x: u64) -> String {
    CLUSTERED.fetch_add(1, SeqCst);
    format!("value {x}")
}

#[test]
fn a_redis_cluster_spreads_and_finds_keys() {
    let Some(nodes) = server_env("MEMO_TEST_REDIS_CLUSTER") else { return };
    for x in 0..200 {
        assert_eq!(clustered(x), format!("value {x}"));
    }
    for x in 0..200 {
        assert_eq!(clustered(x), format!("value {x}"));
    }
    assert_eq!(CLUSTERED.load(SeqCst), 200);
    assert_eq!(clustered_cache().info().store_errors, 0);
    // Every master holds some of them.
    for node in nodes.split(',') {
        let reply = raw(node, b"*1\r\n$6\r\nDBSIZE\r\n");
        let count: u64 = String::from_utf8_lossy(&reply[1..]).trim().parse().unwrap();
        assert!(count > 0, "{node} holds no key");
    }
    clustered_cache().clear();
    assert_eq!(clustered(1), "value 1");
    assert_eq!(CLUSTERED.load(SeqCst), 201, "clear reached every master");
}

#[test]
fn a_cluster_master_killed_fails_over_and_the_store_hits_again_without_a_restart() {
    let Some(mut cluster) = common::cluster::OwnCluster::start() else { return };
    let store = Redis::<u64, u64>::cluster(cluster.addrs())
        .namespace("tests::redis::failover")
        .version(run())
        .timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(200))
        .retry_after(Duration::from_millis(100));
    let cache = memo::Cache::new(store);
    let keys = 0..60_u64;
    for x in keys.clone() {
        assert_eq!(cache.get_or_insert_with(&x, || x * 2), x * 2);
    }
    let master = cluster.nodes.iter().position(|node| common::cluster::is_master(&node.addr())).unwrap();
    cluster.nodes[master].kill();
    // Until its replica is promoted the keys of that master are misses, and
    // the keys of the others still hit (about 40 of 60); every value is the
    // right one; then a whole pass hits, with no restart of the store.
    let deadline = Instant::now() + Duration::from_secs(30);
    for pass in 0.. {
        let before = cache.info();
        for x in keys.clone() {
            assert_eq!(cache.get_or_insert_with(&x, || x * 2), x * 2);
        }
        let after = cache.info();
        if pass == 0 {
            assert!(after.hits - before.hits >= 20, "the other masters' keys missed too: {after}");
        }
        if after.hits - before.hits == 60 {
            break;
        }
        assert!(Instant::now() < deadline, "no pass hit every key within 30 s of the failover: {after}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

static TIERED: AtomicUsize = AtomicUsize::new(0);

#[memoize(store = memo::Tiered::new(
    memo::Lru::new(std::num::NonZeroUsize::new(10).unwrap()),
    Redis::new(&url()).namespace("tests::redis::tiered"),
))]
fn tiered(x: u64) -> u64 {
    TIERED.fetch_add(1, SeqCst);
    x + 100
}

#[test]
fn a_tiered_store_answers_hot_keys_in_process() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    wipe(Redis::<u64, u64>::new(&url), "tests::redis::tiered");
    assert_eq!(tiered(1), 101);
    // Delete it on the server: the near store still answers.
    let twin: Redis<u64, u64> = Redis::new(&url).namespace("tests::redis::tiered");
    assert!(twin.remove(&Exact(&1)).unwrap());
    assert_eq!(tiered(1), 101);
    assert_eq!(TIERED.load(SeqCst), 1);
    // Another process's value reaches this one through the far store.
    let far = memo::Cache::new(Redis::<u64, u64>::new(&url).namespace("tests::redis::tiered"));
    assert_eq!(far.get_or_insert_with(&2, || 102), 102);
    assert_eq!(tiered(2), 102);
    assert_eq!(TIERED.load(SeqCst), 1);
}

#[cfg(feature = "async")]
mod asynchronous {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::{Duration, Instant};

    use memo::{Redis, memoize};

    use super::{server_env, silent_server, url, wipe};

    fn silent_url() -> String {
        std::env::var("MEMO_TEST_SILENT").unwrap_or_default()
    }

    // Connecting includes redis-rs's handshake, which the silent server never
    // answers: the connect deadline runs out, 200 ms as well.
    #[memoize(store = Redis::new(&silent_url())
        .connect_timeout(Duration::from_millis(200))
        .timeout(Duration::from_millis(200)))]
    async fn behind_a_silent_server(x: u64) -> u64 {
        x + 1
    }

    #[tokio::test(flavor = "current_thread")]
    async fn lookups_wait_for_the_network_without_blocking_the_executor() {
        // SAFETY of the test: only this test reads MEMO_TEST_SILENT.
        unsafe { std::env::set_var("MEMO_TEST_SILENT", format!("redis://{}", silent_server())) };
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = {
            let ticks = Arc::clone(&ticks);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, SeqCst);
                }
            })
        };
        let start = Instant::now();
        assert_eq!(behind_a_silent_server(1).await, 2);
        assert!(start.elapsed() >= Duration::from_millis(190), "the lookup waited for its timeout");
        // One thread runs this runtime: the ticker ran while the lookup waited.
        assert!(ticks.load(SeqCst) >= 5, "{} ticks", ticks.load(SeqCst));
        ticker.abort();
        assert!(behind_a_silent_server_cache().info().store_errors >= 1);
    }

    static FETCHES: AtomicUsize = AtomicUsize::new(0);

    #[memoize(store = Redis::new(&url()).namespace("tests::redis::async"), ttl = Duration::from_secs(60))]
    async fn fetch(id: u64) -> String {
        FETCHES.fetch_add(1, SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        format!("item {id}")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_functions_share_one_computation_through_the_server() {
        let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
        wipe(Redis::<u64, u64>::new(&url), "tests::redis::async");
        let tasks: Vec<_> = (0..16).map(|_| tokio::spawn(fetch(9))).collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), "item 9");
        }
        assert_eq!(FETCHES.load(SeqCst), 1);
        // The value reaches the server on an I/O thread: soon, not at once.
        let deadline = Instant::now() + Duration::from_secs(5);
        let twin = memo::Cache::new(
            Redis::<u64, memo::Expiring<String>>::new(&url).namespace("tests::redis::async"),
        );
        loop {
            let seen = twin.lookup(&memo::Exact(&9)).ok().map(|entry| entry.value);
            if seen.as_deref() == Some("item 9") {
                break;
            }
            assert!(Instant::now() < deadline, "the value never reached the server");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(fetch(9).await, "item 9");
        assert_eq!(FETCHES.load(SeqCst), 1);
        assert_eq!(fetch_cache().info().store_errors, 0);
    }
}

/// A codec of the user's: MessagePack's bytes, reversed.
struct Reversed;

impl memo::Codec for Reversed {
    fn encode<T: serde::Serialize>(&self, value: &T) -> Result<Vec<u8>, memo::StoreError> {
        let mut bytes = memo::MessagePack.encode(value)?;
        bytes.reverse();
        Ok(bytes)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, memo::StoreError> {
        let mut bytes = bytes.to_vec();
        bytes.reverse();
        memo::MessagePack.decode(&bytes)
    }
}

#[test]
fn a_codec_of_ones_own() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    wipe(Redis::<u64, String>::new(&url), "tests::redis::codec");
    let mine =
        memo::Cache::new(Redis::<u64, String>::new(&url).namespace("tests::redis::codec").codec(Reversed));
    assert_eq!(mine.get_or_insert_with(&1, || String::from("one")), "one");
    assert_eq!(mine.get_or_insert_with(&1, || unreachable!()), "one");
    // The default codec cannot read it: a miss, never a wrong value.
    let default = memo::Cache::new(Redis::<u64, String>::new(&url).namespace("tests::redis::codec"));
    assert_eq!(default.get_or_insert_with(&1, || String::from("one")), "one");
    assert_eq!(default.info().store_errors, 1);
}

// `Tiered` forwards the hook to both tiers.
#[memoize(store = memo::Tiered::new(memo::Unbounded::new(), Redis::new(&url()).version(run())))]
fn tiered_and_named(x: u64) -> u64 {
    x + 7
}

#[test]
fn a_tiered_store_names_its_far_tier_after_the_function() {
    let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
    assert_eq!(tiered_and_named(1), 8);
    assert_eq!(tiered_and_named_cache().info().store_errors, 0);
}

/// A cache of one function of this run's on the Redis at `url`, for the
/// tests of connecting: its first call computes and stores.
fn connected(store: Redis<u64, u64>, namespace: &str) -> memo::Cache<u64, u64, Redis<u64, u64>> {
    memo::Cache::new(store.namespace(format!("tests::redis::{namespace}")).version(run()))
}

/// Two calls of one key: the first computes, the second hits.
fn hits_across_two_calls(cache: &memo::Cache<u64, u64, Redis<u64, u64>>) {
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!("a hit")), 10);
    let info = cache.info();
    assert_eq!((info.hits, info.misses, info.store_errors), (1, 1, 0), "{info}");
}

/// One call: computed, not from the server, with a counted store error.
fn misses_with_an_error(cache: &memo::Cache<u64, u64, Redis<u64, u64>>) {
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || 11), 11, "nothing kept");
    let info = cache.info();
    assert_eq!(info.hits, 0, "{info}");
    assert!(info.store_errors >= 1, "{info}");
}

#[test]
fn rediss_trusting_the_ca_hits_across_two_calls() {
    let Some(url) = server_env("MEMO_TEST_REDIS_TLS_URL") else { return };
    let ca = server_env("MEMO_TEST_REDIS_CA").unwrap();
    // The URL's user has ':', '@' and '%' in its password, percent-encoded.
    // A TLS connect is several round trips and a signature check: more than
    // the 50 ms default in a debug build on a busy machine.
    let store = Redis::new(&url).tls_ca_file(&ca).connect_timeout(Duration::from_secs(2));
    hits_across_two_calls(&connected(store, "tls"));
}

#[test]
fn rediss_to_a_certificate_not_trusted_is_a_miss_and_a_counted_error() {
    let Some(url) = server_env("MEMO_TEST_REDIS_TLS_URL") else { return };
    let cache = connected(Redis::new(&url).connect_timeout(Duration::from_secs(2)), "tls_untrusted");
    let start = Instant::now();
    let error = cache.store().get(&Exact(&1)).unwrap_err().to_string();
    assert!(
        error.to_lowercase().contains("certificate"),
        "not for its certificate: {error} after {:?}",
        start.elapsed()
    );
    misses_with_an_error(&cache);
    // A CA file that is not there: no TLS without trust.
    let no_ca = Redis::new(&url).tls_ca_file("/nonexistent/ca.pem").connect_timeout(Duration::from_secs(2));
    misses_with_an_error(&connected(no_ca, "tls_no_ca"));
}

/// The user `memo_acl` on the test server, with a password of `:`, `@` and
/// `%`; the URL of it, with `password` percent-encoded.
fn acl_user(url: &str, password: &str) -> String {
    let setuser = resp(&[b"ACL", b"SETUSER", b"memo_acl", b"on", b"resetpass", b">p:w@d%1", b"~*", b"+@all"]);
    assert_eq!(raw(&host_port(url), &setuser), b"+OK\r\n");
    format!("redis://memo_acl:{password}@{}", host_port(url))
}

#[test]
fn an_acl_user_with_a_percent_encoded_password_hits() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    hits_across_two_calls(&connected(Redis::new(&acl_user(&url, "p%3Aw%40d%251")), "acl"));
}

#[test]
fn a_wrong_password_is_a_miss_and_a_counted_error() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    hits_across_two_calls(&connected(Redis::new(&acl_user(&url, "p%3Aw%40d%251")), "acl_right"));
    misses_with_an_error(&connected(Redis::new(&acl_user(&url, "p%3Aw%40d%252")), "acl_wrong"));
}

#[test]
fn a_unix_socket_url_hits() {
    let Some(socket) = server_env("MEMO_TEST_REDIS_SOCKET") else { return };
    hits_across_two_calls(&connected(Redis::new(&format!("redis+unix://{socket}")), "unix"));
}

#[test]
fn a_client_of_ones_own_is_used() {
    let Some(url) = server_env("MEMO_TEST_REDIS_URL") else { return };
    hits_across_two_calls(&connected(Redis::with_client(redis::Client::open(url).unwrap()), "own_client"));
    let nodes = server_env("MEMO_TEST_REDIS_CLUSTER").unwrap();
    let urls: Vec<String> = nodes.split(',').map(|node| format!("redis://{node}")).collect();
    let cluster = redis::cluster::ClusterClient::new(urls).unwrap();
    hits_across_two_calls(&connected(Redis::with_cluster_client(cluster), "own_cluster_client"));
}

#[test]
fn a_server_that_dribbles_its_reply_is_a_miss_at_the_deadline() {
    // 200 bytes, one every 30 ms: six seconds for the whole reply, while no
    // read ever waits more than 30 ms.
    let store = Redis::new(&dribbling_redis(200, Duration::from_millis(30)))
        .timeout(Duration::from_millis(100))
        .retry_after(Duration::ZERO);
    let cache = connected(store, "dribbling");
    let start = Instant::now();
    misses_with_an_error(&cache);
    assert!(start.elapsed() < Duration::from_secs(2), "{:?} for two calls", start.elapsed());
}

/// A store of the test server named after its function, in a version of
/// this run's own.
fn named<K, V>() -> Redis<K, V> {
    Redis::new(&url()).version(run())
}

/// A store of the test server with neither a namespace nor a version.
fn unnamed<K, V>() -> Redis<K, V> {
    Redis::new(&url())
}

/// A store of the test server under one namespace of this run's.
fn shaped<V>() -> Redis<u64, V> {
    Redis::new(&url()).namespace("tests::redis::shape").version(run())
}

common::scenarios::identity_scenarios!(env: "MEMO_TEST_REDIS_URL", named: named, unnamed: unnamed, shaped: shaped);
