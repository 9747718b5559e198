//! Keys: the borrowed view of a call's arguments and the owned key a store keeps.
//!
//! A call first builds a [`KeyView`]: references to its arguments, with no clone
//! and no allocation. The view is hashed and compared with the owned keys in the
//! store; only a miss turns it into an owned key with [`KeyView::to_owned_key`].
//!
//! The view and its owned key must hash alike. The parts below guarantee that
//! through the contract of [`Borrow`]: a `&str` argument hashes as `str` and its
//! owned key `String` hashes as `str` too. Several arguments hash part after
//! part, exactly as the tuple of their owned keys does.

use core::borrow::Borrow;
use core::hash::{Hash, Hasher};

/// A borrowed view of a key, which a [`Store`](crate::Store) can hash, compare
/// with its owned keys, and turn into an owned key when it stores a new entry.
///
/// Implementations must keep one rule: a view and the owned key it
/// [`matches`](KeyView::matches) feed the same bytes to a hasher in
/// [`hash_view`](KeyView::hash_view) and in `Owned`'s [`Hash`].
///
/// Users of `#[memoize]` never name this trait; authors of stores call its
/// methods.
///
/// ```
/// use memo::KeyView;
/// use std::hash::{BuildHasher, Hasher};
///
/// // An owned key is a view of itself, through `memo::Exact`.
/// let key = String::from("page");
/// let view = memo::Exact(&key);
/// assert!(view.matches(&String::from("page")));
/// assert_eq!(view.to_owned_key(), "page");
///
/// let state = std::hash::RandomState::new();
/// let mut h = state.build_hasher();
/// view.hash_view(&mut h);
/// assert_eq!(h.finish(), state.hash_one(&key));
/// ```
pub trait KeyView {
    /// The key a store keeps for this view.
    type Owned: Hash + Eq;

    /// Feeds the view to `state`, exactly as `Self::Owned`'s `Hash` would.
    fn hash_view<H: Hasher>(&self, state: &mut H);

    /// Whether `key` is the owned form of this view.
    fn matches(&self, key: &Self::Owned) -> bool;

    /// Builds the owned key. A cache calls this only on a miss.
    fn to_owned_key(&self) -> Self::Owned;
}

/// Hashes a view with `state`; stores use it so that views and owned keys
/// (hashed with `state.hash_one(key)`) land in the same bucket.
#[inline]
pub(crate) fn hash_view<Q: KeyView + ?Sized>(state: &impl core::hash::BuildHasher, view: &Q) -> u64 {
    let mut hasher = state.build_hasher();
    view.hash_view(&mut hasher);
    hasher.finish()
}

/// An owned key used as its own view, for looking up or removing a key that the
/// caller already owns.
#[derive(Debug, Clone, Copy)]
pub struct Exact<'a, K>(pub &'a K);

impl<K: Hash + Eq + Clone> KeyView for Exact<'_, K> {
    type Owned = K;

    #[inline]
    fn hash_view<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }

    #[inline]
    fn matches(&self, key: &K) -> bool {
        self.0 == key
    }

    fn to_owned_key(&self) -> K {
        self.0.clone()
    }
}

/// One argument of a view. Implemented by [`ByVal`] and [`ByRef`] only.
pub trait KeyPart {
    /// The owned form of the argument, stored in the key.
    type Owned: Hash + Eq;
    /// Feeds the argument to `state`, as `Self::Owned`'s `Hash` would.
    fn hash_part<H: Hasher>(&self, state: &mut H);
    /// Whether `owned` is the owned form of this argument.
    fn matches_part(&self, owned: &Self::Owned) -> bool;
    /// Clones the argument into its owned form.
    fn to_owned_part(&self) -> Self::Owned;
}

/// An argument taken by value (`x: T`): the key stores a clone of `T`, made on
/// a miss only.
#[derive(Debug)]
pub struct ByVal<'a, T>(pub &'a T);

impl<T: Hash + Eq + Clone> KeyPart for ByVal<'_, T> {
    type Owned = T;

    #[inline]
    fn hash_part<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }

    #[inline]
    fn matches_part(&self, owned: &T) -> bool {
        self.0 == owned
    }

    fn to_owned_part(&self) -> T {
        self.0.clone()
    }
}

