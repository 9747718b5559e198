//! Every function shape `#[memoize]` accepts behaves as written: methods,
//! `ignore`, associated and nested functions, visibility, `macro_rules!`,
//! `unsafe fn`, attributes, and argument names the expansion might use.

#![allow(clippy::unused_self)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use memo::memoize;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Rect {
    w: u32,
    h: u32,
}

static AREA_RUNS: AtomicUsize = AtomicUsize::new(0);

impl Rect {
    /// The receiver is part of the key: two rectangles never share a result.
    #[memoize]
    fn area(&self) -> u32 {
        AREA_RUNS.fetch_add(1, SeqCst);
        self.w * self.h
    }

    #[memoize(maxsize = 16)]
    fn scaled(&self, k: u32) -> Self {
        Rect { w: self.w * k, h: self.h * k }
    }

    /// An associated function without a receiver, naming `Self`.
    #[memoize]
    fn square(side: u32) -> Self {
        Self { w: side, h: side }
    }

    /// One cache for all instances, on purpose: the kind does not depend on
    /// the rectangle.
    #[memoize(ignore = [self])]
    fn kind(&self) -> &'static str {
        "rectangle"
    }
}

#[test]
fn methods_key_on_the_receiver() {
    let (a, b) = (Rect { w: 1, h: 2 }, Rect { w: 3, h: 4 });
    assert_eq!(a.area(), 2);
    assert_eq!(b.area(), 12);
    assert_eq!(a.area(), 2);
    assert_eq!(AREA_RUNS.load(SeqCst), 2);
    let info = Rect::area_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (1, 2, 2));
    assert!(Rect::area_cache().remove(&a));

    assert_eq!(a.scaled(2), Rect { w: 2, h: 4 });
    assert_eq!(b.scaled(2), Rect { w: 6, h: 8 });
    assert_eq!(Rect::scaled_cache().info().maxsize, Some(16));
    assert_eq!(Rect::square(3), Rect { w: 3, h: 3 });
    assert_eq!(Rect::square_cache().len(), 1);

    assert_eq!(a.kind(), "rectangle");
    assert_eq!(b.kind(), "rectangle");
    assert_eq!(Rect::kind_cache().info().hits, 1);
}

/// Not `Hash`, `Eq` or `Clone`: fine, since it is ignored.
struct Logger {
    lines: std::sync::Mutex<Vec<String>>,
}

#[memoize(ignore = [log])]
fn lookup_user(id: u32, log: &Logger) -> String {
    log.lines.lock().unwrap().push(format!("fetching {id}"));
    format!("user-{id}")
}

#[test]
fn ignored_arguments_are_left_out_of_the_key() {
    let log = Logger { lines: std::sync::Mutex::new(Vec::new()) };
    assert_eq!(lookup_user(7, &log), "user-7");
    assert_eq!(lookup_user(7, &log), "user-7");
    assert_eq!(lookup_user(8, &log), "user-8");
    assert_eq!(*log.lines.lock().unwrap(), ["fetching 7", "fetching 8"]);
}

#[test]
fn nested_functions_work() {
    #[memoize]
    fn inner(x: u64) -> u64 {
        if x == 0 { 0 } else { x + inner(x - 1) }
    }
    assert_eq!(inner(100), 5050);
    assert_eq!(inner_cache().len(), 101);
}

mod shapes {
    use memo::memoize;

    #[memoize]
    pub fn public(x: u8) -> u8 {
        x + 1
    }

    #[memoize]
    pub(crate) fn crate_visible(x: u8) -> u8 {
        x + 2
    }

    pub mod deeper {
        #[memo::memoize(maxsize = 4)]
        pub(in crate::shapes) fn module_visible(x: u8) -> u8 {
            x + 3
        }

        pub fn call(x: u8) -> (u8, usize) {
            (module_visible(x), module_visible_cache().len())
        }
    }
}

#[test]
fn visibility_is_kept_for_function_and_handle() {
    assert_eq!(shapes::public(1), 2);
    assert_eq!(shapes::public_cache().len(), 1);
    assert_eq!(shapes::crate_visible(1), 3);
    assert_eq!(shapes::crate_visible_cache().len(), 1);
    assert_eq!(shapes::deeper::call(1), (4, 1));
}

macro_rules! memoized_power {
    ($name:ident, $exp:expr) => {
        #[memoize]
        fn $name(x: u64) -> u64 {
            x.pow($exp)
        }
    };
}

memoized_power!(squared, 2);
memoized_power!(cubed, 3);

