//! Redis: a single server, or a Redis Cluster, spoken to in RESP2 over
//! `std::net` with the timeouts of [`server`](super::server).
//!
//! A small client of our own rather than the `redis` crate: a cache needs only
//! GET, SET with PX, DEL, SCAN and, for a cluster, CLUSTER SLOTS and the
//! MOVED/ASK redirections, and it needs every one of them bounded by a timeout
//! and every failure to be a value, never a hang or a panic (the `redis`
//! crate's sync API has no default timeout).

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use super::Backend;
use super::server::{Conn, Server, Timeouts, read_exact_crlf, read_line, unexpected};
use crate::store::StoreError;

/// A RESP2 reply.
#[derive(Debug)]
enum Reply {
    Status,
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn parse_int(digits: &[u8]) -> io::Result<i64> {
    core::str::from_utf8(digits).ok().and_then(|s| s.parse().ok()).ok_or_else(|| unexpected(digits))
}

fn read_reply(conn: &mut Conn) -> io::Result<Reply> {
    let line = read_line(conn)?;
    let (&kind, rest) = line.split_first().ok_or_else(|| unexpected(b"an empty line"))?;
    Ok(match kind {
        b'+' => Reply::Status,
        b'-' => Reply::Error(String::from_utf8_lossy(rest).into_owned()),
        b':' => Reply::Int(parse_int(rest)?),
        b'$' => match usize::try_from(parse_int(rest)?) {
            Ok(len) => Reply::Bulk(Some(read_exact_crlf(conn, len)?)),
            Err(_) => Reply::Bulk(None),
        },
        b'*' => match usize::try_from(parse_int(rest)?) {
            Ok(len) => Reply::Array(Some((0..len).map(|_| read_reply(conn)).collect::<io::Result<_>>()?)),
            Err(_) => Reply::Array(None),
        },
        _ => return Err(unexpected(&line)),
    })
}

/// Sends `args` and reads the reply.
fn request(conn: &mut Conn, args: &[&[u8]]) -> io::Result<Reply> {
    conn.get_mut().write_all(&command(args))?;
    read_reply(conn)
}

/// Where a Redis URL points: `redis://[:password@]host:port[/db]`.
#[derive(Debug, Clone)]
struct Target {
    addr: String,
    password: Option<String>,
    db: Option<u32>,
}

fn parse_url(url: &str) -> Result<Target, StoreError> {
    let rest = url.strip_prefix("redis://").unwrap_or(url);
    let (auth, rest) = match rest.rsplit_once('@') {
        Some((auth, rest)) => (Some(auth), rest),
        None => (None, rest),
    };
    let (addr, db) = match rest.split_once('/') {
        Some((addr, "")) => (addr, None),
        Some((addr, db)) => {
            let db = db.parse().map_err(|_| StoreError::new(format!("`{db}` is not a database number")))?;
            (addr, Some(db))
        }
        None => (rest, None),
    };
    if addr.is_empty() {
        return Err(StoreError::new(format!("`{url}` names no server")));
    }
    let addr = if addr.contains(':') { addr.to_owned() } else { format!("{addr}:6379") };
    let password =
        auth.map(|auth| auth.rsplit(':').next().unwrap_or(auth).to_owned()).filter(|p| !p.is_empty());
    Ok(Target { addr, password, db })
}

/// The Redis side of a [`Shared`](crate::Shared) store.
pub struct RedisServer {
    nodes: Nodes,
    /// The nodes of a cluster met so far, by address.
    servers: RwLock<HashMap<String, Arc<Server>>>,
    password: Option<String>,
    db: Option<u32>,
    pub(crate) timeouts: Timeouts,
}

enum Nodes {
    One(Server),
    /// A cluster: the seed addresses and the slot map learnt from them.
    Cluster {
        seeds: Vec<String>,
        slots: RwLock<Vec<(u16, u16, String)>>,
    },
}

/// The slots of a Redis Cluster.
const SLOTS: u16 = 16384;

/// CRC16/XMODEM, which Redis Cluster uses to place keys.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// The slot of `key`: of its `{hash tag}` if it has one.
fn slot(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let close = key[open + 1..].iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &key[open + 1..open + 1 + close])
    });
    crc16(tagged.unwrap_or(key)) % SLOTS
}

impl RedisServer {
    /// One server, at `url` (`redis://[:password@]host[:port][/db]`).
    pub(crate) fn single(url: &str) -> Result<Self, StoreError> {
        let target = parse_url(url)?;
        Ok(RedisServer {
            nodes: Nodes::One(Server::new(target.addr)),
            servers: RwLock::new(HashMap::new()),
            password: target.password,
            db: target.db,
            timeouts: Timeouts::default(),
        })
    }

