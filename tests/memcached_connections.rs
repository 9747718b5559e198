//! The memcached store's connections, against a real server through a proxy
//! of the test's own that counts the connections it is asked for: many
//! callers at once reuse a bounded number of them, idle ones are closed, and
//! a server's name is looked up under a deadline.

#![cfg(feature = "memcached")]

mod common;

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use common::{run, server_env};
use memo::{Cache, Memcached};

/// Connections a [`proxy`] accepted, and how many were open at once.
#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    open: AtomicUsize,
    most_open: AtomicUsize,
}

/// A proxy on a port of its own to the server at `upstream`, counting the
/// connections it accepts. It lives as long as the test process.
fn proxy(upstream: String) -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let counts = Arc::new(Counts::default());
    let counted = Arc::clone(&counts);
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            counted.accepted.fetch_add(1, SeqCst);
            let open = counted.open.fetch_add(1, SeqCst) + 1;
            counted.most_open.fetch_max(open, SeqCst);
            let server = TcpStream::connect(&upstream).unwrap();
            let counted = Arc::clone(&counted);
            thread::spawn(move || {
                let forth = pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                let _ = io::copy(&mut &server, &mut &client);
                let _ = client.shutdown(Shutdown::Both);
                let _ = forth.join();
                counted.open.fetch_sub(1, SeqCst);
            });
        }
    });
    (addr, counts)
}

/// Copies `from` to `to` on a thread, until `from` ends.
fn pipe(from: TcpStream, to: TcpStream) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let _ = io::copy(&mut &from, &mut &to);
        let _ = to.shutdown(Shutdown::Both);
    })
}

fn upstream() -> Option<String> {
    let servers = server_env("MEMO_TEST_MEMCACHED")?;
    Some(servers.split(',').next().unwrap().to_owned())
}

/// A store on `addr` under `namespace`, fresh for this run, with deadlines
/// no loaded machine reaches: a timeout would close connections, and these
/// tests count them.
fn store(addr: &str, namespace: &str) -> Memcached<u64, u64> {
    Memcached::new([addr])
        .namespace(format!("tests::memcached_connections::{namespace}"))
        .version(run())
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(20))
}

/// 64 threads, each calling `rounds` times on keys of its own.
fn hammer(cache: &Cache<u64, u64, Memcached<u64, u64>>, rounds: u64) {
    thread::scope(|s| {
        for t in 0..64 {
            s.spawn(move || {
                for r in 0..rounds {
                    let key = t * 1000 + r;
                    assert_eq!(cache.get_or_insert_with(&key, || key * 2), key * 2);
                }
            });
        }
    });
}

#[test]
fn sixty_four_callers_at_once_reuse_at_most_sixty_four_connections() {
    let Some(upstream) = upstream() else { return };
    let (addr, counts) = proxy(upstream);
    let cache = Cache::new(store(&addr, "sixty_four"));
    hammer(&cache, 100);
    // Twice: misses (get, lock, set, unlock), then hits.
    hammer(&cache, 100);
    assert_eq!(cache.info().store_errors, 0, "{}", cache.info());
    assert_eq!(cache.info().hits, 64 * 100, "{}", cache.info());
    let accepted = counts.accepted.load(SeqCst);
    assert!(
        accepted <= 64,
        "{accepted} connections for 64 callers (at most {} at once)",
        counts.most_open.load(SeqCst)
    );
}

#[test]
fn callers_beyond_max_connections_wait_for_one() {
    let Some(upstream) = upstream() else { return };
    let (addr, counts) = proxy(upstream);
    let cache = Cache::new(store(&addr, "max_connections").max_connections(4));
    hammer(&cache, 20);
    assert_eq!(cache.info().store_errors, 0, "{}", cache.info());
    assert!(counts.most_open.load(SeqCst) <= 4, "{} at once", counts.most_open.load(SeqCst));
    assert!(counts.accepted.load(SeqCst) <= 4, "{} connections", counts.accepted.load(SeqCst));
}

#[test]
fn an_idle_connection_is_closed_after_idle_timeout() {
    let Some(upstream) = upstream() else { return };
    let (addr, counts) = proxy(upstream);
    let cache = Cache::new(store(&addr, "idle").idle_timeout(Duration::from_millis(100)));
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(counts.accepted.load(SeqCst), 1, "one connection for one caller");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!()), 10);
    assert_eq!(counts.accepted.load(SeqCst), 2, "the idle one was closed, a new one opened");
    // The proxy sees the old one end.
    let deadline = Instant::now() + Duration::from_secs(10);
    while counts.open.load(SeqCst) > 1 {
        assert!(Instant::now() < deadline, "the idle connection was not closed");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_server_named_by_a_host_name_is_used() {
    let Some(upstream) = upstream() else { return };
    let port = upstream.rsplit(':').next().unwrap();
    let cache = Cache::new(store(&format!("localhost:{port}"), "localhost"));
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!()), 10);
    assert_eq!(cache.info().store_errors, 0);
}

#[test]
fn a_name_that_does_not_resolve_is_a_miss_and_counted() {
    // `.invalid` never resolves (RFC 2606).
    let store = Memcached::<u64, u64>::new(["memo-test.invalid:11211"])
        .namespace("tests::memcached_connections::unresolved")
        .connect_timeout(Duration::from_millis(50));
    let cache = Cache::new(store);
    let start = Instant::now();
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || 11), 11, "not kept anywhere");
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    assert!(cache.info().store_errors >= 1, "{}", cache.info());
}
