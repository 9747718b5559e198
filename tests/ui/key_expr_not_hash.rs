// `key = expr` whose value cannot be a key: one error, at the expression.
use memo::memoize;

#[derive(Clone, PartialEq, Eq)]
struct Shape {
    sides: u32,
}

#[memoize(key = Shape { sides: n })]
fn area(n: u32) -> u32 {
    n * 2
}

fn main() {
    area(3);
}
