use memo::memoize;

#[memoize]
extern "C" fn square(x: u32) -> u32 {
    x * x
}

fn main() {}
