//! One computation per key across processes, against real servers: four
//! processes (this test binary, run again as a child with `MEMO_CHILD` set)
//! miss one key at once, and the body runs once, counted in a file that
//! every process appends to; a holder that is killed keeps the others
//! waiting no longer than `lock_wait`; with `lock(false)` every process
//! computes. On Redis and on memcached.

#![cfg(all(feature = "redis", feature = "memcached"))]

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::server_env;
use memo::{Memcached, Redis, memoize};

/// A setting of the child, from its environment.
fn setting(var: &str) -> String {
    std::env::var(var).unwrap_or_default()
}

fn millis(var: &str) -> Duration {
    Duration::from_millis(setting(var).parse().unwrap_or(5000))
}

fn redis_store() -> Redis<u64, u64> {
    Redis::new(&setting("MEMO_TEST_REDIS_URL"))
        .namespace(setting("MEMO_CHILD_NAMESPACE"))
        .lock(setting("MEMO_CHILD_LOCK") != "off")
        .lock_wait(millis("MEMO_CHILD_WAIT_MS"))
        .lock_ttl(millis("MEMO_CHILD_TTL_MS"))
}

fn memcached_store() -> Memcached<u64, u64> {
    Memcached::new(setting("MEMO_TEST_MEMCACHED").split(','))
        .namespace(setting("MEMO_CHILD_NAMESPACE"))
        .lock(setting("MEMO_CHILD_LOCK") != "off")
        .lock_wait(millis("MEMO_CHILD_WAIT_MS"))
        .lock_ttl(millis("MEMO_CHILD_TTL_MS"))
}

/// The body: one line in the runs file, then a slow computation (or, for a
/// holder to be killed, one that never ends).
fn body(x: u64) -> u64 {
    let path = setting("MEMO_CHILD_RUNS");
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
    file.write_all(format!("{}\n", std::process::id()).as_bytes()).unwrap();
    drop(file);
    let hang = setting("MEMO_CHILD_HANG") == "1";
    std::thread::sleep(if hang { Duration::from_secs(120) } else { Duration::from_millis(600) });
    x * 3
}

#[memoize(store = redis_store())]
fn on_redis(x: u64) -> u64 {
    body(x)
}

#[memoize(store = memcached_store())]
fn on_memcached(x: u64) -> u64 {
    body(x)
}

/// What a child does: one call, and its result and duration on stdout.
#[test]
fn child() {
    let which = setting("MEMO_CHILD");
    if which.is_empty() {
        return;
    }
    let start = Instant::now();
    let value = if which == "redis" { on_redis(7) } else { on_memcached(7) };
    println!("\nCHILD value={value} ms={}", start.elapsed().as_millis());
}

struct Run {
    backend: &'static str,
    namespace: String,
    runs: PathBuf,
}

impl Run {
    fn new(backend: &'static str, what: &str) -> Run {
        let namespace = format!("tests::cross_process::{what}::{}", std::process::id());
        let runs = std::env::temp_dir().join(format!("memo-runs-{backend}-{what}-{}", std::process::id()));
        let _ = std::fs::remove_file(&runs);
        Run { backend, namespace, runs }
    }

    fn spawn(&self, lock: &str, wait_ms: u64, ttl_ms: u64, hang: bool) -> Child {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--nocapture", "--test-threads=1"])
            .env("MEMO_CHILD", self.backend)
            .env("MEMO_CHILD_NAMESPACE", &self.namespace)
            .env("MEMO_CHILD_RUNS", &self.runs)
            .env("MEMO_CHILD_LOCK", lock)
            .env("MEMO_CHILD_WAIT_MS", wait_ms.to_string())
            .env("MEMO_CHILD_TTL_MS", ttl_ms.to_string())
            .env("MEMO_CHILD_HANG", if hang { "1" } else { "0" })
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Each child's value and how long its call took.
    fn results(children: Vec<Child>) -> Vec<(u64, Duration)> {
        children
            .into_iter()
            .map(|child| {
                let out = child.wait_with_output().unwrap();
                assert!(out.status.success(), "a child failed: {out:?}");
                let text = String::from_utf8(out.stdout).unwrap();
                let line = text.lines().find_map(|l| l.strip_prefix("CHILD ")).expect("the child's result");
                let mut fields =
                    line.split(' ').map(|f| f.split('=').nth(1).unwrap().parse::<u64>().unwrap());
                (fields.next().unwrap(), Duration::from_millis(fields.next().unwrap()))
            })
            .collect()
    }

    fn runs(&self) -> usize {
        std::fs::read_to_string(&self.runs).map_or(0, |text| text.lines().count())
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.runs);
    }
}

fn four_processes_compute_once(backend: &'static str) {
    let run = Run::new(backend, "once");
    let children = (0..4).map(|_| run.spawn("on", 5000, 5000, false)).collect();
    let results = Run::results(children);
    assert!(results.iter().all(|&(value, _)| value == 21), "{results:?}");
    assert_eq!(run.runs(), 1, "the body ran in more than one process: {results:?}");
}

fn a_killed_holder_blocks_nobody_past_the_wait(backend: &'static str) {
    let run = Run::new(backend, "killed");
    // The holder takes the lock, for 30 s, and hangs in its body.
    let mut holder = run.spawn("on", 1000, 30_000, true);
    let start = Instant::now();
    while run.runs() == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "the holder never ran its body");
        std::thread::sleep(Duration::from_millis(10));
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    let children = (0..3).map(|_| run.spawn("on", 1000, 30_000, false)).collect();
    let results = Run::results(children);
    for &(value, took) in &results {
        assert_eq!(value, 21);
        // They waited for the holder (which holds the lock still), and no
        // longer than the wait and their own body.
        assert!(took >= Duration::from_millis(900), "did not wait for the holder: {results:?}");
        assert!(took < Duration::from_millis(1000 + 600 + 1500), "waited too long: {results:?}");
    }
}

fn without_the_lock_every_process_computes(backend: &'static str) {
    let run = Run::new(backend, "off");
    let children = (0..4).map(|_| run.spawn("off", 5000, 5000, false)).collect();
    let results = Run::results(children);
    assert!(results.iter().all(|&(value, took)| value == 21 && took < Duration::from_secs(3)), "{results:?}");
    assert_eq!(run.runs(), 4);
}

#[test]
fn redis_four_processes_compute_once() {
    let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
    four_processes_compute_once("redis");
}

#[test]
fn redis_a_killed_holder_blocks_nobody_past_the_wait() {
    let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
    a_killed_holder_blocks_nobody_past_the_wait("redis");
}

#[test]
fn redis_without_the_lock_every_process_computes() {
    let Some(_) = server_env("MEMO_TEST_REDIS_URL") else { return };
    without_the_lock_every_process_computes("redis");
}

#[test]
fn memcached_four_processes_compute_once() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    four_processes_compute_once("memcached");
}

#[test]
fn memcached_a_killed_holder_blocks_nobody_past_the_wait() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    a_killed_holder_blocks_nobody_past_the_wait("memcached");
}

#[test]
fn memcached_without_the_lock_every_process_computes() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    without_the_lock_every_process_computes("memcached");
}
