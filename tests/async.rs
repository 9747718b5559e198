//! `#[memoize]` on `async fn`: values, options, single-flight across tasks,
//! cancellation of the computing task, panics, and a second executor.

#![cfg(feature = "async")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use memo::memoize;
use tokio::sync::Notify;

/// Fails the test instead of letting a hang stop CI.
async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f).await.unwrap_or_else(|_| panic!("{what} hung"))
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

static SQUARES: AtomicUsize = AtomicUsize::new(0);

#[memoize]
async fn square(x: u64) -> u64 {
    SQUARES.fetch_add(1, SeqCst);
    tokio::task::yield_now().await;
    x * x
}

#[tokio::test]
async fn values_are_cached_and_counted() {
    assert_eq!(square(3).await, 9);
    assert_eq!(square(3).await, 9);
    assert_eq!(square(4).await, 16);
    assert_eq!(SQUARES.load(SeqCst), 2);
    let info = square_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (1, 2, 2));
    // The memoized function's future is `Send` when the body's is.
    assert_eq!(assert_send(square(3)).await, 9);
}

struct Api {
    base: u64,
}

impl Api {
    #[memoize(maxsize = 2, ignore = [self])]
    async fn fetch(&self, id: u64, name: &str) -> Result<String, String> {
        tokio::task::yield_now().await;
        if id == 0 {
            return Err(format!("no id for {name}"));
        }
        let base = u64::try_from(name.len()).map_err(|e| e.to_string())?;
        Ok(format!("{name}#{}", self.base + id + base))
    }
}

#[tokio::test]
async fn methods_options_and_errors() {
    let api = Api { base: 100 };
    assert_eq!(api.fetch(1, "a").await.as_deref(), Ok("a#102"));
    assert_eq!(api.fetch(1, "a").await.as_deref(), Ok("a#102"));
    // An `Err` is returned, not cached.
    assert!(api.fetch(0, "b").await.is_err());
    assert!(api.fetch(0, "b").await.is_err());
    let info = Api::fetch_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize, info.maxsize), (1, 3, 1, Some(2)));
    // maxsize holds.
    for id in 1..10 {
        api.fetch(id, "c").await.unwrap();
    }
    assert_eq!(Api::fetch_cache().len(), 2);
}

static RATES: AtomicUsize = AtomicUsize::new(0);

#[memoize(ttl = Duration::from_secs(60), key = currency.to_ascii_uppercase())]
async fn rate(currency: &str) -> f64 {
    RATES.fetch_add(1, SeqCst);
    if currency.eq_ignore_ascii_case("eur") { 1.1 } else { 0.9 }
}

#[tokio::test(flavor = "current_thread")]
async fn expiry_and_key() {
    let clock = memo::clock::MockClock::start();
    assert!((rate("eur").await - 1.1).abs() < f64::EPSILON);
    assert!((rate("EUR").await - 1.1).abs() < f64::EPSILON);
    assert_eq!(RATES.load(SeqCst), 1);
    clock.advance(Duration::from_secs(61));
    assert!((rate("Eur").await - 1.1).abs() < f64::EPSILON);
    assert_eq!(RATES.load(SeqCst), 2);
    assert_eq!(rate_cache().info().expirations, 1);
}

static SLOW_CALLS: AtomicUsize = AtomicUsize::new(0);

#[memoize(ignore = [release])]
async fn slow(key: u64, release: Arc<Notify>) -> u64 {
    SLOW_CALLS.fetch_add(1, SeqCst);
    if key == 1 {
        release.notified().await;
    }
    key * 10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_computation_per_key_across_tasks() {
    let release = Arc::new(Notify::new());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let release = Arc::clone(&release);
            tokio::spawn(async move { slow(1, release).await })
        })
        .collect();
    // Another key proceeds while key 1 is being computed.
    within("another key", slow(2, Arc::clone(&release))).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.notify_one();
    for task in tasks {
        assert_eq!(within("a waiting task", task).await.unwrap(), 10);
    }
    // Key 1 once, key 2 once.
    assert_eq!(SLOW_CALLS.load(SeqCst), 2);
    let info = slow_cache().info();
    assert_eq!(info.hits + info.misses, 33);
}

static LEADS: AtomicUsize = AtomicUsize::new(0);

