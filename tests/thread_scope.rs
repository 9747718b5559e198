//! `scope = thread`: each thread has a cache of its own, with no
//! synchronization; its handle reports the calling thread's cache.

use std::panic::catch_unwind;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use memo::memoize;

static RUNS: AtomicUsize = AtomicUsize::new(0);

#[memoize(scope = thread)]
fn square(x: u64) -> u64 {
    RUNS.fetch_add(1, SeqCst);
    x * x
}

#[test]
fn each_thread_has_a_cache_of_its_own() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                assert_eq!(square(7), 49);
                assert_eq!(square(7), 49);
                let info = square_cache().info();
                (info.hits, info.misses, info.currsize)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), (1, 1, 1));
    }
    assert_eq!(RUNS.load(SeqCst), 4, "every thread ran the body once");
    // This thread never called it: its cache is empty.
    assert!(square_cache().is_empty());
}

/// `Rc` is not `Send`: fine for a cache that never leaves its thread.
#[memoize(scope = thread, maxsize = 2)]
fn shared_text(n: u32) -> Rc<str> {
    Rc::from(n.to_string())
}

#[test]
fn values_need_not_be_send_and_maxsize_holds() {
    let a = shared_text(1);
    assert!(Rc::ptr_eq(&a, &shared_text(1)), "a hit returns a clone of the same Rc");
    shared_text(2);
    shared_text(3);
    let info = shared_text_cache().info();
    assert_eq!((info.currsize, info.maxsize), (2, Some(2)));
    // 1 was the least recently used when 3 came.
    assert!(!shared_text_cache().remove(&1_u32));
    assert!(shared_text_cache().remove(&3_u32));
    shared_text_cache().clear();
    assert_eq!(shared_text_cache().info().to_string(), "CacheInfo(hits=0, misses=0, maxsize=2, currsize=0)");
}

#[memoize(scope = thread)]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[test]
fn recursion_goes_through_the_threads_cache() {
    assert_eq!(fib(90), 2_880_067_194_370_816_120);
    let info = fib_cache().info();
    assert_eq!((info.misses, info.hits), (91, 88));
}

#[memoize(scope = thread)]
fn forever(x: u32) -> u32 {
    forever(x)
}

#[test]
fn same_thread_reentry_panics_and_leaves_nothing_behind() {
    let panic = catch_unwind(|| forever(1)).expect_err("re-entry must panic");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("`forever`") && message.contains("infinite recursion"), "{message}");
    assert!(catch_unwind(|| forever(1)).is_err(), "panics again, rather than being stuck");
}

#[memoize(scope = thread, typed)]
fn describe<T: std::fmt::Debug + std::hash::Hash + Eq + Clone + 'static>(x: T) -> String {
    format!("{x:?}")
}

#[test]
fn generic_functions_get_a_cache_per_instantiation_per_thread() {
    assert_eq!(describe(1_u8), "1");
    assert_eq!(describe(1_u16), "1");
    assert_eq!(describe(1_u8), "1");
    let info = describe_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (1, 2, 2));
}
