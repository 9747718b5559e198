//! A test that must finish: runs on a thread of its own, and a hang is a
//! failure with the test's name instead of a CI job that never ends.

#![allow(dead_code, reason = "each test file uses some of these")]

use std::sync::mpsc;
use std::time::Duration;

/// Runs `test` on another thread; fails if it does not finish in `limit` (the
/// stuck thread is left behind, the verdict is not), and passes its panic on.
pub fn within(name: &str, limit: Duration, test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let runner = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            test();
            let _ = done.send(());
        })
        .expect("spawn the test's thread");
    match finished.recv_timeout(limit) {
        Ok(()) => runner.join().expect("the test finished"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = runner.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: no progress in {limit:?}: a hang"),
    }
}
