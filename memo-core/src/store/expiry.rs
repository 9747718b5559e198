//! Entries that expire: the stored form of a value with its deadline, and what
//! a lookup of such an entry finds.

use std::time::{Duration, Instant};

/// A value as a cache with expiry stores it: with the moment it stops being
/// valid (`None`: never).
///
/// ```
/// use memo::Expiring;
/// use std::time::{Duration, Instant};
///
/// let now = Instant::now();
/// let rate = Expiring::new(1.08, now, Some(Duration::from_secs(30)));
/// assert!(rate.is_fresh(now + Duration::from_secs(29)));
/// assert!(!rate.is_fresh(now + Duration::from_secs(30)));
/// assert!(Expiring::new("kept", now, None).is_fresh(now + Duration::from_secs(1 << 40)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring<V> {
    /// The value.
    pub value: V,
    /// When it expires: from then on it is never returned.
    pub expires: Option<Instant>,
}

impl<V> Expiring<V> {
    /// `value`, valid for `ttl` from `now` (`None`: for ever).
    pub fn new(value: V, now: Instant, ttl: Option<Duration>) -> Self {
        // A lifetime too long to add to `now` is for ever, for practical purposes.
        Expiring { value, expires: ttl.and_then(|ttl| now.checked_add(ttl)) }
    }

    /// Whether it is still valid at `now`: a deadline is exclusive, so at
    /// exactly `expires` the entry has expired.
    #[inline]
    pub fn is_fresh(&self, now: Instant) -> bool {
        self.expires.is_none_or(|expires| now < expires)
    }
}

/// What [`Store::get_fresh`](crate::Store::get_fresh) found.
///
/// ```
/// use memo::{Exact, Found, Store, Unbounded};
///
/// let store: Unbounded<u32, u32> = Unbounded::new();
/// store.insert(1, 10).unwrap();
/// store.insert(2, 20).unwrap();
/// let fresh = |v: &u32| *v < 15;
/// assert_eq!(store.get_fresh(&Exact(&1), &fresh).unwrap(), Found::Hit(10));
/// assert_eq!(store.get_fresh(&Exact(&2), &fresh).unwrap(), Found::Expired); // and removed
/// assert_eq!(store.get_fresh(&Exact(&2), &fresh).unwrap(), Found::Miss);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<V> {
    /// A valid entry: a clone of its value.
    Hit(V),
    /// No entry.
    Miss,
    /// An entry that was no longer valid: this lookup removed it.
    Expired,
}
