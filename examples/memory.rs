//! Bytes per entry: 1,000,000 `u64 -> u64` entries in a memoized function's
//! cache, unbounded and LRU, counted with a counting global allocator (heap
//! bytes live after the fills, over the entries); beside the same function
//! under the peers `cached` and `memoize`, and a bare hashbrown map and `lru`
//! cache filled by hand. Then the heap that a cache holding one entry keeps
//! (its first call), which an application with many memoized functions, or
//! a generic one with many instantiations, pays per cache.
//!
//! `cargo run --release --example memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use memo::memoize;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is an atomic that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ENTRIES: u64 = 1_000_000;

#[memoize]
fn unbounded(x: u64) -> u64 {
    x ^ 0x5555
}

#[memoize(maxsize = 1_000_000)]
fn lru(x: u64) -> u64 {
    x ^ 0x5555
}

#[cached::proc_macro::cached]
fn cached_unbounded(x: u64) -> u64 {
    x ^ 0x5555
}

#[cached::proc_macro::cached(max_size = 1_000_000)]
fn cached_lru(x: u64) -> u64 {
    x ^ 0x5555
}

#[memoize::memoize]
fn memoize_unbounded(x: u64) -> u64 {
    x ^ 0x5555
}

#[memoize::memoize(Capacity: 1_000_000)]
fn memoize_lru(x: u64) -> u64 {
    x ^ 0x5555
}

#[memoize]
fn one_unbounded(x: u64) -> u64 {
    x ^ 0x5555
}

#[memoize(maxsize = 10_000)]
fn one_lru(x: u64) -> u64 {
    x ^ 0x5555
}

#[memoize(maxsize = 100)]
fn one_small_lru(x: u64) -> u64 {
    x ^ 0x5555
}

#[cached::proc_macro::cached]
fn one_cached(x: u64) -> u64 {
    x ^ 0x5555
}

/// Heap bytes that `call`, a cache's first call, keeps.
fn first_call(call: impl FnOnce()) -> isize {
    let before = LIVE.load(Relaxed);
    call();
    LIVE.load(Relaxed) - before
}

/// Heap bytes per entry that filling a cache with `ENTRIES` keys keeps, the
/// cache itself included (a cache that reserves room for `maxsize` entries
/// when it is made does so on the first call).
fn bytes_per_entry(mut fill: impl FnMut(u64)) -> f64 {
    let before = LIVE.load(Relaxed);
    for x in 0..ENTRIES {
        fill(x);
    }
    let after = LIVE.load(Relaxed);
    (after - before) as f64 / ENTRIES as f64
}

fn main() {
    let nonzero = std::num::NonZeroUsize::new(ENTRIES as usize).unwrap();
    let mut map = hashbrown::HashMap::<u64, u64, foldhash::fast::RandomState>::default();
    let mut lru = None;
    let mut lru_put = |x| {
        let lru = lru.get_or_insert_with(|| {
            lru::LruCache::with_hasher(nonzero, foldhash::fast::RandomState::default())
        });
        let _ = lru.put(x, x ^ 0x5555);
    };
    let rows: [(&str, f64); 8] = [
        (
            "memo",
            bytes_per_entry(|x| {
                let _ = unbounded(x);
            }),
        ),
        (
            "memo maxsize=1000000",
            bytes_per_entry(|x| {
                let _ = self::lru(x);
            }),
        ),
        (
            "cached",
            bytes_per_entry(|x| {
                let _ = cached_unbounded(x);
            }),
        ),
        (
            "cached max_size=1000000",
            bytes_per_entry(|x| {
                let _ = cached_lru(x);
            }),
        ),
        (
            "memoize",
            bytes_per_entry(|x| {
                let _ = memoize_unbounded(x);
            }),
        ),
        (
            "memoize Capacity:1000000",
            bytes_per_entry(|x| {
                let _ = memoize_lru(x);
            }),
        ),
        (
            "hashbrown HashMap by hand",
            bytes_per_entry(|x| {
                let _ = map.insert(x, x ^ 0x5555);
            }),
        ),
        ("lru::LruCache by hand", bytes_per_entry(&mut lru_put)),
    ];
    assert_eq!(unbounded_cache().len() as u64, ENTRIES);
    assert_eq!(lru_cache().len() as u64, ENTRIES);
    println!("u64 -> u64, {ENTRIES} entries, heap bytes per entry:");
    for (name, bytes) in rows {
        println!("  {name:<26} {bytes:6.1}");
    }
    let ones: [(&str, isize); 5] = [
        (
            "memo",
            first_call(|| {
                std::hint::black_box(one_unbounded(1));
            }),
        ),
        (
            "memo maxsize=10000",
            first_call(|| {
                std::hint::black_box(one_lru(1));
            }),
        ),
        (
            "memo maxsize=100",
            first_call(|| {
                std::hint::black_box(one_small_lru(1));
            }),
        ),
        (
            "cached",
            first_call(|| {
                std::hint::black_box(one_cached(1));
            }),
        ),
        (
            "hashbrown HashMap by hand",
            first_call(|| {
                let mut map = hashbrown::HashMap::<u64, u64, foldhash::fast::RandomState>::default();
                map.insert(1, 1 ^ 0x5555);
                std::mem::forget(map);
            }),
        ),
    ];
    println!("u64 -> u64, heap bytes that a cache holding one entry keeps:");
    for (name, bytes) in ones {
        println!("  {name:<26} {bytes:6}");
    }
}
