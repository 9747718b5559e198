//! Cache identity: every function item, and every instantiation of a generic
//! one, has entries of its own, whether or not its generic parameters appear
//! in the argument or return types; items that one `macro_rules!` expansion
//! writes are different functions with different caches and handles.
//!
//! Each test calls one instantiation or item first and then another with the
//! same arguments, which is where a cache found by place and key type alone
//! returned the first one's value.

use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use memo::memoize;

#[memoize]
fn size_of_t<T: 'static>(x: u64) -> usize {
    std::mem::size_of::<T>() * usize::try_from(x).unwrap()
}

#[test]
fn a_type_parameter_only_in_the_body_gets_a_cache_per_instantiation() {
    assert_eq!(size_of_t::<u8>(2), 2);
    assert_eq!(size_of_t::<u64>(2), 16);
    assert_eq!(size_of_t::<u8>(2), 2);
    assert_eq!(size_of_t::<u64>(2), 16);
    let info = size_of_t_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (2, 2, 2));
}

#[memoize]
fn times<const N: u64>(x: u64) -> u64 {
    N * x
}

#[test]
fn const_parameters_get_a_cache_each() {
    assert_eq!(times::<2>(5), 10);
    assert_eq!(times::<3>(5), 15);
    assert_eq!(times::<2>(5), 10);
    assert_eq!(times::<3>(5), 15);
}

trait Unit {
    const SCALE: u64;
}
struct Meters;
struct Km;
impl Unit for Meters {
    const SCALE: u64 = 1;
}
impl Unit for Km {
    const SCALE: u64 = 1000;
}

struct Conv<U>(std::marker::PhantomData<U>);

impl<U: Unit + 'static> Conv<U> {
    #[memoize]
    fn mm(x: u64) -> u64 {
        x * U::SCALE * 1000
    }
}

#[test]
fn the_generics_of_the_impl_give_a_cache_each() {
    assert_eq!(Conv::<Meters>::mm(1), 1000);
    assert_eq!(Conv::<Km>::mm(1), 1_000_000);
    assert_eq!(Conv::<Meters>::mm(1), 1000);
    // One handle covers every instantiation.
    assert_eq!(Conv::<Meters>::mm_cache().len(), 2);
    assert!(core::ptr::eq(Conv::<Meters>::mm_cache(), Conv::<Km>::mm_cache()));
}

trait Scaled {
    const K: u64;
    #[memoize]
    fn scaled(x: u64) -> u64 {
        x * Self::K
    }
}
struct A;
struct B;
impl Scaled for A {
    const K: u64 = 2;
}
impl Scaled for B {
    const K: u64 = 3;
}

#[test]
fn self_in_a_provided_method_gives_a_cache_per_implementor() {
    assert_eq!(A::scaled(5), 10);
    assert_eq!(B::scaled(5), 15);
    assert_eq!(A::scaled(5), 10);
    assert_eq!(B::scaled(5), 15);
}

static FOOTPRINT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[memoize]
fn footprint<T: ?Sized + Hash + Eq + Send + Sync + ToOwned<Owned = String>>(x: &T) -> usize {
    FOOTPRINT_RUNS.fetch_add(1, SeqCst);
    std::mem::size_of_val(x)
}

#[test]
fn instantiations_with_one_owned_key_type_are_kept_apart() {
    let s = String::from("hello");
    let as_str = footprint::<str>(&s);
    let as_string = footprint::<String>(&s);
    assert_eq!(as_str, 5);
    assert_eq!(as_string, std::mem::size_of::<String>());
    assert_eq!(footprint::<str>(&s), 5);
    assert_eq!(FOOTPRINT_RUNS.load(SeqCst), 2);
}

trait Unit2 {
    const SCALE: u64;
}
struct Small;
impl Unit2 for Small {
    const SCALE: u64 = 7;
}
struct Big;
impl Unit2 for Big {
    const SCALE: u64 = 11;
}

