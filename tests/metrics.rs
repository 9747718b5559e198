//! `memo::metrics::record()`: exact counts per function through a test
//! recorder (metrics-util's debugging recorder), counters that only grow
//! across a `clear()`, and the entries gauge.
#![cfg(feature = "metrics")]

use std::collections::HashMap;

use memo::memoize;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

#[memoize]
fn square(x: u64) -> u64 {
    x * x
}

#[memoize(maxsize = 2)]
fn recent(x: u64) -> u64 {
    x + 1
}

mod other {
    #[memo::memoize]
    pub fn square(x: u64) -> u64 {
        x * x * 10
    }

    #[memo::memoize]
    pub fn listed(x: u64) -> u64 {
        x
    }
}

#[memoize]
fn listed(x: u64) -> u64 {
    x
}

#[memoize(scope = thread)]
fn listed_here(x: u64) -> u64 {
    x
}

struct A;
struct B;

impl A {
    #[memoize]
    fn make(x: u64) -> u64 {
        x
    }
}

impl B {
    #[memoize]
    fn make(x: u64) -> u64 {
        x + 1
    }
}

#[memoize(scope = thread)]
fn local(x: u64) -> u64 {
    x
}

/// Every counter and gauge: its name, `function` and `location` labels, and
/// value.
fn read_all(snapshotter: &Snapshotter) -> Vec<(String, String, String, f64)> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            let label = |name: &str| key.labels().find(|l| l.key() == name).map(|l| l.value().to_owned());
            #[expect(clippy::cast_precision_loss, reason = "small test counts")]
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => f64::NAN,
            };
            (
                key.name().to_owned(),
                label("function").unwrap_or_default(),
                label("location").unwrap_or_default(),
                value,
            )
        })
        .collect()
}

/// [`read_all`] by name and `function` label.
fn by_function(all: &[(String, String, String, f64)]) -> HashMap<(String, String), f64> {
    all.iter().map(|(name, function, _, value)| ((name.clone(), function.clone()), *value)).collect()
}

fn read(snapshotter: &Snapshotter) -> HashMap<(String, String), f64> {
    by_function(&read_all(snapshotter))
}

#[test]
fn record_gives_each_function_its_exact_counts_and_counters_only_grow() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let me = module_path!();
        let (sq, osq, rc) =
            (format!("{me}::square"), format!("{me}::other::square"), format!("{me}::recent"));
        for x in [1, 2, 1, 1] {
            square(x);
        }
        other::square(5);
        for x in [1, 2, 3, 3] {
            recent(x);
        }
        local(1);
        A::make(1);
        for x in 0..5 {
            B::make(x);
        }
        memo::metrics::record();
        let all = read_all(&snapshotter);
        let m = by_function(&all);
        let get = |name: &str, f: &str| m.get(&(name.to_owned(), f.to_owned())).copied();
        assert_eq!(get("memo_hits", &sq), Some(2.0));
        assert_eq!(get("memo_misses", &sq), Some(2.0));
        assert_eq!(get("memo_entries", &sq), Some(2.0));
        assert_eq!(get("memo_misses", &osq), Some(1.0), "two functions named alike are apart");
        assert_eq!(get("memo_evictions", &rc), Some(1.0));
        assert_eq!(get("memo_hits", &rc), Some(1.0));
        assert_eq!(get("memo_store_errors", &rc), Some(0.0));
        assert_eq!(get("memo_hits", &format!("{me}::local")), None, "a per-thread cache was recorded");
        // Two methods of one name in one module: two series, apart by location.
        let mut makes: Vec<(String, f64)> = all
            .iter()
            .filter(|(name, function, _, _)| name == "memo_entries" && *function == format!("{me}::make"))
            .map(|(_, _, location, value)| (location.clone(), *value))
            .collect();
        makes.sort_by(|a, b| a.1.total_cmp(&b.1));
        assert_eq!(makes.iter().map(|m| m.1).collect::<Vec<_>>(), [1.0, 5.0], "{makes:?}");
        assert_ne!(makes[0].0, makes[1].0);

        // The debugging recorder's snapshot hands out what was recorded
        // since the last one. Recorded again with nothing new: nothing more.
        memo::metrics::record();
        assert_eq!(read(&snapshotter).get(&("memo_hits".to_owned(), sq.clone())), Some(&0.0));

        // clear() resets the cache's counts; the counters go on growing, by
        // what came since.
        square_cache().clear();
        square(1);
        square(1);
        memo::metrics::record();
        let m = read(&snapshotter);
        assert_eq!(m.get(&("memo_hits".to_owned(), sq.clone())), Some(&1.0));
        assert_eq!(m.get(&("memo_misses".to_owned(), sq.clone())), Some(&1.0));
        assert_eq!(m.get(&("memo_entries".to_owned(), sq.clone())), Some(&1.0));

        // A clear() between two records, with more calls after it than the
        // cache had counted before it: every call after the record counted.
        square(3);
        square(3);
        square(3);
        memo::metrics::record();
        let _ = read(&snapshotter);
        square_cache().clear();
        for _ in 0..6 {
            square(3);
        }
        memo::metrics::record();
        let m = read(&snapshotter);
        assert_eq!(m.get(&("memo_hits".to_owned(), sq.clone())), Some(&5.0));
        assert_eq!(m.get(&("memo_misses".to_owned(), sq)), Some(&1.0));
    });
}

#[test]
fn caches_lists_every_function_once_in_order() {
    listed(9);
    other::listed(9);
    listed_here(9);
    let listed = memo::caches();
    let names: Vec<String> = listed.iter().map(ToString::to_string).collect();
    let me = module_path!();
    for expected in [format!("{me}::listed"), format!("{me}::other::listed"), format!("{me}::listed_here")] {
        assert_eq!(names.iter().filter(|n| **n == expected).count(), 1, "{expected} in {names:?}");
    }
    let order: Vec<(&str, &str)> = listed.iter().map(|c| (c.module(), c.name())).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted, "not in the order of modules and names");
    let here = listed.iter().find(|c| c.name() == "listed_here").unwrap();
    assert!(here.per_thread() && here.handle().is_none());
    assert_eq!(here.info().currsize, 1);
    assert_eq!(listed.iter().find(|c| c.name() == "listed").unwrap().info().misses, 1);
    // Another thread sees the function listed, with its own (empty) cache.
    std::thread::spawn(|| {
        let listed = memo::caches();
        let here = listed.iter().find(|c| c.name() == "listed_here").unwrap();
        assert_eq!(here.info().currsize, 0);
    })
    .join()
    .unwrap();
}
