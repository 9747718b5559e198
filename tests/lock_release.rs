//! A miss that ends without a value for the shared store (a result that is
//! not cached, or a body that panicked) gives its cross-process lock up:
//! another process (here, another store over the same namespace, which
//! holds no lock of its own) that misses the key computes at once instead of
//! waiting `lock_wait` for a value that will not come. Against real servers.

#![cfg(all(feature = "redis", feature = "memcached"))]

mod common;

use std::time::{Duration, Instant};

use common::server_env;
use memo::{Cache, Exact, Memcached, Redis, Store};

/// Long enough that a wait for it is told apart from none.
const LOCK_WAIT: Duration = Duration::from_secs(3);

fn redis(namespace: &str) -> Option<Redis<u64, u64>> {
    let url = server_env("MEMO_TEST_REDIS_URL")?;
    Some(Redis::new(&url).namespace(namespace).version(common::run()).lock_wait(LOCK_WAIT))
}

fn memcached(namespace: &str) -> Option<Memcached<u64, u64>> {
    let servers = server_env("MEMO_TEST_MEMCACHED")?;
    let servers: Vec<String> = servers.split(',').map(str::to_owned).collect();
    Some(Memcached::new(servers).namespace(namespace).version(common::run()).lock_wait(LOCK_WAIT))
}

/// `first` misses `key` and takes the lock, then its miss ends by `end`
/// without a stored value; `second`, over the same namespace, then misses
/// the key: it must compute at once.
fn a_miss_without_a_value_frees_the_key<S>(first: S, second: S, end: impl FnOnce(memo::Miss<'_, u64, u64, S>))
where
    S: Store<u64, u64> + 'static,
{
    let (first, second) = (Cache::new(first), Cache::new(second));
    let key = 7;
    let Err(miss) = first.lookup(&Exact(&key)) else { panic!("a fresh namespace hits") };
    end(miss);
    let start = Instant::now();
    assert_eq!(second.get_or_insert_with(&key, || 21), 21);
    let waited = start.elapsed();
    assert!(waited < LOCK_WAIT / 3, "the other store waited {waited:?} for a lock left behind");
}

fn uncached(miss: memo::Miss<'_, u64, u64, impl Store<u64, u64> + 'static>) {
    assert_eq!(miss.complete_uncached(20), 20);
}

fn panicked(miss: memo::Miss<'_, u64, u64, impl Store<u64, u64> + 'static>) {
    // What a body that panics leaves: the miss dropped, not completed.
    drop(miss);
}

#[test]
fn an_uncached_result_frees_its_lock_on_redis() {
    let ns = "tests::lock_release::redis_uncached";
    let (Some(first), Some(second)) = (redis(ns), redis(ns)) else { return };
    a_miss_without_a_value_frees_the_key(first, second, uncached);
}

#[test]
fn a_panicked_body_frees_its_lock_on_redis() {
    let ns = "tests::lock_release::redis_panicked";
    let (Some(first), Some(second)) = (redis(ns), redis(ns)) else { return };
    a_miss_without_a_value_frees_the_key(first, second, panicked);
}

#[test]
fn an_uncached_result_frees_its_lock_on_memcached() {
    let ns = "tests::lock_release::memcached_uncached";
    let (Some(first), Some(second)) = (memcached(ns), memcached(ns)) else { return };
    a_miss_without_a_value_frees_the_key(first, second, uncached);
}

#[test]
fn a_panicked_body_frees_its_lock_on_memcached() {
    let ns = "tests::lock_release::memcached_panicked";
    let (Some(first), Some(second)) = (memcached(ns), memcached(ns)) else { return };
    a_miss_without_a_value_frees_the_key(first, second, panicked);
}
