//! Generic functions: one cache per instantiation, never a value of one
//! instantiation returned for another, even when two instantiations have one
//! key and one value type; `typed` (Python's `typed=True`) asks for what every
//! function does already.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use memo::memoize;

static LABEL_RUNS: AtomicUsize = AtomicUsize::new(0);
static TYPED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[memoize(key = u64::from(x))]
fn label<T: Copy>(x: T) -> String
where
    u64: From<T>,
{
    LABEL_RUNS.fetch_add(1, SeqCst);
    format!("#{}", u64::from(x))
}

#[memoize(key = u64::from(x), typed)]
fn label_typed<T: Copy>(x: T) -> String
where
    u64: From<T>,
{
    TYPED_RUNS.fetch_add(1, SeqCst);
    format!("#{}", u64::from(x))
}

#[test]
fn instantiations_with_one_key_and_value_type_are_cached_apart() {
    assert_eq!(label(1_u8), "#1");
    assert_eq!(label(1_u16), "#1");
    assert_eq!(label(1_u16), "#1");
    assert_eq!(LABEL_RUNS.load(SeqCst), 2);
    assert_eq!(label_cache().info().hits, 1);
}

#[test]
fn typed_instantiations_are_cached_apart() {
    assert_eq!(label_typed(1_u8), "#1");
    assert_eq!(label_typed(1_u16), "#1");
    assert_eq!(label_typed(1_u16), "#1");
    assert_eq!(TYPED_RUNS.load(SeqCst), 2);
    let info = label_typed_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (1, 2, 2));
    // `remove` reaches every instantiation whose key is a u64.
    assert!(label_typed_cache().remove(&1_u64));
    assert!(label_typed_cache().is_empty());
}

#[memoize(maxsize = 8)]
fn describe<T: Debug + Hash + Eq + Clone + Send + Sync + 'static>(x: T) -> String {
    format!("{x:?}")
}

#[test]
fn a_value_of_one_instantiation_is_never_returned_for_another() {
    assert_eq!(describe(7_u32), "7");
    assert_eq!(describe(7_i64), "7");
    assert_eq!(describe("7"), "\"7\"");
    assert_eq!(describe(String::from("7")), "\"7\"");
    assert_eq!(describe(7_u32), "7");
    let info = describe_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (1, 4, 4));
    assert_eq!(info.maxsize, Some(8));
    describe_cache().clear();
    assert_eq!(describe_cache().info().currsize, 0);
}

#[memoize]
fn sum_array<const N: usize>(xs: [u32; N]) -> u32 {
    xs.iter().sum()
}

#[test]
fn const_generics_get_a_cache_per_length() {
    assert_eq!(sum_array([1, 2]), 3);
    assert_eq!(sum_array([1, 2, 3]), 6);
    assert_eq!(sum_array([1, 2]), 3);
    assert_eq!(sum_array_cache().info().hits, 1);
}
