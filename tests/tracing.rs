//! The `tracing` feature: one `memo_miss` span per run of a body (sync and
//! async), none for a hit, named after the function, and a DEBUG event per
//! store error.
#![cfg(feature = "tracing")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memo::memoize;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records the `function` field of every `memo_miss` span and the messages
/// of memo's events.
#[derive(Default, Clone)]
struct Seen {
    spans: Arc<Mutex<Vec<String>>>,
    events: Arc<Mutex<Vec<String>>>,
    next: Arc<AtomicU64>,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?};", field.name()));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!("{}={value};", field.name()));
    }
}

impl Subscriber for Seen {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "memo"
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if span.metadata().name() == "memo_miss" {
            let mut fields = Fields(String::new());
            span.record(&mut fields);
            self.spans.lock().unwrap().push(fields.0);
        }
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.events.lock().unwrap().push(fields.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[memoize]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[memoize(scope = thread)]
fn local_square(n: u64) -> u64 {
    n * n
}

#[test]
fn each_run_of_a_body_has_one_span_and_a_hit_none() {
    let seen = Seen::default();
    tracing::subscriber::with_default(seen.clone(), || {
        assert_eq!(fib(20), 6765);
        assert_eq!(fib(20), 6765);
        local_square(3);
        local_square(3);
    });
    let spans = seen.spans.lock().unwrap();
    let me = module_path!();
    assert_eq!(spans.iter().filter(|s| **s == format!("function={me}::fib;")).count(), 21, "{spans:?}");
    assert_eq!(spans.iter().filter(|s| **s == format!("function={me}::local_square;")).count(), 1);
    assert_eq!(spans.len(), 22);
}

/// A store that always fails.
struct Broken;

impl memo::Store<u64, u64> for Broken {
    fn get<Q>(&self, _: &Q) -> Result<Option<u64>, memo::StoreError>
    where
        Q: memo::KeyView<Owned = u64> + ?Sized,
    {
        Err(memo::StoreError::new("the disk is on fire"))
    }

    fn insert(&self, _: u64, _: u64) -> Result<(), memo::StoreError> {
        Err(memo::StoreError::new("the disk is on fire"))
    }

    fn remove<Q>(&self, _: &Q) -> Result<bool, memo::StoreError>
    where
        Q: memo::KeyView<Owned = u64> + ?Sized,
    {
        Ok(false)
    }

    fn clear(&self) -> Result<(), memo::StoreError> {
        Ok(())
    }

    fn len(&self) -> usize {
        0
    }
}

#[memoize(store = Broken)]
fn on_fire(n: u64) -> u64 {
    n + 1
}

#[test]
fn each_store_error_is_an_event() {
    let seen = Seen::default();
    tracing::subscriber::with_default(seen.clone(), || {
        assert_eq!(on_fire(1), 2);
    });
    let events = seen.events.lock().unwrap();
    let errors =
        events.iter().filter(|e| e.contains("function=on_fire") && e.contains("the disk is on fire")).count();
    // The failed lookup and the failed insert.
    assert_eq!(errors, on_fire_cache().info().store_errors as usize, "{events:?}");
    assert!(errors >= 2, "{events:?}");
}

#[cfg(feature = "async")]
#[memoize]
async fn fetched(n: u64) -> u64 {
    n * 3
}

#[cfg(feature = "async")]
#[test]
fn an_async_body_runs_in_its_span() {
    let seen = Seen::default();
    tracing::subscriber::with_default(seen.clone(), || {
        futures_executor::block_on(async {
            assert_eq!(fetched(2).await, 6);
            assert_eq!(fetched(2).await, 6);
        });
    });
    let spans = seen.spans.lock().unwrap();
    assert_eq!(*spans, [format!("function={}::fetched;", module_path!())]);
}

static ENTERS: AtomicU64 = AtomicU64::new(0);

#[memoize]
fn called_by_the_subscriber(n: u64) -> u64 {
    n
}

/// A subscriber whose `enter` calls a memoized function that misses.
struct Reentrant;

impl Subscriber for Reentrant {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "memo"
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {
        let n = ENTERS.fetch_add(1, Ordering::Relaxed);
        if n < 3 {
            called_by_the_subscriber(n);
        }
    }

    fn exit(&self, _: &Id) {}
}

#[memoize]
fn traced_outer(n: u64) -> u64 {
    n * 7
}

#[test]
fn a_subscriber_that_calls_a_memoized_function_on_enter_is_fine() {
    // The old code borrowed its span stack before entering the span: the
    // nested miss borrowed it again and panicked inside memo.
    tracing::subscriber::with_default(Reentrant, || {
        assert_eq!(traced_outer(3), 21);
        assert_eq!(traced_outer(4), 28);
    });
    assert!(ENTERS.load(Ordering::Relaxed) >= 2);
}
