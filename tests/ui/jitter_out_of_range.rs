use memo::memoize;

#[memoize(ttl = std::time::Duration::from_secs(60), jitter = 1.5)]
fn spread(n: u32) -> u32 {
    n
}

#[memoize(jitter = 0.1)]
fn never_expires(n: u32) -> u32 {
    n
}

#[memoize(ttl = std::time::Duration::from_secs(60), jitter = -0.5)]
fn negative(n: u32) -> u32 {
    n
}

fn main() {
    negative(1);
    spread(1);
    never_expires(1);
}
