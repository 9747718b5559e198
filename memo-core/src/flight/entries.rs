//! [`Entries`]: the entries of one part's table, the first of them inline.
//!
//! Most of the time a part has one key in flight, or none: a miss claims its
//! key and settles it before the next miss of that part. So the first entry
//! lives in the table itself, and more are kept only for a second entry in
//! flight at once (a recursion, or threads missing together): a cache that
//! never has two keys in flight in one part never allocates for them, and
//! the common miss neither hashes into them nor probes them.
//!
//! The others are kept in the order they came, in a `Vec`, with an index
//! by hash beside it. A recursion claims its keys one level below another and
//! settles them last-in first-out: the entry it settles is the last one, on
//! the hot end of the `Vec`, and the index holds four bytes an entry. Kept in
//! a hash table of their own (88 bytes each for `u64` keys and values), the
//! entries of a recursion 20,000 deep filled 1.7 MiB, and each claim and
//! settle waited for a cache miss on it (`perf annotate`: the part's unlock
//! waited for the entry's store in 88% of a claim's samples).

use hashbrown::HashTable;

use super::table::Entry;

pub(crate) struct Entries<K, V> {
    first: Option<Entry<K, V>>,
    /// The others, made for the first of them: a thin pointer in every
    /// part (a part's books sit on its cache lines, in every cache).
    rest: Option<Box<Rest<K, V>>>,
}

struct Rest<K, V> {
    /// The other entries, oldest first.
    entries: Vec<Entry<K, V>>,
    /// Where in `entries` each of them is, by its hash.
    index: HashTable<u32>,
}

/// An entry found, to change or remove.
pub(super) struct Found<'a, K, V> {
    entries: &'a mut Entries<K, V>,
    /// In `rest`, or (`None`) the first.
    at: Option<usize>,
}

impl<'a, K, V> Found<'a, K, V> {
    pub(super) fn get_mut(&mut self) -> &mut Entry<K, V> {
        match self.at {
            None => self.entries.first.as_mut().expect("found"),
            Some(at) => &mut self.entries.rest_mut().entries[at],
        }
    }

    pub(super) fn into_mut(self) -> &'a mut Entry<K, V> {
        match self.at {
            None => self.entries.first.as_mut().expect("found"),
            Some(at) => &mut self.entries.rest_mut().entries[at],
        }
    }

    pub(super) fn remove(self) -> Entry<K, V> {
        match self.at {
            None => self.entries.first.take().expect("found"),
            Some(at) => self.entries.rest_mut().remove_at(at),
        }
    }
}

/// An index of `rest` as the index table keeps it.
#[allow(clippy::cast_possible_truncation, reason = "fewer than 2^32 keys in flight in one part")]
const fn slot(at: usize) -> u32 {
    at as u32
}

impl<K, V> Entries<K, V> {
    pub(super) const fn new() -> Self {
        Entries { first: None, rest: None }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.as_ref().is_none_or(|rest| rest.entries.is_empty())
    }

    /// The others, found: only an entry of them is ever found.
    fn rest_mut(&mut self) -> &mut Rest<K, V> {
        self.rest.as_mut().expect("an entry of the others was found")
    }

    #[inline]
    pub(super) fn insert(&mut self, entry: Entry<K, V>) {
        if self.first.is_none() {
            self.first = Some(entry);
        } else {
            self.insert_rest(entry);
        }
    }

    fn insert_rest(&mut self, entry: Entry<K, V>) {
        let rest =
            self.rest.get_or_insert_with(|| Box::new(Rest { entries: Vec::new(), index: HashTable::new() }));
        let (hash, at) = (entry.hash, rest.entries.len());
        rest.entries.push(entry);
        let entries = &rest.entries;
        rest.index.insert_unique(hash, slot(at), |&i| entries[i as usize].hash);
    }

