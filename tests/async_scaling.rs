//! `async fn`s on shared stores, under load and while a server hangs, against
//! real servers (see `tests/common`): the near hits of a tiered store are
//! answered in line while its far server hangs, a function on a hung server
//! does not hold up a function on a healthy one, and a thousand concurrent
//! misses on distinct keys all return their values without queueing a few at
//! a time behind a fixed pool of threads.
//!
//! No timing thresholds: the servers that hang do so for [`HANG`], far longer
//! than any watchdog here, so a call that waited for one is seen to; and a
//! server made slow makes the old, queued way provably slower than the
//! watchdog.

#![cfg(all(feature = "async", feature = "redis", feature = "memcached"))]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, LazyLock, Mutex, mpsc};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use common::{host_port, run, server_env, silent_server};
use memo::{Exact, Lru, Memcached, Redis, Store, Tiered, memoize};
use tokio::task::JoinHandle;

/// The deadline of the stores on a server that hangs: far longer than a
/// test here waits, so that a call stuck behind them is seen to be.
const HANG: Duration = Duration::from_secs(120);

/// How long a step may take before the test counts it as hung.
const WATCHDOG: Duration = Duration::from_secs(20);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WATCHDOG, f).await.unwrap_or_else(|_| panic!("{what}: not done within {WATCHDOG:?}"))
}

/// Waits, under the watchdog, until `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    within(what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Starts `calls`: each is polled once here, so that its lookup is under way
/// when this returns, and then goes on in a task of its own.
async fn started<F>(calls: impl IntoIterator<Item = F>) -> Vec<JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut tasks = Vec::new();
    for call in calls {
        let mut call: Pin<Box<F>> = Box::pin(call);
        std::future::poll_fn(|cx| {
            assert!(call.as_mut().poll(cx).is_pending(), "a call to a server that hangs was answered");
            Poll::Ready(())
        })
        .await;
        tasks.push(tokio::spawn(call));
    }
    tasks
}

fn redis_url() -> String {
    std::env::var("MEMO_TEST_REDIS_URL").unwrap_or_default()
}

fn memcached() -> String {
    std::env::var("MEMO_TEST_MEMCACHED").unwrap_or_default().split(',').next().unwrap_or_default().to_owned()
}

/// What a client sent the proxy after it stalled.
type Held = Arc<Mutex<Vec<u8>>>;

/// A TCP proxy to a real server, whose replies it holds back for `delay`
/// (a server far away), and which can be told to [`stall`](Proxy::stall):
/// from then on it forwards nothing (what clients send is kept, to count),
/// and answers nothing. The listener lives as long as the test process.
struct Proxy {
    addr: String,
    stalled: Arc<AtomicBool>,
    /// What clients sent after the stall, a buffer per connection.
    held: Arc<Mutex<Vec<Held>>>,
}

impl Proxy {
    fn start(upstream: String, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stalled = Arc::new(AtomicBool::new(false));
        let held: Arc<Mutex<Vec<Held>>> = Arc::default();
        let (on, kept) = (Arc::clone(&stalled), Arc::clone(&held));
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let buffer = Arc::new(Mutex::new(Vec::new()));
                kept.lock().unwrap().push(Arc::clone(&buffer));
                let server = if on.load(SeqCst) { None } else { TcpStream::connect(&upstream).ok() };
                forward(client, server, delay, Arc::clone(&on), buffer);
            }
        });
        Proxy { addr, stalled, held }
    }

    fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn stall(&self) {
        self.stalled.store(true, SeqCst);
    }

    /// The `GET` commands clients sent since the stall.
    fn gets(&self) -> usize {
        let held = self.held.lock().unwrap();
        held.iter().map(|sent| sent.lock().unwrap().windows(7).filter(|w| w == b"\r\nGET\r\n").count()).sum()
    }
}

