//! memo's I/O threads: where the blocking operations of a store on a cache
//! server run for `async fn`s, so that a task never blocks its executor's
//! thread on the network. Executor-agnostic: a job's result wakes the task's
//! `Waker`, whatever executor gave it.
//!
//! Each cache has a [`Lane`] of its own: a queue and the threads that serve
//! it, so that the calls of one function never wait for the threads of
//! another (a function on a server that hangs, say). A lane is elastic: a job
//! that finds every thread of its lane busy starts one more, up to
//! [`MAX_THREADS`], so that the slow calls of a function (to one of its
//! servers that hangs, or waiting for another process's lock) do not hold up
//! its other calls either; a thread that has had no job for [`IDLE`] exits.
//! Every job is bounded by the store's own deadlines, so a thread is never
//! held for longer than that.
//!
//! Why threads and not redis-rs's async connection on the caller's executor:
//! memo runs on any executor, and memcached's client is memo's own, on
//! `std::net`. A thread of a lane that waits for Redis costs little: the
//! request itself is one of many pipelined on the `memo-redis` driver's
//! connection.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// The most threads a lane runs at once: a cache's concurrent blocking
/// operations beyond that wait in its queue for a thread to be free; an
/// idle lane has none. Measured with `examples/async_scaling.rs` (1,000
/// concurrent misses, on two cores): 64 threads did as well as 8 on a server
/// on loopback, where a round trip costs less than a thread switch, and six
/// (memcached) to twelve (Redis) times better on a server 1 ms away; 256 did
/// a little better still 1 ms away, but twice worse on loopback, and opened
/// more connections.
pub(crate) const MAX_THREADS: usize = 64;

/// How long a thread of a lane waits for a job before it exits.
pub(crate) const IDLE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// The I/O threads of one cache: its queue of jobs and the threads that take
/// them.
pub(crate) struct Lane {
    state: Mutex<State>,
    /// Signalled once per job queued while a thread is idle.
    work: Condvar,
}

struct State {
    jobs: VecDeque<Job>,
    /// Threads running, busy or idle.
    threads: usize,
    /// Threads waiting for a job (on `work`).
    idle: usize,
}

impl Lane {
    pub(crate) const fn new() -> Self {
        Lane { state: Mutex::new(State { jobs: VecDeque::new(), threads: 0, idle: 0 }), work: Condvar::new() }
    }

