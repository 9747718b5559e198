//! The loom model of the lock-free reads: the real [`Shards`], `readers` and
//! `nesting`, built on loom's atomics, locks and cells (see `crate::sync`),
//! every interleaving of a few threads. loom's `UnsafeCell` reports any read
//! of a part that overlaps a write of it.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p memo-core --lib --release loom_model`

use loom::sync::Arc;
use loom::thread;

use super::Shards;
use crate::parts::readers::Registry;

// The main thread of a model does not read lock-free: its slot would be
// given back as the model shuts down, after loom has dropped the registry.

/// Two parts of one `u64` each, read without their locks.
fn two_parts() -> Arc<Shards<u64>> {
    Arc::new(Shards::new(2, true, |_| (0, ())))
}

/// A hash that places its key in part `index` of two.
fn hash_in(index: usize) -> u64 {
    (index as u64) << 32
}

fn read(shards: &Shards<u64>, index: usize) -> Option<u64> {
    shards.read(hash_in(index), |value| Some(*value))
}

fn write(shards: &Shards<u64>, index: usize, value: u64) {
    *shards.lock(index) = value;
}

#[test]
fn loom_model_two_readers_and_a_writer_never_race() {
    loom::model(|| {
        let shards = two_parts();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let shards = Arc::clone(&shards);
                thread::spawn(move || {
                    // The reader's slot is taken here, inside the model.
                    let seen = read(&shards, 0);
                    assert!(matches!(seen, None | Some(0 | 7)), "{seen:?}");
                })
            })
            .collect();
        write(&shards, 0, 7);
        for reader in readers {
            reader.join().unwrap();
        }
        let after = thread::spawn(move || read(&shards, 0)).join().unwrap();
        assert_eq!(after, Some(7), "after the writer, a read sees what it wrote");
    });
}

#[test]
fn loom_model_a_reader_that_moves_to_another_part_is_done_with_the_first() {
    // A writer of part 0 that finds the reader's slot naming part 1 must see
    // its read of part 0 as over.
    loom::model(|| {
        let shards = two_parts();
        let reader = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || {
                let first = read(&shards, 0);
                assert!(matches!(first, None | Some(0 | 7)), "{first:?}");
                assert_eq!(read(&shards, 1), Some(0));
            })
        };
        write(&shards, 0, 7);
        reader.join().unwrap();
    });
}

#[test]
fn loom_model_two_writers_and_a_reader_of_both_parts() {
    loom::model(|| {
        let shards = two_parts();
        let other = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || write(&shards, 1, 2))
        };
        let reader = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || {
                let seen = (read(&shards, 1), read(&shards, 0));
                assert!(
                    matches!(seen.0, None | Some(0 | 2)) && matches!(seen.1, None | Some(0 | 1)),
                    "{seen:?}"
                );
            })
        };
        write(&shards, 0, 1);
        other.join().unwrap();
        reader.join().unwrap();
    });
}

#[test]
fn loom_model_a_read_inside_a_read_takes_no_lock_it_would_wait_for() {
    // A value's `Clone` that calls back into the cache: the nested read is
    // refused, and the lock of the part being read cannot be had (the
    // thread would wait for itself); another part's can, if it is free.
    loom::model(|| {
        let shards = two_parts();
        let writer = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || write(&shards, 1, 5))
        };
        let nester = thread::spawn(move || {
            let nested = shards.read(hash_in(0), |_| {
                assert!(crate::parts::nesting::inside());
                let inner = read(&shards, 1);
                let own = shards.enter(0).is_none();
                let other = shards.enter(1).map(|part| (*part, part.nested));
                Some((inner, own, other))
            });
            if let Some((inner, own, other)) = nested {
                assert_eq!(inner, None, "a read inside a read is refused");
                assert!(own, "the part this thread reads is not entered");
                assert!(matches!(other, None | Some((0 | 5, true))), "{other:?}");
            }
            assert!(!crate::parts::nesting::inside());
        });
        writer.join().unwrap();
        nester.join().unwrap();
    });
}

#[test]
fn loom_model_a_waiter_lets_readers_in_and_is_woken() {
    // A miss that waits for another thread's computation sleeps on its
    // part's condvar with the lock released and readers let back in.
    loom::model(|| {
        let shards = two_parts();
        let settler = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || {
                write(&shards, 0, 1);
                shards.settled(0).notify_all();
            })
        };
        let reader = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || {
                let seen = read(&shards, 0);
                assert!(matches!(seen, None | Some(0 | 1)), "{seen:?}");
            })
        };
        let mut part = shards.lock(0);
        while *part == 0 {
            shards.wait(&mut part);
        }
        assert_eq!(*part, 1);
        drop(part);
        settler.join().unwrap();
        reader.join().unwrap();
    });
}

