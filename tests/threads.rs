//! One cache per function, shared by every thread, and no lock held while a
//! body runs: a slow body does not hold up hits or misses on other keys.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use memo::memoize;

/// How long a test waits for a step before it fails instead of hanging.
const WATCHDOG: Duration = Duration::from_secs(30);

#[memoize]
fn square(x: u64) -> u64 {
    x * x
}

#[test]
fn threads_share_one_cache() {
    let handles: Vec<_> = (0..4).map(|_| thread::spawn(|| (0..100).map(square).sum::<u64>())).collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), (0..100).map(|x| x * x).sum());
    }
    let info = square_cache().info();
    assert_eq!(info.hits + info.misses, 400);
    assert_eq!(info.currsize, 100);
    // Without single-flight, threads that miss one key at once may each run
    // the body; they can never take more than one miss each per key.
    assert!(info.misses >= 100 && info.misses <= 400, "{info}");
}

/// Gates for `slow`: it tells the test that it runs, then waits to be released.
static GATE: std::sync::Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>> = std::sync::Mutex::new(None);

#[memoize(maxsize = 16)]
fn slow(x: u64) -> u64 {
    if x == 0 {
        let (entered, release) = GATE.lock().unwrap().take().expect("gate set up");
        entered.send(()).unwrap();
        release.recv_timeout(WATCHDOG).expect("the test never released the slow body");
    }
    x + 100
}

#[test]
fn a_running_body_does_not_block_other_keys() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    *GATE.lock().unwrap() = Some((entered_tx, release_rx));
    slow(1); // warm

    let slow_call = thread::spawn(|| slow(0));
    entered_rx.recv_timeout(WATCHDOG).expect("the slow body never started");

    // The body of `slow(0)` is running now. If it held the cache's lock, these
    // would wait for it; they run on another thread so that a hang fails the
    // test instead of stalling it.
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let hit = slow(1);
        let miss = slow(2);
        done_tx.send((hit, miss)).unwrap();
    });
    let (hit, miss) = done_rx.recv_timeout(WATCHDOG).expect("calls on other keys waited for a running body");
    assert_eq!((hit, miss), (101, 102));

    release_tx.send(()).unwrap();
    assert_eq!(slow_call.join().unwrap(), 100);
    assert_eq!(slow(0), 100);
    let info = slow_cache().info();
    assert_eq!((info.hits, info.misses), (2, 3));
}

#[test]
fn handles_and_caches_are_sync() {
    fn assert_sync<T: Sync + Send>(_: &T) {}
    assert_sync(square_cache());
}
