//! [`WriteGuard`]: a part's lock held, its data reached through it, and
//! readers kept out from the first change (see `readers`).

use core::ops::{Deref, DerefMut};

use super::readers::{REGISTRY, Registry};
use super::{WriteGuard, marker};

impl<T, B> Deref for WriteGuard<'_, T, B> {
    type Target = T;

    #[allow(unsafe_code, reason = "the part's data, under its lock")]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the part's lock, and every change of the
        // data is made by a lock holder with readers kept out (`deref_mut`):
        // no exclusive access exists while this one does, only readers'
        // shared ones.
        unsafe { self.data.get_shared() }
    }
}

impl<T, B> DerefMut for WriteGuard<'_, T, B> {
    #[allow(unsafe_code, reason = "the part's data, under its lock with readers kept out")]
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.keep_readers_out();
        // SAFETY: this guard holds the part's lock and readers are kept out
        // until `data` is given up: no other access exists; `&mut self`
        // makes this access the only one through this guard.
        unsafe { self.data.get() }
    }
}

impl<T, B> WriteGuard<'_, T, B> {
    /// Keeps lock-free readers out of the part, if they are not yet: waits
    /// for those in it (see `readers`).
    #[inline]
    pub(super) fn keep_readers_out(&mut self) {
        if !self.excluded {
            REGISTRY.exclude(marker(self.slot), &self.slot.writing);
            self.data.exclusive(&self.slot.data);
            self.excluded = true;
        }
    }

    /// The part's books, which readers never look at: changed without
    /// keeping them out.
    #[allow(unsafe_code, reason = "the part's books, under its lock")]
    #[inline]
    pub(crate) fn books(&mut self) -> &mut B {
        // SAFETY: the books are reached only through a guard, which holds
        // the part's lock, and `&mut self` makes this access the only one.
        unsafe { self.books.get() }
    }

    /// The data, to change (readers kept out, as by [`DerefMut`]), and the
    /// books, at once.
    #[allow(unsafe_code, reason = "the part's data and books, under its lock with readers kept out")]
    #[inline]
    pub(crate) fn both(&mut self) -> (&mut T, &mut B) {
        self.keep_readers_out();
        // SAFETY: as for `deref_mut` and `books`: two distinct cells.
        unsafe { (self.data.get(), self.books.get()) }
    }
}

impl<T, B> Drop for WriteGuard<'_, T, B> {
    fn drop(&mut self) {
        // The accesses end, then readers come back in before the lock goes:
        // they read, writers wait.
        self.data.release();
        self.books.release();
        if self.lock_free && self.excluded {
            Registry::admit(&self.slot.writing);
        }
    }
}

impl<T, B> WriteGuard<'_, T, B> {
    /// Which part this guard holds.
    #[cfg(feature = "async")]
    #[inline]
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}
