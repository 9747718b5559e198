//! memcached servers that lie, stall or never stop talking: small TCP servers
//! of the test's own, speaking just enough of the text protocol. Every call
//! returns the function's own value within the deadline, the process does
//! not abort, and a reply is never taken for another key's.

#![cfg(feature = "memcached")]

mod common;
#[path = "watchdog/mod.rs"]
mod watchdog;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::{raw, run, server_env};
use memo::{Cache, Memcached};

/// The deadline of each operation in these tests.
const DEADLINE: Duration = Duration::from_millis(100);

/// A server that answers every command line (`get <key>`, `set ...`) with
/// `reply(line, stream)`. The listener lives as long as the test process.
fn hostile(reply: fn(&str, &mut TcpStream) -> std::io::Result<()>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    let command = ["get ", "set ", "delete "].iter().any(|c| line.starts_with(c));
                    if command && reply(line.trim_end(), &mut writer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// The key of a command line.
fn key(line: &str) -> &str {
    line.split(' ').nth(1).unwrap_or("")
}

/// Calls a memoized function on the server at `addr` five times: each
/// returns its own value, within the deadline and a little slack for a get
/// and a set, and each counts an error. Under a watchdog: a call that hangs
/// fails the test.
fn every_call_is_a_miss_within_the_deadline(name: &'static str, addr: String) {
    watchdog::within(name, Duration::from_secs(30), move || {
        let store = Memcached::<u64, u64>::new([addr])
            .namespace(format!("tests::hostile::{name}"))
            .timeout(DEADLINE)
            .retry_after(Duration::ZERO);
        let cache = Cache::new(store);
        for x in 0..5 {
            let start = Instant::now();
            assert_eq!(cache.get_or_insert_with(&x, || x * 7), x * 7);
            let took = start.elapsed();
            assert!(took < Duration::from_secs(1), "{name}: a call took {took:?}");
        }
        assert!(cache.info().store_errors >= 5, "{name}: {}", cache.info());
        assert_eq!(cache.info().hits, 0);
    });
}

#[test]
fn a_value_of_a_hundred_gigabytes_announced_is_a_miss_not_an_abort() {
    let addr =
        hostile(|line, out| out.write_all(format!("VALUE {} 0 99999999999\r\nxx", key(line)).as_bytes()));
    every_call_is_a_miss_within_the_deadline("hundred_gigabytes", addr);
}

#[test]
fn a_length_of_u64_max_is_a_miss_not_an_overflow() {
    let addr = hostile(|line, out| {
        out.write_all(format!("VALUE {} 0 18446744073709551615\r\n", key(line)).as_bytes())
    });
    every_call_is_a_miss_within_the_deadline("u64_max", addr);
}

#[test]
fn a_reply_sent_a_byte_every_30_ms_is_a_miss_at_the_deadline() {
    // 200 bytes: six seconds for the whole reply, while no read ever waits
    // more than 30 ms.
    let addr = hostile(|line, out| {
        out.write_all(format!("VALUE {} 0 200\r\n", key(line)).as_bytes())?;
        for _ in 0..200 {
            thread::sleep(Duration::from_millis(30));
            out.write_all(b"x")?;
        }
        out.write_all(b"\r\nEND\r\n")
    });
    every_call_is_a_miss_within_the_deadline("dribbling", addr);
}

#[test]
fn a_reply_line_that_never_ends_is_a_miss_at_the_deadline() {
    // A kilobyte every 10 ms and never a newline (paced, so that a client
    // that keeps it all grows slowly rather than taking the machine's memory).
    let addr = hostile(|_, out| {
        loop {
            out.write_all(&[b'x'; 1024])?;
            thread::sleep(Duration::from_millis(10));
        }
    });
    every_call_is_a_miss_within_the_deadline("endless", addr);
}

#[test]
fn garbage_replies_are_misses() {
    // A different kind of garbage for each call: the connection is dropped
    // after each, so each call meets the next one.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let addr = hostile(|line, out| {
        let garbage: [&[u8]; 10] = [
            b"\x00\xff\xfe garbage\r\n",
            b"VALUE\r\n",
            b"VALUE k 0 -1\r\n",
            b"VALUE k 0 12abc\r\n",
            b"VALUE k 0 3 9 9 9\r\n",
            b"STORED\r\n",
            b"END",
            b"\r\n",
            &[0xff; 4096],
            b"VALUE k 0 3\r\nabcXY\r\nEND\r\n",
        ];
        let _ = line;
        let i = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % garbage.len();
        out.write_all(garbage[i])?;
        // Then the connection goes quiet or closes.
        if i % 2 == 0 { Err(std::io::Error::other("closed")) } else { Ok(()) }
    });
    every_call_is_a_miss_within_the_deadline("garbage", addr);
}

