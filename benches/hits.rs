//! The hit path: a memoized function called with warm keys, for every cache
//! of `peers` in one run.
//!
//! - `fib(n: u64)` over 1,000 warm keys, unbounded and at most 1,000 entries;
//! - a function of a 32-byte and of a 1 KiB string, taken as `&str` and as
//!   `String`, beside a hand-written map of `String` looked up by `&str`;
//! - a generic function's hit, in its first instantiation and in its fourth
//!   (found in the map of the others), over 1,000 warm keys.
//!
//! `cargo bench --bench hits`

mod peers;

use std::hint::black_box;
use std::sync::LazyLock;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use parking_lot::Mutex;
use peers::{KEYS, LRU, UNBOUNDED, keys};

fn u64_hits(c: &mut Criterion) {
    for (group, families) in [("u64 hit, unbounded", UNBOUNDED), ("u64 hit, LRU(1000)", LRU)] {
        let mut group = c.benchmark_group(group);
        for &family in families {
            for n in 0..KEYS {
                (family.fib)(n);
            }
            let mut next = keys();
            group.bench_function(family.name, |b| b.iter(|| (family.fib)(black_box(next()))));
        }
        group.finish();
    }
}

#[memo::memoize]
fn memo_str(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

#[memo::memoize]
fn memo_string(s: String) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

#[cached::proc_macro::cached(key = "String", convert = r#"{ s.to_string() }"#)]
fn cached_str(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

#[cached::proc_macro::cached]
fn cached_string(s: String) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

#[memoize::memoize]
fn memoize_string(s: String) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

type StrMap = hashbrown::HashMap<String, usize, foldhash::fast::RandomState>;
static BASELINE_STR: LazyLock<Mutex<StrMap>> = LazyLock::new(Mutex::default);

/// By hand: a map of `String` looked up by `&str` under a lock; the key is
/// copied only on a miss.
fn baseline_str(s: &str) -> usize {
    if let Some(&v) = BASELINE_STR.lock().get(s) {
        return v;
    }
    let v = s.bytes().filter(u8::is_ascii_digit).count();
    BASELINE_STR.lock().insert(s.to_owned(), v);
    v
}

type ByRef = fn(&str) -> usize;
type Owned = fn(String) -> usize;

/// 64 distinct strings of `len` bytes each.
fn strings(len: usize) -> Vec<String> {
    (0..64).map(|i| format!("{i:0>len$}")).collect()
}

fn string_hits(c: &mut Criterion) {
    for len in [32, 1024] {
        let texts = strings(len);
        for s in &texts {
            memo_str(s);
            memo_string(s.clone());
            cached_str(s);
            cached_string(s.clone());
            memoize_string(s.clone());
            baseline_str(s);
        }
        let mut group = c.benchmark_group(format!("{len}-byte string hit"));
        let by_ref: [(&str, ByRef); 3] = [
            ("memo &str", memo_str),
            ("baseline HashMap<String> get(&str)", baseline_str),
            ("cached &str", cached_str),
        ];
        for (name, f) in by_ref {
            let mut i = 0;
            group.bench_function(name, |b| {
                b.iter(|| {
                    i = (i + 1) % texts.len();
                    f(black_box(&texts[i]))
                });
            });
        }
        // An owned argument is moved in: its copy is made outside the timing,
        // its drop (inside the function) is timed, the same for each.
        let owned: [(&str, Owned); 3] = [
            ("memo String", memo_string),
            ("cached String", cached_string),
            ("memoize String", memoize_string),
        ];
        for (name, f) in owned {
            let mut i = 0;
            group.bench_function(name, |b| {
                b.iter_batched(
                    || {
                        i = (i + 1) % texts.len();
                        texts[i].clone()
                    },
                    |s| f(black_box(s)),
                    BatchSize::SmallInput,
                );
            });
        }
        group.finish();
    }
}

trait Scale {
    const K: u64;
}
struct S<const K: u64>;
impl<const K: u64> Scale for S<K> {
    const K: u64 = K;
}

/// A generic parameter that only the body uses: an instantiation each.
#[memo::memoize]
fn scaled<T: Scale>(n: u64) -> u64 {
    n * T::K
}

fn generic_hits(c: &mut Criterion) {
    for n in 0..KEYS {
        scaled::<S<1>>(n);
        scaled::<S<2>>(n);
        scaled::<S<3>>(n);
        scaled::<S<4>>(n);
    }
    let mut group = c.benchmark_group("generic u64 hit, unbounded");
    let mut next = keys();
    group.bench_function("memo, first instantiation", |b| b.iter(|| scaled::<S<1>>(black_box(next()))));
    let mut next = keys();
    group.bench_function("memo, fourth instantiation", |b| b.iter(|| scaled::<S<4>>(black_box(next()))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::criterion();
    targets = u64_hits, string_hits, generic_hits
}

criterion_main!(benches);
