//! [`Entries`]: the entries of one part's table, the first of them inline.
//!
//! Most of the time a part has one key in flight, or none: a miss claims its
//! key and settles it before the next miss of that part. So the first entry
//! lives in the table itself, and a hash table is made only for a second
//! entry in flight at once (a recursion, or threads missing together): a
//! cache that never has two keys in flight in one part never allocates one
//! (404 bytes for `u64` keys and values), and the common miss neither
//! hashes into it nor probes it.

use hashbrown::HashTable;
use hashbrown::hash_table::OccupiedEntry;

use super::table::Entry;

pub(crate) struct Entries<K, V> {
    first: Option<Entry<K, V>>,
    rest: HashTable<Entry<K, V>>,
}

/// An entry found, to read, change or remove.
pub(super) enum Found<'a, K, V> {
    First(&'a mut Option<Entry<K, V>>),
    Rest(OccupiedEntry<'a, Entry<K, V>>),
}

impl<K, V> Found<'_, K, V> {
    pub(super) fn get_mut(&mut self) -> &mut Entry<K, V> {
        match self {
            Found::First(first) => first.as_mut().expect("found"),
            Found::Rest(found) => found.get_mut(),
        }
    }

    pub(super) fn remove(self) -> Entry<K, V> {
        match self {
            Found::First(first) => first.take().expect("found"),
            Found::Rest(found) => found.remove().0,
        }
    }
}

impl<K, V> Entries<K, V> {
    pub(super) const fn new() -> Self {
        Entries { first: None, rest: HashTable::new() }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.is_empty()
    }

    /// Adds an entry, whose hash is `entry.hash`.
    #[inline]
    pub(super) fn insert(&mut self, entry: Entry<K, V>) {
        if self.first.is_none() {
            self.first = Some(entry);
        } else {
            self.rest.insert_unique(entry.hash, entry, |e| e.hash);
        }
    }

    /// The entry of `hash` that `is` accepts.
    #[inline]
    pub(super) fn find(&self, hash: u64, is: impl Fn(&Entry<K, V>) -> bool) -> Option<&Entry<K, V>> {
        match &self.first {
            Some(first) if first.hash == hash && is(first) => Some(first),
            _ if self.rest.is_empty() => None,
            // hashbrown trusts the closure alone: the hash is checked too.
            _ => self.rest.find(hash, |e| e.hash == hash && is(e)),
        }
    }

    /// [`find`](Entries::find), to change.
    #[inline]
    pub(super) fn find_mut(
        &mut self,
        hash: u64,
        is: impl Fn(&Entry<K, V>) -> bool,
    ) -> Option<&mut Entry<K, V>> {
        self.find_entry(hash, is).map(|found| match found {
            Found::First(first) => first.as_mut().expect("found"),
            Found::Rest(found) => found.into_mut(),
        })
    }

    /// [`find`](Entries::find), to change or remove.
    #[inline]
    pub(super) fn find_entry(
        &mut self,
        hash: u64,
        is: impl Fn(&Entry<K, V>) -> bool,
    ) -> Option<Found<'_, K, V>> {
        if self.first.as_ref().is_some_and(|first| first.hash == hash && is(first)) {
            return Some(Found::First(&mut self.first));
        }
        if self.rest.is_empty() {
            return None;
        }
        self.rest.find_entry(hash, |e| e.hash == hash && is(e)).ok().map(Found::Rest)
    }

    /// Every entry.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry<K, V>> {
        self.first.iter_mut().chain(self.rest.iter_mut())
    }

    /// Every entry of `hash` (and maybe others).
    pub(super) fn iter_hash_mut(&mut self, hash: u64) -> impl Iterator<Item = &mut Entry<K, V>> {
        self.first.iter_mut().filter(move |e| e.hash == hash).chain(self.rest.iter_hash_mut(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::Entries;
    use crate::flight::table::Entry;

    fn entry(hash: u64, id: u64) -> Entry<u64, u64> {
        Entry::new(hash, hash, id, 0, 0)
    }

    #[test]
    fn entries_are_found_and_removed_wherever_they_live() {
        let mut entries = Entries::new();
        assert!(entries.is_empty());
        for id in 0..5 {
            entries.insert(entry(id % 2, id));
        }
        for id in 0..5 {
            let hash = id % 2;
            assert_eq!(entries.find(hash, |e| e.id == id).map(|e| e.id), Some(id));
            assert!(entries.find(hash, |e| e.id == id + 100).is_none());
        }
        assert_eq!(entries.iter_hash_mut(0).filter(|e| e.hash == 0).count(), 3);
        // The inline one goes, and a new one takes its place.
        assert_eq!(entries.find_entry(0, |e| e.id == 0).map(|found| found.remove().id), Some(0));
        assert!(entries.find(0, |e| e.id == 0).is_none());
        entries.insert(entry(7, 9));
        assert_eq!(entries.find_mut(7, |e| e.id == 9).map(|e| e.id), Some(9));
        for id in [1, 2, 3, 4, 9] {
            let hash = if id == 9 { 7 } else { id % 2 };
            assert!(entries.find_entry(hash, |e| e.id == id).is_some_and(|found| found.remove().id == id));
        }
        assert!(entries.is_empty());
        assert_eq!(entries.iter_mut().count(), 0);
    }
}
