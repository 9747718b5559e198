use memo::memoize;
use std::time::Duration;

#[memoize(ttl = Duration::from_secs(0))]
fn a(x: u32) -> u32 {
    x
}

#[memoize(ttl = Duration::ZERO, cache_err = "yes")]
fn b(x: u32) -> Result<u32, String> {
    Ok(x)
}

#[memoize(scope = thread, ttl = Duration::from_secs(5))]
fn c(x: u32) -> u32 {
    x
}

fn main() {
    a(1);
    let _ = b(1);
    c(1);
}
