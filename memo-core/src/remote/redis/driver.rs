//! The thread that drives memo's Redis connections.
//!
//! redis-rs's sync connections bound each read of the socket, not a request:
//! a server that sends one byte every 30 ms keeps a 50 ms read timeout happy
//! for as long as it likes. Its async connections can be dropped at any
//! point, so a request wrapped in a timer ends at the deadline, whatever the
//! server does. They need an executor: one thread of memo's own, named
//! `memo-redis` and started at the first Redis operation of the process,
//! runs a single-threaded tokio runtime for every Redis store. The calling
//! thread hands it the request and waits for the answer, at most the
//! deadline, on a channel: no tokio runtime is entered on the caller's
//! thread, so a memoized function may be called from inside one.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use tokio::runtime::{Builder, Handle};

use crate::store::StoreError;

/// What the caller waits beyond the deadline, for the driver to notice it.
const SLACK: Duration = Duration::from_millis(20);

/// The runtime of the driver thread, started at the first call.
fn driver() -> Result<&'static Handle, StoreError> {
    static DRIVER: OnceLock<Result<Handle, String>> = OnceLock::new();
    DRIVER
        .get_or_init(|| {
            let runtime = Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(|error| format!("cannot start memo's Redis runtime: {error}"))?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name(String::from("memo-redis"))
                .spawn(move || runtime.block_on(core::future::pending::<()>()))
                .map_err(|error| format!("cannot start memo's Redis thread: {error}"))?;
            Ok(handle)
        })
        .as_ref()
        .map_err(|why| StoreError::new(why.clone()))
}

/// Runs `task` on the driver thread and waits for its outcome, at most
/// `limit` (and a little slack): `task` must end by itself within `limit`,
/// as every request of [`Link`](super::link::Link) does.
pub(super) fn run<T, F>(limit: Duration, task: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let (done, outcome) = mpsc::sync_channel(1);
    driver()?.spawn(async move {
        let _ = done.send(task.await);
    });
    match outcome.recv_timeout(limit.saturating_add(SLACK)) {
        Ok(outcome) => outcome,
        // The task fails by itself at its deadline, and tells the log.
        Err(_) => Err(StoreError::new(format!("no answer within {limit:?}")).told()),
    }
}
