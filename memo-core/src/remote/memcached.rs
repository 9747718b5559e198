//! memcached: one server or several, spoken to in the text protocol over
//! `std::net` with the timeouts of [`server`](super::server), keys spread over
//! the servers by consistent hashing.
//!
//! The ring puts each server at 160 points, derived with BLAKE3 from its
//! address, and a key goes to the first point at or after the BLAKE3 of the
//! key: the same key goes to the same server in every process, whatever the
//! Rust version, and adding or removing one server moves only the keys of
//! that server.

use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Backend;
use super::server::{Conn, Server, Timeouts, read_exact_crlf, read_line, unexpected};
use crate::store::StoreError;

/// Points per server on the ring.
const POINTS: u32 = 160;

/// memcached reads an expiry of more than 30 days as a Unix time.
const RELATIVE_LIMIT: u64 = 30 * 24 * 60 * 60;

/// The largest value memcached keeps by default (`-I 1m`), less room for its
/// item header: a larger value is not sent at all.
pub(crate) const MAX_VALUE: usize = 1024 * 1024 - 512;

/// The memcached side of a [`Shared`](crate::Shared) store.
pub struct MemcachedServers {
    servers: Vec<Server>,
    ring: Vec<(u32, usize)>,
    pub(crate) timeouts: Timeouts,
    pub(crate) max_value: usize,
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

    fn call<R>(&self, key: &str, op: impl FnMut(&mut Conn) -> io::Result<R>) -> Result<R, StoreError> {
        self.server(key).call(&self.timeouts, &|_| Ok(()), op)
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

impl Backend for MemcachedServers {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.call(key, |conn| {
            conn.get_mut().write_all(format!("get {key}\r\n").as_bytes())?;
            let line = read_line(conn)?;
            if line == b"END" {
                return Ok(None);
            }
            // VALUE <key> <flags> <bytes>
            let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let len = match fields.as_slice() {
                [b"VALUE", _, _, len] => core::str::from_utf8(len)
                    .ok()
                    .and_then(|l| l.parse().ok())
                    .ok_or_else(|| unexpected(&line))?,
                _ => return Err(unexpected(&line)),
            };
            let value = read_exact_crlf(conn, len)?;
            let end = read_line(conn)?;
            if end != b"END" {
                return Err(unexpected(&end));
            }
            Ok(Some(value))
        })
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), StoreError> {
        if value.len() > self.max_value {
            return Err(StoreError::new(format!(
                "a value of {} bytes is larger than memcached keeps ({} bytes)",
                value.len(),
                self.max_value
            )));
        }
        let reply = self.call(key, |conn| {
            let mut request = format!("set {key} 0 {} {}\r\n", exptime(ttl, unix_now()), value.len()).into_bytes();
            request.extend_from_slice(value);
            request.extend_from_slice(b"\r\n");
            conn.get_mut().write_all(&request)?;
            read_line(conn)
        })?;
        if reply == b"STORED" {
            Ok(())
        } else {
            Err(StoreError::new(format!("memcached: {}", String::from_utf8_lossy(&reply))))
        }
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let reply = self.call(key, |conn| {
            conn.get_mut().write_all(format!("delete {key}\r\n").as_bytes())?;
            read_line(conn)
        })?;
        match reply.as_slice() {
            b"DELETED" => Ok(true),
            b"NOT_FOUND" => Ok(false),
            other => Err(StoreError::new(format!("memcached: {}", String::from_utf8_lossy(other)))),
        }
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
        assert_eq!(exptime(Some(Duration::from_secs(RELATIVE_LIMIT + 1)), now), 1_800_000_000 + RELATIVE_LIMIT + 1);
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
