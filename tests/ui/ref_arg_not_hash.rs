// An argument taken by reference whose type is not `Hash`: one error, at it.
use memo::memoize;

#[derive(Clone, PartialEq, Eq)]
struct Config {
    depth: u32,
}

#[memoize]
fn plan(config: &Config) -> u32 {
    config.depth
}

fn main() {
    plan(&Config { depth: 2 });
}