/// The first call never finishes by itself; the ones after it return at once.
#[memoize]
async fn first_hangs(key: u64) -> u64 {
    if LEADS.fetch_add(1, SeqCst) == 0 {
        std::future::pending::<()>().await;
    }
    key + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_leader_is_taken_over() {
    let leader = tokio::spawn(first_hangs(7));
    while LEADS.load(SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let waiters: Vec<_> = (0..8).map(|_| tokio::spawn(first_hangs(7))).collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Dropping the leader's future gives its claim up: one waiter takes over.
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    for waiter in waiters {
        assert_eq!(within("a waiter of a cancelled leader", waiter).await.unwrap(), 8);
    }
    assert_eq!(LEADS.load(SeqCst), 2);
    // A leader cut short by a timeout, on another key, the same way.
    LEADS.store(0, SeqCst);
    assert!(tokio::time::timeout(Duration::from_millis(20), first_hangs(8)).await.is_err());
    assert_eq!(within("after a timeout", first_hangs(8)).await, 9);
}

static PANICS: AtomicUsize = AtomicUsize::new(0);

#[memoize]
async fn panics_once(key: u64) -> u64 {
    if PANICS.fetch_add(1, SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        panic!("the first body panics");
    }
    key * 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_body_leaves_nothing_behind() {
    let leader = tokio::spawn(panics_once(5));
    while PANICS.load(SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let waiters: Vec<_> = (0..4).map(|_| tokio::spawn(panics_once(5))).collect();
    assert!(leader.await.unwrap_err().is_panic());
    for waiter in waiters {
        assert_eq!(within("a waiter of a panicked leader", waiter).await.unwrap(), 10);
    }
    assert_eq!(panics_once(5).await, 10);
    assert_eq!(PANICS.load(SeqCst), 2);
}

static GIVE_UPS: AtomicUsize = AtomicUsize::new(0);

#[memoize(ignore = [gate])]
async fn gated(key: u64, gate: Arc<Notify>) -> u64 {
    GIVE_UPS.fetch_add(1, SeqCst);
    gate.notified().await;
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_that_gives_up_leaves_the_others_unharmed() {
    let gate = Arc::new(Notify::new());
    let leader = tokio::spawn(gated(3, Arc::clone(&gate)));
    while GIVE_UPS.load(SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // A waiter times out; another keeps waiting.
    assert!(tokio::time::timeout(Duration::from_millis(20), gated(3, Arc::clone(&gate))).await.is_err());
    let patient = tokio::spawn(gated(3, Arc::clone(&gate)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    gate.notify_one();
    assert_eq!(within("the leader", leader).await.unwrap(), 3);
    assert_eq!(within("a patient waiter", patient).await.unwrap(), 3);
    assert_eq!(GIVE_UPS.load(SeqCst), 1);
    assert_eq!(gated(3, gate).await, 3);
}

static POOLED: AtomicUsize = AtomicUsize::new(0);

#[memoize(ignore = [ready])]
async fn pooled(key: u64, ready: Arc<std::sync::Mutex<Option<u64>>>) -> u64 {
    POOLED.fetch_add(1, SeqCst);
    // Waits, without tokio, until the value is put in place.
    std::future::poll_fn(|cx| match *ready.lock().unwrap() {
        Some(add) => std::task::Poll::Ready(key + add),
        None => {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[test]
fn another_executor() {
    let ready = Arc::new(std::sync::Mutex::new(None));
    let calls = (0..8).map(|_| Box::pin(pooled(1, Arc::clone(&ready))));
    let release = async {
        *ready.lock().unwrap() = Some(100);
        0
    };
    // One task polls the eight calls, then the release: the first call
    // computes, the seven others wait for it.
    let (results, _) = futures_executor::block_on(join2(join_all(calls.collect()), release));
    assert_eq!(results, vec![101; 8]);
    assert_eq!(POOLED.load(SeqCst), 1);
}

/// Polls every future in turn until all are done: a plain join, without a
/// futures-util dependency.
async fn join_all<F: Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(&mut outputs) {
            if output.is_none() {
                match std::pin::Pin::new(&mut *future).poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut x, mut y) = (None, None);
    std::future::poll_fn(|cx| {
        if x.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                x = Some(v);
            }
        }
        if y.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                y = Some(v);
            }
        }
        if x.is_some() && y.is_some() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    (x.unwrap(), y.unwrap())
}

#[memoize]
async fn awaits_itself(x: u32) -> u32 {
    if x > 0 { Box::pin(awaits_itself(x)).await } else { 0 }
}

#[memoize]
async fn countdown(x: u32) -> u32 {
    if x == 0 { 0 } else { Box::pin(countdown(x - 1)).await + 1 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_fn_that_awaits_its_own_key_panics_instead_of_hanging() {
    let task = tokio::spawn(awaits_itself(3));
    let error = within("self-await", task).await.unwrap_err();
    let message = error.into_panic();
    let message = message.downcast_ref::<String>().map(String::as_str).unwrap_or_default();
    assert!(message.contains("`awaits_itself`") && message.contains("infinite recursion"), "{message}");
    // Other keys, and recursion on other keys, still work.
    assert_eq!(awaits_itself(0).await, 0);
    assert_eq!(within("recursion on other keys", countdown(50)).await, 50);
    assert_eq!(countdown_cache().len(), 51);
}

static QUOTES: AtomicUsize = AtomicUsize::new(0);

/// The first run takes 100 ms; each returns its run number.
#[memoize(ttl = Duration::from_millis(300))]
async fn quote(n: u64) -> u64 {
    let run = QUOTES.fetch_add(1, SeqCst) as u64;
    if run == 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    n * 1000 + run
}

#[tokio::test]
async fn a_waiter_polled_once_and_kept_alive_leaves_no_stale_value() {
    within("a waiter kept alive", async {
        let first = tokio::spawn(quote(7));
        tokio::time::sleep(Duration::from_millis(20)).await;
        // A waiter for the first run, polled once (it waits), then kept.
        let mut waiter = Box::pin(quote(7));
        assert!(tokio::time::timeout(Duration::from_millis(1), &mut waiter).await.is_err());
        assert_eq!(first.await.unwrap(), 7000);
        // After clear(), the body runs again: the waiter's entry in the
        // single-flight table does not answer for it.
        quote_cache().clear();
        assert_eq!(quote(7).await, 7001, "a value from before clear() came back");
        // Past the ttl, likewise.
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(quote(7).await, 7002, "a value past its ttl came back");
        // The waiter still gets the value it waited for.
        assert_eq!(waiter.await, 7000);
    })
    .await;
}

/// Where each call to [`Far`] ran: its operation and its thread's name.
static FAR_CALLS: std::sync::Mutex<Vec<(&str, String)>> = std::sync::Mutex::new(Vec::new());

/// Whether [`Far`]'s lookups may answer.
static FAR_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A far store of the user's that says it blocks (as a store on a server
/// does) and records where each of its calls ran.
#[derive(Default)]
struct Far(std::sync::Mutex<std::collections::HashMap<u64, u64>>);

impl Far {
    fn record(op: &'static str) {
        let thread = std::thread::current().name().unwrap_or_default().to_owned();
        FAR_CALLS.lock().unwrap().push((op, thread));
    }
}

impl memo::Store<u64, u64> for Far {
    fn get<Q>(&self, key: &Q) -> Result<Option<u64>, memo::StoreError>
    where
        Q: memo::KeyView<Owned = u64> + ?Sized,
    {
        Far::record("get");
        // Held until the test opens it, as a slow server holds a lookup: a
        // first poll cannot find the lookup done.
        while !FAR_OPEN.load(std::sync::atomic::Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(self.0.lock().unwrap().get(&key.to_owned_key()).copied())
    }

    fn insert(&self, key: u64, value: u64) -> Result<(), memo::StoreError> {
        Far::record("insert");
        self.0.lock().unwrap().insert(key, value);
        Ok(())
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, memo::StoreError>
    where
        Q: memo::KeyView<Owned = u64> + ?Sized,
    {
        Ok(self.0.lock().unwrap().remove(&key.to_owned_key()).is_some())
    }

    fn clear(&self) -> Result<(), memo::StoreError> {
        self.0.lock().unwrap().clear();
        Ok(())
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    const BLOCKING: bool = true;
}

#[memoize(store = memo::Tiered::new(memo::Lru::new(std::num::NonZeroUsize::new(100).unwrap()), Far::default()))]
async fn tiered_double(x: u64) -> u64 {
    x * 2
}

/// Polls `future` once: its value if that answers it.
fn poll_once<T>(future: impl Future<Output = T>) -> Option<T> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        std::task::Poll::Ready(value) => Some(value),
        std::task::Poll::Pending => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiered_store_answers_near_hits_in_line_and_only_far_calls_go_to_io_threads() {
    // A miss: the far store is asked on an I/O thread.
    // Its lookup is held (`FAR_OPEN`): answered in line, the poll would
    // have waited for it.
    assert_eq!(poll_once(tiered_double(4)), None, "a far lookup was answered in line");
    FAR_OPEN.store(true, std::sync::atomic::Ordering::Release);
    assert_eq!(within("a miss", tiered_double(4)).await, 8);
    // The value went to the near tier before the call returned: the next
    // call is answered on its first poll, on this thread.
    for round in 0..100 {
        assert_eq!(poll_once(tiered_double(4)), Some(8), "near hit {round} was not answered in line");
    }
    within("the far insert", async {
        while !FAR_CALLS.lock().unwrap().iter().any(|(op, _)| *op == "insert") {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    let calls = FAR_CALLS.lock().unwrap().clone();
    let mut ops: Vec<&str> = calls.iter().map(|(op, _)| *op).collect();
    ops.sort_unstable();
    // The first poll's lookup and the awaited call's: two gets, one insert;
    // none for the 100 near hits.
    assert_eq!(ops, ["get", "get", "insert"], "{calls:?}");
    assert!(calls.iter().all(|(_, thread)| thread.starts_with("memo-io-")), "{calls:?}");
    let info = tiered_double_cache().info();
    assert_eq!((info.hits, info.misses), (100, 1));
}
