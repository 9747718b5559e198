//! An expensive pure computation over strings, memoized with an LRU: the edit
//! distance between words, for a spell checker that sees the same words again
//! and again.
//!
//! `cargo run --release --example expensive`

use memo::memoize;

/// Levenshtein distance: the fewest insertions, deletions and substitutions
/// that turn `a` into `b`. Quadratic in the lengths.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

const DICTIONARY: &[&str] = &[
    "memoize", "memory", "member", "cache", "cached", "catch", "function", "junction", "fraction", "result",
    "return", "rust", "trust", "crust", "thread", "threat", "bread", "lookup", "hook", "book",
];

/// The dictionary word closest to `word`: one distance per dictionary word,
/// so worth caching for the words that come back. The LRU keeps the four
/// most recently corrected.
#[memoize(maxsize = 4)]
fn correct(word: &str) -> &'static str {
    let mut best = (usize::MAX, DICTIONARY[0]);
    for candidate in DICTIONARY {
        best = best.min((distance(word, candidate), candidate));
    }
    best.1
}

fn main() {
    // A stream of misspellings, in which recent ones tend to come back.
    let stream = [
        "memoise", "cahce", "memoise", "rsut", "cahce", "memoise", "thred", "rsut", "thred", "fucntion",
        "memoise", "lokup", "lokup", "fucntion", "thred", "memoise", "cahce", "cahce", "lokup", "memoise",
    ];
    for typo in stream {
        println!("{typo:>10} -> {}", correct(typo));
    }

    let info = correct_cache().info();
    println!();
    println!("{info}");
    println!(
        "hit rate {:.0}%: {} of {} corrections came from the cache",
        info.hit_rate() * 100.0,
        info.hits,
        info.hits + info.misses
    );

    // What the LRU kept: the most recently used words. The key of a `&str`
    // argument is its owned form, a `String`; `remove` says whether it was there.
    let mut distinct: Vec<&str> = stream.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let (kept, evicted): (Vec<&str>, Vec<&str>) =
        distinct.into_iter().partition(|typo| correct_cache().remove(&typo.to_string()));
    println!("kept by the LRU: {kept:?}");
    println!("evicted:         {evicted:?}");
}
