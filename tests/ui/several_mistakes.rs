use memo::memoize;

// Every mistake is reported in one compile.
#[memoize(maxsize = 0, typed = true, ttl)]
fn f(x: &mut u32) -> u32 {
    *x
}

fn main() {}
