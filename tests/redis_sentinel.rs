//! The Redis store on the master that Redis Sentinel watches: through the
//! sentinel of `.ci/servers.sh` (a master and its replica), and through a
//! sentinel, master and replica of the test's own, whose master it kills:
//! after the sentinel promotes the replica, the store hits again, with no
//! restart, and never returns a wrong value in between.

#![cfg(feature = "redis")]

mod common;

use std::cell::Cell;
use std::thread;
use std::time::{Duration, Instant};

use common::{OwnServer, raw, resp, run, server_env};
use memo::{Cache, Redis};

/// Deadlines no loaded machine reaches: a dead master refuses at once.
const PATIENT: Duration = Duration::from_secs(5);

fn store(sentinel: &str, master: &str, namespace: &str) -> Redis<u64, u64> {
    Redis::sentinel([sentinel], master)
        .namespace(format!("tests::redis_sentinel::{namespace}"))
        .version(run())
        .timeout(PATIENT)
        .connect_timeout(PATIENT)
        .retry_after(Duration::from_millis(100))
}

/// The reply of the server at `addr` to `args`, as text (one read: for
/// short replies, polled until they say what is awaited).
fn ask(addr: &str, args: &[&[u8]]) -> String {
    String::from_utf8_lossy(&raw(addr, &resp(args))).into_owned()
}

/// Calls `cache` for `key`: its value, and whether it was a hit.
fn call(cache: &Cache<u64, u64, Redis<u64, u64>>, key: u64) -> (u64, bool) {
    let computed = Cell::new(false);
    let value = cache.get_or_insert_with(&key, || {
        computed.set(true);
        key * 10
    });
    (value, !computed.get())
}

/// Polls `done` every 20 ms; a hang guard, not a measure.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "{what}: not within a minute");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn values_go_to_the_master_the_sentinel_names() {
    let Some(sentinel) = server_env("MEMO_TEST_REDIS_SENTINEL") else { return };
    let master = std::env::var("MEMO_TEST_REDIS_SENTINEL_MASTER").unwrap();
    let cache = Cache::new(store(&sentinel, &master, "hits"));
    assert_eq!(call(&cache, 1), (10, false));
    assert_eq!(call(&cache, 1), (10, true));
    assert_eq!(cache.info().store_errors, 0, "{}", cache.info());
    // The value is on the master the sentinel names, as a store on that
    // server by its address sees.
    let named = ask(&sentinel, &[b"SENTINEL", b"get-master-addr-by-name", master.as_bytes()]);
    let fields: Vec<&str> = named.split("\r\n").collect();
    let addr = format!("{}:{}", fields[2], fields[4]);
    let direct = Redis::<u64, u64>::new(&addr).namespace("tests::redis_sentinel::hits").version(run());
    let direct = Cache::new(direct);
    assert_eq!(direct.get_or_insert_with(&1, || unreachable!("on the master")), 10);
}

#[test]
fn a_master_name_the_sentinel_does_not_know_is_a_miss_and_counted() {
    let Some(sentinel) = server_env("MEMO_TEST_REDIS_SENTINEL") else { return };
    let cache = Cache::new(store(&sentinel, "no-such-master", "unknown"));
    assert_eq!(call(&cache, 1), (10, false));
    assert_eq!(call(&cache, 1), (10, false), "nothing kept");
    assert!(cache.info().store_errors >= 1, "{}", cache.info());
}

#[test]
fn a_master_killed_fails_over_and_the_store_hits_again_without_a_restart() {
    // Their RDB files (a replica's full sync) go to a directory of the
    // test's, not to the working directory.
    let dir = std::env::temp_dir().join(format!("memo-failover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.display().to_string();
    let Some(mut master) = OwnServer::redis_with(&["--dir", &dir]) else { return };
    let replica =
        OwnServer::redis_with(&["--dir", &dir, "--replicaof", "127.0.0.1", &master.port.to_string()])
            .unwrap();
    let sentinel = OwnServer::sentinel(master.port, Duration::from_millis(500)).unwrap();
    eventually("the replica in sync", || {
        ask(&replica.addr(), &[b"INFO", b"replication"]).contains("master_link_status:up")
    });
    eventually("the sentinel knows the replica", || {
        ask(&sentinel.addr(), &[b"SENTINEL", b"replicas", b"memo"]).contains(&replica.port.to_string())
    });
    let cache = Cache::new(store(&sentinel.addr(), "memo", "failover"));
    assert_eq!(call(&cache, 1), (10, false));
    assert_eq!(call(&cache, 1), (10, true));
    let key = store(&sentinel.addr(), "memo", "failover").key_of(&1).unwrap();
    eventually("the value replicated", || ask(&replica.addr(), &[b"EXISTS", key.as_bytes()]) == ":1\r\n");

    master.kill();
    // Misses while no master answers, each the function's own value; then
    // the promoted replica answers, with the value it had replicated.
    eventually("a hit on the promoted replica", || {
        let (value, hit) = call(&cache, 1);
        assert_eq!(value, 10, "never a wrong value");
        hit
    });
    assert!(ask(&replica.addr(), &[b"ROLE"]).contains("master"), "the replica was promoted");
    // And it takes new values.
    assert_eq!(call(&cache, 2), (20, false));
    assert_eq!(call(&cache, 2), (20, true));
}
