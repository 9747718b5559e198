//! Bytes per entry: 1,000,000 `u64 -> u64` entries in a memoized function's
//! cache, unbounded and LRU, counted with a counting global allocator (heap
//! bytes live after the fills, over the entries).
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

/// Heap bytes per entry that filling a cache with `ENTRIES` keys keeps.
fn bytes_per_entry(fill: fn(u64) -> u64, handle: &memo::CacheHandle) -> f64 {
    fill(0); // the cache itself, before its entries
    let before = LIVE.load(Relaxed);
    for x in 1..ENTRIES {
        fill(x);
    }
    let after = LIVE.load(Relaxed);
    assert_eq!(handle.len() as u64, ENTRIES);
    (after - before) as f64 / (ENTRIES - 1) as f64
}

fn main() {
    let unbounded = bytes_per_entry(unbounded, unbounded_cache());
    let lru = bytes_per_entry(lru, lru_cache());
    println!("u64 -> u64, {ENTRIES} entries, heap bytes per entry:");
    println!("  unbounded        {unbounded:6.1}");
    println!("  lru(1,000,000)   {lru:6.1}");
}
