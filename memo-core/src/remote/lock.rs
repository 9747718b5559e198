//! One computation per key across processes: a lock key on the server, next
//! to each entry's value key.
//!
//! A `get` that misses tries to take the lock of its key (Redis `SET NX PX`,
//! memcached `add`, with the lock's own expiry, `lock_ttl`). The process that
//! takes it answers the miss and computes; its `insert` stores the value and
//! then deletes the lock, if it still holds it. A process that finds the lock
//! taken polls the value key (5 ms, doubling up to 100 ms) until the value
//! appears (a hit), the lock is free again (it takes it and computes), or
//! `lock_wait` has passed (it computes without the lock). Every poll is one
//! operation under the store's deadline; a failure is a store error, a miss.
//!
//! Inside one process the cache's own single-flight already lets one thread
//! compute: a lock this store holds is never waited for, so the other
//! threads go on to wait for the thread that computes, in the process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Backend;
use crate::store::StoreError;

/// The first pause between two polls of a waiter; it doubles up to
/// [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// How many locks a store remembers before it forgets those past their
/// expiry (a miss whose value was not stored leaves its lock to expire).
const REMEMBERED: usize = 1024;

/// The cross-process lock of a [`Shared`](super::Shared) store.
pub(crate) struct Lock {
    pub(crate) on: bool,
    pub(crate) ttl: Duration,
    pub(crate) wait: Duration,
    /// The locks this store holds: lock key, its token, and when it was taken.
    held: Mutex<HashMap<String, (String, Instant)>>,
}

impl Default for Lock {
    fn default() -> Self {
        Lock { on: true, ttl: Duration::from_secs(5), wait: Duration::from_secs(5), held: Mutex::default() }
    }
}

/// The lock key of the value key `name`: the same length (`memo:...` becomes
/// `lock:...`), so it fits wherever the value key does, and outside every
/// value key's namespace.
pub(crate) fn lock_key(name: &str) -> String {
    format!("lock:{}", name.strip_prefix("memo:").unwrap_or(name))
}

/// A token no other holder has: this process, a count, and the clock.
fn token() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}.{:x}.{nanos:x}", std::process::id(), COUNT.fetch_add(1, Relaxed))
}

impl Lock {
    /// Copies the settings (not the locks held).
    pub(crate) fn settings(&self) -> Lock {
        Lock { on: self.on, ttl: self.ttl, wait: self.wait, held: Mutex::default() }
    }

    /// Whether this store holds the lock `lock`, unexpired.
    fn holds(&self, lock: &str) -> bool {
        let held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.get(lock).is_some_and(|(_, taken)| taken.elapsed() < self.ttl)
    }

    fn remember(&self, lock: String, token: String) {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.len() >= REMEMBERED {
            let ttl = self.ttl;
            held.retain(|_, (_, taken)| taken.elapsed() < ttl);
        }
        held.insert(lock, (token, Instant::now()));
    }

    /// After a miss of the value key `name`: the value, if another process
    /// stored it while this one waited; `None` if this one is to compute it
    /// (it holds the lock, another thread of it does, the lock was free, or
    /// the wait is over).
    pub(crate) fn wait_for<B: Backend>(&self, server: &B, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let lock = lock_key(name);
        let deadline = Instant::now() + self.wait;
        let mut pause = FIRST_PAUSE;
        loop {
            if self.holds(&lock) {
                return Ok(None);
            }
            let token = token();
            if server.add(&lock, &token, self.ttl)? {
                self.remember(lock, token);
                return Ok(None);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(LONGEST_PAUSE);
            if let Some(bytes) = server.get(name)? {
                return Ok(Some(bytes));
            }
        }
    }

    /// After the value of `name` was stored (or failed to be): gives its lock
    /// up, if this store holds it. A failure to delete it is not the
    /// caller's: the lock expires after `lock_ttl`.
    pub(crate) fn release<B: Backend>(&self, server: &B, name: &str) {
        if !self.on {
            return;
        }
        let lock = lock_key(name);
        let held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&lock);
        if let Some((token, taken)) = held {
            if taken.elapsed() < self.ttl {
                let _ = server.delete_if(&lock, &token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_as_long_as_their_value_keys_and_tokens_differ() {
        let name = "memo:f:0123456789abcdef:ff";
        assert_eq!(lock_key(name), "lock:f:0123456789abcdef:ff");
        assert_eq!(lock_key(name).len(), name.len());
        assert_ne!(token(), token());
    }
}