#[derive(Clone)]
struct Meter(u64);
impl Meter {
    #[memoize]
    fn read<U: Unit2 + 'static>(&self, x: u64) -> u64 {
        self.0 * x * U::SCALE
    }
}

#[test]
fn generic_methods_with_self_get_a_cache_per_instantiation() {
    let m = Meter(2);
    assert_eq!(m.read::<Small>(3), 42);
    assert_eq!(m.read::<Big>(3), 66);
    assert_eq!(m.read::<Small>(3), 42);
}

impl PartialEq for Meter {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Meter {}
impl Hash for Meter {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

#[memoize(scope = thread)]
fn local_size<T: 'static>(x: u64) -> usize {
    std::mem::size_of::<T>() * usize::try_from(x).unwrap()
}

#[test]
fn thread_scope_keeps_instantiations_apart() {
    assert_eq!(local_size::<u8>(3), 3);
    assert_eq!(local_size::<u32>(3), 12);
    assert_eq!(local_size::<u8>(3), 3);
    assert_eq!(local_size::<u32>(3), 12);
    assert_eq!(local_size_cache().info().hits, 2);
}

#[memoize(key = u64::from(x))]
fn keyed<T: Copy + 'static>(x: T) -> &'static str
where
    u64: From<T>,
{
    std::any::type_name::<T>()
}

#[test]
fn a_key_expression_does_not_merge_instantiations() {
    assert_eq!(keyed(1_u8), "u8");
    assert_eq!(keyed(1_u16), "u16");
    assert_eq!(keyed(1_u8), "u8");
}

#[memoize(typed, maxsize = 4)]
fn typed_size<T: Default + Hash + Eq + Clone + Send + Sync + 'static>(x: T) -> usize {
    let _ = x;
    std::mem::size_of::<T>()
}

#[test]
fn typed_and_maxsize_keep_instantiations_apart() {
    assert_eq!(typed_size(0_u8), 1);
    assert_eq!(typed_size(0_u64), 8);
    assert_eq!(typed_size(0_u8), 1);
}

#[memoize]
fn with_lifetime<'a, T: 'static>(s: &'a str) -> usize {
    s.len() * std::mem::size_of::<T>()
}

#[test]
fn lifetimes_do_not_matter_type_parameters_do() {
    let owned = String::from("abc");
    assert_eq!(with_lifetime::<u16>(&owned), 6);
    assert_eq!(with_lifetime::<u32>("abc"), 12);
    assert_eq!(with_lifetime::<u16>("abc"), 6);
    assert_eq!(with_lifetime_cache().info().hits, 1);
}

// Items written by one `macro_rules!` expansion, from one definition: same
// module, file, line and column.

macro_rules! scaled {
    ($($t:ident => $k:expr),*) => {
        $(
            struct $t;
            impl $t {
                #[memoize]
                fn scale(x: u32) -> u32 {
                    x * $k
                }
            }
        )*
    };
}
scaled!(Doubler => 2, Tripler => 3);

#[test]
fn associated_functions_from_one_macro_call_are_different_functions() {
    assert_eq!(Doubler::scale(5), 10);
    assert_eq!(Tripler::scale(5), 15);
    assert_eq!(Doubler::scale(5), 10);
    assert!(!core::ptr::eq(Doubler::scale_cache(), Tripler::scale_cache()));
    assert_eq!(Doubler::scale_cache().len(), 1);
}

macro_rules! helpers {
    ($($name:ident => $k:expr),*) => {
        $(
            fn $name(x: u32) -> u32 {
                #[memoize]
                fn helper(x: u32) -> u32 {
                    x + $k
                }
                helper(x)
            }
        )*
    };
}
helpers!(plus_one => 1, plus_two => 2);

#[test]
fn nested_functions_from_one_macro_call_are_different_functions() {
    assert_eq!(plus_one(5), 6);
    assert_eq!(plus_two(5), 7);
    assert_eq!(plus_one(5), 6);
    assert_eq!(plus_two(5), 7);
}