    /// A Redis Cluster reached through any of `nodes` (`host:port` or URLs).
    pub(crate) fn cluster(nodes: &[String]) -> Result<Self, StoreError> {
        let targets: Vec<Target> = nodes.iter().map(|node| parse_url(node)).collect::<Result<_, _>>()?;
        let Some(first) = targets.first() else {
            return Err(StoreError::new("a Redis Cluster needs at least one node"));
        };
        let password = first.password.clone();
        Ok(RedisServer {
            nodes: Nodes::Cluster {
                seeds: targets.into_iter().map(|t| t.addr).collect(),
                slots: RwLock::new(Vec::new()),
            },
            servers: RwLock::new(HashMap::new()),
            password,
            db: None,
            timeouts: Timeouts::default(),
        })
    }

    fn hello(&self) -> impl Fn(&mut Conn) -> io::Result<()> + '_ {
        move |conn| {
            if let Some(password) = &self.password {
                expect_ok(request(conn, &[b"AUTH", password.as_bytes()])?)?;
            }
            if let Some(db) = self.db {
                expect_ok(request(conn, &[b"SELECT", db.to_string().as_bytes()])?)?;
            }
            Ok(())
        }
    }

    /// Sends the command `args` to `server` and reads the reply.
    fn send(&self, server: &Server, args: &[&[u8]]) -> Result<Reply, StoreError> {
        server.call(&self.timeouts, &self.hello(), |conn| request(conn, args))
    }

    /// The node of a cluster at `addr`.
    fn server(&self, addr: &str) -> Arc<Server> {
        if let Some(server) = self.servers.read().get(addr) {
            return Arc::clone(server);
        }
        Arc::clone(self.servers.write().entry(addr.to_owned()).or_insert_with(|| Arc::new(Server::new(addr))))
    }

    /// Asks the cluster which node serves which slots.
    fn refresh_slots(&self) -> Result<(), StoreError> {
        let Nodes::Cluster { seeds, slots, .. } = &self.nodes else { return Ok(()) };
        let known: Vec<String> = slots.read().iter().map(|(_, _, addr)| addr.clone()).collect();
        let mut last = StoreError::new("no node of the cluster answered");
        for addr in seeds.iter().chain(&known) {
            let reply = self.send(&self.server(addr), &[b"CLUSTER", b"SLOTS"]);
            match reply.and_then(|reply| parse_slots(&reply)) {
                Ok(map) => {
                    *slots.write() = map;
                    return Ok(());
                }
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    /// Runs the command `args` about `key` on the node that holds `key`,
    /// following one redirection.
    fn keyed(&self, key: &[u8], args: &[&[u8]]) -> Result<Reply, StoreError> {
        let addr = match &self.nodes {
            Nodes::One(server) => {
                return self.send(server, args);
            }
            Nodes::Cluster { slots, .. } => {
                let slot = slot(key);
                let find = || {
                    slots.read().iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&slot)).map(|s| s.2.clone())
                };
                match find() {
                    Some(addr) => addr,
                    None => {
                        self.refresh_slots()?;
                        find().ok_or_else(|| {
                            StoreError::new(format!("no node of the cluster serves slot {slot}"))
                        })?
                    }
                }
            }
        };
        let reply = self.send(&self.server(&addr), args)?;
        match &reply {
            Reply::Error(message) if message.starts_with("MOVED ") => {
                let to = message.rsplit(' ').next().unwrap_or_default().to_owned();
                // The map is stale: learn it again for the next calls.
                let _ = self.refresh_slots();
                self.send(&self.server(&to), args)
            }
            Reply::Error(message) if message.starts_with("ASK ") => {
                let to = message.rsplit(' ').next().unwrap_or_default().to_owned();
                self.server(&to).call(&self.timeouts, &self.hello(), |conn| {
                    expect_ok(request(conn, &[b"ASKING"])?)?;
                    request(conn, args)
                })
            }
            _ => Ok(reply),
        }
    }

    /// Every server that holds keys: the one, or each master of the cluster.
    fn masters(&self) -> Result<Vec<Arc<Server>>, StoreError> {
        match &self.nodes {
            Nodes::One(_) => Ok(Vec::new()),
            Nodes::Cluster { slots, .. } => {
                self.refresh_slots()?;
                let mut addrs: Vec<String> = slots.read().iter().map(|s| s.2.clone()).collect();
                addrs.sort();
                addrs.dedup();
                Ok(addrs.iter().map(|addr| self.server(addr)).collect())
            }
        }
    }

    /// Deletes every key that starts with `prefix` on `server` (SCAN + DEL).
    fn delete_prefixed(&self, server: &Server, prefix: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let pattern = format!("{}*", glob_escape(prefix));
        let mut cursor = b"0".to_vec();
        let mut found = Vec::new();
        loop {
            let reply = server.call(&self.timeouts, &self.hello(), |conn| {
                request(conn, &[b"SCAN", &cursor, b"MATCH", pattern.as_bytes(), b"COUNT", b"1000"])
            })?;
            let Reply::Array(Some(mut parts)) = reply else { return Err(error_of(reply)) };
            let (Some(Reply::Array(Some(keys))), Some(Reply::Bulk(Some(next)))) = (parts.pop(), parts.pop())
            else {
                return Err(StoreError::new("a SCAN reply of another shape"));
            };
            found.extend(
                keys.into_iter()
                    .filter_map(|key| if let Reply::Bulk(Some(key)) = key { Some(key) } else { None }),
            );
            if next == b"0" {
                return Ok(found);
            }
            cursor = next;
        }
    }
}

