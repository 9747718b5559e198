//! A hit neither allocates nor clones an argument: only a miss builds the owned
//! key. Counted with a global allocator that counts this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use memo::memoize;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes this thread allocated less those it freed.
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may already be gone while a thread exits.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn live(bytes: usize, sign: i64) {
    let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
    let _ = LIVE.try_with(|live| live.set(live.get() + sign * bytes));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting
// touches only a const-initialised thread-local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        live(layout.size(), 1);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        live(layout.size(), 1);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        live(layout.size(), -1);
        live(new_size, 1);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(layout.size(), -1);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// The heap bytes that `f` keeps, allocated on this thread.
fn kept(f: impl FnOnce()) -> i64 {
    let before = LIVE.with(Cell::get);
    f();
    LIVE.with(Cell::get) - before
}

#[memoize]
fn one_unbounded(x: u64) -> u64 {
    x + 1
}

#[memoize(maxsize = 10_000)]
fn one_lru(x: u64) -> u64 {
    x + 2
}

#[memoize(maxsize = 100)]
fn one_small_lru(x: u64) -> u64 {
    x + 3
}

#[test]
fn a_cache_with_one_entry_keeps_at_most_1_kib_of_heap() {
    // The handle, the cache, its store and the entry, after a miss and a
    // hit: parts, flight tables and hit counters come when the cache grows
    // or threads meet on it, not before.
    for (name, bytes) in [
        ("unbounded", kept(|| assert_eq!(one_unbounded(1) + one_unbounded(1), 4))),
        ("maxsize = 10000", kept(|| assert_eq!(one_lru(1) + one_lru(1), 6))),
        ("maxsize = 100", kept(|| assert_eq!(one_small_lru(1) + one_small_lru(1), 8))),
    ] {
        assert!(bytes <= 1024, "{name}: {bytes} bytes");
    }
}

#[memoize]
fn by_u64(x: u64) -> u64 {
    x + 1
}

#[memoize(maxsize = 100)]
fn by_str(s: &str) -> usize {
    s.len()
}

#[memoize]
fn by_bytes(b: &[u8]) -> Arc<str> {
    Arc::from(format!("{} bytes", b.len()))
}

#[memoize]
fn by_string(s: String) -> usize {
    s.len()
}

#[memoize(maxsize = 10)]
fn by_several(a: u32, s: &str, b: &[u8], t: String) -> u64 {
    u64::from(a) + (s.len() + b.len() + t.len()) as u64
}

static CLONES: AtomicUsize = AtomicUsize::new(0);

/// An argument that counts its clones.
#[derive(PartialEq, Eq, Hash)]
struct Counted(u32);

impl Clone for Counted {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, SeqCst);
        Counted(self.0)
    }
}

#[memoize]
fn by_counted(c: Counted, r: &Counted) -> u32 {
    c.0 + r.0
}

fn strings(n: usize) -> Vec<String> {
    (0..n).map(|_| String::from("a key of some length")).collect()
}

// One test, so that no other test allocates on this thread meanwhile.
#[test]
fn hits_do_not_allocate() {
    let long = "x".repeat(1024);
    let bytes = vec![7_u8; 32];

    // Misses build owned keys: they allocate (this also proves the counter works).
    let misses = allocations(|| {
        by_str(&long);
        by_string(String::new());
    });
    assert!(misses > 0, "the counting allocator saw nothing");
    by_u64(1);
    by_bytes(&bytes);
    let owned = strings(101);
    by_string(owned[0].clone());
    by_several(1, &long, &bytes, owned[0].clone());

    let mut owned = owned.into_iter().skip(1);
    let mut moved = strings(100).into_iter();
    let hits = allocations(|| {
        for _ in 0..100 {
            assert_eq!(by_u64(1), 2);
            assert_eq!(by_str(&long), 1024);
            assert_eq!(&*by_bytes(&bytes), "32 bytes");
            assert_eq!(by_string(owned.next().unwrap()), 20);
            assert_eq!(by_several(1, &long, &bytes, moved.next().unwrap()), 1 + 1024 + 32 + 20);
        }
    });
    assert_eq!(hits, 0, "hits allocated");
    assert_eq!(by_string_cache().info().hits, 100);
}

#[test]
fn hits_do_not_clone_arguments() {
    let r = Counted(2);
    assert_eq!(by_counted(Counted(1), &r), 3);
    let on_miss = CLONES.load(SeqCst);
    // Into the key, once: the single-flight claim that other threads
    // missing the same key wait on holds it until the store takes it.
    assert_eq!(on_miss, 2, "a miss clones each argument once");
    for _ in 0..10 {
        assert_eq!(by_counted(Counted(1), &r), 3);
    }
    assert_eq!(CLONES.load(SeqCst), on_miss, "hits cloned an argument");
}
