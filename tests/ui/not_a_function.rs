use memo::memoize;

#[memoize]
struct S;

fn main() {}
