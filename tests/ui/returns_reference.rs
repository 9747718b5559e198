use memo::memoize;

#[memoize]
fn first_word(s: &str) -> &str {
    s.split(' ').next().unwrap_or("")
}

fn main() {}
