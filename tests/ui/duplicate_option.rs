use memo::memoize;

#[memoize(maxsize = 10, typed, maxsize = 20)]
fn f(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
}
