//! Misuse of `#[memoize]` is a compile error at the offending token, with a
//! sentence that says what to write instead. The expected messages are the
//! committed `tests/ui/**/*.stderr` snapshots.
//!
//! rustc's wording changes between releases, so the snapshots are pinned to
//! the compiler in `tests/ui/RUSTC_VERSION`: under another compiler this test
//! fails and says so, rather than letting a changed message through unread.
//! To re-bless after a toolchain change or an intended change of a message:
//! `TRYBUILD=overwrite cargo test --test ui` and
//! `TRYBUILD=overwrite cargo test --test ui --features async`, review the diff of the
//! `.stderr` files, and write the new `rustc --version` into `RUSTC_VERSION`.

use std::process::Command;

#[test]
fn ui() {
    let pinned = include_str!("ui/RUSTC_VERSION").trim();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| String::from("rustc"));
    let output = Command::new(rustc).arg("--version").output().expect("rustc runs");
    let running = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let blessing = std::env::var_os("TRYBUILD").is_some_and(|v| v == "overwrite");
    assert!(
        blessing || running == pinned,
        "the compile-error snapshots were blessed with `{pinned}`, but this is `{running}`: \
         re-bless them (see the top of tests/ui.rs) and review the changes"
    );

    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    // Misuse on `async fn`, with the `async` feature and without it (`cargo
    // test --test ui` runs the latter).
    if cfg!(feature = "async") {
        cases.compile_fail("tests/ui/async/*.rs");
    } else {
        cases.compile_fail("tests/ui/no_async/*.rs");
    }
}
