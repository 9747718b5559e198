//! Whether this thread is inside memo's bookkeeping: holding a part's lock,
//! or reading a part without it, while user code runs (a key's `Hash` or
//! `Eq`, a value's `Clone`, a user store's methods).
//!
//! Such user code may call memoized functions again, of this cache or of
//! another. A thread inside never blocks on memo: it takes a lock only if it
//! is free, waits for no reader and for no other thread's computation, and
//! where it cannot have what it needs, it goes without the cache (computes,
//! and does not store). Threads outside may block, on locks and readers
//! held by threads inside; those never block on memo in turn, so no wait
//! that memo makes is part of a cycle. Duplicate work is the price; a hang
//! is not.
//!
//! The one exception is settling a claim (storing a computed value and
//! waking the waiters), which always takes its lock: a claim is made only
//! under a lock that this thread could take, so this thread never holds that
//! part, nor reads it, when it settles; whoever holds it is inside, and so
//! lets go.

use core::cell::Cell;

#[cfg(not(loom))]
thread_local! {
    /// Locks of memo's parts and tables this thread holds.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

#[cfg(loom)]
loom::thread_local! {
    static DEPTH: Cell<u32> = Cell::new(0);
}

/// Counts a lock held by this thread, from its making to its drop.
#[derive(Debug)]
pub(crate) struct Inside(());

impl Inside {
    #[inline]
    pub(crate) fn new() -> Self {
        // A `const` thread-local without `Drop` is never torn down: `with`
        // cannot fail.
        DEPTH.with(|depth| depth.set(depth.get().wrapping_add(1)));
        Inside(())
    }
}

impl Drop for Inside {
    #[inline]
    fn drop(&mut self) {
        DEPTH.with(|depth| depth.set(depth.get().wrapping_sub(1)));
    }
}

/// Whether this thread holds one of memo's locks or reads a part without
/// it: user code that memo runs is on its stack.
#[inline]
pub(crate) fn inside() -> bool {
    DEPTH.with(|depth| depth.get() > 0) || crate::parts::readers::reading()
}

/// A panic caught in user code that memo ran under a lock, to be resumed
/// once the lock is released and the bookkeeping is done.
pub(crate) type Panic = Box<dyn core::any::Any + Send + 'static>;

/// Runs user code (a `Clone`) under a lock: a panic is caught, to be
/// resumed by the caller once the lock is released and nothing is left
/// half done. Costs nothing unless it panics.
#[inline]
pub(crate) fn catch<R>(user: impl FnOnce() -> R) -> Result<R, Panic> {
    std::panic::catch_unwind(core::panic::AssertUnwindSafe(user))
}