    /// Runs `job` on a thread of this lane; the future gives its result, or
    /// `None` if the job panicked (a store of the user's may).
    pub(crate) fn run<T: Send + 'static>(
        &'static self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Offloaded<T> {
        let slot = Arc::new(Mutex::new(Slot { result: None, waker: None }));
        let shared = Arc::clone(&slot);
        self.submit(Box::new(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).ok();
            let mut slot = shared.lock();
            slot.result = Some(result);
            let waker = slot.waker.take();
            drop(slot);
            if let Some(waker) = waker {
                waker.wake();
            }
        }));
        Offloaded { slot }
    }

    /// Runs `job` on a thread of this lane, for its effect only.
    pub(crate) fn spawn(&'static self, job: impl FnOnce() + Send + 'static) {
        self.submit(Box::new(move || {
            // A job that panics takes its panic with it, not the thread.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }));
    }

    /// Queues `job`, and starts a thread for it if no idle thread will take
    /// it: each idle thread takes one job, so a job finds one exactly when
    /// the jobs queued are no more than the idle threads. At the limit, the
    /// job waits for a busy thread to be done.
    fn submit(&'static self, job: Job) {
        let mut state = self.state.lock();
        state.jobs.push_back(job);
        if state.jobs.len() <= state.idle {
            drop(state);
            self.work.notify_one();
            return;
        }
        if state.threads >= MAX_THREADS {
            return;
        }
        state.threads += 1;
        let number = state.threads;
        drop(state);
        let started = thread::Builder::new().name(format!("memo-io-{number}")).spawn(move || self.serve());
        if started.is_err() {
            self.not_started();
        }
    }

    /// A thread could not be started (the system has none to give): if the
    /// lane has no other thread, nothing would ever take its jobs, so they
    /// run here and now, on the caller's thread.
    #[cold]
    fn not_started(&'static self) {
        let mut state = self.state.lock();
        state.threads -= 1;
        if state.threads > 0 {
            return;
        }
        let jobs = core::mem::take(&mut state.jobs);
        drop(state);
        for job in jobs {
            job();
        }
    }

    /// A thread of the lane: takes jobs until it has had none for [`IDLE`].
    fn serve(&'static self) {
        let mut state = self.state.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job();
                state = self.state.lock();
                continue;
            }
            state.idle += 1;
            let waited = self.work.wait_for(&mut state, IDLE);
            state.idle -= 1;
            // A job queued as the wait ended is taken all the same.
            if waited.timed_out() && state.jobs.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }

    /// Threads running now, busy or idle.
    #[cfg(test)]
    fn threads(&self) -> usize {
        self.state.lock().threads
    }
}

/// The result of a job, shared by the thread that runs it and the task that
/// awaits it.
struct Slot<T> {
    result: Option<Option<T>>,
    waker: Option<Waker>,
}

/// The future of a job run on a lane.
pub(crate) struct Offloaded<T> {
    slot: Arc<Mutex<Slot<T>>>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    fn lane() -> &'static Lane {
        Box::leak(Box::new(Lane::new()))
    }

    #[test]
    fn a_lane_grows_while_its_threads_are_busy_up_to_its_limit() {
        let lane = lane();
        // As many jobs as the limit, each waiting for all to be running: done
        // only if the lane runs them at once.
        let all = Arc::new(Barrier::new(MAX_THREADS));
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..MAX_THREADS {
            let (all, done) = (Arc::clone(&all), Arc::clone(&done));
            lane.spawn(move || {
                all.wait();
                done.fetch_add(1, SeqCst);
            });
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while done.load(SeqCst) < MAX_THREADS {
            assert!(std::time::Instant::now() < deadline, "as many jobs as the limit did not run at once");
            thread::sleep(Duration::from_millis(5));
        }
        assert!(lane.threads() <= MAX_THREADS);
    }

    #[test]
    fn a_lane_starts_no_more_than_its_limit_and_every_job_runs() {
        let lane = lane();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let done = Arc::new(AtomicUsize::new(0));
        let jobs = MAX_THREADS + 100;
        for _ in 0..jobs {
            let (gate, done) = (Arc::clone(&gate), Arc::clone(&done));
            lane.spawn(move || {
                let mut open = gate.0.lock();
                while !*open {
                    gate.1.wait(&mut open);
                }
                done.fetch_add(1, SeqCst);
            });
        }
        assert_eq!(lane.threads(), MAX_THREADS);
        *gate.0.lock() = true;
        gate.1.notify_all();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while done.load(SeqCst) < jobs {
            assert!(std::time::Instant::now() < deadline, "jobs beyond the limit did not run");
            thread::sleep(Duration::from_millis(5));
        }
        assert!(lane.threads() <= MAX_THREADS);
    }

    #[test]
    fn a_job_that_panics_gives_none_and_the_lane_goes_on() {
        let lane = lane();
        let mut cx = Context::from_waker(Waker::noop());
        let mut panicked = lane.run(|| -> u32 { panic!("a store panics") });
        let mut fine = lane.run(|| 7);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let (mut a, mut b) = (None, None);
        while a.is_none() || b.is_none() {
            assert!(std::time::Instant::now() < deadline);
            if let Poll::Ready(r) = Pin::new(&mut panicked).poll(&mut cx) {
                a = Some(r);
            }
            if let Poll::Ready(r) = Pin::new(&mut fine).poll(&mut cx) {
                b = Some(r);
            }
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!((a, b), (Some(None), Some(Some(7))));
    }
}