    /// Where in the others the entry of `hash` that `is` says is.
    #[inline]
    fn position(&self, hash: u64, is: impl Fn(&Entry<K, V>) -> bool) -> Option<usize> {
        let rest = self.rest.as_ref().filter(|rest| !rest.entries.is_empty())?;
        // The index trusts the closure alone: the hash is checked too.
        let found = rest.index.find(hash, |&i| {
            let e = &rest.entries[i as usize];
            e.hash == hash && is(e)
        });
        found.map(|&i| i as usize)
    }

    #[inline]
    pub(super) fn find(&self, hash: u64, is: impl Fn(&Entry<K, V>) -> bool) -> Option<&Entry<K, V>> {
        match &self.first {
            Some(first) if first.hash == hash && is(first) => Some(first),
            _ => {
                let at = self.position(hash, is)?;
                self.rest.as_ref().map(|rest| &rest.entries[at])
            }
        }
    }

    #[inline]
    pub(super) fn find_mut(
        &mut self,
        hash: u64,
        is: impl Fn(&Entry<K, V>) -> bool,
    ) -> Option<&mut Entry<K, V>> {
        self.find_entry(hash, is).map(Found::into_mut)
    }

    #[inline]
    pub(super) fn find_entry(
        &mut self,
        hash: u64,
        is: impl Fn(&Entry<K, V>) -> bool,
    ) -> Option<Found<'_, K, V>> {
        if self.first.as_ref().is_some_and(|first| first.hash == hash && is(first)) {
            return Some(Found { entries: self, at: None });
        }
        let at = self.position(hash, is)?;
        Some(Found { entries: self, at: Some(at) })
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry<K, V>> {
        let rest = self.rest.as_mut().map(|rest| rest.entries.iter_mut()).into_iter().flatten();
        self.first.iter_mut().chain(rest)
    }

    /// Runs `f` on every entry of `hash`.
    pub(super) fn each_of_hash(&mut self, hash: u64, mut f: impl FnMut(&mut Entry<K, V>)) {
        if let Some(first) = self.first.as_mut().filter(|e| e.hash == hash) {
            f(first);
        }
        let Some(rest) = self.rest.as_mut() else { return };
        let entries = &mut rest.entries;
        for &i in rest.index.iter_hash(hash) {
            if let Some(e) = entries.get_mut(i as usize).filter(|e| e.hash == hash) {
                f(e);
            }
        }
    }
}

impl<K, V> Rest<K, V> {
    /// Removes `entries[at]`; the last entry takes its place.
    fn remove_at(&mut self, at: usize) -> Entry<K, V> {
        let hash = self.entries[at].hash;
        if let Ok(found) = self.index.find_entry(hash, |&i| i as usize == at) {
            found.remove();
        }
        let last = self.entries.len() - 1;
        if at != last {
            let moved = self.entries[last].hash;
            if let Some(i) = self.index.find_mut(moved, |&i| i as usize == last) {
                *i = slot(at);
            }
        }
        self.entries.swap_remove(at)
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
        let mut of_hash_0 = 0;
        entries.each_of_hash(0, |e| of_hash_0 += usize::from(e.hash == 0));
        assert_eq!(of_hash_0, 3);
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

    #[test]
    fn entries_settled_in_any_order_are_each_found_until_they_go() {
        // A recursion settles last-in first-out; threads and tasks in any
        // order: every removal that is not the last moves the last entry,
        // whose place in the index must follow it.
        let mut entries = Entries::new();
        let hash = |id: u64| id % 7;
        for id in 0..200 {
            entries.insert(entry(hash(id), id));
        }
        let mut left: Vec<u64> = (0..200).collect();
        let mut pick = 17_usize;
        while !left.is_empty() {
            pick = (pick * 31 + 7) % left.len();
            let id = left.swap_remove(pick);
            let removed = entries.find_entry(hash(id), |e| e.id == id).map(|found| found.remove().id);
            assert_eq!(removed, Some(id));
            assert!(entries.find(hash(id), |e| e.id == id).is_none(), "{id} went");
            for &other in &left {
                assert_eq!(entries.find(hash(other), |e| e.id == other).map(|e| e.id), Some(other));
            }
        }
        assert!(entries.is_empty());
    }
}
