//! Where the lock-free protocol's primitives come from: `core`'s atomics and
//! `parking_lot`'s locks in a build, loom's in `RUSTFLAGS="--cfg loom"`, so
//! that the loom model (`shards::loom_model`) runs the real `Shards`,
//! `readers` and `nesting`, not a copy of them.
//!
//! The two sides have one API: a `Mutex<()>` whose guard a `Condvar` can
//! wait on, and an `UnsafeCell` whose accesses loom tracks (a `ConstPtr` or
//! `MutPtr` is an access, for as long as it lives).

#[cfg(not(loom))]
mod imp {
    pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, fence};

    /// A lock of no data: the data it guards is an [`UnsafeCell`] beside it.
    pub(crate) struct Mutex(parking_lot::Mutex<()>);

    pub(crate) struct MutexGuard<'a>(parking_lot::MutexGuard<'a, ()>);

    impl Mutex {
        pub(crate) const fn new() -> Self {
            Mutex(parking_lot::Mutex::new(()))
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_> {
            MutexGuard(self.0.lock())
        }

        #[inline]
        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_>> {
            self.0.try_lock().map(MutexGuard)
        }
    }

    pub(crate) struct Condvar(parking_lot::Condvar);

    impl Condvar {
        pub(crate) const fn new() -> Self {
            Condvar(parking_lot::Condvar::new())
        }

        pub(crate) fn wait(&self, guard: &mut MutexGuard<'_>) {
            self.0.wait(&mut guard.0);
        }

        #[inline]
        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    /// A shared access to an [`UnsafeCell`]'s value.
    pub(crate) struct ConstPtr<T>(*const T);

    /// An exclusive access to an [`UnsafeCell`]'s value.
    pub(crate) struct MutPtr<T>(*mut T);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(core::cell::UnsafeCell::new(value))
        }

        #[inline]
        pub(crate) fn get(&self) -> ConstPtr<T> {
            ConstPtr(self.0.get())
        }

        #[inline]
        pub(crate) fn get_mut(&self) -> MutPtr<T> {
            MutPtr(self.0.get())
        }
    }

    impl<T> ConstPtr<T> {
        /// # Safety
        ///
        /// No exclusive access to the value may exist meanwhile.
        #[inline]
        pub(crate) unsafe fn deref(&self) -> &T {
            // SAFETY: as the caller promises.
            unsafe { &*self.0 }
        }
    }

    /// A lock holder's access to its part's data or books: shared while
    /// readers may read beside it, exclusive once they are kept out, given
    /// up while the lock is released. Nothing to track outside loom, which
    /// tracks accesses.
    pub(crate) struct Access<T>(MutPtr<T>);

    impl<T> Access<T> {
        /// An exclusive access.
        #[inline]
        pub(crate) fn new(cell: &UnsafeCell<T>) -> Self {
            Access(cell.get_mut())
        }

        /// A shared access.
        #[inline]
        pub(crate) fn shared(cell: &UnsafeCell<T>) -> Self {
            Access(cell.get_mut())
        }

        /// Makes the access exclusive.
        #[inline]
        pub(crate) fn exclusive(&mut self, cell: &UnsafeCell<T>) {
            let _ = cell;
        }

        #[inline]
        pub(crate) fn release(&mut self) {}

        /// Takes the access again, exclusive.
        #[inline]
        pub(crate) fn retake(&mut self, cell: &UnsafeCell<T>) {
            let _ = cell;
        }

        /// Takes the access again, shared.
        #[inline]
        pub(crate) fn retake_shared(&mut self, cell: &UnsafeCell<T>) {
            let _ = cell;
        }

        /// # Safety
        ///
        /// As for [`MutPtr::deref`], and not between `release` and `retake`.
        #[inline]
        #[allow(clippy::mut_from_ref, reason = "the exclusive access is the caller's promise, as in loom")]
        pub(crate) unsafe fn get(&self) -> &mut T {
            // SAFETY: as the caller promises.
            unsafe { self.0.deref() }
        }

        /// # Safety
        ///
        /// No exclusive access to the value may exist meanwhile, and not
        /// between `release` and `retake`.
        #[inline]
        pub(crate) unsafe fn get_shared(&self) -> &T {
            // SAFETY: as the caller promises.
            unsafe { &*self.0.0 }
        }
    }

    impl<T> MutPtr<T> {
        /// # Safety
        ///
        /// No other access to the value may exist meanwhile.
        #[inline]
        #[allow(clippy::mut_from_ref, reason = "the exclusive access is the caller's promise, as in loom")]
        pub(crate) unsafe fn deref(&self) -> &mut T {
            // SAFETY: as the caller promises.
            unsafe { &mut *self.0 }
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::{ConstPtr, MutPtr, UnsafeCell};
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, fence};

    /// See the other `Access`: here the access is loom's, and it ends when
    /// released.
    pub(crate) enum Access<T> {
        Shared(ConstPtr<T>),
        Exclusive(MutPtr<T>),
        Released,
    }

    impl<T> Access<T> {
        pub(crate) fn new(cell: &UnsafeCell<T>) -> Self {
            Access::Exclusive(cell.get_mut())
        }

        pub(crate) fn shared(cell: &UnsafeCell<T>) -> Self {
            Access::Shared(cell.get())
        }

        pub(crate) fn exclusive(&mut self, cell: &UnsafeCell<T>) {
            // The shared access ends before the exclusive one begins.
            *self = Access::Released;
            *self = Access::Exclusive(cell.get_mut());
        }

        pub(crate) fn release(&mut self) {
            *self = Access::Released;
        }

        pub(crate) fn retake(&mut self, cell: &UnsafeCell<T>) {
            *self = Access::Exclusive(cell.get_mut());
        }

        pub(crate) fn retake_shared(&mut self, cell: &UnsafeCell<T>) {
            *self = Access::Shared(cell.get());
        }

        /// # Safety
        ///
        /// As for `MutPtr::deref`.
        #[allow(clippy::mut_from_ref, reason = "the exclusive access is the caller's promise, as in loom")]
        pub(crate) unsafe fn get(&self) -> &mut T {
            match self {
                // SAFETY: as the caller promises.
                Access::Exclusive(ptr) => unsafe { ptr.deref() },
                _ => panic!("an exclusive access that is not held"),
            }
        }

        /// # Safety
        ///
        /// As for `ConstPtr::deref`.
        pub(crate) unsafe fn get_shared(&self) -> &T {
            match self {
                // SAFETY: as the caller promises.
                Access::Shared(ptr) => unsafe { ptr.deref() },
                // SAFETY: as the caller promises.
                Access::Exclusive(ptr) => unsafe { &*ptr.deref() },
                Access::Released => panic!("an access that is not held"),
            }
        }
    }

    pub(crate) struct Mutex(loom::sync::Mutex<()>);

    /// `None` only while a [`Condvar`] waits with it.
    pub(crate) struct MutexGuard<'a>(Option<loom::sync::MutexGuard<'a, ()>>);

    impl Mutex {
        pub(crate) fn new() -> Self {
            Mutex(loom::sync::Mutex::new(()))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_> {
            MutexGuard(Some(self.0.lock().unwrap()))
        }

        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_>> {
            self.0.try_lock().ok().map(|guard| MutexGuard(Some(guard)))
        }
    }

    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait(&self, guard: &mut MutexGuard<'_>) {
            let inner = guard.0.take().expect("a guard that holds its lock");
            guard.0 = Some(self.0.wait(inner).unwrap());
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

pub(crate) use imp::*;

/// A value set at most once, then read without a lock: `once_cell`'s
/// `race::OnceBox`, on this module's atomics so that loom sees its
/// publication. The value is boxed before it is published with a
/// Release compare-and-swap; a reader that loads the pointer with
/// Acquire sees it whole. A thread that loses the race drops its box.
pub(crate) struct OnceBox<T> {
    ptr: AtomicPtr<T>,
}

// SAFETY: as for `std::sync::OnceLock<Box<T>>`: the value is shared
// between threads once set (`Sync` needs `T: Sync + Send`), and dropped
// by whichever thread drops the `OnceBox` (`Send` needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for OnceBox<T> {}
// SAFETY: see above.
unsafe impl<T: Send> Send for OnceBox<T> {}

impl<T> OnceBox<T> {
    pub(crate) fn new() -> Self {
        OnceBox { ptr: AtomicPtr::new(core::ptr::null_mut()) }
    }

    /// The value, if it is set.
    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        let ptr = self.ptr.load(core::sync::atomic::Ordering::Acquire);
        // SAFETY: a non-null pointer is a `Box` published by `get_or_init`
        // (its Release, this Acquire), never freed before `self` is.
        unsafe { ptr.as_ref() }
    }

    /// The value, set by `make` if it is not set yet.
    pub(crate) fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
        use core::sync::atomic::Ordering::{AcqRel, Acquire};
        if let Some(value) = self.get() {
            return value;
        }
        let new = Box::into_raw(Box::new(make()));
        let ptr = match self.ptr.compare_exchange(core::ptr::null_mut(), new, AcqRel, Acquire) {
            Ok(_) => new,
            Err(set) => {
                // SAFETY: `new` was never published: this thread owns it.
                drop(unsafe { Box::from_raw(new) });
                set
            }
        };
        // SAFETY: `ptr` is published and lives as long as `self`.
        unsafe { &*ptr }
    }
}

impl<T> Drop for OnceBox<T> {
    fn drop(&mut self) {
        let ptr = self.ptr.load(core::sync::atomic::Ordering::Acquire);
        if !ptr.is_null() {
            // SAFETY: published by `get_or_init`, and `&mut self`: no reader
            // is left.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}
