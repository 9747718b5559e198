//! Looks at a cache from outside, without computing: what a handle's
//! `contains`, `peek` and `expires_in` ask. No hit or miss is counted, no
//! entry's recency changes (see [`Store::peek`]), and an expired entry is
//! not there.

use core::any::Any;
use core::hash::Hash;
use std::time::Instant;

use super::Cache;
use crate::clock;
use crate::store::Store;
use crate::store::expiry::Expiring;
use crate::store::key::Exact;

/// How a cache whose values expire looks at a stored entry, an
/// `Expiring<V>` (which the code of a cache of any stored type `S` cannot
/// name): `None` if it has expired at `now`, else its deadline (`None`:
/// never), with its value put in `out` if `out` is an `Option<V>`.
pub(crate) type Lifetime<S> = fn(S, Instant, Option<&mut dyn Any>) -> Option<Option<Instant>>;

/// The [`Lifetime`] of `Expiring<V>`.
pub(crate) fn expiring<V: 'static>(
    stored: Expiring<V>,
    now: Instant,
    out: Option<&mut dyn Any>,
) -> Option<Option<Instant>> {
    if !stored.is_fresh(now) {
        return None;
    }
    if let Some(out) = out.and_then(|out| out.downcast_mut::<Option<V>>()) {
        *out = Some(stored.value);
    }
    Some(stored.expires)
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    /// The entry of `key`, if `key` is of the cache's key type and its entry
    /// has not expired: its deadline (`Some(None)`: it never expires), and
    /// its value in `out`, if `out` is an `Option` of the value type the
    /// function returns. A failure of the store is counted, and no entry.
    pub(crate) fn look_any(&self, key: &dyn Any, out: Option<&mut dyn Any>) -> Option<Option<Instant>> {
        let key = key.downcast_ref::<K>()?;
        let stored = match self.store.peek(&Exact(key)) {
            Ok(stored) => stored?,
            Err(error) => {
                self.store_failed(&error);
                return None;
            }
        };
        if let Some(lifetime) = self.lifetime {
            return lifetime(stored, clock::now(), out);
        }
        if let Some(out) = out.and_then(|out| out.downcast_mut::<Option<V>>()) {
            *out = Some(stored);
        }
        Some(None)
    }
}