macro_rules! counters {
    ($($t:ident),*) => {
        $(
            #[derive(Clone, PartialEq, Eq, Hash)]
            struct $t(u32);
            impl $t {
                // Identical tokens for both types.
                #[memoize]
                fn value(&self) -> u32 {
                    self.0
                }
            }
        )*
    };
}
counters!(Apples, Pears);

#[test]
fn methods_from_one_macro_call_have_a_handle_each() {
    assert_eq!(Apples(1).value(), 1);
    assert_eq!(Pears(1).value(), 1);
    assert_eq!(Apples(2).value(), 2);
    Apples::value_cache().clear();
    assert_eq!(Apples::value_cache().len(), 0);
    assert_eq!(Pears::value_cache().len(), 1, "clearing one function's cache cleared another's");
}

// Generic functions with many instantiations: more than any first slot holds,
// and more than the first table of the map of the others.
struct N<const I: usize>;

trait Index {
    const I: usize;
}
impl<const I: usize> Index for N<I> {
    const I: usize = I;
}

#[memoize]
fn index<T: Index + 'static>(x: usize) -> usize {
    T::I * 1000 + x
}

#[test]
fn many_instantiations_each_keep_their_own_entries() {
    macro_rules! each {
        ($($i:literal)*) => {
            for round in 0..3 {
                $(assert_eq!(index::<N<$i>>(round), $i * 1000 + round);)*
            }
        };
    }
    each!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39);
    let info = index_cache().info();
    assert_eq!((info.misses, info.currsize), (120, 120));
    assert_eq!(index_cache().len(), 120);
}

#[test]
fn many_instantiations_from_many_threads_each_keep_their_own_entries() {
    std::thread::scope(|s| {
        for t in 0..4_usize {
            s.spawn(move || {
                macro_rules! each {
                    ($($i:literal)*) => {
                        for round in 0..50 {
                            $(assert_eq!(index_threads::<N<$i>>(round % 7 + t), $i * 1000 + round % 7 + t);)*
                        }
                    };
                }
                each!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
            });
        }
    });
}

#[memoize]
fn index_threads<T: Index + 'static>(x: usize) -> usize {
    T::I * 1000 + x
}

#[cfg(feature = "async")]
#[memoize]
async fn async_size<T: 'static>(x: u64) -> usize {
    std::mem::size_of::<T>() * usize::try_from(x).unwrap()
}

#[cfg(feature = "async")]
#[test]
fn a_generic_async_fn_gets_a_cache_per_instantiation() {
    futures_executor::block_on(async {
        assert_eq!(async_size::<u8>(2).await, 2);
        assert_eq!(async_size::<u32>(2).await, 8);
        assert_eq!(async_size::<u8>(2).await, 2);
        assert_eq!(async_size::<u32>(2).await, 8);
    });
    assert_eq!(async_size_cache().info().hits, 2);
}

#[cfg(feature = "async")]
#[memoize(ttl = std::time::Duration::from_secs(60))]
async fn async_expiring_size<T: 'static>(x: u64) -> usize {
    std::mem::size_of::<T>() * usize::try_from(x).unwrap()
}

#[cfg(feature = "async")]
#[test]
fn a_generic_async_fn_with_ttl_gets_a_cache_per_instantiation() {
    futures_executor::block_on(async {
        assert_eq!(async_expiring_size::<u16>(3).await, 6);
        assert_eq!(async_expiring_size::<u64>(3).await, 24);
        assert_eq!(async_expiring_size::<u16>(3).await, 6);
    });
}

#[memoize(ttl = std::time::Duration::from_secs(60), maxsize = 8)]
fn expiring_size<T: 'static>(x: u64) -> usize {
    std::mem::size_of::<T>() * usize::try_from(x).unwrap()
}

#[test]
fn a_generic_fn_with_ttl_and_maxsize_gets_a_cache_per_instantiation() {
    assert_eq!(expiring_size::<u16>(3), 6);
    assert_eq!(expiring_size::<u64>(3), 24);
    assert_eq!(expiring_size::<u16>(3), 6);
}
