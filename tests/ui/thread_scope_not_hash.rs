// `scope = thread`, a key type that is not `Hash`: one error, at the argument.
use memo::memoize;

#[derive(Clone, PartialEq, Eq)]
struct Cell2(u32);

#[memoize(scope = thread)]
fn f(c: Cell2) -> u32 {
    c.0
}

fn main() {
    f(Cell2(1));
}
