use memo::memoize;

#[memoize]
unsafe extern "C" fn sum(count: u32, args: ...) -> u32 {
    count
}

fn main() {}
