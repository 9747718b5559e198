//! The Redis store over RESP3 (`?protocol=resp3` in the URL), against the
//! real server of `.ci/servers.sh`: hits, misses, the lock, expiry and
//! clearing work as over RESP2, and the connection does speak RESP3.

#![cfg(feature = "redis")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{host_port, resp, run, server_env};
use memo::{Cache, Redis, memoize};

/// The test server's URL, asking for RESP3.
fn resp3_url() -> Option<String> {
    let url = server_env("MEMO_TEST_REDIS_URL")?;
    Some(format!("{}/?protocol=resp3", url.trim_end_matches('/')))
}

/// A store over RESP3 under `namespace`, fresh for this run, with deadlines
/// no loaded machine reaches (these tests count errors).
fn store<V>(url: &str, namespace: &str) -> Redis<u64, V> {
    Redis::new(url)
        .namespace(format!("tests::redis_resp3::{namespace}"))
        .version(run())
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
}

/// Sends one command to the test server (RESP2, a connection of its own)
/// and returns its whole reply, a bulk string or a line.
fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut stream = TcpStream::connect(host_port(&std::env::var("MEMO_TEST_REDIS_URL").unwrap())).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(&resp(args)).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed the connection");
        reply.extend_from_slice(&buf[..n]);
        let Some(end) = reply.windows(2).position(|w| w == b"\r\n") else { continue };
        if reply[0] != b'$' {
            return reply;
        }
        let len: usize = std::str::from_utf8(&reply[1..end]).unwrap().parse().unwrap_or(0);
        if reply.len() >= end + 2 + len + 2 {
            return reply;
        }
    }
}

#[test]
fn over_resp3_a_value_is_a_miss_then_a_hit_and_removed() {
    let Some(url) = resp3_url() else { return };
    let cache = Cache::new(store::<u64>(&url, "hits"));
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!("a hit")), 10);
    assert_eq!(cache.get_or_insert_with(&2, || 20), 20);
    // Another store (another process, say) reads what this one wrote.
    let twin = Cache::new(store::<u64>(&url, "hits"));
    assert_eq!(twin.get_or_insert_with(&2, || unreachable!("a hit")), 20);
    assert!(cache.remove(&1));
    assert_eq!(cache.get_or_insert_with(&1, || 11), 11, "removed from the server");
    let info = cache.info();
    assert_eq!((info.hits, info.misses, info.store_errors), (1, 3, 0), "{info}");
}

#[memoize(store = store(&resp3_url().unwrap_or_default(), "expiry"), ttl = Duration::from_millis(300))]
fn expiring(x: u64) -> u64 {
    x * 10
}

#[test]
fn over_resp3_the_server_expires_entries() {
    let Some(url) = resp3_url() else { return };
    assert_eq!(expiring(1), 10);
    let key = store::<u64>(&url, "expiry").key_of(&1).unwrap();
    let ttl = command(&[b"PTTL", key.as_bytes()]);
    let ttl: i64 = std::str::from_utf8(&ttl[1..ttl.len() - 2]).unwrap().parse().unwrap();
    assert!((1..=300).contains(&ttl), "stored with its expiry: {ttl} ms left");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(command(&[b"EXISTS", key.as_bytes()]), b":0\r\n", "gone from the server");
    assert_eq!(expiring(1), 10);
    let info = expiring_cache().info();
    assert_eq!((info.misses, info.store_errors), (2, 0), "{info}");
}

#[test]
fn over_resp3_clear_deletes_the_functions_keys() {
    let Some(url) = resp3_url() else { return };
    let cache = Cache::new(store::<u64>(&url, "clear"));
    for x in 0..50 {
        assert_eq!(cache.get_or_insert_with(&x, || x + 1), x + 1);
    }
    let keys: Vec<String> = (0..50).map(|x| store::<u64>(&url, "clear").key_of(&x).unwrap()).collect();
    assert_eq!(command(&[b"EXISTS", keys[0].as_bytes()]), b":1\r\n");
    cache.clear();
    assert_eq!(cache.info().store_errors, 0, "{}", cache.info());
    for key in &keys {
        assert_eq!(command(&[b"EXISTS", key.as_bytes()]), b":0\r\n", "{key} left");
    }
    assert_eq!(cache.get_or_insert_with(&7, || 70), 70, "computed again");
}

#[test]
fn the_connection_speaks_resp3() {
    let Some(url) = resp3_url() else { return };
    let cache = Cache::new(store::<u64>(&url, "protocol"));
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.info().store_errors, 0);
    // The test's own connection here is RESP2; the store's, open still, is
    // the one client in RESP3 (the other test binaries run before or after).
    let clients = String::from_utf8(command(&[b"CLIENT", b"LIST"])).unwrap();
    assert!(clients.lines().any(|client| client.contains(" resp=3")), "{clients}");
}
