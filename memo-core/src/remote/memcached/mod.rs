//! memcached: one server or several, spoken to in the text protocol over
//! `std::net`, each request under one deadline ([`wire`]), each server with
//! its bounded pool of connections ([`pool`]), its name looked up under a
//! deadline ([`resolve`]), whether it is down and its health ([`server`]),
//! keys spread over the servers by consistent hashing. The store's options
//! of memcached's own are in [`options`].
//!
//! memo keeps this client of its own rather than the `memcache` crate: see
//! the README's section on shared caches for why.
//!
//! The ring puts each server at 160 points, derived with BLAKE3 from its
//! address, and a key goes to the first point at or after the BLAKE3 of the
//! key: the same key goes to the same server in every process, whatever the
//! Rust version, and adding or removing one server moves only the keys of
//! that server.

mod options;
mod pool;
mod resolve;
mod server;
mod wire;

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Backend;
use super::server::Timeouts;
use crate::store::StoreError;
use pool::Limits;
use server::Server;
use wire::{MEMCACHED_MAX_ITEM, Value, Wire, unexpected};

/// Points per server on the ring.
const POINTS: u32 = 160;

/// memcached reads an expiry of more than 30 days as a Unix time.
const RELATIVE_LIMIT: u64 = 30 * 24 * 60 * 60;

/// The largest value memcached keeps by default (`-I 1m`), less room for its
/// item header: a larger value is neither sent nor read.
pub(crate) const MAX_VALUE: usize = 1024 * 1024 - 512;

/// The largest limit [`max_value_bytes`](crate::Shared::max_value_bytes)
/// takes: 512 MiB.
pub(crate) const MAX_LIMIT: usize = 512 * 1024 * 1024;

/// The memcached side of a [`Shared`](crate::Shared) store.
pub struct MemcachedServers {
    servers: Vec<Server>,
    ring: Vec<(u32, usize)>,
    pub(crate) timeouts: Timeouts,
    /// How many connections each server's pool keeps, and for how long.
    limits: Limits,
    /// The largest value sent or read, at most [`MAX_LIMIT`].
    max_value: usize,
}

fn point(bytes: &[u8]) -> u32 {
    let hash = blake3::hash(bytes);
    let mut first = [0; 4];
    first.copy_from_slice(&hash.as_bytes()[..4]);
    u32::from_le_bytes(first)
}

impl MemcachedServers {
    pub(crate) fn new(addrs: &[String]) -> Result<Self, StoreError> {
        if addrs.is_empty() {
            return Err(StoreError::new("memcached needs at least one server address"));
        }
        let mut ring: Vec<(u32, usize)> = addrs
            .iter()
            .enumerate()
            .flat_map(|(i, addr)| (0..POINTS).map(move |p| (point(format!("{addr}-{p}").as_bytes()), i)))
            .collect();
        ring.sort_unstable();
        Ok(MemcachedServers {
            servers: addrs.iter().map(Server::new).collect(),
            ring,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            max_value: MAX_VALUE,
        })
    }

    /// The address of the server that holds `key`.
    pub(crate) fn server_of(&self, key: &str) -> &str {
        &self.server(key).addr
    }

    fn server(&self, key: &str) -> &Server {
        let at = point(key.as_bytes());
        let i = self.ring.partition_point(|&(p, _)| p < at);
        let (_, server) = self.ring.get(i).or_else(|| self.ring.first()).copied().unwrap_or((0, 0));
        &self.servers[server]
    }

