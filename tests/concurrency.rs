//! Many threads: single-flight per key, recursion from many threads, a
//! same-thread re-entry that panics instead of hanging, panicking bodies that
//! leave nothing behind, and exact counts under a stress of eight threads.
//! Every test runs under a watchdog, so a deadlock fails it instead of hanging
//! CI.

mod watchdog;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use memo::memoize;
use watchdog::within;

const LIMIT: Duration = Duration::from_secs(60);

static SLOW_RUNS: AtomicUsize = AtomicUsize::new(0);

#[memoize]
fn slow_square(x: u64) -> u64 {
    SLOW_RUNS.fetch_add(1, SeqCst);
    thread::sleep(Duration::from_millis(50));
    x * x
}

#[test]
fn threads_that_miss_one_key_at_once_run_the_body_once() {
    within("single-flight", LIMIT, || {
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    slow_square(12)
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 144);
        }
        assert_eq!(SLOW_RUNS.load(SeqCst), 1);
        let info = slow_square_cache().info();
        assert_eq!(info.hits + info.misses, 8);
        assert_eq!(info.currsize, 1);
    });
}

static FIB_RUNS: AtomicU64 = AtomicU64::new(0);

#[memoize]
fn fib(n: u64) -> u64 {
    FIB_RUNS.fetch_add(1, SeqCst);
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[test]
fn recursion_from_many_threads_at_once_completes() {
    within("recursion", LIMIT, || {
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8_u64)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    fib(90 - i)
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(fib(90), 2_880_067_194_370_816_120);
        // A thread inside a computation of its own computes a key that
        // another thread holds rather than wait for it (the wait could close
        // a cycle through a pool's `join`, see tests/reentry.rs): duplicate
        // work, bounded by once per key and thread, since what a thread
        // computes is stored and its later calls hit.
        let runs = FIB_RUNS.load(SeqCst);
        assert!((91..=8 * 91).contains(&runs), "{runs} body runs");
    });
}

#[memoize]
fn loops_forever(x: u32) -> u32 {
    if x == 0 { 0 } else { loops_forever(x) }
}

#[test]
fn same_thread_reentry_on_the_same_key_panics_and_says_why() {
    within("re-entry", LIMIT, || {
        let panic = catch_unwind(|| loops_forever(3)).expect_err("re-entry must panic");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("`loops_forever`"), "{message}");
        assert!(message.contains("infinite recursion"), "{message}");
        // Nothing is left in flight: the same key panics again (it is not
        // stuck waiting), and other keys work.
        assert!(catch_unwind(|| loops_forever(3)).is_err());
        assert_eq!(loops_forever(0), 0);
    });
}

static PANICKED_ONCE: AtomicBool = AtomicBool::new(false);
static FLAKY_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Panics the first time it runs, after the other threads have started
/// waiting for it.
#[memoize]
fn flaky(x: u64) -> u64 {
    FLAKY_RUNS.fetch_add(1, SeqCst);
    thread::sleep(Duration::from_millis(50));
    assert!(PANICKED_ONCE.swap(true, SeqCst), "the first computation fails");
    x + 1
}

#[test]
fn a_panicking_body_leaves_nothing_behind_and_a_waiter_takes_over() {
    within("panic", LIMIT, || {
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    catch_unwind(AssertUnwindSafe(|| flaky(1)))
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        // The thread whose body panicked got the panic; the rest got the value
        // computed by one of them.
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
        assert!(results.iter().flatten().all(|&v| v == 2));
        assert_eq!(FLAKY_RUNS.load(SeqCst), 2);
        assert_eq!(flaky(1), 2);
        assert_eq!(FLAKY_RUNS.load(SeqCst), 2);
    });
}

#[memoize(single_flight = false)]
fn unflighted(x: u64) -> u64 {
    x * 3
}

#[test]
fn single_flight_can_be_turned_off() {
    within("single_flight = false", LIMIT, || {
        let threads: Vec<_> = (0..4).map(|_| thread::spawn(|| unflighted(5))).collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 15);
        }
        let info = unflighted_cache().info();
        assert_eq!(info.hits + info.misses, 4);
    });
}

