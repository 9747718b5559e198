//! Lookups for `async fn` (the `async` feature): a task that misses a key
//! another task is computing waits for it without blocking its thread.
//!
//! An async lookup looks into the store like a sync one; on a miss it goes
//! through the cache's own flight table (whatever the store), where a waiting
//! task leaves its [`Waker`](core::task::Waker) and is woken when the key is
//! settled. If the computing task's future is dropped (cancelled) or its body
//! panics, its [`Miss`] gives the claim up, and the first waiting task to run
//! takes the computation over. A waiting task whose own future is dropped
//! leaves the table. No lock is held across an `.await`.

use core::future::Future;
use core::hash::Hash;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::call::cache::{Cache, Miss};
use crate::call::offload::Offloaded;
use crate::clock;
use crate::flight::Want;
use crate::store::expiry::{Expiring, Found};
use crate::store::key::{Exact, KeyView};
use crate::store::{Store, StoreError};

/// The future of an async lookup: the value, or the [`Miss`] this task
/// computes. Made by [`Cache::lookup_async`]; it borrows the cache but not the
/// arguments, so that they can move into the body once it is ready.
#[must_use = "a lookup does nothing unless awaited"]
pub struct Pending<'c, K, V, S> {
    cache: &'c Cache<K, V, S>,
    step: Step<'c, K, V, S>,
}

enum Step<'c, K, V, S> {
    /// Answered when made: a miss to compute, or a value that a second look
    /// found.
    Ready(Result<V, Miss<'c, K, V, S>>),
    /// Waiting for an entry of the flight table, computed by another task;
    /// `key` in case the wait ends without a value or a claim.
    Waiting { at: crate::flight::Waiting, key: K },
    /// Looking `key` up in a store that blocks on the network, on an I/O
    /// thread; `accept` says whether a stored value answers, `expired`
    /// whether the in-process part of the store held one that did not.
    Looking { job: Offloaded<Result<Option<V>, StoreError>>, key: K, accept: fn(&V) -> bool, expired: bool },
    /// Answered.
    Done,
}

// The future never pins what it holds: it moves values out by hand.
impl<K, V, S> Unpin for Pending<'_, K, V, S> {}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    /// [`lookup`](Cache::lookup) for an `async fn`: a hit is `Ok` at once; a
    /// miss is a future that gives the value or the [`Miss`] to compute. A miss
    /// on a key that another task is computing waits for its value without
    /// blocking the thread, and takes the computation over if that task is
    /// cancelled or panics.
    ///
    /// # Errors
    ///
    /// A miss is the `Err`: await it.
    ///
    /// ```
    /// use memo::{Cache, Exact, Unbounded};
    ///
    /// # futures_lite_block_on(async {
    /// let cache: Cache<u64, u64> = Cache::new(Unbounded::new());
    /// let found = match cache.lookup_async(&Exact(&12)) {
    ///     Ok(hit) => Ok(hit),
    ///     Err(pending) => pending.await,
    /// };
    /// let square = match found {
    ///     Ok(hit) => hit,
    ///     Err(miss) => miss.complete(144),
    /// };
    /// assert_eq!(square, 144);
    /// # });
    /// # fn futures_lite_block_on(f: impl std::future::Future<Output = ()>) {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     assert!(f.as_mut().poll(&mut cx).is_ready());
    /// # }
    /// ```
    #[inline]
    pub fn lookup_async<Q>(&self, view: &Q) -> Result<V, Pending<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.find_async(view, Want::Any)
    }

    #[inline]
    fn find_async<Q>(&self, view: &Q, want: Want<'_, V>) -> Result<V, Pending<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let seen = self.settles();
        match self.look(view, want) {
            Ok(value) => Ok(value),
            Err(counted) => Err(self.miss_async(view, counted, want, seen)),
        }
    }

    /// The miss of [`find_async`](Cache::find_async): single-flight through
    /// the cache's own table.
    #[cold]
    #[inline(never)]
    fn miss_async<Q>(&self, view: &Q, counted: bool, want: Want<'_, V>, seen: u64) -> Pending<'_, K, V, S>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        Pending { cache: self, step: self.miss_step(view, counted, || self.recheck(view, want, seen)) }
    }

    /// A miss, counted unless `counted`, through single-flight: the miss to
    /// compute, the value `recheck` finds stored after all, or a wait for the
    /// task that computes it.
    fn miss_step<Q>(&self, view: &Q, counted: bool, recheck: impl FnOnce() -> Option<V>) -> Step<'_, K, V, S>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if !self.count_miss(counted) {
            return Step::Ready(Err(self.unclaimed(view.to_owned_key())));
        }
        match self.flights().enter_async(view, self.name, self.epoch(), recheck) {
            Ok(claim) => Step::Ready(self.answer_with(|| view.to_owned_key(), claim)),
            Err(at) => Step::Waiting { at, key: view.to_owned_key() },
        }
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    /// The async lookup of a `'static` cache whose store blocks on the
    /// network ([`Store::BLOCKING`]): what the store holds in the process
    /// ([`Store::get_in_process`]) answers in line; else the store is asked
    /// on an I/O thread of the cache's lane and the task waits without
    /// blocking its thread. `accept` says whether a stored value answers (a
    /// fresh one, for values that expire).
    pub(crate) fn lookup_offloaded<Q>(
        &'static self,
        view: &Q,
        accept: fn(&V) -> bool,
    ) -> Result<V, Pending<'static, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        // As a sync lookup asks a store: a part of memo's that the store
        // locks keeps the nesting rules itself (its guard is `Inside`, see
        // `nesting`), so a near hit is not lost to a lock held for a moment
        // by an I/O thread's insert.
        let near = if S::IN_PROCESS { self.store().get_in_process(view, &accept) } else { Found::Miss };
        let expired = match near {
            // Checked again: a store of the user's may ignore `fresh`.
            Found::Hit(value) if accept(&value) => {
                self.count_hit();
                return Ok(value);
            }
            Found::Hit(_) | Found::Expired => true,
            Found::Miss => false,
        };
        let key = view.to_owned_key();
        let asked = key.clone();
        let job = self.lane().run(move || self.store().get(&Exact(&asked)));
        Err(Pending { cache: self, step: Step::Looking { job, key, accept, expired } })
    }
}

