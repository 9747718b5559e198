//! [`Site`]: how a memoized function and its handle find the one
//! [`CacheHandle`] they share.
//!
//! The function and its handle are two items side by side, in a module or in
//! an `impl` block, and the macro cannot tell which: a free function would
//! name its handle `fib_cache()`, a method `Self::fib_cache()`, and no path
//! works in both. So each of the two holds a `static Site` naming the same
//! place in the source, and the first to ask makes the handle in a process-wide
//! registry keyed by that place. After that, each site answers from its own
//! `OnceLock`: one load per call.

use core::num::NonZeroUsize;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::call::handle::CacheHandle;

/// Where a memoized function is written, as `module_path!()`, `file!()`,
/// `line!()` and `column!()` of its name, the name itself, and a number the
/// macro gives each function it rewrites: items that one `macro_rules!`
/// expansion writes from one definition have the same place in the source,
/// and are still different functions, with a handle each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Place {
    /// `module_path!()`.
    pub module: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()` of the function's name.
    pub line: u32,
    /// `column!()` of the function's name.
    pub column: u32,
    /// The function's name.
    pub name: &'static str,
    /// Different for every function that `#[memoize]` rewrites in one crate.
    pub id: u64,
}

/// One of the two statics (in the function, in its handle) that lead to the
/// function's [`CacheHandle`].
pub struct Site {
    place: Place,
    maxsize: Option<NonZeroUsize>,
    handle: OnceLock<&'static CacheHandle>,
}

impl Site {
    /// A site that has not looked its handle up yet.
    #[must_use]
    pub const fn new(place: Place, maxsize: Option<NonZeroUsize>) -> Self {
        Site { place, maxsize, handle: OnceLock::new() }
    }

    /// The function's handle, made on the first call from either site.
    #[inline]
    pub fn handle(&'static self) -> &'static CacheHandle {
        match self.handle.get() {
            Some(handle) => handle,
            None => self.register(),
        }
    }

    #[cold]
    #[inline(never)]
    fn register(&'static self) -> &'static CacheHandle {
        self.handle.get_or_init(|| {
            // Nothing panics while the lock is held; a poisoned lock still
            // holds consistent lists.
            let mut heads = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
            let head = &mut heads[bucket(&self.place)];
            let mut at = *head;
            while let Some(known) = at {
                if known.place == self.place {
                    return &known.handle;
                }
                at = known.next;
            }
            let handle = CacheHandle::new(self.place.module, self.place.name, self.maxsize);
            let known: &'static Registered =
                Box::leak(Box::new(Registered { place: self.place, handle, next: *head }));
            *head = Some(known);
            &known.handle
        })
    }
}

/// The handles made so far, in lists by the hash of their place: a static
/// array, so that the registry never allocates or grows (a map would, in
/// steps that some function's first call pays); a handle is looked up once
/// per site, so a short list is cheap enough.
static REGISTRY: Mutex<[Option<&'static Registered>; BUCKETS]> = Mutex::new([None; BUCKETS]);

const BUCKETS: usize = 64;

/// Every handle made so far, with its place (for `memo::caches()`).
pub(crate) fn handles() -> impl Iterator<Item = (Place, &'static CacheHandle)> {
    let heads = *REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    heads.into_iter().flat_map(|head| {
        core::iter::successors(head, |known| known.next).map(|known| (known.place, &known.handle))
    })
}

/// A handle, with its place, in its bucket's list. Leaked: a handle lives as
/// long as the program.
struct Registered {
    place: Place,
    handle: CacheHandle,
    next: Option<&'static Registered>,
}

fn bucket(place: &Place) -> usize {
    use core::hash::BuildHasher;
    // A fixed seed: nothing here is an attacker's input.
    let hash = foldhash::fast::FixedState::with_seed(0).hash_one(place);
    usize::try_from(hash % BUCKETS as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn place(line: u32) -> Place {
        Place { module: "m", file: "f.rs", line, column: 4, name: "f", id: 0 }
    }

    #[test]
    fn two_sites_of_one_place_share_a_handle_and_other_places_do_not() {
        static A: Site = Site::new(place(1), None);
        static B: Site = Site::new(place(1), None);
        static C: Site = Site::new(place(2), NonZeroUsize::new(3));
        assert!(core::ptr::eq(A.handle(), B.handle()));
        assert!(!core::ptr::eq(A.handle(), C.handle()));
        assert_eq!(C.handle().info().maxsize, Some(3));
        assert_eq!(A.handle().name(), "f");
    }
}
