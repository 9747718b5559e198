//! A user `Hash` that panics while a computed value is being stored: the
//! claim is given up with its key, and the thread that takes it over
//! stores its own value (found in review: the key was taken out of the
//! claim first, so the value of the thread that took over was never stored
//! and every later call computed again).

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use memo::{Cache, Unbounded};

/// Whether the old keys' `Hash` panics: armed while the owner's value is
/// stored, whose insert rehashes the table and so hashes them.
static ARMED: AtomicBool = AtomicBool::new(false);

#[derive(Clone, PartialEq, Eq, Debug)]
struct Key(u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(!(self.0 < 100 && ARMED.load(SeqCst)), "the Hash of {} panics", self.0);
        self.0.hash(state);
    }
}

#[test]
fn a_hash_that_panics_while_a_value_is_stored_leaves_the_key_to_the_thread_that_takes_over() {
    let cache = Arc::new(Cache::<Key, u64, Unbounded<Key, u64>>::new(Unbounded::new()));
    // Three entries fill the table's first allocation: the next insert rehashes.
    for k in 0..3 {
        assert_eq!(cache.get_or_insert_with(&Key(k), || k), k);
    }
    let runs = Arc::new(AtomicU64::new(0));
    let started = Arc::new(Barrier::new(2));
    let owner = {
        let (cache, started, runs) = (Arc::clone(&cache), Arc::clone(&started), Arc::clone(&runs));
        std::thread::spawn(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                cache.get_or_insert_with(&Key(500), || {
                    runs.fetch_add(1, SeqCst);
                    started.wait();
                    // The waiter is waiting by now.
                    std::thread::sleep(Duration::from_millis(200));
                    ARMED.store(true, SeqCst);
                    500
                })
            }))
        })
    };
    started.wait();
    std::thread::sleep(Duration::from_millis(50));
    let waiter = {
        let (cache, runs) = (Arc::clone(&cache), Arc::clone(&runs));
        std::thread::spawn(move || {
            cache.get_or_insert_with(&Key(500), || {
                runs.fetch_add(1, SeqCst);
                ARMED.store(false, SeqCst);
                501
            })
        })
    };
    assert!(owner.join().unwrap().is_err(), "the owner's store panicked, and the panic reached it");
    ARMED.store(false, SeqCst);
    let taken_over = waiter.join().unwrap();
    assert_eq!(taken_over, 501, "the waiter took the claim over and computed");
    assert_eq!(runs.load(SeqCst), 2);
    // The value of the thread that took over was stored: a hit.
    assert_eq!(cache.get_or_insert_with(&Key(500), || unreachable!("stored")), 501);
    for k in 0..3 {
        assert_eq!(cache.get_or_insert_with(&Key(k), || 1000 + k), k, "the old entries stay");
    }
}
