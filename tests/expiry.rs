//! Expiry: entries live for `ttl` (or as long as the value says), an expired
//! entry is never returned, expired entries give their memory back, and `Err`
//! and `None` follow the caching policy. Time is a `MockClock` that the tests
//! advance, except in one test that proves the real clock is wired in.

use std::panic::catch_unwind;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use memo::clock::MockClock;
use memo::memoize;

const TEN_SECONDS: Duration = Duration::from_secs(10);

static RATE_RUNS: AtomicU32 = AtomicU32::new(0);

#[memoize(ttl = TEN_SECONDS)]
fn rate(currency: &str) -> f64 {
    RATE_RUNS.fetch_add(1, SeqCst);
    if currency == "EUR" { 1.08 } else { 1.0 }
}

#[test]
fn an_entry_is_a_hit_just_before_ttl_and_a_miss_at_ttl() {
    let clock = MockClock::start();
    assert_eq!(rate("EUR"), 1.08);
    clock.advance(TEN_SECONDS - Duration::from_nanos(1));
    assert_eq!(rate("EUR"), 1.08);
    assert_eq!(RATE_RUNS.load(SeqCst), 1, "just before ttl: a hit");
    clock.advance(Duration::from_nanos(1));
    assert_eq!(rate("EUR"), 1.08);
    assert_eq!(RATE_RUNS.load(SeqCst), 2, "at ttl: expired, so the body ran again");
    let info = rate_cache().info();
    assert_eq!((info.hits, info.misses, info.expirations, info.currsize), (1, 2, 1, 1));
    // The new value lives ttl from when it was stored.
    clock.advance(TEN_SECONDS / 2);
    rate("EUR");
    assert_eq!(RATE_RUNS.load(SeqCst), 2);
}

#[memoize(ttl = Duration::from_millis(30))]
fn real_clock(x: u32) -> u32 {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    RUNS.fetch_add(1, SeqCst) + x
}

#[test]
fn the_real_clock_expires_entries() {
    let first = real_clock(0);
    assert_eq!(real_clock(0), first);
    std::thread::sleep(Duration::from_millis(60));
    assert_ne!(real_clock(0), first, "30 ms later, the entry has expired");
    assert_eq!(real_clock_cache().info().expirations, 1);
}

#[memoize(ttl = TEN_SECONDS)]
fn rolling(key: u64) -> u64 {
    key * 2
}

#[test]
fn expired_entries_are_swept_without_the_users_help() {
    let clock = MockClock::start();
    for window in 0..5_u64 {
        for key in window * 100..(window + 1) * 100 {
            rolling(key);
        }
        // Never more than this window's keys and the last one's.
        assert!(rolling_cache().len() <= 200, "window {window}: {}", rolling_cache().len());
        clock.advance(TEN_SECONDS + Duration::from_secs(1));
    }
    let info = rolling_cache().info();
    assert_eq!(info.misses, 500);
    assert_eq!(
        info.expirations + info.currsize as u64,
        500,
        "every entry is either there or counted as expired"
    );
}

static SMALL_RUNS: AtomicU32 = AtomicU32::new(0);

#[memoize(maxsize = 3, ttl = TEN_SECONDS)]
fn small(key: u32) -> u32 {
    SMALL_RUNS.fetch_add(1, SeqCst);
    key + 1000
}

#[test]
fn maxsize_and_ttl_together_never_return_stale_values_or_exceed_maxsize() {
    let clock = MockClock::start();
    for key in 0..5 {
        assert_eq!(small(key), key + 1000);
        assert!(small_cache().len() <= 3);
    }
    assert_eq!(small_cache().info().evictions, 2);
    assert_eq!(small(4), 1004);
    assert_eq!(SMALL_RUNS.load(SeqCst), 5);
    clock.advance(TEN_SECONDS);
    for key in 2..5 {
        assert_eq!(small(key), key + 1000);
    }
    assert_eq!(SMALL_RUNS.load(SeqCst), 8, "every entry had expired");
    let info = small_cache().info();
    assert_eq!((info.expirations, info.evictions, info.currsize), (3, 2, 3));
    assert!(info.to_string().ends_with("currsize=3, expirations=3, evictions=2)"), "{info}");
}

static FETCHES: AtomicU32 = AtomicU32::new(0);

#[memoize]
fn fetch(id: u32) -> Result<String, String> {
    FETCHES.fetch_add(1, SeqCst);
    if id == 0 { Err(String::from("no such user")) } else { Ok(format!("user {id}")) }
}

