use memo::memoize;

#[memoize(ignore = [logger])]
fn fetch(id: u32, log: &str) -> u32 {
    let _ = log;
    id
}

fn main() {
    fetch(1, "");
}
