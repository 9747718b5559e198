use memo::memoize;

#[memoize]
fn push(v: &mut Vec<u32>) -> usize {
    v.push(1);
    v.len()
}

fn main() {}
