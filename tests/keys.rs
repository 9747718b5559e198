//! Keys: equal arguments give one entry, functions never share entries, a
//! hash collision is a miss, and every argument shape can be a key.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use memo::memoize;

#[memoize]
fn double(x: u32) -> u32 {
    x * 2
}

// Tests run in parallel: each uses functions of its own, so that the counts
// it reads are its own.

#[memoize]
fn times4(x: u32) -> u32 {
    x * 4
}

#[memoize]
fn times5(x: u32) -> u32 {
    x * 5
}

#[test]
fn equal_arguments_give_one_entry() {
    for _ in 0..5 {
        assert_eq!(double(21), 42);
    }
    let info = double_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (4, 1, 1));
}

#[test]
fn two_functions_with_one_signature_never_share_entries() {
    assert_eq!(times4(7), 28);
    assert_eq!(times4_cache().info().misses, 1);
    // `times5(7)` is not answered by `times4`'s entry, and the other way round.
    assert_eq!(times5(7), 35);
    assert_eq!(times5_cache().info().misses, 1);
    assert_eq!(times4(7), 28);
    assert_eq!(times5(7), 35);
    assert_eq!((times4_cache().info().hits, times5_cache().info().hits), (1, 1));
}

/// Every value hashes alike: every lookup collides.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Collides(u32);

impl Hash for Collides {
    fn hash<H: Hasher>(&self, state: &mut H) {
        0_u8.hash(state);
    }
}

#[memoize]
fn unwrap_collision(c: Collides) -> u32 {
    c.0
}

#[memoize(maxsize = 4)]
fn unwrap_collision_lru(c: &Collides) -> u32 {
    c.0
}

#[test]
fn a_hash_collision_is_a_miss_never_a_wrong_value() {
    for round in 0..2 {
        for i in 0..50 {
            assert_eq!(unwrap_collision(Collides(i)), i, "round {round}");
            assert_eq!(unwrap_collision_lru(&Collides(i % 6)), i % 6, "round {round}");
        }
    }
    let info = unwrap_collision_cache().info();
    assert_eq!((info.misses, info.hits, info.currsize), (50, 50, 50));
    assert_eq!(unwrap_collision_lru_cache().info().currsize, 4);
}

static NONE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[memoize]
fn no_arguments() -> Vec<u8> {
    NONE_RUNS.fetch_add(1, SeqCst);
    vec![1, 2, 3]
}

#[memoize]
fn text(s: &str, bytes: &[u8], n: &u64, owned: String) -> String {
    format!("{s}:{bytes:?}:{n}:{owned}")
}

#[memoize]
fn patterns((a, b): (u32, u32), [c, d]: [u8; 2], mut e: u64) -> u64 {
    e += 1;
    u64::from(a + b) + u64::from(c) * u64::from(d) + e
}

#[memoize]
fn unit_result(x: u8) {
    assert!(x < 10);
}

#[memoize]
fn early_return(x: i32) -> Result<u32, String> {
    if x < 0 {
        return Err(format!("{x} is negative"));
    }
    let parsed: u32 = x.to_string().parse().map_err(|_| String::from("unreachable"))?;
    Ok(parsed)
}

#[test]
fn every_argument_shape_is_a_key() {
    assert_eq!(no_arguments(), [1, 2, 3]);
    assert_eq!(no_arguments(), [1, 2, 3]);
    assert_eq!(NONE_RUNS.load(SeqCst), 1);

    let owned = String::from("o");
    assert_eq!(text("a", &[1], &7, owned.clone()), "a:[1]:7:o");
    assert_eq!(text("a", &[1], &7, owned.clone()), "a:[1]:7:o");
    assert_eq!(text("a", &[1, 2], &7, owned), "a:[1, 2]:7:o");
    assert_eq!(text_cache().info().misses, 2);
    assert!(text_cache().remove(&(String::from("a"), vec![1_u8], 7_u64, String::from("o"))));

    assert_eq!(patterns((1, 2), [3, 4], 5), 3 + 12 + 6);
    assert_eq!(patterns((1, 2), [3, 4], 5), 21);
    assert_eq!(patterns((2, 1), [3, 4], 5), 21);
    let info = patterns_cache().info();
    assert_eq!((info.hits, info.misses), (1, 2));

    unit_result(3);
    unit_result(3);
    assert_eq!(unit_result_cache().info().hits, 1);

    assert_eq!(early_return(-1), Err(String::from("-1 is negative")));
    assert_eq!(early_return(12), Ok(12));
}

#[memoize(key = s.len())]
fn by_length(s: &str) -> String {
    s.to_uppercase()
}

#[test]
fn a_custom_key_decides_what_is_equal() {
    assert_eq!(by_length("abc"), "ABC");
    // Same length, same key: the cached value comes back, as asked.
    assert_eq!(by_length("xyz"), "ABC");
    assert_eq!(by_length("long"), "LONG");
    assert!(by_length_cache().remove(&3_usize));
    assert_eq!(by_length("xyz"), "XYZ");
}