    fn call<R>(&self, key: &str, op: impl FnMut(&mut Wire<'_>) -> io::Result<R>) -> Result<R, StoreError> {
        self.server(key).call(&self.timeouts, &self.limits, op)
    }

    /// Sets the largest value sent or read, clamped to 512 MiB.
    pub(crate) fn set_max_value(&mut self, bytes: usize) {
        self.max_value = bytes.min(MAX_LIMIT);
    }

    /// A reply that is not what `key`'s server should say, with its address.
    fn refused(&self, key: &str, reply: &[u8]) -> StoreError {
        StoreError::new(format!("memcached {}: {}", self.server(key).addr, unexpected(reply)))
    }

    /// Sends `request` for `key` and reads its one-line reply, one of
    /// `answers`; any other leaves the connection in doubt (it is closed)
    /// and is the server's refusal.
    fn exchange(&self, key: &str, request: &[u8], answers: &[&[u8]]) -> Result<Vec<u8>, StoreError> {
        let reply = self.call(key, |wire| {
            wire.send(request)?;
            let reply = wire.line()?;
            if !answers.contains(&reply.as_slice()) {
                wire.spoil();
            }
            Ok(reply)
        })?;
        if answers.contains(&reply.as_slice()) { Ok(reply) } else { Err(self.refused(key, &reply)) }
    }
}

/// The latest exptime memcached takes: a Unix time in a signed 32-bit
/// integer, 2038-01-19 03:14:07 UTC. To a later one memcached 1.6 answers
/// `STORED` and keeps nothing.
const LATEST: u64 = i32::MAX as u64;

/// The exptime of a `ttl` at the Unix time `now`: whole seconds rounded up
/// (0 means never, so at least 1), and past 30 days an absolute Unix time, as
/// memcached reads it. A deadline past [`LATEST`] is clamped to it: the entry
/// is kept until 2038, shorter than asked, which a cache may always do. With
/// no usable clock (before 1970, or within 30 days of 2038 and later) the
/// longest is 30 days of relative time.
fn exptime(ttl: Option<Duration>, now: Option<u64>) -> u64 {
    let Some(ttl) = ttl else { return 0 };
    let secs = ttl.as_secs().saturating_add(u64::from(ttl.subsec_nanos() > 0)).max(1);
    if secs <= RELATIVE_LIMIT {
        return secs;
    }
    match now {
        Some(now) if now.saturating_add(RELATIVE_LIMIT) < LATEST => now.saturating_add(secs).min(LATEST),
        _ => RELATIVE_LIMIT,
    }
}

/// The Unix time now, if the clock is past 1970.
fn unix_now() -> Option<u64> {
    SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// What a `get` found.
enum Got {
    Miss,
    Hit(Vec<u8>),
    /// A value of this many bytes, over the limit, not read.
    TooLarge(u64),
}

/// The length in `VALUE <key> <flags> <bytes>`, if `line` is that line for
/// `key`: a reply for another key (a connection out of step) is garbage, not
/// a value, and so is a length memcached cannot hold.
fn value_length(line: &[u8], key: &str) -> Option<u64> {
    let mut fields = line.split(|&b| b == b' ');
    let (Some(b"VALUE"), Some(named), Some(flags), Some(len), None) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    let number = |field: &[u8]| -> Option<u64> {
        if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
            return None;
        }
        core::str::from_utf8(field).ok()?.parse().ok()
    };
    number(flags).filter(|&flags| u32::try_from(flags).is_ok())?;
    (named == key.as_bytes()).then_some(())?;
    number(len).filter(|&len| len <= MEMCACHED_MAX_ITEM)
}

impl Backend for MemcachedServers {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let limit = self.max_value;
        let got = self.call(key, |wire| {
            wire.send(format!("get {key}\r\n").as_bytes())?;
            let line = wire.line()?;
            if line == b"END" {
                return Ok(Got::Miss);
            }
            let len = value_length(&line, key).ok_or_else(|| unexpected(&line))?;
            let value = match wire.value(len, limit)? {
                Value::Bytes(value) => value,
                Value::TooLarge(len) => return Ok(Got::TooLarge(len)),
            };
            let end = wire.line()?;
            if end != b"END" {
                return Err(unexpected(&end));
            }
            Ok(Got::Hit(value))
        })?;
        match got {
            Got::Miss => Ok(None),
            Got::Hit(value) => Ok(Some(value)),
            Got::TooLarge(len) => Err(StoreError::new(format!(
                "memcached {}: a value of {len} bytes is larger than this store reads ({limit} bytes, \
                 `max_value_bytes`)",
                self.server(key).addr
            ))),
        }
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), StoreError> {
        if value.len() > self.max_value {
            return Err(StoreError::new(format!(
                "a value of {} bytes is larger than memcached keeps ({} bytes)",
                value.len(),
                self.max_value
            )));
        }
        let mut request =
            format!("set {key} 0 {} {}\r\n", exptime(ttl, unix_now()), value.len()).into_bytes();
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
        // memcached's answer to a refused value (too large, out of memory)
        // is one line too.
        self.exchange(key, &request, &[b"STORED"]).map(drop)
    }

    fn add(&self, key: &str, token: &str, ttl: Duration) -> Result<bool, StoreError> {
        let request =
            format!("add {key} 0 {} {}\r\n{token}\r\n", exptime(Some(ttl), unix_now()), token.len());
        Ok(self.exchange(key, request.as_bytes(), &[b"STORED", b"NOT_STORED"])? == b"STORED")
    }

