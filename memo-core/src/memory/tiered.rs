//! [`Tiered`]: an in-process store in front of a shared one.

use core::hash::Hash;

use crate::store::expiry::Found;
use crate::store::info::CacheInfo;
use crate::store::key::KeyView;
use crate::store::{FunctionId, Store, StoreError};

/// Two stores, a near one in front of a far one: typically an in-process
/// [`Lru`](crate::Lru) in front of a [`Redis`](crate::Shared) or memcached
/// store, so that hot keys cost an in-process hit and the rest one round trip.
///
/// A lookup asks the near store, then the far one, and keeps what the far one
/// had in the near one. A value is stored in both. `remove` and `clear` act on
/// both. A failure of the far store is an error only if the near store had
/// nothing to say: a near hit never waits for the network. In an `async fn`
/// a near hit is answered in line, on the task's thread, and a value goes to
/// the near store in line too; only the far store's operations go to memo's
/// I/O threads (see [`Store::get_in_process`]).
///
/// The near store of each process keeps its own copies: a value removed or
/// replaced through another process stays in this one's near store until it
/// expires (`ttl`) or is evicted, so give a `ttl` to a tiered cache whose
/// values can change.
///
/// ```
/// use std::num::NonZeroUsize;
/// use memo::{Lru, Tiered, Unbounded, memoize};
///
/// // In real use the far store is a `Redis` or `Memcached` one.
/// #[memoize(store = Tiered::new(Lru::new(NonZeroUsize::new(100).unwrap()), Unbounded::new()))]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// assert_eq!(square(12), 144);
/// assert_eq!(square(12), 144);
/// assert_eq!(square_cache().info().hits, 1);
/// ```
#[derive(Debug)]
pub struct Tiered<N, F> {
    near: N,
    far: F,
}

impl<N, F> Tiered<N, F> {
    /// `near` in front of `far`.
    pub const fn new(near: N, far: F) -> Self {
        Tiered { near, far }
    }

    /// The near store.
    pub fn near(&self) -> &N {
        &self.near
    }

    /// The far store.
    pub fn far(&self) -> &F {
        &self.far
    }
}

impl<K, V, N, F> Store<K, V> for Tiered<N, F>
where
    K: Hash + Eq + Clone,
    V: Clone,
    N: Store<K, V>,
    F: Store<K, V>,
{
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if let Ok(Some(value)) = self.near.get(key) {
            return Ok(Some(value));
        }
        let found = self.far.get(key)?;
        if let Some(value) = &found {
            // A near store that fails to keep it changes nothing.
            let _ = self.near.insert(key.to_owned_key(), value.clone());
        }
        Ok(found)
    }

    /// The near tier, then the far one (also where the near tier's entry is
    /// no longer fresh); a far entry does not fill the near tier. A failure
    /// of the near tier is a miss there, as in `get`.
    fn peek<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if let Ok(Some(value)) = self.near.peek(key, fresh) {
            return Ok(Some(value));
        }
        self.far.peek(key, fresh)
    }

    fn get_fresh<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Result<Found<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let near = self.near.get_fresh(key, fresh);
        if let Ok(Found::Hit(value)) = near {
            return Ok(Found::Hit(value));
        }
        match self.far.get_fresh(key, fresh)? {
            Found::Hit(value) => {
                let _ = self.near.insert(key.to_owned_key(), value.clone());
                Ok(Found::Hit(value))
            }
            // An entry that expired in either tier is an expiration, once.
            Found::Expired => Ok(Found::Expired),
            Found::Miss => Ok(if matches!(near, Ok(Found::Expired)) { Found::Expired } else { Found::Miss }),
        }
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        let _ = self.near.insert(key.clone(), value.clone());
        self.far.insert(key, value)
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let near = self.near.remove(key).unwrap_or(false);
        Ok(self.far.remove(key)? || near)
    }

    fn clear(&self) -> Result<(), StoreError> {
        let near = self.near.clear();
        self.far.clear().and(near)
    }

    /// The entries of the near store (the far one cannot count them).
    fn len(&self) -> usize {
        self.near.len()
    }

    fn retain(&self, keep: &mut dyn FnMut(&K, &V) -> bool) -> Result<usize, StoreError> {
        self.near.retain(keep)
    }

    fn maxsize(&self) -> Option<usize> {
        self.near.maxsize()
    }

    /// What the near store knows of its size, and its evictions; hits and
    /// misses are the cache's, since either tier may answer.
    fn info(&self) -> CacheInfo {
        let near = self.near.info();
        CacheInfo {
            maxsize: near.maxsize,
            currsize: near.currsize,
            evictions: near.evictions,
            ..CacheInfo::default()
        }
    }

    const BLOCKING: bool = N::BLOCKING || F::BLOCKING;

    const IN_PROCESS: bool = !N::BLOCKING || N::IN_PROCESS || !F::BLOCKING || F::IN_PROCESS;

    /// The tiers that do not block, asked whole, and the in-process part of
    /// those that do: an `async fn`'s near hits are answered in line. A far
    /// hit found so fills the near tier, as [`get`](Store::get) does.
    fn get_in_process<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Found<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let near = in_process(&self.near, key, fresh);
        if let Found::Hit(value) = near {
            return Found::Hit(value);
        }
        match in_process(&self.far, key, fresh) {
            Found::Hit(value) => {
                let _ = keep_in_process(&self.near, key.to_owned_key(), value.clone());
                Found::Hit(value)
            }
            Found::Expired => Found::Expired,
            Found::Miss => near,
        }
    }

    /// The tiers that do not block get `value`, and the in-process part of
    /// those that do. A failure of the near tier changes nothing, as in
    /// [`insert`](Store::insert).
    fn insert_in_process(&self, key: K, value: V) -> Result<(), StoreError> {
        let _ = keep_in_process(&self.near, key.clone(), value.clone());
        keep_in_process(&self.far, key, value)
    }

    /// Both tiers serve the function: either may be a shared store.
    fn abandoned<Q>(&self, key: &Q)
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.near.abandoned(key);
        self.far.abandoned(key);
    }

    fn bind(&mut self, function: &FunctionId) {
        self.near.bind(function);
        self.far.bind(function);
    }
}

/// What `store` finds for `key` without blocking: all of it if it does not
/// block, else its in-process part. A failure is a miss.
fn in_process<K, V, S, Q>(store: &S, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Found<V>
where
    S: Store<K, V>,
    Q: KeyView<Owned = K> + ?Sized,
{
    if S::BLOCKING {
        if S::IN_PROCESS { store.get_in_process(key, fresh) } else { Found::Miss }
    } else {
        store.get_fresh(key, fresh).unwrap_or(Found::Miss)
    }
}

/// Stores `value` in `store` without blocking: in all of it if it does not
/// block, else in its in-process part.
fn keep_in_process<K, V, S: Store<K, V>>(store: &S, key: K, value: V) -> Result<(), StoreError> {
    match (S::BLOCKING, S::IN_PROCESS) {
        (false, _) => store.insert(key, value),
        (true, true) => store.insert_in_process(key, value),
        (true, false) => Ok(()),
    }
}