/// The real server that [`answers_for_another_key`] reads from, and the key
/// it reads.
static ANOTHER: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

/// A server that answers every `get` with what the real server holds under
/// another key: a well-formed reply of a valid value, the wrong one.
fn answers_for_another_key(line: &str, out: &mut TcpStream) -> std::io::Result<()> {
    if !line.starts_with("get ") {
        return out.write_all(b"STORED\r\n");
    }
    let (addr, other) = ANOTHER.get().unwrap();
    out.write_all(&raw(addr, format!("get {other}\r\n").as_bytes()))
}

#[test]
fn a_reply_for_another_key_is_a_miss_never_its_value() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let servers: Vec<String> =
        std::env::var("MEMO_TEST_MEMCACHED").unwrap().split(',').map(str::to_owned).collect();
    let real = Memcached::<u64, u64>::new(servers).namespace("tests::hostile::another").version(run());
    let (other, addr) = (real.key_of(&1).unwrap(), real.server_of(&1).unwrap());
    Cache::new(real).get_or_insert_with(&1, || 7);
    ANOTHER.set((addr, other)).unwrap();
    let store = Memcached::<u64, u64>::new([hostile(answers_for_another_key)])
        .namespace("tests::hostile::another")
        .version(run())
        .timeout(DEADLINE)
        .retry_after(Duration::ZERO);
    let cache = Cache::new(store);
    assert_eq!(cache.get_or_insert_with(&2, || 14), 14, "the value of key 1 is not key 2's");
    assert!(cache.info().store_errors >= 1, "{}", cache.info());
}

#[test]
fn a_value_over_the_read_limit_is_a_miss_not_an_outage() {
    let Some(servers) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let server = servers.split(',').next().unwrap().to_owned();
    let store = || Memcached::<u64, String>::new([&server]).namespace("tests::hostile::limit").version(run());
    let writer = Cache::new(store());
    let big = "x".repeat(600_000);
    writer.get_or_insert_with(&1, || big.clone());
    writer.get_or_insert_with(&2, || String::from("small"));
    assert_eq!(writer.info().store_errors, 0);
    // A reader that takes at most 100 kB: the big value is not read (its
    // connection is closed), and the server is not taken for down: with a
    // minute's `retry_after`, the next call still reads the small value.
    let reader = Cache::new(store().max_value_bytes(100_000).retry_after(Duration::from_secs(60)));
    assert_eq!(reader.get_or_insert_with(&1, || String::from("computed")), "computed");
    assert_eq!(reader.info().store_errors, 1, "{}", reader.info());
    assert_eq!(reader.get_or_insert_with(&2, || unreachable!()), "small");
}

#[test]
fn a_hostile_server_does_not_slow_a_healthy_one() {
    let Some(servers) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let healthy: Vec<String> = servers.split(',').map(str::to_owned).collect();
    let stalled = hostile(|line, out| {
        out.write_all(format!("VALUE {} 0 200\r\n", key(line)).as_bytes())?;
        loop {
            thread::sleep(Duration::from_millis(30));
            out.write_all(b"x")?;
        }
    });
    let hostile_calls: Vec<_> = (0..4)
        .map(|t| {
            let stalled = stalled.clone();
            thread::spawn(move || {
                let cache = Cache::new(
                    Memcached::<u64, u64>::new([stalled])
                        .namespace("tests::hostile::stalled")
                        .timeout(DEADLINE)
                        .retry_after(Duration::ZERO),
                );
                for x in 0..10 {
                    assert_eq!(cache.get_or_insert_with(&x, || x + t), x + t);
                }
            })
        })
        .collect();
    let cache =
        Cache::new(Memcached::<u64, u64>::new(healthy).namespace("tests::hostile::healthy").version(run()));
    for x in 0..50 {
        let start = Instant::now();
        assert_eq!(cache.get_or_insert_with(&x, || x * 3), x * 3);
        assert_eq!(cache.get_or_insert_with(&x, || unreachable!()), x * 3);
        assert!(start.elapsed() < Duration::from_millis(500), "{:?} for a healthy call", start.elapsed());
    }
    assert_eq!(cache.info().store_errors, 0);
    for calls in hostile_calls {
        calls.join().unwrap();
    }
}
