//! Misuse of `#[memoize]` is a compile error at the offending token, with a
//! sentence that says what to write instead. The expected messages are the
//! committed `tests/ui/*.stderr` snapshots; after an intended change of a
//! message, re-bless them with `TRYBUILD=overwrite cargo test --test ui` and
//! review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
