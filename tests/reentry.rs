//! A thread that calls a key it is computing, or that waits for another
//! thread's key while inside a computation of its own: never a false
//! "infinite recursion" panic, never a hang.
//!
//! - `key = n / 2`: `paired(n)` calls `paired(n - 1)`, which has the same key
//!   when `n` is odd: the plain function's value, on every store.
//! - Memoized recursion inside rayon: a thread that waits in `join` runs a
//!   stolen job, which may need a key that the thread holds further down its
//!   own stack (a re-entry that is not a loop), or that another thread holds
//!   while that thread waits in `join` for this one's job (a cycle through
//!   rayon's waits, which memo cannot see). Run many rounds under a watchdog.
//! - Real infinite recursion still panics, naming the function.

mod watchdog;

use std::panic::catch_unwind;
use std::time::Duration;

use memo::memoize;
use watchdog::within;

#[memoize(key = n / 2)]
fn paired(n: u64) -> u64 {
    if n == 0 { 0 } else { paired(n - 1) + 1 }
}

#[memoize(key = n / 2, maxsize = 4)]
fn paired_lru(n: u64) -> u64 {
    if n == 0 { 0 } else { paired_lru(n - 1) + 1 }
}

#[memoize(key = n / 2, maxsize = 1000)]
fn paired_big_lru(n: u64) -> u64 {
    if n == 0 { 0 } else { paired_big_lru(n - 1) + 1 }
}

#[memoize(key = n / 2, ttl = Duration::from_secs(60))]
fn paired_expiring(n: u64) -> u64 {
    if n == 0 { 0 } else { paired_expiring(n - 1) + 1 }
}

#[memoize(key = n / 2, store = memo::Tiered::new(memo::Unbounded::new(), memo::Unbounded::new()))]
fn paired_tiered(n: u64) -> u64 {
    if n == 0 { 0 } else { paired_tiered(n - 1) + 1 }
}

#[test]
fn a_same_key_call_that_is_not_infinite_recursion_returns_the_plain_value() {
    // The inner, even call computes again without waiting for the outer,
    // odd one (which holds the key); the outer's value is stored last.
    for f in [paired, paired_lru, paired_big_lru, paired_expiring, paired_tiered] {
        assert_eq!(f(1), 1);
        assert_eq!(f(7), 7);
        assert_eq!(f(300), 300);
    }
}

#[memoize(maxsize = 1000)]
fn forever_lru(x: u32) -> u32 {
    forever_lru(x)
}

#[memoize(ttl = Duration::from_secs(60))]
fn forever_expiring(x: u32) -> u32 {
    forever_expiring(x)
}

#[test]
fn infinite_recursion_still_panics_with_the_functions_name() {
    for (f, name) in [(forever_lru as fn(u32) -> u32, "forever_lru"), (forever_expiring, "forever_expiring")]
    {
        let panic = catch_unwind(|| f(1)).expect_err("infinite recursion must panic");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains(name) && message.contains("infinite recursion"), "{message}");
        assert!(catch_unwind(|| f(1)).is_err(), "panics again, rather than being stuck");
    }
}

/// Lattice paths through an `r` by `c` grid, each cell's two halves in
/// `rayon::join`.
#[memoize]
fn paths(r: u32, c: u32) -> u64 {
    if r == 0 || c == 0 {
        return 1;
    }
    let (a, b) = rayon::join(|| paths(r - 1, c), || paths(r, c - 1));
    a + b
}

#[memoize(maxsize = 200)]
fn paths_lru(r: u32, c: u32) -> u64 {
    if r == 0 || c == 0 {
        return 1;
    }
    let (a, b) = rayon::join(|| paths_lru(r - 1, c), || paths_lru(r, c - 1));
    a + b
}

fn binomial(n: u64, k: u64) -> u64 {
    (1..=k).fold(1, |acc, i| acc * (n - k + i) / i)
}

#[test]
fn memoized_recursion_inside_rayon_never_panics_or_hangs() {
    within("memoized recursion inside rayon", Duration::from_secs(120), || {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        for round in 0..60 {
            paths_cache().clear();
            paths_lru_cache().clear();
            let n = 10 + round % 7;
            let (a, b) = pool.install(|| rayon::join(|| paths(n, n), || paths_lru(n, n)));
            let want = binomial(2 * u64::from(n), u64::from(n));
            assert_eq!((a, b), (want, want), "round {round}");
        }
    });
}

#[test]
fn memoized_recursion_inside_rayon_par_iter_and_scope() {
    use rayon::prelude::*;
    within("memoized recursion inside rayon", Duration::from_secs(120), || {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        for round in 0..20 {
            paths_cache().clear();
            let sums: Vec<u64> =
                pool.install(|| (0..12_u32).into_par_iter().map(|n| paths(n, 12 - n)).collect());
            let want: Vec<u64> = (0..12_u64).map(|n| binomial(12, n)).collect();
            assert_eq!(sums, want, "round {round}");
            let mut out = [0_u64; 4];
            pool.scope(|s| {
                for (i, slot) in out.iter_mut().enumerate() {
                    s.spawn(move |_| *slot = paths_lru(8 + i as u32, 8));
                }
            });
            for (i, got) in out.iter().enumerate() {
                assert_eq!(*got, binomial(16 + i as u64, 8), "round {round}");
            }
        }
    });
}

#[memoize]
fn forever_big_frames(n: u64) -> u64 {
    // 2 KiB of stack per level: a thousand levels would overflow a 2 MiB
    // thread stack, which aborts the process instead of panicking.
    let buf = std::hint::black_box([n.to_le_bytes()[0]; 2048]);
    forever_big_frames(n) + u64::from(buf[7])
}

#[memoize(scope = thread)]
fn forever_big_frames_per_thread(n: u64) -> u64 {
    let buf = std::hint::black_box([n.to_le_bytes()[0]; 2048]);
    forever_big_frames_per_thread(n) + u64::from(buf[7])
}

#[test]
fn infinite_recursion_with_large_frames_panics_before_the_stack_overflows() {
    // Both scopes: the shared one counts re-entries of the key in flight,
    // `scope = thread` samples its open misses.
    let cases = [
        (forever_big_frames as fn(u64) -> u64, "forever_big_frames"),
        (forever_big_frames_per_thread, "forever_big_frames_per_thread"),
    ];
    for (f, name) in cases {
        let joined = std::thread::Builder::new().stack_size(2 << 20).spawn(move || f(1)).unwrap().join();
        let panic = joined.expect_err("infinite recursion must panic");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains(name) && message.contains("infinite recursion"), "{message}");
    }
}
