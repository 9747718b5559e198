//! The memcached store against real servers: three of them, and servers of
//! the test's own that it kills and restarts. See `tests/common` for where
//! the addresses come from; without them these tests say they were skipped.

#![cfg(feature = "memcached")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{OwnServer, raw, run, server_env, silent_server};
use memo::{Cache, Memcached, Store, memoize};

fn servers() -> Vec<String> {
    std::env::var("MEMO_TEST_MEMCACHED").unwrap_or_default().split(',').map(str::to_owned).collect()
}

/// A store of the test servers under `namespace`, fresh for this run (a
/// memcached store cannot delete by prefix: a new version starts afresh).
fn store<K, V>(namespace: &str) -> Memcached<K, V> {
    let run = std::process::id();
    Memcached::new(servers()).namespace(format!("tests::memcached::{namespace}")).version(run)
}

/// A store of the test servers named after its function, fresh for this run.
fn named<K, V>() -> Memcached<K, V> {
    Memcached::new(servers()).version(run())
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[memoize(store = store("greet"))]
fn greet(name: &str) -> String {
    CALLS.fetch_add(1, SeqCst);
    format!("hello, {name}")
}

#[test]
fn values_are_kept_on_the_servers_and_shared() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(greet("ann"), "hello, ann");
    assert_eq!(greet("ann"), "hello, ann");
    assert_eq!(CALLS.load(SeqCst), 1);
    // Another store of the namespace (another process, say) reads it.
    let other = Cache::new(store::<String, String>("greet"));
    assert_eq!(other.get_or_insert_with(&String::from("ann"), || unreachable!()), "hello, ann");
    assert!(greet_cache().remove(&String::from("ann")));
    assert_eq!(greet("ann"), "hello, ann");
    assert_eq!(CALLS.load(SeqCst), 2);
    assert_eq!(greet_cache().info().store_errors, 0);
}

/// `stats` of the server at `addr`: its number of items.
fn items(addr: &str) -> u64 {
    let reply = String::from_utf8(raw(addr, b"stats\r\n")).unwrap();
    reply.lines().find_map(|l| l.strip_prefix("STAT curr_items ")).unwrap().trim().parse().unwrap()
}

#[test]
fn keys_spread_over_the_servers_the_same_way_in_every_store() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let before: Vec<u64> = servers().iter().map(|s| items(s)).collect();
    let cache = Cache::new(store::<u64, u64>("spread"));
    for x in 0..300 {
        cache.get_or_insert_with(&x, || x * 2);
    }
    let after: Vec<u64> = servers().iter().map(|s| items(s)).collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert!(a - b >= 50, "server {i} got {} of 300 keys", a - b);
    }
    let twin = store::<u64, u64>("spread");
    for x in 0..300 {
        assert_eq!(cache.store().server_of(&x).unwrap(), twin.server_of(&x).unwrap());
        assert_eq!(cache.get_or_insert_with(&x, || unreachable!()), x * 2);
    }
}

#[test]
fn an_oversized_value_is_returned_and_not_kept() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let cache = Cache::new(store::<u64, String>("oversized"));
    let big = "x".repeat(2 << 20);
    assert_eq!(cache.get_or_insert_with(&1, || big.clone()).len(), big.len());
    assert_eq!(cache.info().store_errors, 1);
    // Over the server's own limit, with the client's check lifted.
    let lifted = Cache::new(store::<u64, String>("oversized").max_value_bytes(usize::MAX));
    assert_eq!(lifted.get_or_insert_with(&2, || big.clone()).len(), big.len());
    assert_eq!(lifted.info().store_errors, 1, "the server refuses it");
    assert_eq!(lifted.get_or_insert_with(&3, || String::from("small")), "small");
    assert_eq!(lifted.get_or_insert_with(&3, || unreachable!()), "small", "the connection still works");
}

#[memoize(store = store("expiring"), ttl = Duration::from_secs(1))]
fn expiring(x: u64) -> u64 {
    x + 1
}

#[test]
fn the_server_expires_entries() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(expiring(1), 2);
    let twin = store::<u64, u64>("expiring");
    let key = twin.key_of(&1).unwrap();
    let addr = twin.server_of(&1).unwrap();
    let get = || raw(&addr, format!("get {key}\r\n").as_bytes());
    assert!(get().starts_with(b"VALUE "));
    // One second, in memcached's whole seconds: gone within two.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(get(), b"END\r\n");
}

