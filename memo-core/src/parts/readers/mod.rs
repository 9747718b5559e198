//! Hits that write nothing another core reads: lookups in a part of a store
//! without taking its lock.
//!
//! A lock written by every hit stops a cache from scaling: on this project's
//! machine, two threads locking 128 padded locks at random got 1.0x the
//! throughput of one, since each lock's cache line moves to the core that
//! takes it. Here a reader writes only a slot of its own thread (one cache line
//! per thread), and a writer, which holds the part's lock anyway, waits until
//! no reader is in the part before it changes anything:
//!
//! - reader: `slot = part`, then a SeqCst fence; if the part's `writing`
//!   flag is set (Acquire), `slot = 0` and take the lock instead; else read,
//!   then `slot = 0` (Release);
//! - writer, holding the part's lock: `writing = true`, then a SeqCst fence;
//!   wait while any slot is `part` (Acquire); change; `writing = false`
//!   (Release); unlock.
//!
//! Each side stores, fences, then loads what the other stores: the two SeqCst
//! fences are ordered one way or the other, so either the reader sees
//! `writing` and backs off, or the writer sees the reader's slot and waits for
//! it (Dekker's pattern, with fences). The reader's Release store of 0 and the
//! writer's Acquire load of it order the read before the change; the writer's
//! Release store of `writing = false` and the reader's Acquire load of it
//! order the change before the next read. A reader that moves on to
//! another part stores its next marker with Release too: a writer that
//! reads that marker instead of the 0 must still see the read as over.
//! `shards::loom_model` model-checks this protocol with loom (whose SeqCst
//! fences are exact, where its SeqCst loads and stores are not), through the
//! real `Shards`, built on loom's primitives (see `crate::sync`).
//!
//! A lock holder keeps readers out only from its first change of the part's
//! data: until then it reads beside them, and what it changes meanwhile
//! (a claim, the counts) lives in the part's books, which readers never
//! look at (`Slot::books`). A miss claims its key so without the fence
//! and scan, and keeps readers out once, to store the value.
//!
//! Threads get a slot on their first read and give it back when they exit;
//! a thread beyond [`SLOTS`] reads under the lock, as does a read nested in
//! another (a value's `Clone` that calls back into a cache).

mod protocol;

#[cfg(not(loom))]
use protocol::Slot;
pub(crate) use protocol::{Registry, SLOTS};

/// Where the protocol's atomics come from: `crate::sync` (loom's under
/// `--cfg loom`).
mod atomic {
    pub(crate) use crate::sync::{AtomicBool, AtomicUsize, Mutex, fence};
    pub(crate) use core::sync::atomic::Ordering;
}

/// What a writer does while a reader is in its part, the `round`th time:
/// spins for a few nanoseconds, then, for a reader that takes longer (a slow
/// `Clone`, a thread preempted in its read), gives its core away.
#[inline]
fn spin(round: u32) {
    #[cfg(loom)]
    {
        let _ = round;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    if round < 64 {
        core::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// The process's slots.
#[cfg(not(loom))]
pub(crate) static REGISTRY: Registry = Registry {
    slots: [const { Slot { reading: atomic::AtomicUsize::new(0) } }; SLOTS],
    taken: [const { atomic::AtomicBool::new(false) }; SLOTS],
    high: atomic::AtomicUsize::new(0),
    gate: atomic::Mutex::new(),
};

#[cfg(loom)]
loom::lazy_static! {
    /// The model's slots, made anew for each of its runs.
    pub(crate) static ref REGISTRY: Registry = Registry::new();
}

mod thread_slot {
    use core::cell::Cell;

    use super::REGISTRY;

    /// No slot known (yet, or any more).
    const NONE: usize = usize::MAX;

    /// This thread's slot, given back when the thread exits.
    struct Held(Option<usize>);

    impl Drop for Held {
        fn drop(&mut self) {
            let _ = MINE.try_with(|mine| mine.set(NONE));
            if let Some(index) = self.0 {
                REGISTRY.give_back(index);
            }
        }
    }

    #[cfg(not(loom))]
    thread_local! {
        static HELD: Held = Held(take());
        /// The slot of `HELD` once it is made, in a thread-local that needs
        /// no lazy set-up, for [`known`].
        static MINE: Cell<usize> = const { Cell::new(NONE) };
    }

    #[cfg(loom)]
    loom::thread_local! {
        static HELD: Held = Held(take());
        static MINE: Cell<usize> = Cell::new(NONE);
    }

    /// Takes a slot for this thread, and records it in `MINE`.
    fn take() -> Option<usize> {
        let index = REGISTRY.take();
        if let Some(index) = index {
            let _ = MINE.try_with(|mine| mine.set(index));
        }
        index
    }

    /// This thread's slot, if it has one (not while it exits).
    #[inline]
    pub(crate) fn mine() -> Option<usize> {
        HELD.try_with(|held| held.0).ok().flatten()
    }

    /// This thread's slot if it has read before: what a thread that may be
    /// inside a read checks, cheaply.
    #[inline]
    pub(crate) fn known() -> Option<usize> {
        MINE.try_with(Cell::get).ok().filter(|&index| index != NONE)
    }
}

pub(crate) use thread_slot::mine;

/// Whether this thread is reading a part without its lock (user code that
/// the read runs is on its stack).
#[inline]
pub(crate) fn reading() -> bool {
    thread_slot::known().is_some_and(|index| REGISTRY.is_reading(index))
}
