// With `ttl`, a return type that is not `Clone`: one error, at the type.
use std::time::Duration;

use memo::memoize;

struct Report(String);

#[memoize(ttl = Duration::from_secs(5))]
fn report(n: u32) -> Report {
    Report(n.to_string())
}

fn main() {
    report(1);
}
