//! The layers of memo-core, as `src/lib.rs` lists them: each module of the
//! crate's root may use only the modules listed before it. A `use
//! crate::...` (or a path `crate::...` in code) that points down the list is
//! a circle in the making, and fails this test with the file and the line.
//!
//! Doc comments and comments are not code: a doc link may point anywhere.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// From the bottom up. Modules on one line are beside each other: neither
/// may use the other.
const LAYERS: &[&[&str]] = &[
    &["sync", "clock"],
    &["store"],
    &["parts"],
    &["flight"],
    &["memory", "remote"],
    &["call"],
    &["per_thread"],
    &["listing"],
    &["metrics"],
    &["__private"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The root module a file belongs to (`private/` is `__private`).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.trim_end_matches(".rs").to_string();
    match first.as_str() {
        "lib" => None,
        "private" => Some("__private".into()),
        _ => Some(first),
    }
}

/// The root modules that `code` names after `crate::`, one per use, with
/// `use crate::{a::X, b::Y}` read as naming `a` and `b`.
fn named(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        // `my_crate::`, `$crate::`: not this crate's path.
        if rest[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            rest = tail;
            continue;
        }
        if let Some(group) = tail.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.push(first_segment(item.trim()));
            }
        } else {
            out.push(first_segment(tail));
        }
        rest = tail;
    }
    // Items re-exported at the root (`crate::Cache`) are not modules.
    out.retain(|name| name.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
    out
}

fn first_segment(path: &str) -> String {
    path.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

/// The code of a file, without its comments and its unit tests (which may
/// use any layer to set a case up).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(i, line)| (i + 1, line))
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut wrong = Vec::new();
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for file in &all {
        let Some(me) = owner(&src, file) else { continue };
        let Some(my_rank) = rank(&me) else {
            wrong.push(format!("{}: module `{me}` is in no layer of LAYERS", file.display()));
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for (line, code) in code_lines(&text) {
            for used in named(code) {
                if used == me {
                    continue;
                }
                *edges.entry((me.clone(), used.clone())).or_default() += 1;
                match rank(&used) {
                    Some(r) if r < my_rank => {}
                    _ => wrong.push(format!("{}:{line}: `{me}` uses `crate::{used}`", file.display())),
                }
            }
        }
    }
    assert!(wrong.is_empty(), "uses against the layers:\n{}", wrong.join("\n"));
    // The test reads what it should: the call path uses the stores.
    assert!(edges.contains_key(&("call".into(), "memory".into())), "{edges:?}");
}

#[test]
fn the_store_trait_has_nothing_hidden_or_prefixed() {
    let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/mod.rs")).unwrap();
    let start = text.find("pub trait Store<K, V>").expect("the trait");
    let body = &text[start..];
    let end = body.find("\n}\n").expect("the trait's end");
    let body = &body[..end];
    for (i, line) in body.lines().enumerate() {
        let code = line.trim_start();
        assert!(!code.starts_with("#[doc(hidden)]"), "line {i} of the trait is hidden: {line}");
        assert!(!code.contains("fn __") && !code.contains("const __"), "line {i}: {line}");
    }
    assert!(body.contains("fn get<Q>") && body.contains("fn bind("), "read the wrong trait");
}

#[test]
fn the_reader_of_paths_reads_groups_and_skips_items() {
    assert_eq!(named("use crate::{parts::Shards, store::key::KeyView, Cache};"), ["parts", "store"]);
    assert_eq!(named("let x = crate::flight::hold(); crate::Miss"), ["flight"]);
    assert!(named("\"my_crate::my_function\" $crate::x").is_empty());
}
