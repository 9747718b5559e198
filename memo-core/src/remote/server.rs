//! The timeouts of every shared store, and, for memcached, one cache server:
//! its connections, and whether it is down. (Redis has its own, on
//! redis-rs: see `redis`.)
//!
//! Connecting is lazy: nothing happens until the first operation, so a
//! program starts while its cache server is down. Every connect, read and
//! write has a timeout. A connection that fails is dropped; an operation that
//! failed on a pooled connection is tried once more on a fresh one (the server
//! may have restarted), and a server that fails a fresh connection is left
//! alone for `retry_after`, so that a dead server costs callers one timeout
//! now and then rather than one per call. It is tried again after that, which
//! is how the cache recovers by itself.

#[cfg(feature = "memcached")]
use std::io::{self, BufReader};
#[cfg(feature = "memcached")]
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;
#[cfg(feature = "memcached")]
use std::time::Instant;

#[cfg(feature = "memcached")]
use parking_lot::Mutex;

#[cfg(feature = "memcached")]
use crate::store::StoreError;

#[cfg(feature = "memcached")]
/// A connection, read through a buffer, written to directly.
pub(crate) type Conn = BufReader<TcpStream>;

/// How long network operations may take.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Timeouts {
    /// Each operation: on Redis the whole request, on memcached each read
    /// and write.
    pub(crate) op: Duration,
    /// Each connect.
    pub(crate) connect: Duration,
    /// How long a server that failed is left alone.
    pub(crate) retry_after: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            op: Duration::from_millis(50),
            connect: Duration::from_millis(50),
            retry_after: Duration::from_secs(1),
        }
    }
}

#[cfg(feature = "memcached")]
/// The most idle connections kept per server.
const POOL: usize = 16;

#[cfg(feature = "memcached")]
pub(crate) struct Server {
    pub(crate) addr: String,
    idle: Mutex<Vec<Conn>>,
    down_until: Mutex<Option<Instant>>,
}

#[cfg(feature = "memcached")]
impl Server {
    pub(crate) fn new(addr: impl Into<String>) -> Self {
        Server { addr: addr.into(), idle: Mutex::new(Vec::new()), down_until: Mutex::new(None) }
    }

    /// Runs `op` on a connection to this server; `hello` is sent first on a
    /// new connection (authentication, database selection).
    pub(crate) fn call<R>(
        &self,
        timeouts: &Timeouts,
        hello: &dyn Fn(&mut Conn) -> io::Result<()>,
        mut op: impl FnMut(&mut Conn) -> io::Result<R>,
    ) -> Result<R, StoreError> {
        let pooled = self.idle.lock().pop();
        if let Some(mut conn) = pooled {
            if let Ok(result) = op(&mut conn) {
                self.give_back(conn);
                return Ok(result);
            }
            // A stale connection (the server restarted, or timed out on it):
            // one more try on a fresh one.
        }
        let outcome = self.connect(timeouts, hello).and_then(|mut conn| {
            let result = op(&mut conn)?;
            self.give_back(conn);
            Ok(result)
        });
        outcome.map_err(|error| {
            *self.down_until.lock() = Some(Instant::now() + timeouts.retry_after);
            // Connections opened before the failure are suspect too.
            self.idle.lock().clear();
            StoreError::new(format!("{}: {error}", self.addr))
        })
    }

    fn give_back(&self, conn: Conn) {
        let mut idle = self.idle.lock();
        if idle.len() < POOL {
            idle.push(conn);
        }
    }

    fn connect(&self, timeouts: &Timeouts, hello: &dyn Fn(&mut Conn) -> io::Result<()>) -> io::Result<Conn> {
        if let Some(until) = *self.down_until.lock() {
            if Instant::now() < until {
                return Err(io::Error::other("failed recently; not tried again yet"));
            }
        }
        let addrs: Vec<SocketAddr> = self.addr.to_socket_addrs()?.collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeouts.connect) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(timeouts.op))?;
                    stream.set_write_timeout(Some(timeouts.op))?;
                    stream.set_nodelay(true)?;
                    let mut conn = BufReader::new(stream);
                    hello(&mut conn)?;
                    *self.down_until.lock() = None;
                    return Ok(conn);
                }
                Err(error) => last = error,
            }
        }
        Err(last)
    }
}

#[cfg(feature = "memcached")]
/// Reads one line ending in `\r\n`, without it.
pub(crate) fn read_line(conn: &mut Conn) -> io::Result<Vec<u8>> {
    use std::io::BufRead;
    let mut line = Vec::new();
    conn.read_until(b'\n', &mut line)?;
    if line.len() < 2 || !line.ends_with(b"\r\n") {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

#[cfg(feature = "memcached")]
/// Reads `len` bytes and the `\r\n` after them.
pub(crate) fn read_exact_crlf(conn: &mut Conn, len: usize) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = vec![0; len + 2];
    conn.read_exact(&mut data)?;
    if !data.ends_with(b"\r\n") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "a value not followed by CRLF"));
    }
    data.truncate(len);
    Ok(data)
}

#[cfg(feature = "memcached")]
/// A reply the protocol does not allow here.
pub(crate) fn unexpected(what: &[u8]) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("unexpected reply: {}", String::from_utf8_lossy(what)))
}
