//! Stack bytes per recursion level of a memoized recursive function: the
//! distance between the addresses of a local in `depth(n)` and in `depth(n - 1)`,
//! averaged over 1,000 levels of a cold cache, for the shared and the
//! per-thread cache, and for the peers `cached` and `memoize`. The deeper a
//! memoized recursion can go on a given stack depends on it: the last column
//! is about how deep a recursion gets on a 2 MiB thread stack (Rust's
//! default for spawned threads).
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

fn plain(n: u64) -> u64 {
    let local = black_box(n);
    mark(n, &local);
    if n == 0 { 0 } else { plain(n - 1).wrapping_add(local) }
}

fn per_level(f: fn(u64) -> u64) -> usize {
    black_box(f(1000));
    (TOP.load(Relaxed) - BOTTOM.load(Relaxed)) / 1000
}

fn main() {
    println!("stack bytes per recursion level (cold cache), and levels on a 2 MiB stack:");
    type Recursive = fn(u64) -> u64;
    let rows: [(&str, Recursive); 5] = [
        ("plain recursion", plain),
        ("#[memoize]", shared),
        ("#[memoize(scope = thread)]", per_thread),
        ("cached", cached_fn),
        ("memoize", memoize_fn),
    ];
    for (name, f) in rows {
        let bytes = per_level(f);
        println!("  {name:<28} {bytes:5}  ~{:>7}", (2 << 20) / bytes.max(1));
    }
}
