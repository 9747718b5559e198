use memo::memoize;

#[memoize(maxsize = 10, store = memo::Unbounded::new())]
fn f(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
}
