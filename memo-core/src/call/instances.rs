//! [`Instances`]: a map from the `TypeId` that names one instantiation of a
//! generic memoized function to that instantiation's cache, read without a
//! lock and without scanning a list.
//!
//! A function has one instantiation far more often than several, so the
//! handle keeps its first cache beside this map and makes the map only for the
//! second. Entries are never removed (a cache lives as long as the program),
//! which is what makes the map simple:
//!
//! - a table is an open-addressed array of `OnceLock` slots, each set at most
//!   once, under the writers' mutex, and never changed again;
//! - a full table (half its slots set) is replaced by one twice its size,
//!   filled before it is published; the old table is kept, not freed, so a
//!   reader still probing it reads valid, set-once slots;
//! - the newest table is published by its index, stored with `Release` after
//!   the table was set, and read with `Acquire`: a reader that sees the index
//!   sees the table and every slot set before it.
//!
//! A reader can only miss an entry set after its loads; it then takes the
//! mutex and finds it there. There is no `unsafe` code: the only
//! synchronization is `std`'s `OnceLock` and that one release/acquire pair.

use core::any::TypeId;
use core::hash::{BuildHasher, Hasher};
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The `TypeId` that names one instantiation of one memoized function: that
/// of the type of `marker`, a closure the macro writes inside the function
/// and hands to the lookups, which key their caches by it.
///
/// A closure's type is generic over every generic parameter of the items it
/// is written in (the function's type and const parameters, those of its
/// `impl`, and `Self` in a trait's provided method), whether or not they
/// appear in its signature, and each closure expression is a type of its own,
/// so two items never share one, even when one `macro_rules!` expansion writes
/// both. Lifetimes do not count (so it needs no `'static` bound): they never
/// change what a function computes.
#[must_use]
#[inline(always)]
pub fn instance_of<F: ?Sized>(marker: &F) -> TypeId {
    let _ = marker;
    typeid::of::<F>()
}

/// The `TypeId` of the pair of `F`, the type that names one instantiation of
/// a memoized function (see [`instance_of`]),
/// and `C`, the type of its cache: equal ids mean an equal instantiation and
/// an equal cache type, so one comparison finds a cache and makes its
/// downcast sound. The key of the shared and the per-thread handles alike.
#[inline(always)]
pub(crate) fn slot_id<F: ?Sized, C>() -> TypeId {
    typeid::of::<(core::marker::PhantomData<F>, C)>()
}

/// Tables of 8, 16, 32, ... slots: 26 of them hold 2^28 instantiations, more
/// than any program has.
const LEVELS: usize = 26;
const FIRST: usize = 8;

type Table<T> = Box<[OnceLock<(TypeId, T)>]>;

/// Values of type `T` by `TypeId`, inserted once, never removed.
pub(crate) struct Instances<T> {
    tables: [OnceLock<Table<T>>; LEVELS],
    /// One more than the index of the newest table; 0: none yet.
    current: AtomicUsize,
    /// How many entries there are; held by writers.
    len: Mutex<usize>,
}

/// `TypeId`s are hashes already: their `Hash` writes one `u64` (or `u128`),
/// which is the hash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_u128(&mut self, n: u128) {
        #[allow(clippy::cast_possible_truncation, reason = "folding 128 bits into 64")]
        let folded = (n as u64) ^ ((n >> 64) as u64);
        self.0 ^= folded;
    }
}

fn slot_of(id: TypeId, len: usize) -> usize {
    let hash = core::hash::BuildHasherDefault::<IdHasher>::default().hash_one(id);
    // Fibonacci hashing spreads the bits of whatever the hash is.
    #[allow(clippy::cast_possible_truncation, reason = "only the low bits are used")]
    let spread = hash.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(32) as usize;
    spread & (len - 1)
}

fn probe<T>(table: &[OnceLock<(TypeId, T)>], id: TypeId) -> Result<&T, usize> {
    let mut i = slot_of(id, table.len());
    loop {
        match table[i].get() {
            Some((key, value)) if *key == id => return Ok(value),
            Some(_) => i = (i + 1) & (table.len() - 1),
            // Tables are at most half full, so an empty slot ends every probe.
            None => return Err(i),
        }
    }
}

