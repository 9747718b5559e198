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
