//! How a cache finds, behind its store type, the built-in stores that keep
//! single-flight claims in their own parts ([`Claims`]): by the store
//! type's `TypeId`, a constant of each cache's type, so that the compiler
//! keeps one path and drops the others. The `Store` trait says nothing of
//! claims: they are memo's, not the contract of a user's store.

use core::any::TypeId;
use core::hash::Hash;

use super::Cache;
use crate::flight::{Claims, Ticket};
use crate::memory::lru::Lru;
use crate::memory::unbounded::Unbounded;

impl<K: 'static, V: 'static, S: 'static> Cache<K, V, S> {
    /// The store as a `T`, if it is one: how the cache finds the built-in
    /// stores that keep single-flight claims in their own parts
    /// ([`Claims`]). The `TypeId`s are constants of each cache's type, so
    /// the compiler keeps one path and drops the others.
    #[inline(always)]
    #[allow(unsafe_code, reason = "a downcast by the TypeId of the store's type")]
    pub(super) fn store_as<T: 'static>(&self) -> Option<&T> {
        if TypeId::of::<S>() != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: `S` and `T` are one type (both `'static`, so their
        // `TypeId`s are equal only then). `dyn Any`'s `downcast_ref` would do
        // the same behind a virtual call, which the inliner weighs before it
        // is resolved: the lookup then stays out of line (+28 instructions
        // per LRU hit, measured).
        Some(unsafe { &*core::ptr::from_ref(&self.store).cast::<T>() })
    }

    /// Whether the store keeps single-flight claims in its own parts: one
    /// of the built-in in-memory stores. The user's stores, and the
    /// built-in ones that keep no claims, get single-flight from the
    /// cache's own table.
    #[inline(always)]
    pub(crate) fn claims_in_store(&self) -> bool {
        let store = TypeId::of::<S>();
        store == TypeId::of::<Unbounded<K, V>>() || store == TypeId::of::<Lru<K, V>>()
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: 'static,
{
    /// [`Claims::settle`] in the store, if it [keeps claims](Cache::claims_in_store).
    #[inline(always)]
    pub(crate) fn settle_in_store(
        &self,
        ticket: Option<&Ticket>,
        key: Option<K>,
        store: bool,
        value: Option<&V>,
        current: &dyn Fn(u64) -> bool,
    ) {
        if let Some(unbounded) = self.store_as::<Unbounded<K, V>>() {
            unbounded.settle(ticket, key, store, value, current);
        } else if let Some(lru) = self.store_as::<Lru<K, V>>() {
            lru.settle(ticket, key, store, value, current);
        }
    }
}
