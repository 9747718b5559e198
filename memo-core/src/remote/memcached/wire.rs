//! One request on a memcached connection, under one deadline: however slowly
//! the server sends, the request ends by then, and nothing the server
//! announces is allocated before it arrives or beyond the limits here.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A connection, read through a buffer, written to directly.
pub(crate) type Conn = BufReader<TcpStream>;

/// The longest reply line taken: `VALUE <key> <flags> <bytes>` with a key of
/// at most 250 bytes is shorter; a longer line is garbage.
const MAX_LINE: usize = 1024;

/// The largest value memcached can hold at all (its `-I` takes at most 1 GiB):
/// a reply announcing more is garbage, not a value too large for this client.
pub(crate) const MEMCACHED_MAX_ITEM: u64 = 1 << 30;

/// What a [`Wire::value`] read.
pub(crate) enum Value {
    /// The value's bytes.
    Bytes(Vec<u8>),
    /// A value of this many bytes, larger than the limit: not read (the
    /// connection is then [spoiled](Wire::spoil)).
    TooLarge(u64),
}

/// A request in progress on a connection.
pub(crate) struct Wire<'c> {
    conn: &'c mut Conn,
    deadline: Instant,
    /// How long the whole request may take, for the error that says so.
    op: Duration,
    spoiled: bool,
}

fn timed_out(op: Duration) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("no whole answer within {op:?}"))
}

/// A reply the protocol does not allow here.
pub(crate) fn unexpected(what: &[u8]) -> io::Error {
    let shown: String = String::from_utf8_lossy(&what[..what.len().min(80)]).escape_debug().collect();
    io::Error::new(io::ErrorKind::InvalidData, format!("unexpected reply: \"{shown}\""))
}

impl<'c> Wire<'c> {
    /// A request on `conn` that must end by `deadline`, which is `op` after
    /// its start.
    pub(crate) fn new(conn: &'c mut Conn, deadline: Instant, op: Duration) -> Self {
        Wire { conn, deadline, op, spoiled: false }
    }

    /// Marks the connection as unfit for another request (a reply left
    /// unread): it is closed rather than pooled.
    pub(crate) fn spoil(&mut self) {
        self.spoiled = true;
    }

    /// Whether the connection may serve another request.
    pub(crate) fn spoiled(&self) -> bool {
        self.spoiled
    }

    /// The time left, or the error that says there is none.
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() { Err(timed_out(self.op)) } else { Ok(left) }
    }

    /// Sends `bytes`, each write bounded by the time left.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let left = self.left()?;
            let stream = self.conn.get_mut();
            stream.set_write_timeout(Some(left))?;
            match stream.write(rest) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the server stopped reading")),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(timed_out(self.op));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Runs `take` on the bytes buffered, reading more first if there are
    /// none (a read bounded by the time left); `take` says how many it used.
    fn with_buffered(&mut self, take: impl FnOnce(&[u8]) -> usize) -> io::Result<()> {
        loop {
            if self.conn.buffer().is_empty() {
                let left = self.left()?;
                self.conn.get_ref().set_read_timeout(Some(left))?;
            }
            match self.conn.fill_buf() {
                Ok([]) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                Ok(buffered) => {
                    let used = take(buffered);
                    self.conn.consume(used);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(timed_out(self.op));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads one line ending in `\r\n`, without it; at most [`MAX_LINE`]
    /// bytes.
    pub(crate) fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        let mut ended = false;
        while !ended {
            self.with_buffered(|buffered| {
                let (used, end) = match buffered.iter().position(|&b| b == b'\n') {
                    Some(at) => (at + 1, true),
                    None => (buffered.len(), false),
                };
                let used = used.min(MAX_LINE + 1 - line.len());
                line.extend_from_slice(&buffered[..used]);
                ended = end && line.ends_with(b"\n");
                used
            })?;
            if line.len() > MAX_LINE {
                return Err(unexpected(&line));
            }
        }
        if !line.ends_with(b"\r\n") {
            return Err(unexpected(&line));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    /// Reads a value of `len` bytes and the `\r\n` after it, if `len` is at
    /// most `limit`; a larger one is not read, and the connection is spoiled.
    /// The buffer grows as bytes arrive, not by what the server announced.
    pub(crate) fn value(&mut self, len: u64, limit: usize) -> io::Result<Value> {
        let Some(len) = usize::try_from(len).ok().filter(|&len| len <= limit) else {
            self.spoil();
            return Ok(Value::TooLarge(len));
        };
        let want = len + 2;
        let mut data = Vec::with_capacity(want.min(64 * 1024));
        while data.len() < want {
            self.with_buffered(|buffered| {
                let used = buffered.len().min(want - data.len());
                data.extend_from_slice(&buffered[..used]);
                used
            })?;
        }
        if !data.ends_with(b"\r\n") {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "a value not followed by CRLF"));
        }
        data.truncate(len);
        Ok(Value::Bytes(data))
    }
}
