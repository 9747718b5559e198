use memo::memoize;

#[memoize]
fn length(s: &str) -> usize {
    let n: u32 = s.len();
    n as usize
}

fn main() {}
