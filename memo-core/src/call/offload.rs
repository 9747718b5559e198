//! memo's I/O threads: where the blocking operations of a store on a cache
//! server run for `async fn`s, so that a task never blocks its executor's
//! thread on the network. Executor-agnostic: a job's result wakes the task's
//! `Waker`, whatever executor gave it.
//!
//! Threads are started on the first job, up to [`THREADS`], and live as long
//! as the process. Every job is bounded by the store's own timeouts.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, OnceLock};
use std::thread;

use parking_lot::Mutex;

/// How many I/O threads: enough for several round trips at once, few enough
/// to cost nothing while idle.
const THREADS: usize = 8;

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: Mutex<Sender<Job>>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..THREADS {
            let queue: Arc<Mutex<Receiver<Job>>> = Arc::clone(&queue);
            // A thread that cannot be started leaves the others to do its work.
            let _ = thread::Builder::new().name(format!("memo-io-{i}")).spawn(move || {
                loop {
                    let job = queue.lock().recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        }
        Pool { jobs: Mutex::new(jobs) }
    })
}

/// The result of a job, shared by the thread that runs it and the task that
/// awaits it.
struct Slot<T> {
    result: Option<Option<T>>,
    waker: Option<Waker>,
}

/// The future of a job run on the I/O threads.
pub(crate) struct Offloaded<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

/// Runs `job` on an I/O thread; the future gives its result, or `None` if the
/// job panicked (a store of the user's may). If no thread can take it (none
/// could be started), it runs here and now.
pub(crate) fn run<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Offloaded<T> {
    let slot = Arc::new(Mutex::new(Slot { result: None, waker: None }));
    let shared = Arc::clone(&slot);
    let task: Job = Box::new(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).ok();
        let mut slot = shared.lock();
        slot.result = Some(result);
        let waker = slot.waker.take();
        drop(slot);
        if let Some(waker) = waker {
            waker.wake();
        }
    });
    submit(task);
    Offloaded { slot }
}

/// Runs `job` on an I/O thread, for its effect only.
pub(crate) fn spawn(job: impl FnOnce() + Send + 'static) {
    submit(Box::new(move || {
        // A job that panics takes its panic with it, not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }));
}

fn submit(task: Job) {
    if let Err(refused) = pool().jobs.lock().send(task) {
        (refused.0)();
    }
}

impl<T> Future for Offloaded<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.slot.lock();
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    slot.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
