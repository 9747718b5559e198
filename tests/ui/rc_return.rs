use memo::memoize;
use std::rc::Rc;

#[memoize]
fn shared(n: u32) -> Rc<String> {
    Rc::new(n.to_string())
}

fn main() {
    shared(1);
}
