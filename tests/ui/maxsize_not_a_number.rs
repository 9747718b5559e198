use memo::memoize;

#[memoize(maxsize = "128")]
fn f(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
}
