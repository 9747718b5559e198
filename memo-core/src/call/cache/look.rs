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

/// How a cache whose values expire looks at its stored entries, of type
/// `Expiring<V>`, which the code of a cache of any stored type `S` cannot
/// name: an entry's deadline (`None`: never), and its value put in `out` if
/// `out` is an `Option<V>`.
pub(crate) struct Lifetime<S> {
    deadline: fn(&S) -> Option<Instant>,
    give: fn(S, &mut dyn Any),
}

impl<S> Clone for Lifetime<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Lifetime<S> {}

/// The [`Lifetime`] of `Expiring<V>`.
pub(crate) const fn expiring<V: 'static>() -> Lifetime<Expiring<V>> {
    fn deadline<V>(stored: &Expiring<V>) -> Option<Instant> {
        stored.expires
    }
    fn give<V: 'static>(stored: Expiring<V>, out: &mut dyn Any) {
        if let Some(out) = out.downcast_mut::<Option<V>>() {
            *out = Some(stored.value);
        }
    }
    Lifetime { deadline: deadline::<V>, give: give::<V> }
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
        let now = clock::now();
        let deadline = |stored: &V| self.lifetime.and_then(|lifetime| (lifetime.deadline)(stored));
        // A deadline is exclusive, as in `Expiring::is_fresh`.
        let fresh = |stored: &V| deadline(stored).is_none_or(|deadline| now < deadline);
        let stored = match self.store.peek(&Exact(key), &fresh) {
            Ok(stored) => stored?,
            Err(error) => {
                self.store_failed(&error);
                return None;
            }
        };
        // Checked again: a store of the user's may ignore `fresh`.
        if !fresh(&stored) {
            return None;
        }
        let found = deadline(&stored);
        if let Some(out) = out {
            match self.lifetime {
                Some(lifetime) => (lifetime.give)(stored, out),
                None => {
                    if let Some(out) = out.downcast_mut::<Option<V>>() {
                        *out = Some(stored);
                    }
                }
            }
        }
        Some(found)
    }
}
