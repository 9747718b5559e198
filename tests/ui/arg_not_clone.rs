use memo::memoize;

#[derive(PartialEq, Eq, Hash)]
struct Handle(u32);

#[memoize]
fn describe(handle: Handle) -> String {
    format!("#{}", handle.0)
}

fn main() {
    describe(Handle(1));
}