    /// Reads the lock and deletes it if it holds `token`: two operations, so
    /// a lock that expires between them and is taken by another process is
    /// deleted (that process's waiters then compute too, as without a lock).
    /// The lock's expiry is far longer than the round trip between the two.
    fn delete_if(&self, key: &str, token: &str) -> Result<(), StoreError> {
        if self.get(key)?.is_some_and(|held| held == token.as_bytes()) {
            self.delete(key)?;
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let request = format!("delete {key}\r\n");
        Ok(self.exchange(key, request.as_bytes(), &[b"DELETED", b"NOT_FOUND"])? == b"DELETED")
    }

    fn clear(&self, _prefix: &str) -> Result<(), StoreError> {
        Err(StoreError::new(
            "memcached cannot delete keys by prefix: bump the store's `version` to start a fresh cache",
        ))
    }

    fn timeouts(&mut self) -> &mut Timeouts {
        &mut self.timeouts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_times() {
        let now = Some(1_800_000_000);
        assert_eq!(exptime(None, now), 0);
        assert_eq!(exptime(Some(Duration::ZERO), now), 1, "0 would be never");
        assert_eq!(exptime(Some(Duration::from_nanos(1)), now), 1);
        assert_eq!(exptime(Some(Duration::from_millis(1500)), now), 2);
        assert_eq!(exptime(Some(Duration::from_secs(RELATIVE_LIMIT)), now), RELATIVE_LIMIT);
        assert_eq!(
            exptime(Some(Duration::from_secs(RELATIVE_LIMIT + 1)), now),
            1_800_000_000 + RELATIVE_LIMIT + 1
        );
    }

    #[test]
    fn a_deadline_past_2038_is_2038() {
        let now = Some(1_800_000_000);
        for secs in [LATEST, 1 << 62, u64::MAX] {
            assert_eq!(exptime(Some(Duration::from_secs(secs)), now), LATEST);
        }
        assert_eq!(exptime(Some(Duration::MAX), now), LATEST);
        // A clock that cannot say an absolute time memcached takes.
        for now in [None, Some(LATEST - RELATIVE_LIMIT), Some(LATEST + 1)] {
            assert_eq!(exptime(Some(Duration::from_secs(1 << 40)), now), RELATIVE_LIMIT);
        }
    }

    #[test]
    fn only_a_value_line_for_the_key_asked_gives_a_length() {
        assert_eq!(value_length(b"VALUE k 0 12", "k"), Some(12));
        assert_eq!(value_length(b"VALUE k 4294967295 0", "k"), Some(0));
        assert_eq!(value_length(b"VALUE k 0 1073741824", "k"), Some(MEMCACHED_MAX_ITEM));
        for garbage in [
            &b"VALUE other 0 12"[..],
            b"VALUE k 0 1073741825",
            b"VALUE k 0 99999999999999999999999",
            b"VALUE k 0 -1",
            b"VALUE k 0 +1",
            b"VALUE k 0 ",
            b"VALUE k 4294967296 1",
            b"VALUE k 0 1 5",
            b"VALUE k 0",
            b"VALUE  k 0 1",
            b"value k 0 1",
            b"",
        ] {
            assert_eq!(value_length(garbage, "k"), None, "{}", String::from_utf8_lossy(garbage));
        }
    }

    #[test]
    fn the_value_limit_is_at_most_512_mib() {
        let mut servers = MemcachedServers::new(&[String::from("10.0.0.1:11211")]).unwrap();
        assert_eq!(servers.max_value, MAX_VALUE);
        servers.set_max_value(usize::MAX);
        assert_eq!(servers.max_value, MAX_LIMIT);
        servers.set_max_value(10);
        assert_eq!(servers.max_value, 10);
    }

    #[test]
    fn the_ring_is_stable_and_spreads_keys() {
        let addrs: Vec<String> = (0..3).map(|i| format!("10.0.0.{i}:11211")).collect();
        let ring = MemcachedServers::new(&addrs).unwrap();
        let again = MemcachedServers::new(&addrs).unwrap();
        let mut counts = [0; 3];
        for k in 0..3000 {
            let key = format!("key{k}");
            assert_eq!(ring.server_of(&key), again.server_of(&key));
            counts[addrs.iter().position(|a| a == ring.server_of(&key)).unwrap()] += 1;
        }
        assert!(counts.iter().all(|&c| c > 600), "{counts:?}");
        // Removing a server moves only its keys.
        let two = MemcachedServers::new(&addrs[..2]).unwrap();
        for k in 0..3000 {
            let key = format!("key{k}");
            if ring.server_of(&key) != addrs[2] {
                assert_eq!(ring.server_of(&key), two.server_of(&key));
            }
        }
    }
}