#[test]
fn loom_model_a_lock_holder_reads_beside_readers_and_keeps_them_out_only_to_write() {
    // A claim: the part's lock, a read of its data beside lock-free
    // readers, a change of its books only. Then a settle: the books, and
    // a change of the data, for which readers are kept out. loom reports
    // a read of the data that overlaps its change, and any two accesses
    // of the books that overlap.
    loom::model(|| {
        let shards: Arc<Shards<u64, u64>> = Arc::new(Shards::new(2, true, |_| (0, 0)));
        let reader = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || {
                for _ in 0..2 {
                    let seen = shards.read(hash_in(0), |value| Some(*value));
                    assert!(matches!(seen, None | Some(0 | 7)), "{seen:?}");
                }
            })
        };
        let claimer = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || {
                let mut part = shards.lock(0);
                assert!(matches!(*part, 0 | 7));
                *part.books() += 1;
            })
        };
        let mut part = shards.lock(0);
        *part.books() += 1;
        let (data, books) = part.both();
        *data = 7;
        *books += 1;
        drop(part);
        claimer.join().unwrap();
        reader.join().unwrap();
        assert_eq!(*shards.lock(0).books(), 3, "no change of the books is lost");
    });
}

#[test]
fn loom_model_an_exiting_reader_is_done_before_a_writer_that_skips_its_slot() {
    // A thread reads and exits, giving its slot back: the writers' scan
    // shrinks, and a writer that no longer scans that slot must still see
    // the read as over before it writes.
    loom::model(|| {
        let shards = two_parts();
        let reader = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || {
                let seen = read(&shards, 0);
                assert!(matches!(seen, None | Some(0 | 3)), "{seen:?}");
            })
        };
        write(&shards, 0, 3);
        reader.join().unwrap();
    });
}

#[test]
fn loom_model_giving_back_the_highest_slot_lowers_the_scan() {
    loom::model(|| {
        let registry = Arc::new(Registry::new());
        let low = registry.take().unwrap();
        let other = {
            let registry = Arc::clone(&registry);
            thread::spawn(move || {
                let high = registry.take().unwrap();
                registry.give_back(high);
            })
        };
        other.join().unwrap();
        assert_eq!(registry.high.load(core::sync::atomic::Ordering::SeqCst), low + 1);
        registry.give_back(low);
        assert_eq!(registry.high.load(core::sync::atomic::Ordering::SeqCst), 0);
    });
}

/// A store of `(hash, value)` entries that grows from one part to two.
fn growing() -> Arc<Shards<Vec<(u64, u64)>>> {
    Arc::new(Shards::growing(2, true, (Vec::new(), ()), |part, (), count, _, place| {
        let mut parts: Vec<Vec<(u64, u64)>> = (1..count).map(|_| Vec::new()).collect();
        for (hash, value) in part.extract_if(.., |(hash, _)| place(*hash) != 0) {
            parts[place(hash) - 1].push((hash, value));
        }
        Some(parts.into_iter().map(|part| (part, ())).collect())
    }))
}

fn put(shards: &Shards<Vec<(u64, u64)>>, hash: u64, value: u64) {
    let mut part = shards.lock_for(hash);
    part.retain(|(h, _)| *h != hash);
    part.push((hash, value));
}

fn get(shards: &Shards<Vec<(u64, u64)>>, hash: u64) -> Option<u64> {
    shards.read(hash, |part| part.iter().find(|(h, _)| *h == hash).map(|(_, value)| *value))
}

#[test]
fn loom_model_growing_moves_entries_under_readers_and_writers() {
    // Two writers meet on part 0 (the model grows at the first contended
    // lock): whichever grows moves the entry of part 1 while a reader reads
    // it and the other writer waits for part 0 to write it. The reader
    // sees the entry or misses; never a torn part; and every write lands
    // where later lookups find it.
    static GREW: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    loom::model(|| {
        let shards = growing();
        put(&shards, hash_in(1), 5);
        let writers: Vec<_> = [(0, 1), (1, 6)]
            .into_iter()
            .map(|(index, value)| {
                let shards = Arc::clone(&shards);
                thread::spawn(move || put(&shards, hash_in(index), value))
            })
            .collect();
        let reader = {
            let shards = Arc::clone(&shards);
            thread::spawn(move || {
                let seen = get(&shards, hash_in(1));
                assert!(matches!(seen, None | Some(5 | 6)), "{seen:?}");
            })
        };
        for writer in writers {
            writer.join().unwrap();
        }
        reader.join().unwrap();
        let after = thread::spawn(move || {
            let found = (get(&shards, hash_in(0)), get(&shards, hash_in(1)));
            let placed = shards.lock_for(hash_in(1)).iter().any(|(h, _)| *h == hash_in(1));
            (found, placed, shards.len())
        });
        let (found, placed, parts) = after.join().unwrap();
        assert_eq!(found, (Some(1), Some(6)));
        assert!(placed, "the entry is in its key's part");
        assert!(parts == 1 || parts == 2);
        if parts == 2 {
            GREW.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert!(GREW.load(std::sync::atomic::Ordering::Relaxed) > 0, "the model never grew");
}