/// What the stressed functions compute, and the plain function to compare.
fn plain(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

/// Sometimes sleeps, sometimes panics; the result depends on `x` only.
fn body(x: u64, runs: &AtomicU64) -> u64 {
    runs.fetch_add(1, SeqCst);
    match x % 17 {
        0 => thread::sleep(Duration::from_millis(1)),
        5 => panic!("a body that fails for {x}"),
        _ => {}
    }
    plain(x)
}

static STRESS_RUNS: AtomicU64 = AtomicU64::new(0);

#[memoize]
fn stress_unbounded(x: u64) -> u64 {
    body(x, &STRESS_RUNS)
}

#[memoize(maxsize = 7)]
fn stress_small(x: u64) -> u64 {
    body(x, &STRESS_RUNS)
}

#[memoize(maxsize = 300)]
fn stress_split(x: u64) -> u64 {
    body(x, &STRESS_RUNS)
}

#[test]
fn eight_threads_of_random_calls_get_the_plain_results_and_exact_counts() {
    within("stress", LIMIT, || {
        type Memoized = fn(u64) -> u64;
        let functions: [(Memoized, &'static memo::CacheHandle, Option<usize>); 3] = [
            (stress_unbounded, stress_unbounded_cache(), None),
            (stress_small, stress_small_cache(), Some(7)),
            (stress_split, stress_split_cache(), Some(300)),
        ];
        const CALLS: u64 = 4_000;
        let stop = Arc::new(AtomicBool::new(false));
        // A watcher checks currsize <= maxsize while the threads run.
        let watcher = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut looks = 0_u64;
                while !stop.load(SeqCst) {
                    for (_, handle, maxsize) in functions {
                        if let Some(maxsize) = maxsize {
                            assert!(handle.info().currsize <= maxsize);
                        }
                    }
                    looks += 1;
                    thread::yield_now();
                }
                looks
            })
        };
        let threads: Vec<_> = (0..8_u64)
            .map(|t| {
                thread::spawn(move || {
                    // A small xorshift: every thread its own random keys.
                    let mut state = 0x2545_F491_4F6C_DD1D_u64 ^ (t + 1);
                    for _ in 0..CALLS {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        let x = state % 500;
                        let (function, _, _) = functions[(state >> 40) as usize % 3];
                        match catch_unwind(|| function(x)) {
                            Ok(value) => assert_eq!(value, plain(x)),
                            Err(_) => assert_eq!(x % 17, 5, "only the failing keys panic"),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        stop.store(true, SeqCst);
        assert!(watcher.join().unwrap() > 0);
        let mut calls = 0;
        for (_, handle, maxsize) in functions {
            let info = handle.info();
            calls += info.hits + info.misses;
            if let Some(maxsize) = maxsize {
                assert!(info.currsize <= maxsize);
            }
        }
        assert_eq!(calls, 8 * CALLS);
    });
}

#[memoize(maxsize = 256)]
fn churned(x: u64) -> u64 {
    x.wrapping_mul(3) ^ 0x5A5A
}

/// Hits read the stores without their locks while other threads insert and
/// evict in the same parts: every value read must still be the right one.
#[test]
fn lock_free_hits_beside_inserts_and_evictions_see_only_right_values() {
    within("lock-free hits beside evictions", LIMIT, || {
        let threads: Vec<_> = (0..4_u64)
            .map(|t| {
                thread::spawn(move || {
                    let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ t;
                    for i in 0..200_000_u64 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Half the calls on 64 hot keys (hits), half on 4,000
                        // (misses that evict).
                        let key = if i % 2 == 0 { x % 64 } else { 64 + x % 4_000 };
                        assert_eq!(churned(key), key.wrapping_mul(3) ^ 0x5A5A);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let info = churned_cache().info();
        assert_eq!(info.hits + info.misses, 800_000);
        assert!(info.currsize <= 256);
        assert!(info.hits > 0 && info.evictions > 0, "{info}");
    });
}
