//! [`caches`]: every memoized function of the process with its cache, for a
//! program to show on a debug page, export as metrics, or clear.

use core::fmt;

use crate::call::handle::CacheHandle;
use crate::call::site::{self, Place};
use crate::per_thread::ThreadCacheHandle;
use crate::store::info::CacheInfo;

/// One memoized function, as [`caches`] lists it: its name, where it is,
/// and its cache.
#[derive(Clone, Copy)]
pub struct ListedCache {
    place: Place,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Shared(&'static CacheHandle),
    Thread(ThreadCacheHandle),
}

impl ListedCache {
    /// The function's name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.place.name
    }

    /// The module it is in (`module_path!()`).
    #[must_use]
    pub fn module(&self) -> &'static str {
        self.place.module
    }

    /// The source file and line of its name.
    #[must_use]
    pub fn location(&self) -> (&'static str, u32) {
        (self.place.file, self.place.line)
    }

    /// Where it is written.
    #[cfg(feature = "metrics")]
    pub(crate) fn place(&self) -> Place {
        self.place
    }

    /// The counts of a shared cache since the program began, `clear()`s
    /// notwithstanding.
    #[cfg(feature = "metrics")]
    pub(crate) fn totals(&self) -> Option<CacheInfo> {
        self.handle().map(CacheHandle::totals)
    }

    /// Whether it is a `scope = thread` function, whose
    /// [`info`](Self::info) and [`clear`](Self::clear) are the calling
    /// thread's.
    #[must_use]
    pub fn per_thread(&self) -> bool {
        matches!(self.kind, Kind::Thread(_))
    }

    /// Its handle, for a shared cache.
    #[must_use]
    pub fn handle(&self) -> Option<&'static CacheHandle> {
        match self.kind {
            Kind::Shared(handle) => Some(handle),
            Kind::Thread(_) => None,
        }
    }

    /// Its counts and size, as its handle's `info()` reports them.
    #[must_use]
    pub fn info(&self) -> CacheInfo {
        match self.kind {
            Kind::Shared(handle) => handle.info(),
            Kind::Thread(handle) => handle.info(),
        }
    }

    /// Empties it, as its handle's `clear()`.
    pub fn clear(&self) {
        match self.kind {
            Kind::Shared(handle) => handle.clear(),
            Kind::Thread(handle) => handle.clear(),
        }
    }
}

/// `module::name`.
impl fmt::Display for ListedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.place.module, self.place.name)
    }
}

impl fmt::Debug for ListedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListedCache")
            .field("function", &format_args!("{self}"))
            .field("per_thread", &self.per_thread())
            .field("info", &self.info())
            .finish()
    }
}

/// Every memoized function of the process that has been called (or whose
/// handle has been asked for), shared and `scope = thread` alike, in the
/// order of their modules, names and places in the source.
///
/// ```
/// #[memo::memoize]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// square(3);
/// square(3);
/// let listed = memo::caches();
/// let mine = listed.iter().find(|cache| cache.name() == "square").unwrap();
/// assert_eq!(mine.to_string(), format!("{}::square", module_path!()));
/// assert_eq!((mine.info().hits, mine.info().misses), (1, 1));
/// ```
#[must_use]
pub fn caches() -> Vec<ListedCache> {
    let mut listed: Vec<ListedCache> =
        site::handles().map(|(place, handle)| ListedCache { place, kind: Kind::Shared(handle) }).collect();
    let per_thread = crate::per_thread::listed();
    listed.extend(
        per_thread
            .into_iter()
            .map(|handle| ListedCache { place: handle.place(), kind: Kind::Thread(handle) }),
    );
    listed.sort_by_key(|cache| {
        (
            cache.place.module,
            cache.place.name,
            cache.place.file,
            cache.place.line,
            cache.place.column,
            cache.place.id,
        )
    });
    listed
}
