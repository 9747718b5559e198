//! Completing a miss: the body's value goes to the store (if it is to be
//! kept) and to whoever waits, through the trait of the lookups the probe
//! chose (see [`select`](super::select)): the cache's [`Miss`], a thread's
//! [`LocalMiss`], or the [`NoMiss`] of lookups that always miss, which only
//! returns the value.

use std::time::Duration;

use super::select::{NoLocalMiss, NoMiss};
use crate::per_thread::LocalMiss;
use crate::store::Store;
use crate::{Expiring, Miss};

/// The entry of a value that lives for `lifetime` (`None`: for ever) from
/// now, and whether to keep it: not if its lifetime is zero.
fn expiring_entry<V>(value: V, lifetime: Option<Duration>, keep: bool) -> (Expiring<V>, bool) {
    (Expiring::new(value, crate::clock::now(), lifetime), keep && lifetime != Some(Duration::ZERO))
}

/// Completes a miss with the body's value: stored if `keep`, else only
/// handed to the threads that waited for it.
pub trait Finish<V> {
    /// Stores `value` if `keep`, hands it to whoever waits, returns it.
    fn finish(self, value: V, keep: bool) -> V;
}

/// Completes a miss of a function with `ttl` or `expires`.
pub trait FinishExpiring<V> {
    /// Stores `value` to live for `lifetime` if `keep`, returns it.
    fn finish_expiring(self, value: V, lifetime: Option<Duration>, keep: bool) -> V;
}

/// Completes the miss of an `async fn`.
#[cfg(feature = "async")]
pub trait FinishAsync<V> {
    /// [`Finish::finish`], giving a store on a server the value from memo's
    /// I/O threads.
    fn finish_async(self, value: V, keep: bool) -> V;
}

/// Completes the miss of an `async fn` with `ttl` or `expires`.
#[cfg(feature = "async")]
pub trait FinishExpiringAsync<V> {
    /// [`FinishExpiring::finish_expiring`], giving a store on a server the
    /// value from memo's I/O threads.
    fn finish_expiring_async(self, value: V, lifetime: Option<Duration>, keep: bool) -> V;
}

/// The claim that a miss computes (see [`computing`](super::computing)).
#[cfg(feature = "async")]
pub trait Computes {
    /// The claim, if the cache keeps one.
    fn mark(&self) -> Option<crate::flight::Mark>;
}

impl<K, V, S> Finish<V> for Miss<'_, K, V, S>
where
    K: core::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    #[inline(always)]
    fn finish(self, value: V, keep: bool) -> V {
        if keep { self.complete(value) } else { self.complete_uncached(value) }
    }
}

impl<K, V, S> Finish<V> for &mut Miss<'_, K, V, S>
where
    K: core::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    #[inline(always)]
    fn finish(self, value: V, keep: bool) -> V {
        self.complete_in_place(value, keep)
    }
}

impl<K, V, S> FinishExpiring<V> for &mut Miss<'_, K, Expiring<V>, S>
where
    K: core::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, Expiring<V>> + 'static,
{
    #[inline(always)]
    fn finish_expiring(self, value: V, lifetime: Option<Duration>, keep: bool) -> V {
        let (entry, keep) = expiring_entry(value, lifetime, keep);
        Finish::finish(self, entry, keep).value
    }
}

impl<V> Finish<V> for &mut NoMiss {
    #[inline(always)]
    fn finish(self, value: V, keep: bool) -> V {
        let _ = keep;
        value
    }
}

impl<V> FinishExpiring<V> for &mut NoMiss {
    #[inline(always)]
    fn finish_expiring(self, value: V, lifetime: Option<Duration>, keep: bool) -> V {
        let _ = (lifetime, keep);
        value
    }
}

#[cfg(feature = "async")]
impl<K, V, S> FinishAsync<V> for Miss<'static, K, V, S>
where
    K: core::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    #[inline(always)]
    fn finish_async(self, value: V, keep: bool) -> V {
        if S::BLOCKING { self.complete_offloaded(value, keep) } else { Finish::finish(self, value, keep) }
    }
}

#[cfg(feature = "async")]
impl<K, V, S> FinishExpiringAsync<V> for Miss<'static, K, Expiring<V>, S>
where
    K: core::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, Expiring<V>> + 'static,
{
    #[inline(always)]
    fn finish_expiring_async(self, value: V, lifetime: Option<Duration>, keep: bool) -> V {
        let (entry, keep) = expiring_entry(value, lifetime, keep);
        FinishAsync::finish_async(self, entry, keep).value
    }
}

#[cfg(feature = "async")]
impl<K, V, S> Computes for Miss<'_, K, V, S> {
    fn mark(&self) -> Option<crate::flight::Mark> {
        Miss::mark(self)
    }
}

impl<K, V> Finish<V> for Option<LocalMiss<K, V>>
where
    K: core::hash::Hash + Eq + Clone,
    V: Clone,
{
    #[inline(always)]
    fn finish(self, value: V, keep: bool) -> V {
        match self {
            Some(miss) if keep => miss.complete(value),
            Some(miss) => miss.complete_uncached(value),
            None => value,
        }
    }
}

impl<K, V> Finish<V> for &mut Option<LocalMiss<K, V>>
where
    K: core::hash::Hash + Eq + Clone,
    V: Clone,
{
    #[inline(always)]
    fn finish(self, value: V, keep: bool) -> V {
        let value = finish_local(self, value, keep);
        // Taken already: said here, so that the caller's drop glue goes.
        core::mem::forget(self.take());
        value
    }
}

/// [`Finish`] of a thread's miss where it lies, out of line: taken out of
/// the `Option` in this frame, not in the recursion's.
#[inline(never)]
fn finish_local<K, V>(miss: &mut Option<LocalMiss<K, V>>, value: V, keep: bool) -> V
where
    K: core::hash::Hash + Eq + Clone,
    V: Clone,
{
    Finish::finish(miss.take(), value, keep)
}

impl<K, V> Finish<V> for &mut Option<NoLocalMiss<K>> {
    #[inline(always)]
    fn finish(self, value: V, keep: bool) -> V {
        let _ = keep;
        value
    }
}

#[cfg(feature = "async")]
impl<V> FinishAsync<V> for NoMiss {
    fn finish_async(self, value: V, keep: bool) -> V {
        let _ = keep;
        value
    }
}

#[cfg(feature = "async")]
impl<V> FinishExpiringAsync<V> for NoMiss {
    fn finish_expiring_async(self, value: V, lifetime: Option<Duration>, keep: bool) -> V {
        let _ = (lifetime, keep);
        value
    }
}

#[cfg(feature = "async")]
impl Computes for NoMiss {
    fn mark(&self) -> Option<crate::flight::Mark> {
        None
    }
}