#[test]
fn functions_from_macro_rules_work_and_keep_their_own_caches() {
    assert_eq!(squared(3), 9);
    assert_eq!(cubed(3), 27);
    assert_eq!(squared(3), 9);
    assert_eq!((squared_cache().info().hits, cubed_cache().info().hits), (1, 0));
}

/// # Safety
///
/// `p` must point to a readable `u32`.
#[memoize(key = p as usize)]
unsafe fn read_through(p: *const u32) -> u32 {
    // SAFETY: the caller promises that `p` is readable.
    unsafe { *p }
}

#[test]
fn unsafe_fn_works() {
    let x = 41_u32;
    // SAFETY: `&x` is readable.
    assert_eq!(unsafe { read_through(&x) }, 41);
    assert_eq!(read_through_cache().len(), 1);
}

/// Doubles `x`. (This doc comment is the memoized function's.)
#[memoize]
#[inline]
#[must_use]
#[allow(clippy::needless_pass_by_value)]
fn attributes(x: String) -> usize {
    x.len() * 2
}

#[cfg(any())]
#[memoize]
fn configured_out(x: u8) -> u8 {
    x
}

// If `#[cfg]` did not apply to the handle, this would be a second
// `configured_out_cache` beside the generated one.
#[allow(dead_code)]
fn configured_out_cache() {}

#[deprecated(note = "use `attributes`")]
#[memoize]
fn old(x: u8) -> u8 {
    if x == 0 { 0 } else { old(x - 1) }
}

#[test]
fn attributes_are_kept() {
    assert_eq!(attributes(String::from("ab")), 4);
    #[allow(deprecated)]
    let old = old(3);
    assert_eq!(old, 0);
    configured_out_cache();
}

#[memoize]
#[allow(clippy::many_single_char_names)]
fn names(key: u8, cache: u8, value: u8, result: u8, store: u8, args: u8) -> u32 {
    let handle = 1;
    u32::from(key + cache + value + result + store + args) + handle
}

#[test]
fn argument_names_the_expansion_might_use_still_work() {
    assert_eq!(names(1, 2, 3, 4, 5, 6), 22);
    assert_eq!(names(1, 2, 3, 4, 5, 6), 22);
    assert_eq!(names_cache().info().hits, 1);
}

/// A default method of a trait: the receiver is part of the key, so each
/// implementor (and each value) has its own entries; the handle is a provided
/// function of the trait, covering every implementor.
trait Describe: Clone + Eq + std::hash::Hash + Send + Sync + 'static {
    fn name(&self) -> String;

    #[memoize]
    fn describe(&self) -> String {
        format!("<{}>", self.name())
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Cat;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Dog;

impl Describe for Cat {
    fn name(&self) -> String {
        String::from("cat")
    }
}

impl Describe for Dog {
    fn name(&self) -> String {
        String::from("dog")
    }
}

#[test]
fn default_methods_of_traits_work() {
    assert_eq!(Cat.describe(), "<cat>");
    assert_eq!(Dog.describe(), "<dog>");
    assert_eq!(Cat.describe(), "<cat>");
    let info = Cat::describe_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (1, 2, 2));
    assert!(std::ptr::eq(Cat::describe_cache(), Dog::describe_cache()));
}

// A type passed to `macro_rules!` as `$t:ty` comes wrapped in an invisible
// group: `&str` is still an argument taken by reference, and `Result` still
// a `Result` (not cached when it is an `Err`).
macro_rules! by_type {
    ($name:ident, $t:ty, $r:ty) => {
        #[memoize]
        fn $name(x: $t) -> $r {
            if x.is_empty() { Err(()) } else { Ok(x.len()) }
        }
    };
}
by_type!(len_via_macro, &str, Result<usize, ()>);

#[memoize]
#[allow(unused_parens)] // the shape under test
fn len_in_parens(x: (&str)) -> usize {
    x.len()
}

#[test]
fn types_from_macro_rules_and_in_parentheses_keep_their_meaning() {
    assert_eq!(len_via_macro("abc"), Ok(3));
    assert_eq!(len_via_macro("abc"), Ok(3));
    assert_eq!(len_via_macro(""), Err(()));
    assert_eq!(len_via_macro(""), Err(()));
    let info = len_via_macro_cache().info();
    assert_eq!((info.hits, info.currsize), (1, 1), "an Err is not cached");
    assert_eq!(len_in_parens("ab"), len_in_parens("ab"));
    assert_eq!(len_in_parens_cache().info().hits, 1);
}
