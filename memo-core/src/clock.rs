//! The clock that expiry reads: the monotonic clock, or, in tests, a clock
//! that the test advances by hand.
//!
//! ```
//! use memo::clock::MockClock;
//! use std::time::Duration;
//!
//! let clock = MockClock::start();
//! let before = memo::clock::now();
//! clock.advance(Duration::from_secs(30));
//! assert_eq!(memo::clock::now() - before, Duration::from_secs(30));
//! drop(clock); // back to the real clock
//! ```

use core::cell::Cell;
use core::marker::PhantomData;
use std::time::{Duration, Instant};

thread_local! {
    static MOCK: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The time expiry compares deadlines with: [`Instant::now`], unless a
/// [`MockClock`] runs on this thread.
#[must_use]
pub fn now() -> Instant {
    MOCK.try_with(Cell::get).ok().flatten().unwrap_or_else(Instant::now)
}

/// A clock for tests: while it lives, [`now`] on this thread (and so every
/// expiry decided on this thread) reads its time, which moves only when
/// [`advance`](MockClock::advance)d. It starts at the real time. Other
/// threads keep the real clock. Dropping it returns this thread to the real
/// clock.
#[must_use = "the mock clock is in force only while the value lives"]
pub struct MockClock {
    /// Thread-bound: the clock it sets is this thread's.
    thread: PhantomData<*const ()>,
}

impl MockClock {
    /// Freezes this thread's clock at the real time now.
    pub fn start() -> Self {
        MOCK.with(|mock| mock.set(Some(Instant::now())));
        MockClock { thread: PhantomData }
    }

    /// Moves this thread's clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        MOCK.with(|mock| mock.set(mock.get().map(|t| t + by)));
    }

    /// The mocked time.
    #[must_use]
    pub fn now(&self) -> Instant {
        now()
    }
}

impl Drop for MockClock {
    fn drop(&mut self) {
        let _ = MOCK.try_with(|mock| mock.set(None));
    }
}
