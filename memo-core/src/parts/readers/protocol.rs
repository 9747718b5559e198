//! The readers' protocol itself. See the parent module for the protocol and
//! why it is sound; `shards::loom_model` model-checks it with loom, through
//! the real `Shards`.

use super::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use super::atomic::{AtomicBool, AtomicUsize, Mutex, fence};

/// Threads that can read without locks at once.
pub(crate) const SLOTS: usize = 64;

/// A thread's slot: the part it is reading (its address), or 0.
#[repr(align(128))]
pub(crate) struct Slot {
    pub(crate) reading: AtomicUsize,
}

/// Every slot, and which are taken.
pub(crate) struct Registry {
    pub(crate) slots: [Slot; SLOTS],
    pub(crate) taken: [AtomicBool; SLOTS],
    /// One more than the highest slot taken now: writers look no further.
    pub(crate) high: AtomicUsize,
    /// Taking and giving back slots, once per thread each, one at a time,
    /// so that `high` can fall again when threads exit.
    pub(crate) gate: Mutex,
}

impl Registry {
    /// Slots, none taken (the process's are a `static` made the same way).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Registry {
            slots: core::array::from_fn(|_| Slot { reading: AtomicUsize::new(0) }),
            taken: core::array::from_fn(|_| AtomicBool::new(false)),
            high: AtomicUsize::new(0),
            gate: Mutex::new(),
        }
    }

    /// Takes a free slot.
    pub(crate) fn take(&self) -> Option<usize> {
        let _gate = self.gate.lock();
        let index = (0..SLOTS).find(|&i| !self.taken[i].load(Relaxed))?;
        self.taken[index].store(true, Relaxed);
        // Before this thread's first read, and so before its fence: a writer
        // whose fence comes later sees it; one whose fence comes earlier is
        // seen by the read.
        if self.high.load(Relaxed) <= index {
            self.high.store(index + 1, Release);
        }
        Some(index)
    }

    /// Gives slot `index` back (its thread is exiting, not reading). If it
    /// was the highest, `high` falls to the highest slot still taken, so
    /// that a burst of reading threads does not leave every later writer
    /// scanning their slots. Release: a writer that reads the lower `high`
    /// (Acquire) and so skips this slot sees its last read as over.
    pub(crate) fn give_back(&self, index: usize) {
        let _gate = self.gate.lock();
        self.taken[index].store(false, Relaxed);
        if self.high.load(Relaxed) == index + 1 {
            let high = (0..index).rev().find(|&i| self.taken[i].load(Relaxed)).map_or(0, |i| i + 1);
            self.high.store(high, Release);
        }
    }

    /// Runs `read` as a reader of the part `marker` (its address, not 0)
    /// guarded by `writing`, on slot `index`; `None` if a writer is in it, or
    /// this thread is reading already.
    #[inline(always)]
    pub(crate) fn read<R>(
        &self,
        index: usize,
        marker: usize,
        writing: &AtomicBool,
        read: impl FnOnce() -> R,
    ) -> Option<R> {
        let slot = &self.slots[index].reading;
        if slot.load(Relaxed) != 0 {
            return None;
        }
        // Release: a writer of the part this thread read before, whose scan
        // finds this marker in place of the 0 that ended that read, must see
        // that read as finished before it writes (the 0 was a Release store
        // too, but a plain store after it ends its release sequence).
        slot.store(marker, Release);
        // Cleared however `read` ends, a panic in the user's `Clone` included.
        let _clear = Clear(slot);
        fence(SeqCst);
        if writing.load(Acquire) {
            return None;
        }
        Some(read())
    }

    /// Called by a writer that holds the part's lock: marks the part as
    /// being written and waits until no reader is in it. The readers it waits
    /// for run a value's `Clone` or a key's `Eq` and block on nothing of
    /// memo's (see `nesting`); after a few spins the writer yields its core
    /// to them.
    #[inline]
    pub(crate) fn exclude(&self, marker: usize, writing: &AtomicBool) {
        writing.store(true, Relaxed);
        fence(SeqCst);
        let high = self.high.load(Acquire);
        for slot in &self.slots[..high] {
            let mut round = 0;
            while slot.reading.load(Acquire) == marker {
                super::spin(round);
                round = round.saturating_add(1);
            }
        }
    }

    /// [`exclude`](Registry::exclude) for a writer that must not wait (it is
    /// inside memo's bookkeeping already, see `nesting`): `false`, with the
    /// part left to its readers, if one is in it.
    pub(crate) fn try_exclude(&self, marker: usize, writing: &AtomicBool) -> bool {
        writing.store(true, Relaxed);
        fence(SeqCst);
        let high = self.high.load(Acquire);
        if self.slots[..high].iter().any(|slot| slot.reading.load(Acquire) == marker) {
            Self::admit(writing);
            return false;
        }
        true
    }

    /// Whether slot `index` is in a read.
    #[inline]
    pub(crate) fn is_reading(&self, index: usize) -> bool {
        self.slots[index].reading.load(Relaxed) != 0
    }

    /// Called by the writer before it unlocks.
    #[inline]
    pub(crate) fn admit(writing: &AtomicBool) {
        writing.store(false, Release);
    }
}

struct Clear<'a>(&'a AtomicUsize);

impl Drop for Clear<'_> {
    fn drop(&mut self) {
        self.0.store(0, Release);
    }
}
