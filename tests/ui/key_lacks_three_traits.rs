// A key type that lacks `Hash`, `Eq` and `Clone`: one error for each, at the
// argument, and none about memo's internals.
use memo::memoize;

struct Query {
    id: u32,
}

#[memoize]
fn run(query: Query) -> u32 {
    query.id
}

fn main() {
    run(Query { id: 1 });
}