fn glob_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

fn expect_ok(reply: Reply) -> io::Result<()> {
    match reply {
        Reply::Status => Ok(()),
        Reply::Error(message) => Err(io::Error::other(message)),
        other => Err(io::Error::other(format!("unexpected reply {other:?}"))),
    }
}

fn error_of(reply: Reply) -> StoreError {
    match reply {
        Reply::Error(message) => StoreError::new(message),
        other => StoreError::new(format!("unexpected reply {other:?}")),
    }
}

fn parse_slots(reply: &Reply) -> Result<Vec<(u16, u16, String)>, StoreError> {
    let Reply::Array(Some(ranges)) = reply else {
        return Err(StoreError::new("CLUSTER SLOTS: not an array"));
    };
    let mut map = Vec::new();
    for range in ranges {
        let Reply::Array(Some(fields)) = range else { continue };
        let (Some(Reply::Int(lo)), Some(Reply::Int(hi)), Some(Reply::Array(Some(master)))) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            continue;
        };
        let (Some(Reply::Bulk(Some(host))), Some(Reply::Int(port))) = (master.first(), master.get(1)) else {
            continue;
        };
        let (Ok(lo), Ok(hi)) = (u16::try_from(*lo), u16::try_from(*hi)) else { continue };
        map.push((lo, hi, format!("{}:{port}", String::from_utf8_lossy(host))));
    }
    if map.is_empty() {
        return Err(StoreError::new("CLUSTER SLOTS: no slot is served"));
    }
    Ok(map)
}

impl Backend for RedisServer {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.keyed(key.as_bytes(), &[b"GET", key.as_bytes()])? {
            Reply::Bulk(value) => Ok(value),
            other => Err(error_of(other)),
        }
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), StoreError> {
        let reply = match ttl {
            None => self.keyed(key.as_bytes(), &[b"SET", key.as_bytes(), value])?,
            Some(ttl) => {
                // PX takes whole milliseconds, at least one: round up.
                let ms = ttl.as_millis() + u128::from(ttl.subsec_nanos() % 1_000_000 != 0);
                let ms = ms.max(1).to_string();
                self.keyed(key.as_bytes(), &[b"SET", key.as_bytes(), value, b"PX", ms.as_bytes()])?
            }
        };
        match reply {
            Reply::Status => Ok(()),
            other => Err(error_of(other)),
        }
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        match self.keyed(key.as_bytes(), &[b"DEL", key.as_bytes()])? {
            Reply::Int(n) => Ok(n > 0),
            other => Err(error_of(other)),
        }
    }

    fn clear(&self, prefix: &str) -> Result<(), StoreError> {
        let keys = match &self.nodes {
            Nodes::One(server) => self.delete_prefixed(server, prefix)?,
            Nodes::Cluster { .. } => {
                let mut keys = Vec::new();
                for server in self.masters()? {
                    keys.extend(self.delete_prefixed(&server, prefix)?);
                }
                keys
            }
        };
        for key in keys {
            self.keyed(&key, &[b"DEL", &key])?;
        }
        Ok(())
    }

    fn timeouts(&mut self) -> &mut Timeouts {
        &mut self.timeouts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_slots() {
        let t = parse_url("redis://:secret@localhost:7000/2").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.password.as_deref(), t.db),
            ("localhost:7000", Some("secret"), Some(2))
        );
        assert_eq!(parse_url("127.0.0.1").unwrap().addr, "127.0.0.1:6379");
        assert!(parse_url("redis://").is_err());
        // The examples of the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
        assert_eq!(slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") % SLOTS);
    }
}