#[test]
fn an_err_is_not_cached_by_default() {
    assert!(fetch(0).is_err());
    assert!(fetch(0).is_err());
    assert_eq!(FETCHES.load(SeqCst), 2);
    assert_eq!(fetch(1).unwrap(), "user 1");
    assert_eq!(fetch(1).unwrap(), "user 1");
    assert_eq!(FETCHES.load(SeqCst), 3);
    assert_eq!(fetch_cache().len(), 1);
}

static CACHED_ERRS: AtomicU32 = AtomicU32::new(0);

#[memoize(cache_err = true)]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    CACHED_ERRS.fetch_add(1, SeqCst);
    text.parse()
}

#[test]
fn cache_err_true_caches_errors() {
    assert!(parse("x").is_err());
    assert!(parse("x").is_err());
    assert_eq!(CACHED_ERRS.load(SeqCst), 1);
}

static LOOKUPS: AtomicU32 = AtomicU32::new(0);

#[memoize]
fn find(name: &str) -> Option<u32> {
    LOOKUPS.fetch_add(1, SeqCst);
    name.strip_prefix("id").and_then(|n| n.parse().ok())
}

static STRICT_LOOKUPS: AtomicU32 = AtomicU32::new(0);

#[memoize(cache_none = false)]
fn find_strict(name: &str) -> Option<u32> {
    STRICT_LOOKUPS.fetch_add(1, SeqCst);
    name.strip_prefix("id").and_then(|n| n.parse().ok())
}

#[test]
fn none_is_cached_unless_cache_none_is_false() {
    assert_eq!(find("nobody"), None);
    assert_eq!(find("nobody"), None);
    assert_eq!(LOOKUPS.load(SeqCst), 1, "a None is an answer, cached like any other");
    assert_eq!(find_strict("nobody"), None);
    assert_eq!(find_strict("nobody"), None);
    assert_eq!(STRICT_LOOKUPS.load(SeqCst), 2);
    assert_eq!(find_strict("id7"), Some(7));
    assert_eq!(find_strict("id7"), Some(7));
    assert_eq!(STRICT_LOOKUPS.load(SeqCst), 3);
}

type ApiResult<T> = Result<T, String>;

static ALIASED: AtomicU32 = AtomicU32::new(0);

/// `ApiResult` is not recognisable as a `Result` by name: the policy is
/// stated explicitly.
#[memoize(cache_err = false)]
fn aliased(id: u32) -> ApiResult<u32> {
    ALIASED.fetch_add(1, SeqCst);
    if id == 0 { Err(String::from("zero")) } else { Ok(id) }
}

#[test]
fn an_alias_of_result_takes_the_policy_stated() {
    assert!(aliased(0).is_err());
    assert!(aliased(0).is_err());
    assert_eq!(ALIASED.load(SeqCst), 2);
}

#[derive(Clone, Debug, PartialEq)]
struct Response {
    body: String,
    max_age: Option<Duration>,
}

static REQUESTS: AtomicU32 = AtomicU32::new(0);

/// The response says how long it may be cached (like HTTP's `max-age`);
/// without a say, the `ttl` applies.
#[memoize(ttl = Duration::from_secs(60), expires = |r: &Response| r.max_age)]
fn get(url: &str) -> Response {
    REQUESTS.fetch_add(1, SeqCst);
    let max_age = match url {
        "/short" => Some(Duration::from_secs(5)),
        "/no-store" => Some(Duration::ZERO),
        _ => None,
    };
    Response { body: format!("body of {url}"), max_age }
}

#[test]
fn a_value_can_decide_its_own_lifetime() {
    let clock = MockClock::start();
    get("/short");
    get("/default");
    get("/no-store");
    get("/no-store");
    assert_eq!(REQUESTS.load(SeqCst), 4, "a zero lifetime is never stored");
    clock.advance(Duration::from_secs(5));
    get("/short");
    get("/default");
    assert_eq!(REQUESTS.load(SeqCst), 5, "/short lived 5 s, /default lives 60 s");
    clock.advance(Duration::from_secs(55));
    get("/default");
    assert_eq!(REQUESTS.load(SeqCst), 6);
}

fn zero() -> Duration {
    Duration::ZERO
}

#[memoize(ttl = zero())]
fn never_kept(x: u32) -> u32 {
    x
}

#[test]
fn a_zero_ttl_computed_at_run_time_panics_clearly() {
    let panic = catch_unwind(|| never_kept(1)).expect_err("a zero ttl panics");
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned());
    assert!(message.unwrap_or_default().contains("`ttl` is zero"));
}
