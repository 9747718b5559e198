//! Naive against memoized Fibonacci: the same recursion, with and without
//! `#[memoize]`.
//!
//! `cargo run --release --example fibonacci`

use std::hint::black_box;
use std::time::Instant;

use memo::memoize;

/// Exponential: recomputes every smaller number again and again.
fn fib_naive(n: u64) -> u64 {
    if n < 2 { n } else { fib_naive(n - 1) + fib_naive(n - 2) }
}

/// Linear: each `fib(k)` runs once, then comes from the cache.
#[memoize]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

fn main() {
    let n = 35;

    let start = Instant::now();
    let naive = fib_naive(black_box(n));
    let naive_time = start.elapsed();

    let start = Instant::now();
    let memoized = fib(black_box(n));
    let memo_time = start.elapsed();

    assert_eq!(naive, memoized);
    println!("fib({n}) = {memoized}");
    println!("naive:    {naive_time:>12.3?}");
    println!(
        "memoized: {memo_time:>12.3?}  ({:.0}x faster)",
        naive_time.as_secs_f64() / memo_time.as_secs_f64()
    );
    println!("{}", fib_cache().info());

    // Once cached, a call is a lookup.
    let start = Instant::now();
    let again = fib(black_box(n));
    println!("again:    {:>12.3?}  -> {again}", start.elapsed());

    // Deep recursion works too: fib(90) runs the body 91 times in all.
    fib_cache().clear();
    println!("fib(90) = {}", fib(90));
    println!("{}", fib_cache().info());
}
