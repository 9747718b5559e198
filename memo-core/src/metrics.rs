//! With the `metrics` feature: the counts of every shared cache through the
//! [`metrics`](https://docs.rs/metrics) facade, which the ecosystem's
//! exporters read (Prometheus, StatsD, OpenTelemetry, ...).
//!
//! Nothing is recorded on the call path: a hit costs what it costs without
//! the feature. [`record`] reads every cache's [`CacheInfo`] and records
//! what changed since the last `record`; call it where the exporter wants
//! fresh values (before a scrape, or every few seconds).
//!
//! | metric | kind | what |
//! | --- | --- | --- |
//! | `memo_hits` | counter | calls answered from the cache |
//! | `memo_misses` | counter | calls that ran the body |
//! | `memo_evictions` | counter | entries removed for room (`maxsize`) |
//! | `memo_expirations` | counter | entries removed because they expired |
//! | `memo_store_errors` | counter | operations the store failed (each a miss) |
//! | `memo_entries` | gauge | entries held now |
//!
//! Each has the labels `function`, the function's `module::name`, and
//! `location`, its `file:line` (which tells apart two methods of one name in
//! one module). Counters count from the program's start: a `clear()`, which
//! resets a cache's counts, does not take them back. `scope = thread` caches
//! are left out (each thread's are its own).
//!
//! ```
//! #[memo::memoize]
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! square(2);
//! memo::metrics::record(); // memo_misses{function="..::square"} 1, memo_entries 1
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::call::site::Place;
use crate::listing::caches;
use crate::store::info::CacheInfo;

/// What the last [`record`] saw of each cache, by the function's place.
static SEEN: Mutex<Option<HashMap<Place, CacheInfo>>> = Mutex::new(None);

/// Records the counts of every shared cache through the `metrics` facade:
/// what changed since the last call (see the [module](self)).
pub fn record() {
    describe();
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let seen = seen.get_or_insert_with(HashMap::new);
    for cache in caches() {
        let Some(now) = cache.totals() else { continue };
        let before = seen.insert(cache.place(), now).unwrap_or_default();
        let (file, line) = cache.location();
        // Two functions of one name in one module (methods of two `impl`s)
        // are told apart by where they are.
        let labels = [("function", cache.to_string()), ("location", format!("{file}:{line}"))];
        let grown = |now: u64, before: u64| now.saturating_sub(before);
        metrics::counter!("memo_hits", &labels).increment(grown(now.hits, before.hits));
        metrics::counter!("memo_misses", &labels).increment(grown(now.misses, before.misses));
        metrics::counter!("memo_evictions", &labels).increment(grown(now.evictions, before.evictions));
        metrics::counter!("memo_expirations", &labels).increment(grown(now.expirations, before.expirations));
        metrics::counter!("memo_store_errors", &labels)
            .increment(grown(now.store_errors, before.store_errors));
        #[expect(clippy::cast_precision_loss, reason = "a gauge is an f64")]
        metrics::gauge!("memo_entries", &labels).set(now.currsize as f64);
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!("memo_hits", "calls of a memoized function answered from its cache");
    describe_counter!("memo_misses", "calls of a memoized function that ran its body");
    describe_counter!("memo_evictions", "entries removed to make room (maxsize)");
    describe_counter!("memo_expirations", "entries removed because they expired (ttl)");
    describe_counter!("memo_store_errors", "operations a cache's store failed; each was a miss");
    describe_gauge!("memo_entries", "entries a memoized function's cache holds");
}
