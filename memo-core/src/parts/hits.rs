//! The hits of lock-free reads: one counter per reader slot, each written by
//! its own thread only, made when a second slot hits (see `Shards::hits`).

use core::sync::atomic::Ordering::Relaxed;

use super::readers::SLOTS;
use super::{Line, Shards};
use crate::sync::AtomicU64;

impl<T, B> Shards<T, B> {
    /// Counts a hit of reader slot `me`. Each counter is written by its
    /// slot's thread only: no atomic read-modify-write.
    #[inline]
    pub(super) fn count_hit(&self, me: usize) {
        let line = match self.hits.get() {
            Some(hits) => &hits[me].0,
            None => match self.sole.load(Relaxed) {
                sole if sole == me => &self.sole_hits,
                usize::MAX if self.sole.compare_exchange(usize::MAX, me, Relaxed, Relaxed).is_ok() => {
                    &self.sole_hits
                }
                _ => &self.make_hit_counters()[me].0,
            },
        };
        line.store(line.load(Relaxed) + 1, Relaxed);
    }

    /// The hits of lock-free reads since the last reset.
    pub(crate) fn read_hits(&self) -> u64 {
        self.hits_total().saturating_sub(self.hits_base.load(Relaxed))
    }

    fn hits_total(&self) -> u64 {
        let counted = self.hits.get().map_or(0, |hits| hits.iter().map(|line| line.0.load(Relaxed)).sum());
        counted + self.sole_hits.load(Relaxed)
    }

    /// Sets the hits of lock-free reads, and the lookups that could not have
    /// a part, back to zero.
    pub(crate) fn reset_read_hits(&self) {
        self.hits_base.store(self.hits_total(), Relaxed);
        self.bypassed.store(0, Relaxed);
    }

    /// Makes the hit counters of every reader slot: a second slot hits.
    #[cold]
    #[inline(never)]
    pub(super) fn make_hit_counters(&self) -> &[Line] {
        self.hits.get_or_init(|| (0..SLOTS).map(|_| Line(AtomicU64::new(0))).collect())
    }
}
