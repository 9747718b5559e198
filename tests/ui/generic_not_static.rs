// A generic key type without `'static`: the cache outlives every call, so it
// needs owned keys that live as long; one error, at the argument.
use std::hash::Hash;

use memo::memoize;

#[memoize]
fn count<T: Hash + Eq + Clone + Send + Sync>(x: T) -> u32 {
    let _ = x;
    1
}

fn main() {
    count(1_u8);
}
