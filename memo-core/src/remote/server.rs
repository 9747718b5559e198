//! What every shared store's servers have: the timeouts of their operations,
//! and their [`Health`], which says in the log when a server goes bad and
//! when it comes back, rather than once per failed call.

use core::fmt;
use core::sync::atomic::AtomicBool;
use core::sync::atomic::Ordering::{Acquire, Release};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::store::StoreError;
use crate::store::warnings::QUIET;

/// How long network operations may take.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Timeouts {
    /// Each operation, the whole request: from its first byte sent to its
    /// last byte read, however slowly the server answers.
    pub(crate) op: Duration,
    /// Each connect.
    pub(crate) connect: Duration,
    /// How long a server that failed is left alone.
    pub(crate) retry_after: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            op: Duration::from_millis(50),
            connect: Duration::from_millis(50),
            retry_after: Duration::from_secs(1),
        }
    }
}

/// Whether a server answers, and the warnings that say when that changes:
/// one when it goes bad (its first failure), one when it comes back (its
/// first answer after that), none for the failures in between. An outage
/// that begins less than [`QUIET`] after the last one announced is counted,
/// not announced (and nor is its end); the next announcement says how many
/// there were. So a server that flaps, or a cluster whose one master is
/// down while the others answer, costs the log two warnings per `QUIET`,
/// whatever the number of calls.
pub(crate) struct Health {
    /// What the warnings call the server: an address, never a password.
    name: String,
    /// Whether an outage is under way: the fast path of every answer.
    bad: AtomicBool,
    outage: Mutex<Outage>,
}

#[derive(Default)]
struct Outage {
    /// When the outage under way began.
    since: Option<Instant>,
    /// Failed operations in it.
    failures: u64,
    /// Whether it was announced: then so is its end.
    announced: bool,
    /// When an outage was last announced.
    last_announced: Option<Instant>,
    /// Outages since then that were not.
    unannounced: u64,
}

impl Health {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        Health { name: name.into(), bad: AtomicBool::new(false), outage: Mutex::new(Outage::default()) }
    }

    /// An operation failed with `error`: the error, marked as told (see
    /// [`StoreError::told`]), and a warning if the server went bad with it.
    pub(crate) fn failed(&self, error: impl fmt::Display, retry_after: Duration) -> StoreError {
        let error = format!("{}: {error}", self.name);
        if let Some(warning) = self.note_failure(&error, retry_after, Instant::now()) {
            log::warn!(target: "memo", "{warning}");
        }
        StoreError::new(error).told()
    }

    /// An operation got its answer: a warning if that ends an announced
    /// outage.
    pub(crate) fn answered(&self) {
        if !self.bad.load(Acquire) {
            return;
        }
        if let Some(warning) = self.note_answer(Instant::now()) {
            log::warn!(target: "memo", "{warning}");
        }
    }

    /// What [`failed`](Self::failed) logs, if anything, at `now`.
    fn note_failure(&self, error: &str, retry_after: Duration, now: Instant) -> Option<String> {
        let mut outage = self.outage.lock();
        outage.failures += 1;
        if outage.since.is_some() {
            return None;
        }
        outage.since = Some(now);
        outage.failures = 1;
        self.bad.store(true, Release);
        let quiet = outage.last_announced.is_some_and(|last| now.saturating_duration_since(last) < QUIET);
        if quiet {
            outage.announced = false;
            outage.unannounced += 1;
            return None;
        }
        outage.announced = true;
        outage.last_announced = Some(now);
        let earlier = core::mem::take(&mut outage.unannounced);
        let earlier = match earlier {
            0 => String::new(),
            n => format!(" ({n} shorter outage{} since the last warning)", if n == 1 { "" } else { "s" }),
        };
        Some(format!(
            "{error}; calls go on without it, as misses, until it answers again \
             (tried again every {retry_after:?}){earlier}"
        ))
    }

    /// What [`answered`](Self::answered) logs, if anything, at `now`.
    fn note_answer(&self, now: Instant) -> Option<String> {
        let mut outage = self.outage.lock();
        let since = outage.since.take()?;
        self.bad.store(false, Release);
        if !outage.announced {
            return None;
        }
        let failures = outage.failures;
        Some(format!(
            "{} answers again, after {failures} failed operation{} in {:.1?}",
            self.name,
            if failures == 1 { "" } else { "s" },
            now.saturating_duration_since(since)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: Duration = Duration::from_secs(1);

    #[test]
    fn one_warning_per_outage_and_one_when_it_ends() {
        let health = Health::new("memcached 10.0.0.1:11211");
        let t0 = Instant::now();
        let went = health.note_failure("memcached 10.0.0.1:11211: refused", RETRY, t0).unwrap();
        assert!(went.starts_with("memcached 10.0.0.1:11211: refused; calls go on"), "{went}");
        for i in 1..100 {
            assert_eq!(health.note_failure("refused", RETRY, t0 + Duration::from_millis(i)), None);
        }
        let back = health.note_answer(t0 + Duration::from_secs(3)).unwrap();
        assert_eq!(back, "memcached 10.0.0.1:11211 answers again, after 100 failed operations in 3.0s");
        assert_eq!(health.note_answer(t0 + Duration::from_secs(4)), None, "once");
    }

    #[test]
    fn a_flapping_server_warns_twice_per_quiet_period() {
        let health = Health::new("s");
        let t0 = Instant::now();
        let mut warnings = Vec::new();
        // Down and up every 100 ms for 25 s.
        for step in 0..250 {
            let now = t0 + Duration::from_millis(100 * step);
            let warning = if step % 2 == 0 {
                health.note_failure("s: down", RETRY, now)
            } else {
                health.note_answer(now)
            };
            warnings.extend(warning.map(|w| (step, w)));
        }
        let steps: Vec<u64> = warnings.iter().map(|(step, _)| *step).collect();
        assert_eq!(steps, [0, 1, 100, 101, 200, 201], "{warnings:#?}");
        assert!(warnings[2].1.ends_with("(49 shorter outages since the last warning)"), "{}", warnings[2].1);
    }
}
