use memo::memoize;

struct Report {
    lines: Vec<String>,
}

#[memoize]
fn report(n: u32) -> Report {
    Report { lines: vec![n.to_string()] }
}

fn main() {
    report(1);
}
