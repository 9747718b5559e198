use memo::memoize;

#[memoize(scope = thread, store = memo::Unbounded::new(), single_flight = false)]
fn f(x: u32) -> u32 {
    x
}

#[memoize(scope = process)]
fn g(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
    g(1);
}
