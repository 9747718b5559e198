use memo::memoize;

const SIZE: usize = 0;

#[memoize(maxsize = SIZE)]
fn f(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
}
