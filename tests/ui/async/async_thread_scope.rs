use memo::memoize;

#[memoize(scope = thread)]
async fn f(x: u32) -> u32 {
    x
}

fn main() {}