impl<'c, K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    /// What an offloaded lookup found: a hit, or the miss, counted and gone
    /// through single-flight. No second look at the store: that would be
    /// another round trip, and a value stored meanwhile only costs a second
    /// computation, never a wrong value.
    fn found(
        &'c self,
        found: Option<Result<Option<V>, StoreError>>,
        key: &K,
        accept: fn(&V) -> bool,
        expired: bool,
    ) -> Step<'c, K, V, S> {
        // A stale value counts as an expired entry, once, whichever part of
        // the store held it; the server drops it.
        let found = match found {
            Some(Ok(Some(value))) => Ok(if accept(&value) { Found::Hit(value) } else { Found::Expired }),
            Some(Ok(None)) if expired => Ok(Found::Expired),
            Some(Ok(None)) => Ok(Found::Miss),
            Some(Err(error)) => Err(error),
            None => Err(StoreError::new("the store panicked")),
        };
        match self.tally(found) {
            Ok(value) => Step::Ready(Ok(value)),
            Err(counted) => self.miss_step(&Exact(key), counted, || None),
        }
    }
}

impl<K, V, S> Cache<K, Expiring<V>, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, Expiring<V>> + 'static,
{
    /// [`lookup_fresh`](Cache::lookup_fresh) for an `async fn`, as
    /// [`lookup_async`](Cache::lookup_async): the future gives the value,
    /// never one past its deadline.
    ///
    /// # Errors
    ///
    /// A miss is the `Err`: await it.
    #[inline]
    pub fn lookup_fresh_async<Q>(&self, view: &Q) -> Result<V, PendingFresh<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let now = clock::now();
        let fresh = move |entry: &Expiring<V>| entry.is_fresh(now);
        match self.find_async(view, Want::Fresh(&fresh)) {
            Ok(entry) => Ok(entry.value),
            Err(pending) => {
                self.sweep(now);
                Err(PendingFresh(pending))
            }
        }
    }
}

impl<'c, K, V, S> Future for Pending<'c, K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    type Output = Result<V, Miss<'c, K, V, S>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let cache = this.cache;
        loop {
            match core::mem::replace(&mut this.step, Step::Done) {
                Step::Ready(answer) => return Poll::Ready(answer),
                Step::Waiting { at, key } => {
                    return match cache.flights().poll(at, cx.waker()) {
                        Poll::Ready(claim) => Poll::Ready(cache.answer_with(|| key, claim)),
                        Poll::Pending => {
                            this.step = Step::Waiting { at, key };
                            Poll::Pending
                        }
                    };
                }
                Step::Looking { mut job, key, accept, expired } => match Pin::new(&mut job).poll(cx) {
                    // Answered: a value, a miss, or a wait for another task.
                    Poll::Ready(found) => this.step = cache.found(found, &key, accept, expired),
                    Poll::Pending => {
                        this.step = Step::Looking { job, key, accept, expired };
                        return Poll::Pending;
                    }
                },
                // Polled again after it was answered, which an `async fn`
                // around it never does: there is nothing more to give.
                Step::Done => return Poll::Pending,
            }
        }
    }
}

/// The future of an async lookup of an expiring value ([`Expiring`]): the
/// value, without its deadline, or the miss. Made by
/// [`Cache::lookup_fresh_async`].
#[must_use = "a lookup does nothing unless awaited"]
pub struct PendingFresh<'c, K, V, S>(Pending<'c, K, Expiring<V>, S>);

impl<'c, K, V, S> From<Pending<'c, K, Expiring<V>, S>> for PendingFresh<'c, K, V, S> {
    fn from(pending: Pending<'c, K, Expiring<V>, S>) -> Self {
        PendingFresh(pending)
    }
}

impl<'c, K, V, S> Future for PendingFresh<'c, K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, Expiring<V>> + 'static,
{
    type Output = Result<V, Miss<'c, K, Expiring<V>, S>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.get_mut().0).poll(cx).map(|found| found.map(|entry| entry.value))
    }
}

impl<K, V, S> Drop for Pending<'_, K, V, S> {
    fn drop(&mut self) {
        if let Step::Waiting { at, .. } = self.step {
            if let Some(flights) = self.cache.flights_made() {
                flights.leave(at);
            }
        }
    }
}
