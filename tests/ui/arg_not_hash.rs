use memo::memoize;

#[derive(Clone, PartialEq, Eq)]
struct Config {
    depth: u32,
}

#[memoize]
fn plan(steps: u32, config: Config) -> u32 {
    steps * config.depth
}

fn main() {
    plan(1, Config { depth: 2 });
}
