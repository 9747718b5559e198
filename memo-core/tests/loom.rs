//! Model-checks the protocol of lock-free readers (`memo-core/src/readers`)
//! with loom: every interleaving of two readers and a writer, and of a reader
//! and two writers, for races on the guarded data (loom's `UnsafeCell`
//! reports any read that overlaps a write) and for values never written.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p memo-core --release --test loom`

#![cfg(loom)]
#![allow(unsafe_code, reason = "the data that the protocol guards is an UnsafeCell")]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::AtomicBool;
use loom::thread;

/// loom's atomics, where the protocol finds them.
mod atomic {
    pub(crate) use loom::sync::Mutex;
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
}

/// A writer waiting for a reader gives loom the turn.
fn spin(_round: u32) {
    loom::thread::yield_now();
}

#[path = "../src/readers/protocol.rs"]
#[allow(dead_code, reason = "the test uses part of it")]
mod protocol;

use protocol::{Registry, Slot};

fn registry() -> Registry {
    Registry {
        slots: core::array::from_fn(|_| Slot { reading: loom::sync::atomic::AtomicUsize::new(0) }),
        taken: core::array::from_fn(|_| AtomicBool::new(false)),
        high: loom::sync::atomic::AtomicUsize::new(0),
        gate: loom::sync::Mutex::new(()),
    }
}

/// A part: data guarded by the protocol, with a lock for writers.
struct Part {
    lock: loom::sync::Mutex<()>,
    writing: AtomicBool,
    data: UnsafeCell<u64>,
}

// SAFETY: the protocol under test is what makes this sound; loom checks every
// access to `data` for races.
unsafe impl Sync for Part {}

const MARKER: usize = 1;

fn part() -> Arc<Part> {
    Arc::new(Part {
        lock: loom::sync::Mutex::new(()),
        writing: AtomicBool::new(false),
        data: UnsafeCell::new(0),
    })
}

fn reader(registry: &Registry, part: &Part, slot: usize) -> Option<u64> {
    // SAFETY: under the protocol (what loom checks).
    registry.read(slot, MARKER, &part.writing, || part.data.with(|v| unsafe { *v }))
}

fn writer(registry: &Registry, part: &Part, value: u64) {
    let _guard = part.lock.lock().unwrap();
    registry.exclude(MARKER, &part.writing);
    // SAFETY: under the protocol (what loom checks).
    part.data.with_mut(|v| unsafe { *v = value });
    Registry::admit(&part.writing);
}

#[test]
fn two_readers_and_a_writer_never_race() {
    loom::model(|| {
        let registry = Arc::new(registry());
        let part = part();
        let (a, b) = (registry.take().unwrap(), registry.take().unwrap());
        let readers: Vec<_> = [a, b]
            .into_iter()
            .map(|slot| {
                let (registry, part) = (Arc::clone(&registry), Arc::clone(&part));
                thread::spawn(move || {
                    let seen = reader(&registry, &part, slot);
                    assert!(matches!(seen, None | Some(0 | 7)), "{seen:?}");
                })
            })
            .collect();
        writer(&registry, &part, 7);
        for reader in readers {
            reader.join().unwrap();
        }
        // After the writer, a read sees what it wrote.
        assert_eq!(reader(&registry, &part, a), Some(7));
    });
}

#[test]
fn a_reader_and_two_writers_never_race() {
    loom::model(|| {
        let registry = Arc::new(registry());
        let part = part();
        let slot = registry.take().unwrap();
        let other = {
            let (registry, part) = (Arc::clone(&registry), Arc::clone(&part));
            thread::spawn(move || writer(&registry, &part, 1))
        };
        let seen = reader(&registry, &part, slot);
        assert!(matches!(seen, None | Some(0 | 1)), "{seen:?}");
        writer(&registry, &part, 2);
        other.join().unwrap();
        assert!(matches!(reader(&registry, &part, slot), Some(1 | 2)));
    });
}

fn reader_of(registry: &Registry, part: &Part, marker: usize, slot: usize) -> Option<u64> {
    // SAFETY: under the protocol (what loom checks).
    registry.read(slot, marker, &part.writing, || part.data.with(|v| unsafe { *v }))
}

fn writer_of(registry: &Registry, part: &Part, marker: usize, value: u64) {
    let _guard = part.lock.lock().unwrap();
    registry.exclude(marker, &part.writing);
    // SAFETY: under the protocol (what loom checks).
    part.data.with_mut(|v| unsafe { *v = value });
    Registry::admit(&part.writing);
}

#[test]
fn a_reader_that_moves_to_another_part_is_done_with_the_first() {
    // The reader reads part 1, then part 2; a writer of part 1 that finds
    // the reader's slot naming part 2 must see the read of part 1 as over.
    loom::model(|| {
        let registry = Arc::new(registry());
        let (one, two) = (part(), part());
        let reader = {
            let (registry, one, two) = (Arc::clone(&registry), Arc::clone(&one), Arc::clone(&two));
            thread::spawn(move || {
                // The slot is taken inside the model's thread.
                let slot = registry.take().unwrap();
                let first = reader_of(&registry, &one, 1, slot);
                assert!(matches!(first, None | Some(0 | 7)), "{first:?}");
                assert_eq!(reader_of(&registry, &two, 2, slot), Some(0));
            })
        };
        writer_of(&registry, &one, 1, 7);
        reader.join().unwrap();
    });
}

#[test]
fn a_nested_read_is_refused_and_a_writer_that_must_not_wait_gives_way() {
    loom::model(|| {
        let registry = Arc::new(registry());
        let (one, two) = (part(), part());
        let slot = registry.take().unwrap();
        // A read inside a read (a value's Clone that calls a cache) is
        // refused: the caller takes the lock path instead.
        let nested = registry.read(slot, 1, &one.writing, || reader_of(&registry, &two, 2, slot));
        assert_eq!(nested, Some(None));
        // A writer inside memo's bookkeeping never waits for a reader: it
        // gives way, or finds the part free.
        let writer = {
            let (registry, one) = (Arc::clone(&registry), Arc::clone(&one));
            thread::spawn(move || {
                let _guard = one.lock.lock().unwrap();
                if registry.try_exclude(1, &one.writing) {
                    // SAFETY: under the protocol (what loom checks).
                    one.data.with_mut(|v| unsafe { *v = 3 });
                    Registry::admit(&one.writing);
                }
            })
        };
        let seen = reader_of(&registry, &one, 1, slot);
        assert!(matches!(seen, None | Some(0 | 3)), "{seen:?}");
        writer.join().unwrap();
    });
}

#[test]
fn a_slot_given_back_lowers_the_scan_and_its_last_read_is_over() {
    // A thread takes the highest slot, reads, and exits (gives it back):
    // `high` falls, and a writer that no longer scans that slot must still
    // see the read as over before it writes.
    loom::model(|| {
        let registry = Arc::new(registry());
        let part = part();
        let low = registry.take().unwrap();
        let reader = {
            let (registry, part) = (Arc::clone(&registry), Arc::clone(&part));
            thread::spawn(move || {
                let slot = registry.take().unwrap();
                let seen = reader(&registry, &part, slot);
                assert!(matches!(seen, None | Some(0 | 5)), "{seen:?}");
                registry.give_back(slot);
            })
        };
        writer(&registry, &part, 5);
        reader.join().unwrap();
        assert_eq!(registry.high.load(loom::sync::atomic::Ordering::SeqCst), low + 1);
        registry.give_back(low);
        assert_eq!(registry.high.load(loom::sync::atomic::Ordering::SeqCst), 0);
    });
}