impl<T> Instances<T> {
    pub(crate) fn new() -> Self {
        Instances {
            tables: [const { OnceLock::new() }; LEVELS],
            current: AtomicUsize::new(0),
            len: Mutex::new(0),
        }
    }

    fn newest(&self) -> Option<&Table<T>> {
        match self.current.load(Ordering::Acquire) {
            0 => None,
            level => self.tables[level - 1].get(),
        }
    }

    /// The value of `id`, without a lock.
    #[inline]
    pub(crate) fn get(&self, id: TypeId) -> Option<&T> {
        probe(self.newest()?, id).ok()
    }
}

impl<T: Clone> Instances<T> {
    /// The value of `id`, inserting `value` if there is none; returns the
    /// value kept and whether it was `value`.
    pub(crate) fn get_or_insert(&self, id: TypeId, value: T) -> (&T, bool) {
        // Nothing below panics while the lock is held but an allocation
        // failure, which aborts; a poisoned lock still counts right.
        let mut len = self.len.lock().unwrap_or_else(PoisonError::into_inner);
        let level = self.current.load(Ordering::Relaxed);
        let mut table = self.newest();
        if let Some(table) = table {
            if let Ok(found) = probe(table, id) {
                return (found, false);
            }
        }
        if table.is_none_or(|t| (*len + 1) * 2 > t.len()) {
            let size = table.map_or(FIRST, |t| t.len() * 2);
            let grown: Table<T> = (0..size).map(|_| OnceLock::new()).collect();
            for (key, value) in table.into_iter().flat_map(|t| t.iter()).filter_map(OnceLock::get) {
                let Err(i) = probe(&grown, *key) else { unreachable!("keys are unique") };
                let _ = grown[i].set((*key, value.clone()));
            }
            let Ok(()) = self.tables[level].set(grown) else {
                unreachable!("each level is set once, under the lock")
            };
            self.current.store(level + 1, Ordering::Release);
            table = self.tables[level].get();
        }
        let table = table.unwrap_or_else(|| unreachable!("a table was made above"));
        let Err(i) = probe(table, id) else { unreachable!("looked up above") };
        let _ = table[i].set((id, value));
        *len += 1;
        match table[i].get() {
            Some((_, value)) => (value, true),
            None => unreachable!("set above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A<const N: usize>;

    fn id<const N: usize>() -> TypeId {
        TypeId::of::<A<N>>()
    }

    #[test]
    fn finds_what_it_keeps_across_growth() {
        let map = Instances::new();
        macro_rules! each {
            ($($n:literal)*) => {
                $(assert_eq!(map.get_or_insert(id::<$n>(), $n), (&$n, true));)*
                $(assert_eq!(map.get(id::<$n>()), Some(&$n));)*
                $(assert_eq!(map.get_or_insert(id::<$n>(), 0), (&$n, false));)*
            };
        }
        assert_eq!(map.get(id::<0>()), None);
        each!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33);
        assert_eq!(map.get(TypeId::of::<u8>()), None);
        assert_eq!(*map.len.lock().unwrap(), 34);
    }

    #[test]
    fn readers_on_other_threads_see_every_insert_once_it_returned() {
        let map = Instances::new();
        let ids = [
            id::<0>(),
            id::<1>(),
            id::<2>(),
            id::<3>(),
            id::<4>(),
            id::<5>(),
            id::<6>(),
            id::<7>(),
            id::<8>(),
        ];
        std::thread::scope(|s| {
            for (n, &key) in ids.iter().enumerate() {
                let map = &map;
                s.spawn(move || {
                    let (value, _) = map.get_or_insert(key, n);
                    assert_eq!(*value, n);
                    assert_eq!(map.get(key), Some(&n));
                });
            }
        });
        for (n, key) in ids.into_iter().enumerate() {
            assert_eq!(map.get(key), Some(&n));
        }
    }
}
