#![deny(unused_variables)]

use memo::memoize;

#[memoize]
fn length(s: &str) -> usize {
    let unused = 1;
    s.len()
}

fn main() {
    length("");
}
