//! A slow, paid web API behind `#[memoize]` on an `async fn`: many tasks ask
//! for the same few quotes at once, and each symbol costs one upstream call.
//! The API is simulated (a sleep on the executor, no network).
//!
//! `cargo run --release --features async --example web_api`

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use memo::memoize;

/// What the API was paid for.
static UPSTREAM_CALLS: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Debug)]
struct Quote {
    symbol: String,
    price_cents: u64,
}

#[derive(Clone, Debug)]
enum ApiError {
    UnknownSymbol(String),
}

/// The paid call: 200 ms and one call on the bill each time it runs. Quotes
/// live a minute; an error is returned but not cached, so the next call asks
/// again.
#[memoize(ttl = Duration::from_secs(60))]
async fn quote(symbol: &str) -> Result<Quote, ApiError> {
    UPSTREAM_CALLS.fetch_add(1, Relaxed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    if symbol == "NOPE" {
        return Err(ApiError::UnknownSymbol(symbol.to_owned()));
    }
    let price_cents = symbol.bytes().map(u64::from).sum::<u64>() * 7;
    Ok(Quote { symbol: symbol.to_owned(), price_cents })
}

/// `requests` concurrent tasks over `symbols`; how long they took together.
async fn burst(requests: usize, symbols: &'static [&'static str]) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..requests).map(|i| tokio::spawn(quote(symbols[i % symbols.len()]))).collect();
    for task in tasks {
        match task.await.expect("a request task panicked") {
            Ok(Quote { symbol, price_cents }) => assert!(!symbol.is_empty() && price_cents > 0),
            Err(ApiError::UnknownSymbol(symbol)) => assert_eq!(symbol, "NOPE"),
        }
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    const SYMBOLS: &[&str] = &["ACME", "GLOBEX", "INITECH", "NOPE"];

    let took = burst(1_000, SYMBOLS).await;
    println!(
        "1,000 concurrent requests for {} symbols:  {:>4} ms, {} upstream calls",
        SYMBOLS.len(),
        took.as_millis(),
        UPSTREAM_CALLS.load(Relaxed)
    );
    let took = burst(1_000, SYMBOLS).await;
    println!(
        "1,000 more, all cached but the error:    {:>4} ms, {} upstream calls in all (NOPE asked again)",
        took.as_millis(),
        UPSTREAM_CALLS.load(Relaxed)
    );

    // A caller that gives up (a timeout drops its future) while it computes a
    // key: the callers waiting for that key take the computation over.
    let impatient = tokio::time::timeout(Duration::from_millis(50), quote("UMBRELLA"));
    let patient = tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        quote("UMBRELLA").await
    });
    assert!(impatient.await.is_err(), "the impatient caller timed out");
    let taken_over = patient.await.expect("the patient task").expect("a known symbol");
    println!(
        "a cancelled computation was taken over: {} at {} cents",
        taken_over.symbol, taken_over.price_cents
    );
    println!("{}", quote_cache().info());
}
