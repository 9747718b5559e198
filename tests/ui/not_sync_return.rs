use memo::memoize;
use std::cell::Cell;

// `Cell` is `Send` but not `Sync`: threads read cached values at once.
#[memoize]
fn counter(n: u32) -> Cell<u32> {
    Cell::new(n)
}

fn main() {
    counter(1);
}
