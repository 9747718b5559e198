//! A `ttl` of any length on the real servers: every `Duration` becomes an
//! expiry the server takes (clamped to the longest it can represent), none
//! panics, none is silently dropped, and a tiny one never turns into "never
//! expires". See `tests/common` for where the addresses come from; without
//! them these tests say they were skipped.

#![cfg(any(feature = "redis", feature = "memcached"))]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use memo::{Exact, Expiring, Store, clock};

const DAY: u64 = 24 * 60 * 60;

/// Lifetimes that went wrong on some server before: just past memcached's
/// 30 days of relative time, a century (past 2038 for memcached), 2^62 s
/// (more milliseconds than Redis takes), one that fits in an `Instant` but
/// overflows wall-clock time (a panic in the encoder), and `Duration::MAX`.
fn long_ttls() -> [Duration; 5] {
    [
        Duration::from_secs(30 * DAY + 1),
        Duration::from_secs(100 * 365 * DAY),
        Duration::from_secs(1 << 62),
        Duration::from_secs(i64::MAX as u64 - 1_000_000_000),
        Duration::MAX,
    ]
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn entry(value: u64, ttl: Duration) -> Expiring<u64> {
    Expiring::new(value, clock::now(), Some(ttl))
}

/// Stores `value` for `ttl` under `key` and reads it back, fresh.
fn kept<S: Store<u64, Expiring<u64>>>(store: &S, key: u64, ttl: Duration) {
    store.insert(key, entry(key * 10, ttl)).unwrap_or_else(|e| panic!("a ttl of {ttl:?}: {e}"));
    let back = store.get(&Exact(&key)).unwrap().unwrap_or_else(|| panic!("a ttl of {ttl:?} was not kept"));
    assert_eq!(back.value, key * 10);
    assert!(back.is_fresh(clock::now()), "a ttl of {ttl:?} came back expired");
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use common::{host_port, raw, resp, run, server_env};
    use memo::Redis;

    fn store(name: &str) -> Redis<u64, Expiring<u64>> {
        let url = std::env::var("MEMO_TEST_REDIS_URL").unwrap_or_default();
        Redis::new(&url).namespace(format!("tests::ttl::{name}")).version(run())
    }

    /// The server's `PTTL` of `key`: -2 when it is not there, -1 when it
    /// never expires.
    fn pttl(key: &str) -> i64 {
        let url = std::env::var("MEMO_TEST_REDIS_URL").unwrap();
        let reply = raw(&host_port(&url), &resp(&[b"PTTL", key.as_bytes()]));
        let text = String::from_utf8(reply).unwrap();
        text.trim().trim_start_matches(':').parse().unwrap_or_else(|_| panic!("PTTL: {text:?}"))
    }

    #[test]
    fn any_ttl_is_kept_on_redis_clamped_to_the_longest_it_takes() {
        let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
        let store = store("long");
        for (key, ttl) in (1..).zip(long_ttls()) {
            kept(&store, key, ttl);
            let left = pttl(&store.key_of(&key).unwrap());
            if ttl == Duration::MAX {
                assert_eq!(left, -1, "Duration::MAX never expires");
            } else {
                // Redis adds its clock's milliseconds to PX in an i64:
                // memo clamps to half of that range, 146 million years.
                let asked = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).min(i64::MAX / 2);
                assert!(left > asked - 60_000 && left <= asked, "a ttl of {ttl:?}: PTTL {left}");
            }
        }
    }

    #[test]
    fn a_ttl_under_a_millisecond_on_redis_expires_at_once_never_never() {
        let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
        let store = store("tiny");
        for (key, ttl) in (1..).zip([Duration::from_nanos(1), Duration::from_micros(900)]) {
            store.insert(key, entry(key, ttl)).unwrap();
            let left = pttl(&store.key_of(&key).unwrap());
            assert!((-2..=1).contains(&left) && left != -1, "a ttl of {ttl:?}: PTTL {left}");
        }
        std::thread::sleep(Duration::from_millis(20));
        for key in 1..=2 {
            assert_eq!(pttl(&store.key_of(&key).unwrap()), -2, "gone from the server");
            assert!(store.get(&Exact(&key)).unwrap().is_none());
        }
    }

    #[test]
    fn a_zero_ttl_is_not_stored_on_redis() {
        let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
        let store = store("zero");
        store.insert(1, entry(1, Duration::ZERO)).unwrap();
        assert_eq!(pttl(&store.key_of(&1).unwrap()), -2);
    }
}

