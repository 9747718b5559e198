//! One cache shared by several processes, on Redis: run it twice, and the
//! second run answers from what the first computed.
//!
//! ```sh
//! redis-server --port 6379 --save '' &          # a local Redis, if none runs
//! cargo run --release --features redis --example shared_cache
//! cargo run --release --features redis --example shared_cache   # all hits
//! ```
//!
//! The server comes from `MEMO_REDIS_URL` (default `redis://127.0.0.1:6379`):
//! any URL the `redis` crate reads, such as
//! `rediss://user:percent%40encoded@host:6380` for TLS and an ACL user, with
//! `MEMO_REDIS_CA=ca.pem` to trust a private CA.
//! Without a server the program still prints the right answers: every lookup
//! is a miss, counted as a store error.

use std::time::{Duration, Instant};

use memo::{Redis, memoize};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Report {
    region: String,
    total_cents: u64,
    #[serde(default)]
    note: Option<String>,
}

/// A slow query (simulated): 300 ms per region, cached for ten minutes on the
/// server, for every process that runs this.
#[memoize(store = Redis::from_env().version(1), ttl = Duration::from_secs(600))]
fn sales_report(region: &str) -> Report {
    std::thread::sleep(Duration::from_millis(300));
    let total_cents = region.bytes().map(u64::from).sum::<u64>() * 1_000;
    Report { region: region.to_owned(), total_cents, note: None }
}

fn main() {
    let start = Instant::now();
    for region in ["north", "south", "east", "west"] {
        let report = sales_report(region);
        println!("{:>6}: {:>9} cents", report.region, report.total_cents);
    }
    let info = sales_report_cache().info();
    println!("{:?} for four reports; {info}", start.elapsed());
    if info.store_errors > 0 {
        println!(
            "(no Redis answered at MEMO_REDIS_URL: the reports were computed here, and nothing was shared)"
        );
    } else if info.hits == 4 {
        println!("all four came from the shared cache: another run computed them");
    } else {
        println!("computed here and stored: run it again to read them from Redis");
    }
}
