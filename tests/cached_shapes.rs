//! Every shape that compiles is cached: none silently computes on every
//! call. The expansion reaches the cache through a probe of the key and
//! value types, which would choose lookups that always miss if the types
//! could not be cached (after the checks reported why); this file holds the
//! probe to choosing the cache for each kind of argument, return type,
//! option and scope: the second call of each function is a hit.

use std::hash::Hash;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use memo::{CacheHandle, Lru, Tiered, Unbounded, memoize};

fn hit_on_second_call<R: PartialEq + core::fmt::Debug>(handle: &CacheHandle, mut call: impl FnMut() -> R) {
    let first = call();
    assert_eq!(call(), first);
    let info = handle.info();
    assert_eq!((info.hits, info.misses), (1, 1), "{} did not cache", handle.name());
}

#[memoize]
fn by_u64(x: u64) -> u64 {
    x + 1
}
#[memoize]
fn by_str(x: &str) -> usize {
    x.len()
}
#[memoize]
fn by_bytes(x: &[u8]) -> usize {
    x.len()
}
#[memoize]
fn by_path(x: &Path) -> usize {
    x.as_os_str().len()
}
#[memoize]
fn by_ref_u32(x: &u32) -> u32 {
    *x
}
#[memoize]
fn by_ref_vec(x: &Vec<u8>) -> usize {
    x.len()
}
#[memoize]
fn by_string(x: String) -> usize {
    x.len()
}
#[memoize]
fn by_box_str(x: Box<str>) -> usize {
    x.len()
}
#[memoize]
fn by_tuple_pattern((a, b): (u8, String)) -> String {
    format!("{a}{b}")
}
#[memoize]
fn by_option(x: Option<u32>) -> Option<u32> {
    x
}
#[memoize]
fn by_array(x: [u32; 3]) -> u32 {
    x.iter().sum()
}
#[memoize]
fn by_lifetime<'a>(x: &'a str, y: &'a str) -> usize {
    x.len() + y.len()
}
#[memoize]
fn none() -> Arc<str> {
    Arc::from("none")
}
#[memoize]
#[allow(clippy::too_many_arguments)]
fn twelve(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8, i: u8, j: u8, k: u8, l: &str) -> usize {
    usize::from(a + b + c + d + e + f + g + h + i + j + k) + l.len()
}
#[memoize]
fn returns_result(x: u32) -> Result<u32, String> {
    Ok(x)
}
#[memoize]
fn where_clause<T>(x: T) -> String
where
    T: Hash + Eq + Clone + Send + Sync + core::fmt::Debug + 'static,
{
    format!("{x:?}")
}
#[memoize(key = x.to_string())]
fn keyed<T: ToString>(x: T) -> usize {
    x.to_string().len()
}
#[memoize(maxsize = 4)]
fn lru(x: u32) -> u32 {
    x
}
#[memoize(ttl = Duration::from_secs(60))]
fn expiring(x: u32) -> u32 {
    x
}
#[memoize(ttl = Duration::from_secs(60), maxsize = 8)]
fn expiring_lru(x: &str) -> String {
    x.to_owned()
}
#[memoize(store = Unbounded::new())]
fn own_store(x: u32) -> u32 {
    x
}
#[memoize(store = Lru::new(core::num::NonZeroUsize::new(4).unwrap()))]
fn own_lru(x: u32) -> u32 {
    x
}
#[memoize(store = Tiered::new(Lru::new(core::num::NonZeroUsize::new(4).unwrap()), Unbounded::new()))]
fn tiered(x: u32) -> u32 {
    x
}
#[memoize(single_flight = false)]
fn no_single_flight(x: u32) -> u32 {
    x
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Holder<T>(T);

impl<T: Hash + Eq + Clone + Send + Sync + 'static> Holder<T> {
    #[memoize]
    fn get(&self, k: u8) -> u8 {
        k
    }
}

#[test]
fn every_argument_shape_is_cached() {
    hit_on_second_call(by_u64_cache(), || by_u64(1));
    hit_on_second_call(by_str_cache(), || by_str("a"));
    hit_on_second_call(by_bytes_cache(), || by_bytes(b"a"));
    hit_on_second_call(by_path_cache(), || by_path(Path::new("/a")));
    hit_on_second_call(by_ref_u32_cache(), || by_ref_u32(&1));
    hit_on_second_call(by_ref_vec_cache(), || by_ref_vec(&vec![1]));
    hit_on_second_call(by_string_cache(), || by_string("a".into()));
    hit_on_second_call(by_box_str_cache(), || by_box_str("a".into()));
    hit_on_second_call(by_tuple_pattern_cache(), || by_tuple_pattern((1, "a".into())));
    hit_on_second_call(by_option_cache(), || by_option(Some(1)));
    hit_on_second_call(by_array_cache(), || by_array([1, 2, 3]));
    hit_on_second_call(by_lifetime_cache(), || by_lifetime("a", "b"));
    hit_on_second_call(none_cache(), none);
    hit_on_second_call(twelve_cache(), || twelve(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "a"));
    hit_on_second_call(returns_result_cache(), || returns_result(1));
    hit_on_second_call(where_clause_cache(), || where_clause(1_u8));
    hit_on_second_call(keyed_cache(), || keyed(12));
    hit_on_second_call(Holder::<u8>::get_cache(), || Holder(1_u8).get(2));
}

#[test]
fn every_option_is_cached() {
    hit_on_second_call(lru_cache(), || lru(1));
    hit_on_second_call(expiring_cache(), || expiring(1));
    hit_on_second_call(expiring_lru_cache(), || expiring_lru("a"));
    hit_on_second_call(own_store_cache(), || own_store(1));
    hit_on_second_call(own_lru_cache(), || own_lru(1));
    hit_on_second_call(tiered_cache(), || tiered(1));
    hit_on_second_call(no_single_flight_cache(), || no_single_flight(1));
}

#[memoize(scope = thread)]
fn local_rc(x: &str) -> Rc<str> {
    Rc::from(x)
}

#[memoize(scope = thread, key = x.len())]
fn local_keyed(x: &str) -> usize {
    x.len()
}

#[test]
fn thread_scope_is_cached() {
    assert_eq!(local_rc("a"), local_rc("a"));
    assert_eq!(local_keyed("ab"), local_keyed("cd"));
    assert_eq!(local_rc_cache().info().hits, 1);
    assert_eq!(local_keyed_cache().info().hits, 1);
}

#[cfg(feature = "async")]
#[memoize]
async fn async_str(x: &str) -> usize {
    x.len()
}

#[cfg(feature = "async")]
#[memoize(ttl = Duration::from_secs(60))]
async fn async_expiring(x: u32) -> u32 {
    x
}

#[cfg(feature = "async")]
#[test]
fn async_is_cached() {
    futures_executor::block_on(async {
        assert_eq!(async_str("ab").await, async_str("ab").await);
        assert_eq!(async_expiring(1).await, async_expiring(1).await);
    });
    assert_eq!(async_str_cache().info().hits, 1);
    assert_eq!(async_expiring_cache().info().hits, 1);
}