/// An argument taken by reference (`x: &T`): the key stores `T::Owned`
/// (`String` for `&str`, `Vec<U>` for `&[U]`), made on a miss only.
#[derive(Debug)]
pub struct ByRef<'a, T: ?Sized>(pub &'a T);

impl<T> KeyPart for ByRef<'_, T>
where
    T: ?Sized + Hash + Eq + ToOwned,
    T::Owned: Hash + Eq,
{
    type Owned = T::Owned;

    #[inline]
    fn hash_part<H: Hasher>(&self, state: &mut H) {
        // `Borrow` promises that `T::Owned` hashes as the `T` it borrows as.
        self.0.hash(state);
    }

    #[inline]
    fn matches_part(&self, owned: &T::Owned) -> bool {
        self.0 == owned.borrow()
    }

    fn to_owned_part(&self) -> T::Owned {
        self.0.to_owned()
    }
}

/// The view of a whole argument list: a tuple of [`KeyPart`]s. No arguments
/// give the key `()`, one argument its owned form, several the tuple of their
/// owned forms.
#[derive(Debug)]
pub struct View<T>(pub T);

impl KeyView for View<()> {
    type Owned = ();

    #[inline]
    fn hash_view<H: Hasher>(&self, _: &mut H) {}

    #[inline]
    fn matches(&self, (): &()) -> bool {
        true
    }

    fn to_owned_key(&self) {}
}

impl<A: KeyPart> KeyView for View<(A,)> {
    type Owned = A::Owned;

    #[inline]
    fn hash_view<H: Hasher>(&self, state: &mut H) {
        self.0.0.hash_part(state);
    }

    #[inline]
    fn matches(&self, key: &A::Owned) -> bool {
        self.0.0.matches_part(key)
    }

    fn to_owned_key(&self) -> A::Owned {
        self.0.0.to_owned_part()
    }
}

// Several parts hash one after the other, which is what `Hash` for a tuple of
// their owned forms does (a unit test below holds std to that).
macro_rules! tuple_views {
    ($(($($part:ident $idx:tt),+))+) => {$(
        impl<$($part: KeyPart),+> KeyView for View<($($part,)+)> {
            type Owned = ($($part::Owned,)+);

            #[inline]
            fn hash_view<HH: Hasher>(&self, state: &mut HH) {
                $(self.0.$idx.hash_part(state);)+
            }

            #[inline]
            fn matches(&self, key: &Self::Owned) -> bool {
                true $(&& self.0.$idx.matches_part(&key.$idx))+
            }

            fn to_owned_key(&self) -> Self::Owned {
                ($(self.0.$idx.to_owned_part(),)+)
            }
        }
    )+};
}

tuple_views! {
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::hash::BuildHasher;

    fn hash_of_view<Q: KeyView>(state: &foldhash::fast::FixedState, view: &Q) -> u64 {
        let mut h = state.build_hasher();
        view.hash_view(&mut h);
        h.finish()
    }

    #[test]
    fn views_hash_like_their_owned_keys() {
        let state = foldhash::fast::FixedState::with_seed(7);
        let s = "hello";
        let n = 42_u64;
        let bytes: &[u8] = &[1, 2, 3];

        let one = View((ByRef(s),));
        assert_eq!(hash_of_view(&state, &one), state.hash_one(one.to_owned_key()));

        let three = View((ByRef(s), ByVal(&n), ByRef(bytes)));
        let owned = three.to_owned_key();
        assert_eq!(owned, (String::from("hello"), 42, vec![1, 2, 3]));
        assert_eq!(hash_of_view(&state, &three), state.hash_one(&owned));
        assert!(three.matches(&owned));
        assert!(!three.matches(&(String::from("hello"), 43, vec![1, 2, 3])));

        let none = View(());
        assert_eq!(hash_of_view(&state, &none), state.hash_one(()));
        assert!(none.matches(&()));
    }

    #[test]
    fn twelve_parts_round_trip() {
        let state = foldhash::fast::FixedState::with_seed(1);
        let x = 1_u8;
        let v = View((
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByVal(&x),
            ByRef("s"),
        ));
        let owned = v.to_owned_key();
        assert!(v.matches(&owned));
        assert_eq!(hash_of_view(&state, &v), state.hash_one(&owned));
    }
}
