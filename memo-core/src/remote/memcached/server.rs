//! One memcached server: its connections ([`pool`](super::pool)), its
//! addresses ([`resolve`](super::resolve)), whether it is down, and its
//! [`Health`].
//!
//! Connecting is lazy: nothing happens until the first operation, so a
//! program starts while its cache server is down. Each lookup of the name
//! and each connect waits at most the connect timeout, and each request has
//! a deadline for the whole of it (see [`Wire`]), which counts the wait for a
//! connection when all of them are in use, and not the time spent
//! connecting. A connection that fails is dropped; a request that failed on
//! a pooled connection, before its deadline, is tried once more on a fresh
//! one (the server may have restarted), within the same deadline, and a
//! server that fails a fresh connection is left alone for `retry_after`, so
//! that a dead server costs callers one timeout now and then rather than one
//! per call. It is tried again after that, which is how the cache recovers
//! by itself.

use std::io;
use std::net::TcpStream;
use std::time::Instant;

use parking_lot::Mutex;

use super::pool::{Limits, Pool, Taken};
use super::resolve::Resolver;
use super::wire::{Conn, Wire};
use crate::remote::server::{Health, Timeouts};
use crate::store::StoreError;

pub(crate) struct Server {
    pub(crate) addr: String,
    resolver: Resolver,
    pool: Pool,
    down_until: Mutex<Option<Instant>>,
    health: Health,
}

impl Server {
    pub(crate) fn new(addr: impl Into<String>) -> Self {
        let addr = addr.into();
        let health = Health::new(format!("memcached {addr}"));
        Server {
            resolver: Resolver::new(&addr),
            addr,
            pool: Pool::new(),
            down_until: Mutex::new(None),
            health,
        }
    }

    /// Runs `op` on a connection to this server, all of it within
    /// `timeouts.op` of its start (connecting aside, which has its own
    /// timeout). An error of `op` is a failure of the server; a reply that
    /// `op` reads and refuses is not, it is `op`'s `Ok`. When `limits.max`
    /// connections are in use, it waits for one, within the same deadline.
    pub(crate) fn call<R>(
        &self,
        timeouts: &Timeouts,
        limits: &Limits,
        mut op: impl FnMut(&mut Wire<'_>) -> io::Result<R>,
    ) -> Result<R, StoreError> {
        let until = Instant::now() + timeouts.op;
        let slot = match self.pool.take(limits, until) {
            Taken::Idle(mut conn, slot) => match self.run(&mut conn, until, timeouts, &mut op) {
                Ok((result, spoiled)) => {
                    if !spoiled {
                        slot.give_back(conn);
                    }
                    self.health.answered();
                    return Ok(result);
                }
                // Out of time: the server is slow, not restarted.
                Err(error) if Instant::now() >= until => return Err(self.failed(error, timeouts)),
                // A stale connection (the server restarted): one more try
                // on a fresh one in its place, within the same deadline.
                Err(_) => slot,
            },
            Taken::Room(slot) => slot,
            // Not the server's failure: this process asks more of it at
            // once than it may.
            Taken::Busy => {
                return Err(StoreError::new(format!(
                    "memcached {}: all {} connections were in use for {:?} (`max_connections`)",
                    self.addr, limits.max, timeouts.op
                )));
            }
        };
        let connecting = Instant::now();
        let outcome = self.connect(timeouts).and_then(|mut conn| {
            let deadline = until + connecting.elapsed();
            let (result, spoiled) = self.run(&mut conn, deadline, timeouts, &mut op)?;
            Ok((result, (!spoiled).then_some(conn)))
        });
        match outcome {
            Ok((result, conn)) => {
                match conn {
                    Some(conn) => slot.give_back(conn),
                    None => drop(slot),
                }
                self.health.answered();
                Ok(result)
            }
            // Not tried: the outage was announced, and its end will be.
            Err(Refusal::Down) => {
                Err(StoreError::new(format!("memcached {}: failed recently; not tried again yet", self.addr))
                    .told())
            }
            Err(Refusal::Failed(error)) => {
                drop(slot);
                Err(self.failed(error, timeouts))
            }
        }
    }

    /// The server failed with `error`: it is left alone for `retry_after`
    /// (from now, not from each call meanwhile, which are not tried).
    fn failed(&self, error: io::Error, timeouts: &Timeouts) -> StoreError {
        *self.down_until.lock() = Some(Instant::now() + timeouts.retry_after);
        // Connections opened before the failure are suspect too.
        self.pool.clear();
        self.health.failed(error, timeouts.retry_after)
    }

    /// `op` on `conn` until `deadline`: its result, and whether it spoiled
    /// the connection.
    fn run<R>(
        &self,
        conn: &mut Conn,
        deadline: Instant,
        timeouts: &Timeouts,
        op: &mut impl FnMut(&mut Wire<'_>) -> io::Result<R>,
    ) -> io::Result<(R, bool)> {
        let mut wire = Wire::new(conn, deadline, timeouts.op);
        let result = op(&mut wire)?;
        Ok((result, wire.spoiled()))
    }

    fn connect(&self, timeouts: &Timeouts) -> Result<Conn, Refusal> {
        if let Some(until) = *self.down_until.lock() {
            if Instant::now() < until {
                return Err(Refusal::Down);
            }
        }
        let addrs = self.resolver.addrs(timeouts.connect)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
        for addr in addrs.iter() {
            match TcpStream::connect_timeout(addr, timeouts.connect) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    *self.down_until.lock() = None;
                    return Ok(Conn::new(stream));
                }
                Err(error) => last = error,
            }
        }
        // The server may have moved.
        self.resolver.forget();
        Err(Refusal::Failed(last))
    }
}

/// Why a request got no answer.
enum Refusal {
    /// The server failed less than `retry_after` ago: not tried.
    Down,
    /// It failed now.
    Failed(io::Error),
}

impl From<io::Error> for Refusal {
    fn from(error: io::Error) -> Self {
        Refusal::Failed(error)
    }
}