#[cfg(feature = "memcached")]
mod memcached {
    use super::*;
    use common::{raw, run, server_env};
    use memo::Memcached;

    /// The largest exptime memcached takes: a signed 32-bit Unix time
    /// (2038-01-19). Past it, memcached 1.6 answers STORED and keeps nothing.
    const LAST: u64 = i32::MAX as u64;

    fn store(name: &str) -> Memcached<u64, Expiring<u64>> {
        let servers = std::env::var("MEMO_TEST_MEMCACHED").unwrap_or_default();
        Memcached::new(servers.split(',')).namespace(format!("tests::ttl::{name}")).version(run())
    }

    /// The seconds `key` has left on its server (`mg <key> t`): `None` when
    /// it is not there, `Some(-1)` when it never expires.
    fn left(store: &Memcached<u64, Expiring<u64>>, key: u64) -> Option<i64> {
        let (name, addr) = (store.key_of(&key).unwrap(), store.server_of(&key).unwrap());
        let reply = String::from_utf8(raw(&addr, format!("mg {name} t\r\n").as_bytes())).unwrap();
        if reply.starts_with("EN") {
            return None;
        }
        let t = reply.split_whitespace().find_map(|flag| flag.strip_prefix('t'));
        Some(t.and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("mg: {reply:?}")))
    }

    #[test]
    fn a_ttl_past_2038_is_kept_on_memcached_until_2038() {
        let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
        let store = store("long");
        for (key, ttl) in (1..).zip(long_ttls()) {
            kept(&store, key, ttl);
            let left = left(&store, key).unwrap_or_else(|| panic!("a ttl of {ttl:?}: not on the server"));
            if ttl == Duration::MAX {
                assert_eq!(left, -1, "Duration::MAX never expires");
            } else {
                let asked = ttl.as_secs().min(LAST - unix_now());
                let left = u64::try_from(left).unwrap_or_else(|_| panic!("a ttl of {ttl:?}: never expires"));
                // memcached's own clock ticks once a second and runs on the
                // monotonic clock from its start, so it can read a few
                // seconds behind ours and count that much more left.
                assert!(left + 60 > asked && left <= asked + 5, "a ttl of {ttl:?}: {left} s left");
            }
        }
    }

    #[test]
    fn a_ttl_under_a_second_on_memcached_expires_within_a_second_never_never() {
        let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
        let store = store("tiny");
        store.insert(1, entry(1, Duration::from_millis(300))).unwrap();
        let t = left(&store, 1);
        assert!(matches!(t, Some(0 | 1) | None), "{t:?} s left: memcached's exptime 0 would be never");
        // memo's own deadline, in the value, holds to the millisecond...
        std::thread::sleep(Duration::from_millis(350));
        assert!(store.get(&Exact(&1)).unwrap().is_none_or(|e| !e.is_fresh(clock::now())));
        // ...and memcached's whole seconds drop it within two.
        std::thread::sleep(Duration::from_millis(1800));
        assert_eq!(left(&store, 1), None);
    }

    #[test]
    fn a_zero_ttl_is_not_stored_on_memcached() {
        let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
        let store = store("zero");
        store.insert(1, entry(1, Duration::ZERO)).unwrap();
        assert_eq!(left(&store, 1), None);
    }
}
