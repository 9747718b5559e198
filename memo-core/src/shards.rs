//! [`Shards`]: a store split into independently locked parts, so that threads
//! on different keys do not queue behind one lock.
//!
//! A single `Mutex` stops scaling at one core: every hit writes its lock word,
//! and two cores hitting one lock pass its cache line back and forth. With the
//! keys spread over many parts by hash, two threads meet on one lock rarely;
//! each part sits on cache lines of its own.

use core::hash::BuildHasher;

use foldhash::fast::RandomState;
use parking_lot::{Condvar, Mutex, MutexGuard};

/// The parts of a store that is not bounded by count, and the most parts of a
/// bounded one. Measured on two cores with random hits on warm keys: with 32
/// parts two threads got 1.5 times the hits of one, with 128 parts 1.7-1.8
/// times, as two threads meet on one lock four times less often.
pub(crate) const DEFAULT_SHARDS: usize = 128;

/// Bounded stores smaller than this are one part: an exact LRU.
pub(crate) const EXACT_BELOW: usize = 128;

/// A value padded to its own cache lines (two, as adjacent-line prefetch pairs
/// them on x86), so that parts never share one.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub T);

/// `T` split into a power-of-two number of locked parts, chosen by hash, with
/// the seeded hasher that places keys.
pub(crate) struct Shards<T> {
    parts: Box<[Padded<Slot<T>>]>,
    state: RandomState,
}

/// One part: its lock, and where threads waiting for a computation of one of
/// its keys sleep.
struct Slot<T> {
    lock: Mutex<T>,
    settled: Condvar,
}

impl<T> Shards<T> {
    /// `count` parts (rounded up to a power of two), each made by `make`.
    pub(crate) fn new(count: usize, make: impl FnMut() -> T) -> Self {
        let mut make = make;
        let count = count.max(1).next_power_of_two();
        Shards {
            parts: (0..count)
                .map(|_| Padded(Slot { lock: Mutex::new(make()), settled: Condvar::new() }))
                .collect(),
            state: RandomState::default(),
        }
    }

    /// How many parts a store of at most `maxsize` entries gets: one below
    /// [`EXACT_BELOW`] entries, an exact LRU; above, one per 8 entries, up to
    /// [`DEFAULT_SHARDS`], so that threads scale.
    pub(crate) fn for_maxsize(maxsize: usize) -> usize {
        if maxsize < EXACT_BELOW { 1 } else { (maxsize / 8).clamp(1, DEFAULT_SHARDS) }
    }

    pub(crate) fn hasher(&self) -> &RandomState {
        &self.state
    }

    pub(crate) fn hash_one(&self, value: impl core::hash::Hash) -> u64 {
        self.state.hash_one(value)
    }

    /// The index of the part that holds keys of this hash. Bits 32 and up: the
    /// table inside a part uses the low bits for buckets and the top seven for
    /// tags.
    #[inline]
    #[allow(clippy::cast_possible_truncation, reason = "masked to the number of parts")]
    pub(crate) fn index(&self, hash: u64) -> usize {
        (hash >> 32) as usize & (self.parts.len() - 1)
    }

    #[inline]
    pub(crate) fn lock(&self, index: usize) -> MutexGuard<'_, T> {
        self.parts[index].0.lock.lock()
    }

    /// Where threads waiting on part `index` sleep.
    pub(crate) fn settled(&self, index: usize) -> &Condvar {
        &self.parts[index].0.settled
    }

    pub(crate) fn len(&self) -> usize {
        self.parts.len()
    }

    /// Every part in turn, each locked only while `f` looks at it.
    pub(crate) fn each(&self, mut f: impl FnMut(&mut T)) {
        for part in &*self.parts {
            f(&mut part.0.lock.lock());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_a_power_of_two_on_their_own_cache_lines() {
        let shards = Shards::new(5, || 0_u8);
        assert_eq!(shards.len(), 8);
        assert!(core::mem::align_of::<Padded<Slot<u8>>>() >= 128);
        assert!((0..1000_u64).all(|h| shards.index(shards.hash_one(h)) < 8));
        assert_eq!(Shards::<u8>::for_maxsize(3), 1);
        assert_eq!(Shards::<u8>::for_maxsize(127), 1);
        assert_eq!(Shards::<u8>::for_maxsize(1000), 125);
        assert_eq!(Shards::<u8>::for_maxsize(1 << 30), DEFAULT_SHARDS);
    }
}
