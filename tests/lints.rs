//! The expansion is lint-clean: this file denies every warning and warns on
//! clippy's pedantic lints, and CI runs clippy on it with `-D warnings`. The
//! user's own lints still apply to the body.

#![deny(warnings)]
#![warn(clippy::pedantic)]

use std::sync::Arc;

use memo::memoize;

#[memoize]
fn plain(n: u64) -> u64 {
    if n < 2 { n } else { plain(n - 1) + plain(n - 2) }
}

#[memoize(maxsize = 64, typed)]
fn generic<T: std::fmt::Display + std::hash::Hash + Eq + Clone + Send + Sync + 'static>(x: T) -> Arc<str> {
    Arc::from(x.to_string())
}

#[memoize(key = (a, b.len()))]
fn keyed(a: u32, b: &str) -> String {
    format!("{a}{b}")
}

#[memoize]
fn borrowed(s: &str, bytes: &[u8], (x, y): (i32, i32)) -> usize {
    s.len() + bytes.len() + usize::try_from(x.abs() + y.abs()).unwrap_or(0)
}

#[memoize]
fn nothing() {}

#[memoize(scope = thread, maxsize = 8)]
fn per_thread(s: &str) -> std::rc::Rc<str> {
    std::rc::Rc::from(s)
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Point {
    x: i64,
}

impl Point {
    #[memoize]
    fn norm(&self) -> i64 {
        self.x.abs()
    }

    #[memoize(ignore = [self])]
    fn origin(&self) -> Self {
        Point { x: 0 }
    }
}

// Bodies of one expression, of every kind: the expansion must not wrap them
// in braces that `unused_braces` flags (a warning, and so an error here).

#[memoize]
fn one_binary(x: u32) -> u32 {
    x * 2
}

#[memoize]
fn one_literal(x: u32) -> u32 {
    let _ = x;
    7
}

#[memoize]
fn only_literal(_x: u32) -> u32 {
    7
}

#[memoize]
fn only_path(x: u32) -> u32 {
    x
}

#[memoize]
fn only_call(x: u32) -> u32 {
    u32::wrapping_add(x, 1)
}

#[memoize]
fn only_method(x: u32) -> u32 {
    x.wrapping_mul(3)
}

#[memoize]
fn only_if(x: u32) -> u32 {
    if x > 1 { x } else { 1 }
}

#[memoize]
fn only_match(x: u32) -> u32 {
    match x {
        0 => 1,
        n => n,
    }
}

#[memoize]
fn only_block(x: u32) -> u32 {
    {
        let y = x + 1;
        y * y
    }
}

#[memoize]
fn only_macro(x: u32) -> String {
    format!("{x}")
}

#[memoize]
fn only_unit(_x: u32) {}

#[memoize]
fn only_cast(x: u32) -> u64 {
    u64::from(x)
}

#[memoize]
fn only_tuple(x: u32) -> (u32, u32) {
    (x, x)
}

#[memoize]
fn only_unsafe_free_closure_call(x: u32) -> u32 {
    (|| x)()
}

#[cfg(feature = "async")]
#[memoize]
async fn only_async(x: u32) -> u32 {
    x * 2
}

#[memoize(scope = thread)]
fn only_local(x: u32) -> u32 {
    x * 2
}

#[memoize(ttl = std::time::Duration::from_secs(60))]
fn only_expiring(x: u32) -> u32 {
    x * 2
}

#[test]
fn one_expression_bodies_run() {
    assert_eq!(one_binary(2), 4);
    assert_eq!(one_literal(2), 7);
    assert_eq!(only_literal(2), 7);
    assert_eq!(only_path(2), 2);
    assert_eq!(only_call(2), 3);
    assert_eq!(only_method(2), 6);
    assert_eq!(only_if(2), 2);
    assert_eq!(only_match(0), 1);
    assert_eq!(only_block(2), 9);
    assert_eq!(only_macro(2), "2");
    only_unit(1);
    assert_eq!(only_cast(2), 2);
    assert_eq!(only_tuple(2), (2, 2));
    assert_eq!(only_unsafe_free_closure_call(2), 2);
    #[cfg(feature = "async")]
    assert_eq!(futures_executor::block_on(only_async(2)), 4);
    assert_eq!(only_local(2), 4);
    assert_eq!(only_expiring(2), 4);
}

#[test]
fn lint_clean_shapes_run() {
    assert_eq!(plain(20), 6765);
    assert_eq!(&*generic(5_u8), "5");
    assert_eq!(keyed(1, "a"), "1a");
    assert_eq!(borrowed("ab", &[1], (1, -2)), 6);
    nothing();
    assert_eq!(&*per_thread("a"), "a");
    assert_eq!(Point { x: -3 }.norm(), 3);
    assert_eq!(Point { x: -3 }.origin().x, 0);
}

#[memoize(ignore = [_log])]
fn underscore_ignored(x: u32, _log: &str) -> u32 {
    x
}

#[test]
fn underscore_arguments_are_keys_or_ignored() {
    assert_eq!(underscore_ignored(3, "a"), 3);
    assert_eq!(underscore_ignored(3, "b"), 3);
    assert_eq!(underscore_ignored_cache().info().hits, 1);
    assert_eq!(only_literal(1), only_literal(2));
    assert_eq!(only_literal_cache().info().misses, 2);
}