#[test]
fn clear_is_refused_and_counted() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let cache = Cache::new(store::<u64, u64>("clear"));
    cache.get_or_insert_with(&1, || 1);
    cache.clear();
    assert_eq!(cache.info().store_errors, 1);
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!()), 1, "entries stay correct");
}

#[test]
fn a_server_killed_mid_run_is_a_miss_and_the_cache_recovers() {
    let Some(mut server) = OwnServer::memcached() else { return };
    let cache = Cache::new(
        Memcached::<u64, u64>::new([server.addr()])
            .namespace("tests::memcached::killed")
            .timeout(Duration::from_millis(30))
            .retry_after(Duration::from_millis(100)),
    );
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!()), 10);
    server.kill();
    let start = Instant::now();
    for _ in 0..50 {
        assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(cache.info().store_errors >= 1);
    server.restart();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(cache.get_or_insert_with(&2, || 20), 20);
    assert_eq!(cache.get_or_insert_with(&2, || unreachable!()), 20, "back on the server");
}

#[test]
fn a_server_that_comes_back_is_used_again_under_steady_traffic() {
    let Some(mut server) = OwnServer::memcached() else { return };
    let cache = Cache::new(
        Memcached::<u64, u64>::new([server.addr()])
            .namespace("tests::memcached::steady")
            .version(run())
            .timeout(Duration::from_millis(30))
            .retry_after(Duration::from_millis(100)),
    );
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    server.kill();
    // A call every 5 ms, more often than `retry_after`: the calls that skip
    // the server while it is left alone must not keep it left alone.
    let calls = |for_how_long: Duration| {
        let start = Instant::now();
        while start.elapsed() < for_how_long {
            if cache.get_or_insert_with(&2, || 20) == 20 && cache.get_or_insert_with(&2, || 0) == 20 {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    };
    assert_eq!(calls(Duration::from_millis(300)), None, "no hit while the server is down");
    server.restart();
    let back = calls(Duration::from_secs(3));
    assert!(back.is_some(), "the server was not tried again in 3 s of steady calls");
}

#[test]
fn a_server_that_never_answers_is_a_miss_after_the_timeout() {
    let store = Memcached::<u64, u64>::new([silent_server()]).namespace("tests::memcached::silent");
    let cache = Cache::new(store.timeout(Duration::from_millis(30)));
    let start = Instant::now();
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(cache.info().store_errors >= 1);
}

#[test]
fn keys_fit_memcached() {
    let store = store::<String, u8>("keys");
    for text in ["", "with spaces", "new\nline", &"long".repeat(1000), "ünïcödé"] {
        let key = store.key_of(&text.to_owned()).unwrap();
        assert!(key.len() <= 250 && key.bytes().all(|b| b.is_ascii_graphic()), "{key}");
    }
    assert_eq!(Memcached::<u8, u8>::new(Vec::<String>::new()).get(&memo::Exact(&1)).ok(), None);
}

#[test]
fn a_garbage_value_is_a_miss_and_is_replaced() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let store = store::<u64, String>("garbage");
    let (key, addr) = (store.key_of(&7).unwrap(), store.server_of(&7).unwrap());
    let garbage = b"\xff\x00 not memo";
    let mut request = format!("set {key} 0 0 {}\r\n", garbage.len()).into_bytes();
    request.extend_from_slice(garbage);
    request.extend_from_slice(b"\r\n");
    assert_eq!(raw(&addr, &request), b"STORED\r\n");
    let cache = Cache::new(store);
    assert_eq!(cache.get_or_insert_with(&7, || String::from("seven")), "seven");
    assert_eq!(cache.info().store_errors, 1);
    assert_eq!(cache.get_or_insert_with(&7, || unreachable!()), "seven");
}

/// A store of the test servers with neither a namespace nor a version.
fn unnamed<K, V>() -> Memcached<K, V> {
    Memcached::new(servers())
}

/// A store of the test servers under one namespace of this run's.
fn shaped<V>() -> Memcached<u64, V> {
    store("shape")
}

common::scenarios::identity_scenarios!(env: "MEMO_TEST_MEMCACHED", named: named, unnamed: unnamed, shaped: shaped);
