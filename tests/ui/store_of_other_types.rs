// `store = expr` of a store for other key or value types: one error, at the
// store expression.
use memo::{Unbounded, memoize};

#[memoize(store = Unbounded::<String, u32>::new())]
fn f(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
}
