//! Exchange rates from a slow, paid remote service (simulated with a sleep: no
//! network), cached for a short `ttl`: within it, a call is a hit; after it,
//! the rate is fetched again.
//!
//! `cargo run --release --example rates`

use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use memo::memoize;

/// Requests that reached the "remote service".
static REQUESTS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, Clone)]
struct RateError(String);

/// A rate, valid for 300 ms. An unknown currency is an `Err`, which is not
/// cached (by default): the next call asks again.
#[memoize(ttl = Duration::from_millis(300))]
fn exchange_rate(currency: &str) -> Result<f64, RateError> {
    REQUESTS.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_millis(50)); // the slow remote call
    match currency {
        "EUR" => Ok(1.08),
        "GBP" => Ok(1.27),
        "JPY" => Ok(0.0067),
        other => Err(RateError(format!("unknown currency {other}"))),
    }
}

fn main() {
    let start = Instant::now();
    for round in 0..8 {
        for currency in ["EUR", "GBP", "JPY", "XXX"] {
            let t = Instant::now();
            let rate = match exchange_rate(currency) {
                Ok(rate) => format!("{rate}"),
                Err(RateError(why)) => format!("error: {why}"),
            };
            let took = t.elapsed();
            if round % 2 == 0 {
                println!("{:>5} ms  {currency}: {rate} in {took:.1?}", start.elapsed().as_millis());
            }
        }
        println!("{:>5} ms  {}", start.elapsed().as_millis(), exchange_rate_cache().info());
        sleep(Duration::from_millis(100));
    }
    let info = exchange_rate_cache().info();
    println!();
    println!(
        "{} calls, {} requests to the remote service ({} hits, {} expirations)",
        info.hits + info.misses,
        REQUESTS.load(Ordering::SeqCst),
        info.hits,
        info.expirations
    );
}
