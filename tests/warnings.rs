//! What the shared stores log, recorded by a logger of the test's own: one
//! warning when a server goes bad and one when it comes back, however many
//! calls failed in between (each of them counted in `store_errors`), and at
//! most one warning per 10 s of a cache's other store errors.

#![cfg(any(feature = "redis", feature = "memcached"))]

mod common;

use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use memo::{Cache, Store};

/// Every record logged, as (level, target, message).
struct Recorder(Mutex<Vec<(log::Level, String, String)>>);

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let entry = (record.level(), record.target().to_owned(), record.args().to_string());
        self.0.lock().unwrap().push(entry);
    }

    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder(Mutex::new(Vec::new()));

/// The tests of this file, one at a time, so that each reads its own
/// warnings: the mark of where they begin in the record.
fn alone() -> (MutexGuard<'static, ()>, usize) {
    static SERIAL: Mutex<()> = Mutex::new(());
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&RECORDER).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
    let serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mark = RECORDER.0.lock().unwrap().len();
    (serial, mark)
}

/// memo's warnings since `mark`.
fn warnings(mark: usize) -> Vec<String> {
    let records = RECORDER.0.lock().unwrap();
    records[mark..]
        .iter()
        .filter(|(level, target, _)| *level == log::Level::Warn && target == "memo")
        .map(|(_, _, message)| message.clone())
        .collect()
}

/// The deadlines of the stores whose outages are tested: no loaded machine
/// takes that long to answer, and a killed server refuses at once.
const PATIENT: Duration = Duration::from_secs(20);

/// Runs an outage of the server behind `cache` (`kill`, then `restart`) under
/// steady calls, one every 5 ms: the function's own value every time, every
/// failure counted, one warning named `name` when it goes bad and one when
/// it comes back.
///
/// Nothing here depends on how fast the machine is: the store's deadlines
/// ([`PATIENT`]) are far longer than a loaded machine takes to answer (a
/// deadline passed while the server is up would be an outage of its own),
/// a killed server refuses at once whatever the deadline, the outage is a
/// number of calls rather than a time, and the wait for the restarted
/// server to be used again only guards against a hang.
fn one_warning_per_outage<S: Store<u64, u64> + 'static>(
    store: S,
    name: &str,
    server: &mut common::OwnServer,
) {
    let cache = &Cache::new(store);
    let (_alone, mark) = alone();
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!()), 10);
    assert_eq!(cache.info().store_errors, 0);
    server.kill();
    // 100 calls, 5 ms apart: the server is tried again every `retry_after`
    // (100 ms) in between, and each try fails again.
    let calls = 100;
    for call in 1..=calls {
        assert_eq!(cache.get_or_insert_with(&(100 + call), || call * 2), call * 2);
        std::thread::sleep(Duration::from_millis(5));
    }
    // Each call failed to look up and to store.
    assert_eq!(cache.info().store_errors, 2 * calls, "every failure counted");
    let logged = warnings(mark);
    assert_eq!(logged.len(), 1, "one warning for {calls} failed calls: {logged:#?}");
    assert!(logged[0].starts_with(name) && logged[0].contains("calls go on without it"), "{logged:#?}");

    server.restart();
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the server is never used again under steady traffic"
        );
        let hit = cache.get_or_insert_with(&2, || 20) == 20 && cache.get_or_insert_with(&2, || 0) == 20;
        if hit {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for x in 0..50 {
        cache.get_or_insert_with(&x, || x);
    }
    let logged = warnings(mark);
    assert_eq!(logged.len(), 2, "{logged:#?}");
    assert!(logged[1].starts_with(&format!("{name} answers again, after ")), "{logged:#?}");
}

#[cfg(feature = "memcached")]
#[test]
fn a_memcached_outage_is_one_warning_and_its_end_another() {
    let Some(mut server) = common::OwnServer::memcached() else { return };
    let store = memo::Memcached::<u64, u64>::new([server.addr()])
        .namespace("tests::warnings::memcached")
        .version(common::run())
        .timeout(PATIENT)
        .connect_timeout(PATIENT)
        .retry_after(Duration::from_millis(100));
    let name = format!("memcached {}", server.addr());
    one_warning_per_outage(store, &name, &mut server);
}

#[cfg(feature = "redis")]
#[test]
fn a_redis_outage_is_one_warning_and_its_end_another() {
    let Some(mut server) = common::OwnServer::redis() else { return };
    let store = memo::Redis::<u64, u64>::new(&format!("redis://{}", server.addr()))
        .namespace("tests::warnings::redis")
        .timeout(PATIENT)
        .connect_timeout(PATIENT)
        .retry_after(Duration::from_millis(100));
    let name = format!("Redis {}", server.addr());
    one_warning_per_outage(store, &name, &mut server);
}

#[cfg(feature = "memcached")]
#[test]
fn store_errors_that_are_no_outage_warn_once_per_ten_seconds() {
    let (_alone, mark) = alone();
    // A store with no namespace refuses every operation, with no server.
    let cache = Cache::new(memo::Memcached::<u64, u64>::new(["127.0.0.1:1"]));
    for x in 0..100 {
        assert_eq!(cache.get_or_insert_with(&x, || x + 1), x + 1);
    }
    assert_eq!(cache.info().store_errors, 200);
    let logged = warnings(mark);
    assert_eq!(logged.len(), 1, "{} warnings: {:#?}", logged.len(), &logged[..logged.len().min(3)]);
    assert!(logged[0].contains("never told which function it serves"), "{logged:#?}");
}