/// Carries `client`'s bytes to `server` (kept in `held` instead, once
/// `stalled`, or without a server) and the server's back, each chunk `delay`
/// after it came.
fn forward(
    mut client: TcpStream,
    server: Option<TcpStream>,
    delay: Duration,
    stalled: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<u8>>>,
) {
    let mut to_server = server.as_ref().map(|s| s.try_clone().unwrap());
    let mut to_client = client.try_clone().unwrap();
    thread::spawn(move || {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = client.read(&mut buf) {
            match &mut to_server {
                Some(server) if !stalled.load(SeqCst) => {
                    if server.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                _ => held.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    });
    let Some(mut server) = server else { return };
    let (chunks, due) = mpsc::channel::<(Instant, Vec<u8>)>();
    thread::spawn(move || {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = server.read(&mut buf) {
            if chunks.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    });
    thread::spawn(move || {
        for (at, chunk) in due {
            thread::sleep(at.saturating_duration_since(Instant::now()));
            if to_client.write_all(&chunk).is_err() {
                return;
            }
        }
    });
}

// Near hits while the far server hangs.

static STALLING: LazyLock<Proxy> = LazyLock::new(|| Proxy::start(host_port(&redis_url()), Duration::ZERO));
static TRIPLED: AtomicUsize = AtomicUsize::new(0);
const TRIPLED_NAMESPACE: &str = "tests::async_scaling::tripled";

#[memoize(store = Tiered::new(
    Lru::new(NonZeroUsize::new(4096).unwrap()),
    Redis::new(&STALLING.url()).namespace(TRIPLED_NAMESPACE).version(run()).timeout(HANG).connect_timeout(HANG).lock(false),
))]
async fn tripled(x: u64) -> u64 {
    TRIPLED.fetch_add(1, SeqCst);
    x * 3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn near_hits_are_answered_in_line_while_the_far_server_hangs() {
    let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
    for x in 0..1000 {
        assert_eq!(within("a miss on the real server", tripled(x)).await, 3 * x);
    }
    // The values go to the far server after the calls return: all there
    // before it stalls, so that no insert is left hanging on it.
    let far: Redis<u64, u64> = Redis::new(&redis_url()).namespace(TRIPLED_NAMESPACE).version(run());
    until("the far server has every value", || {
        (0..1000).all(|x| far.get(&Exact(&x)).ok().flatten() == Some(3 * x))
    })
    .await;
    STALLING.stall();
    // Keys the near tier lacks go to the far server, which never answers.
    let hung = started((0..16).map(|x| tripled(10_000 + x))).await;
    until("the far server is asked", || STALLING.gets() >= 8).await;
    let hits = tripled_cache().info().hits;
    let near: Vec<_> = (0..1000).map(|x| tokio::spawn(tripled(x))).collect();
    for (x, call) in (0..).zip(near) {
        assert_eq!(within("a near hit while the far server hangs", call).await.unwrap(), 3 * x);
    }
    assert!(hung.iter().all(|call| !call.is_finished()), "the far server answered: it did not hang");
    assert_eq!(tripled_cache().info().hits - hits, 1000);
    // The far server was asked for the 16 keys the near tier lacks, and for
    // none of the near hits.
    until("every far lookup reaches the server", || STALLING.gets() >= 16).await;
    assert_eq!(STALLING.gets(), 16);
    assert_eq!(TRIPLED.load(SeqCst), 1000);
    hung.iter().for_each(JoinHandle::abort);
}

// A function on a hung server and one on a healthy server.

static SILENT: LazyLock<String> = LazyLock::new(silent_server);

#[memoize(store = Redis::new(&SILENT).version(run()).timeout(HANG).connect_timeout(HANG).lock(false))]
async fn on_a_hung_redis(x: u64) -> u64 {
    x + 1
}

#[memoize(store = Redis::new(&redis_url()).version(run()))]
async fn on_a_healthy_redis(x: u64) -> u64 {
    x + 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_on_a_hung_redis_does_not_delay_one_on_a_healthy_redis() {
    let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
    let hung = started((0..16).map(on_a_hung_redis)).await;
    assert_eq!(within("a call on the healthy server", on_a_healthy_redis(1)).await, 3);
    // The value goes to the server after the call returned: a hit once it
    // is there.
    within("a hit on the healthy server", async {
        while on_a_healthy_redis_cache().info().hits == 0 {
            assert_eq!(on_a_healthy_redis(1).await, 3);
        }
    })
    .await;
    assert_eq!(on_a_healthy_redis_cache().info().store_errors, 0);
    assert!(hung.iter().all(|call| !call.is_finished()), "the hung server answered");
    hung.iter().for_each(JoinHandle::abort);
}

#[memoize(store = Memcached::new([&*SILENT]).version(run()).timeout(HANG).connect_timeout(HANG).lock(false))]
async fn on_a_hung_memcached(x: u64) -> u64 {
    x + 1
}

#[memoize(store = Memcached::new([memcached()]).version(run()))]
async fn on_a_healthy_memcached(x: u64) -> u64 {
    x + 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_on_a_hung_memcached_does_not_delay_one_on_a_healthy_memcached() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let hung = started((0..16).map(on_a_hung_memcached)).await;
    assert_eq!(within("a call on the healthy server", on_a_healthy_memcached(1)).await, 3);
    // The value goes to the server after the call returned: a hit once it
    // is there.
    within("a hit on the healthy server", async {
        while on_a_healthy_memcached_cache().info().hits == 0 {
            assert_eq!(on_a_healthy_memcached(1).await, 3);
        }
    })
    .await;
    assert_eq!(on_a_healthy_memcached_cache().info().store_errors, 0);
    assert!(hung.iter().all(|call| !call.is_finished()), "the hung server answered");
    hung.iter().for_each(JoinHandle::abort);
}

// A thousand concurrent misses on distinct keys.

/// Each reply of the real server comes this long after it left: a server
/// far away.
const FAR: Duration = Duration::from_millis(150);

static FAR_AWAY: LazyLock<Proxy> = LazyLock::new(|| Proxy::start(host_port(&redis_url()), FAR));

#[memoize(store = Redis::new(&FAR_AWAY.url()).version(run()).timeout(Duration::from_secs(10)).connect_timeout(Duration::from_secs(10)))]
async fn far_away(x: u64) -> u64 {
    x * 7
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_misses_do_not_queue_a_few_at_a_time() {
    let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
    // A miss makes four round trips of at least 150 ms (GET and the lock's
    // SET NX; then SET and the lock's delete): eight at a time, a thousand
    // take at least 1000 * 2 * 150 ms / 8 = 37.5 s before the last lookup
    // is answered, far past the watchdog; 64 at a time (a lane's limit),
    // about 4.7 s.
    let calls: Vec<_> = (0..1000).map(|x| tokio::spawn(far_away(x))).collect();
    within("a thousand concurrent misses", async {
        for (x, call) in (0..).zip(calls) {
            assert_eq!(call.await.unwrap(), x * 7);
        }
    })
    .await;
    let info = far_away_cache().info();
    assert_eq!((info.hits, info.misses, info.store_errors), (0, 1000, 0));
}

// Deadlines no loaded machine reaches: this test counts errors, and a 50 ms
// deadline passed while the other tests of this file load the machine was one.
#[memoize(store = Memcached::new(std::env::var("MEMO_TEST_MEMCACHED").unwrap_or_default().split(',')).version(run()).timeout(Duration::from_secs(10)).connect_timeout(Duration::from_secs(10)))]
async fn on_memcached(x: u64) -> u64 {
    x * 11
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_misses_on_memcached_all_return_their_values() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let calls: Vec<_> = (0..1000).map(|x| tokio::spawn(on_memcached(x))).collect();
    within("a thousand concurrent misses", async {
        for (x, call) in (0..).zip(calls) {
            assert_eq!(call.await.unwrap(), x * 11);
        }
    })
    .await;
    let info = on_memcached_cache().info();
    assert_eq!((info.hits, info.misses, info.store_errors), (0, 1000, 0));
}
