//! A store that grows: one part until its lock is contended, then all its
//! parts, with part 0's entries moved to where they belong. Under part 0's
//! lock the number of parts never changes; under any other part's lock it is
//! final (see `Shards::lock_for`).

use core::sync::atomic::Ordering::Relaxed;

use foldhash::fast::RandomState;

use super::{Shards, Slot, WriteGuard, place};

/// Makes parts `1..count` of a growing store, moving into them the entries
/// of part 0 that `place` (from a key's hash, with the store's hasher)
/// puts there: `place` gives `1..count` for them, 0 for those that stay.
/// `None`, and nothing moved, while part 0 has claims in flight (see
/// `flight`): they stay where their waiters and tickets find them, and a
/// caller that missed the key after the growth, placed elsewhere, would
/// not see them and compute the key a second time.
pub(crate) type Split<T, B> = fn(
    &mut T,
    &mut B,
    count: usize,
    state: &RandomState,
    place: &dyn Fn(u64) -> usize,
) -> Option<Vec<(T, B)>>;

/// Contended locks of part 0 after which a growing store grows: a few, so
/// that one collision of two threads does not cost the parts, and soon
/// enough that threads that keep missing at once stop queueing.
#[cfg(not(loom))]
pub(crate) const GROW_AFTER: u32 = 8;

/// The loom model grows at the first contention, so that it explores growth.
#[cfg(loom)]
pub(crate) const GROW_AFTER: u32 = 1;

impl<T, B> Shards<T, B> {
    /// One part, `first`, read without its lock if `lock_free`, that grows
    /// to `count` (rounded up to a power of two) when contended, moving its
    /// entries with `split`.
    pub(crate) fn growing(count: usize, lock_free: bool, first: (T, B), split: Split<T, B>) -> Self {
        Self::with(Slot::new(first), count.max(1).next_power_of_two(), Some(split), lock_free)
    }

    /// After a lock of the part that `hash` was placed in: grows, if it is
    /// part 0 of a growing store contended enough, and then, if the key's
    /// place has moved, gives the part up and takes the new one with
    /// `relock`.
    #[inline]
    pub(super) fn settle_place<'a>(
        &'a self,
        mut guard: WriteGuard<'a, T, B>,
        hash: u64,
        relock: impl FnOnce(usize) -> Option<WriteGuard<'a, T, B>>,
    ) -> Option<WriteGuard<'a, T, B>> {
        if guard.index != 0 || self.split.is_none() {
            return Some(guard);
        }
        if self.rest.get().is_none() && self.contended.load(Relaxed) >= GROW_AFTER {
            self.grow(&mut guard);
        }
        let index = self.index(hash);
        if index == 0 {
            return Some(guard);
        }
        drop(guard);
        relock(index)
    }

    /// Makes the other parts, under part 0's lock (`part`), with part 0's
    /// entries that belong there moved in, then publishes them.
    #[cold]
    #[inline(never)]
    fn grow(&self, part: &mut WriteGuard<'_, T, B>) {
        let Some(split) = self.split else { return };
        let count = self.count;
        if count < 2 {
            return;
        }
        // The user's `Hash` runs here, under the lock, as in a table's
        // rehash: if it panics, the entries moved so far are dropped (a
        // cache may forget entries) and the store stays one part.
        let (data, books) = part.both();
        if let Some(parts) = split(data, books, count, &self.state, &|hash| place(hash, count)) {
            self.rest.get_or_init(|| parts.into_iter().map(Slot::new).collect());
        }
    }
}
