//! What an `async fn` on a shared store costs under load and while its server
//! hangs, the two numbers the README quotes:
//!
//! 1. 1,000 concurrent misses on distinct keys, on a real Redis (and on
//!    memcached, if `MEMO_MEMCACHED_SERVERS` is set), on loopback and
//!    through a proxy that holds each reply back 1 ms (a server across a
//!    network): the wall time from the first call to the last value, best
//!    and median of five rounds.
//! 2. The near hits of a `Tiered(Lru, Redis)` function while its far server
//!    hangs (a proxy to the real Redis that stops answering, and 16 calls
//!    on keys the near tier lacks, stuck on it for their 2 s deadline): how
//!    many complete in the first second, and when the first one does.
//!
//! `MEMO_REDIS_URL=redis://127.0.0.1:6379 cargo run --release --all-features --example async_scaling`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, LazyLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use memo::{Lru, Memcached, Redis, Tiered, memoize};

fn redis_url() -> String {
    std::env::var("MEMO_REDIS_URL").unwrap_or_else(|_| String::from("redis://127.0.0.1:6379"))
}

/// This run's own entries: a version no earlier run used.
fn version() -> u32 {
    std::process::id()
}

#[memoize(store = Redis::from_env().version(version()))]
async fn on_redis(x: u64) -> u64 {
    x * 7
}

#[memoize(store = Memcached::from_env().version(version()))]
async fn on_memcached(x: u64) -> u64 {
    x * 7
}

/// Five rounds of 1,000 concurrent misses on fresh keys: the wall time of
/// each, sorted.
async fn thousand_misses<F: Future<Output = u64> + Send + 'static>(call: fn(u64) -> F) -> Vec<Duration> {
    let mut times = Vec::new();
    for round in 0..5 {
        let keys = round * 1000..(round + 1) * 1000;
        let start = Instant::now();
        let calls: Vec<_> = keys.clone().map(|x| tokio::spawn(call(x))).collect();
        for (x, call) in keys.zip(calls) {
            assert_eq!(call.await.unwrap(), x * 7);
        }
        times.push(start.elapsed());
        // The values' inserts, which go on after the calls returned, are
        // not this round's.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    times.sort();
    times
}

/// A proxy to the server at `upstream` that holds each reply back for
/// `delay` (a server across a network), and forwards until it is told to
/// stall, then forwards and answers nothing.
fn proxy(upstream: String, delay: Duration) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stalled = Arc::new(AtomicBool::new(false));
    let on = Arc::clone(&stalled);
    thread::spawn(move || {
        for mut client in listener.incoming().flatten() {
            let Ok(mut server) = TcpStream::connect(&upstream) else { continue };
            let (mut to_server, mut to_client) = (server.try_clone().unwrap(), client.try_clone().unwrap());
            let on = Arc::clone(&on);
            thread::spawn(move || {
                let mut buf = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = client.read(&mut buf) {
                    if !on.load(SeqCst) && to_server.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
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
    });
    (addr, stalled)
}

fn redis_addr() -> String {
    redis_url().trim_start_matches("redis://").trim_end_matches('/').to_owned()
}

/// Each reply comes this much later through the proxies of the "across a
/// network" rounds.
const NETWORK: Duration = Duration::from_millis(1);

static STALLING: LazyLock<(String, Arc<AtomicBool>)> = LazyLock::new(|| proxy(redis_addr(), Duration::ZERO));
static FAR_REDIS: LazyLock<(String, Arc<AtomicBool>)> = LazyLock::new(|| proxy(redis_addr(), NETWORK));
static FAR_MEMCACHED: LazyLock<(String, Arc<AtomicBool>)> = LazyLock::new(|| {
    let servers = std::env::var("MEMO_MEMCACHED_SERVERS").unwrap_or_default();
    proxy(servers.split(',').next().unwrap_or_default().to_owned(), NETWORK)
});

#[memoize(store = Redis::new(&format!("redis://{}", FAR_REDIS.0)).version(version()).timeout(Duration::from_secs(1)))]
async fn on_far_redis(x: u64) -> u64 {
    x * 7
}

#[memoize(store = Memcached::new([&FAR_MEMCACHED.0]).version(version()).timeout(Duration::from_secs(1)))]
async fn on_far_memcached(x: u64) -> u64 {
    x * 7
}

#[memoize(store = Tiered::new(
    Lru::new(NonZeroUsize::new(4096).unwrap()),
    Redis::new(&format!("redis://{}", STALLING.0)).version(version()).timeout(Duration::from_secs(2)).lock(false),
))]
async fn tiered(x: u64) -> u64 {
    x * 3
}

/// Near hits in the first second after 16 calls got stuck on the far
/// server, and when the first near hit completed.
async fn near_hits_while_the_far_server_hangs() -> (u64, Duration) {
    for x in 0..1000 {
        assert_eq!(tiered(x).await, x * 3);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    STALLING.1.store(true, SeqCst);
    let hung: Vec<_> = (0..16).map(|x| tokio::spawn(tiered(1_000_000 + x))).collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    let first = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    // Four tasks that ask for near keys one after another.
    let askers: Vec<_> = (0..4)
        .map(|task| {
            let (first, done) = (Arc::clone(&first), Arc::clone(&done));
            tokio::spawn(async move {
                let mut x = task;
                while start.elapsed() < Duration::from_secs(1) {
                    assert_eq!(tiered(x % 1000).await, (x % 1000) * 3);
                    let _ = first.compare_exchange(0, start.elapsed().as_nanos() as u64, SeqCst, SeqCst);
                    if start.elapsed() < Duration::from_secs(1) {
                        done.fetch_add(1, SeqCst);
                    }
                    x += 4;
                }
            })
        })
        .collect();
    for asker in askers {
        asker.await.unwrap();
    }
    hung.iter().for_each(tokio::task::JoinHandle::abort);
    (done.load(SeqCst), Duration::from_nanos(first.load(SeqCst)))
}

fn report(what: &str, times: &[Duration]) {
    println!("{what}: best {:.1?}, median {:.1?} (five rounds)", times[0], times[times.len() / 2]);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    report("1,000 concurrent misses on distinct keys, Redis on loopback", &thousand_misses(on_redis).await);
    report("the same, Redis 1 ms away", &thousand_misses(on_far_redis).await);
    if std::env::var_os("MEMO_MEMCACHED_SERVERS").is_some() {
        report("the same, memcached on loopback", &thousand_misses(on_memcached).await);
        report("the same, memcached 1 ms away", &thousand_misses(on_far_memcached).await);
    }
    let (hits, first) = near_hits_while_the_far_server_hangs().await;
    println!(
        "near hits of Tiered(Lru, Redis) while the far server hangs: {hits} in the first second \
         (four tasks, one call after another), the first after {first:.1?}"
    );
}
