//! Stack bytes per recursion level of a memoized recursive function: the
//! distance between the addresses of a local in `depth(n)` and in `depth(n - 1)`,
//! averaged over 1,000 levels of a cold cache, for the shared and the
//! per-thread cache, for the peers `cached` and `memoize`, and for a
//! hand-written memo (a `Mutex<HashMap>` looked up and filled around the
//! body). The deeper a
//! memoized recursion can go on a given stack depends on it: the last column
//! is the deepest `n` whose `f(n)` completes from a cold cache on a 2 MiB
//! thread stack (Rust's default for spawned threads), found by running each
//! try in a child process (a stack overflow aborts the process that has it).
//! Last, the DP `ways(n)`, a recursion `n` deep, with n = 100,000 from a cold
//! cache on an 8 MiB thread: it completes, or the example aborts.
//!
//! `cargo run --release --example stack`

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use memo::memoize;

static TOP: AtomicUsize = AtomicUsize::new(0);
static BOTTOM: AtomicUsize = AtomicUsize::new(0);

fn mark(n: u64, local: &u64) {
    let here = std::ptr::from_ref(local).addr();
    if n == 1000 {
        TOP.store(here, Relaxed);
    } else if n == 0 {
        BOTTOM.store(here, Relaxed);
    }
}

#[memoize]
fn shared(n: u64) -> u64 {
    let local = black_box(n);
    mark(n, &local);
    if n == 0 { 0 } else { shared(n - 1).wrapping_add(local) }
}

#[memoize(scope = thread)]
fn per_thread(n: u64) -> u64 {
    let local = black_box(n);
    mark(n, &local);
    if n == 0 { 0 } else { per_thread(n - 1).wrapping_add(local) }
}

#[cached::proc_macro::cached]
fn cached_fn(n: u64) -> u64 {
    let local = black_box(n);
    mark(n, &local);
    if n == 0 { 0 } else { cached_fn(n - 1).wrapping_add(local) }
}

#[memoize::memoize]
fn memoize_fn(n: u64) -> u64 {
    let local = black_box(n);
    mark(n, &local);
    if n == 0 { 0 } else { memoize_fn(n - 1).wrapping_add(local) }
}

static MEMO: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<u64, u64>>> =
    std::sync::LazyLock::new(Default::default);

fn by_hand(n: u64) -> u64 {
    if let Some(&value) = MEMO.lock().unwrap().get(&n) {
        return value;
    }
    let local = black_box(n);
    mark(n, &local);
    let value = if n == 0 { 0 } else { by_hand(n - 1).wrapping_add(local) };
    MEMO.lock().unwrap().insert(n, value);
    value
}

fn plain(n: u64) -> u64 {
    let local = black_box(n);
    mark(n, &local);
    if n == 0 { 0 } else { plain(n - 1).wrapping_add(local) }
}

fn per_level(f: fn(u64) -> u64) -> usize {
    black_box(f(1000));
    (TOP.load(Relaxed) - BOTTOM.load(Relaxed)) / 1000
}

/// The DP whose recursion is `n` deep: `ways(n) = ways(n - 1) + ways(n - 2)
/// + ways(n - 3)`.
#[memoize]
fn ways(n: u64) -> u64 {
    if n < 3 { 1 } else { ways(n - 1).wrapping_add(ways(n - 2)).wrapping_add(ways(n - 3)) }
}

type Recursive = fn(u64) -> u64;

const ROWS: [(&str, Recursive); 6] = [
    ("plain recursion", plain),
    ("#[memoize]", shared),
    ("#[memoize(scope = thread)]", per_thread),
    ("cached", cached_fn),
    ("memoize", memoize_fn),
    ("by hand: Mutex<HashMap>", by_hand),
];

/// Whether row `row`'s `f(n)` completes on a fresh 2 MiB thread, tried in a
/// child process.
fn completes(row: usize, n: u64) -> bool {
    let exe = std::env::current_exe().expect("the example's own path");
    std::process::Command::new(exe)
        .args(["--try", &row.to_string(), &n.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The deepest `n` that completes, by bisection.
fn deepest(row: usize) -> u64 {
    let (mut good, mut bad) = (0, 1_u64 << 20);
    while bad - good > 64 {
        let mid = good + (bad - good) / 2;
        if completes(row, mid) { good = mid } else { bad = mid }
    }
    good
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, row, n] = args.as_slice() {
        if flag == "--try" {
            let (row, n): (usize, u64) = (row.parse().unwrap(), n.parse().unwrap());
            let f = ROWS[row].1;
            let run = std::thread::Builder::new().stack_size(2 << 20).spawn(move || black_box(f(n)));
            std::process::exit(i32::from(run.unwrap().join().is_err()));
        }
    }
    println!("stack bytes per recursion level (cold cache), and the deepest n on a 2 MiB stack:");
    for (row, (name, f)) in ROWS.into_iter().enumerate() {
        println!("  {name:<28} {:5}  {:>7}", per_level(f), deepest(row));
    }
    // A stack overflow aborts this process, and CI, which runs every example.
    let deep = std::thread::Builder::new().stack_size(8 << 20).spawn(|| ways(black_box(100_000)));
    let value = deep.unwrap().join().expect("ways(100,000) on an 8 MiB thread");
    println!("ways(100000) = {value}, cold, on an 8 MiB thread: completed");
}
