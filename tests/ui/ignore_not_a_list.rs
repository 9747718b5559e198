use memo::memoize;

#[memoize(ignore = log)]
fn fetch(id: u32, log: &str) -> u32 {
    let _ = log;
    id
}

fn main() {
    fetch(1, "");
}
