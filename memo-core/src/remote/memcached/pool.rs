//! The connections to one memcached server: at most
//! [`max_connections`](crate::Shared::max_connections) open at once, reused
//! by whoever calls next, and closed after
//! [`idle_timeout`](crate::Shared::idle_timeout) unused.
//!
//! A caller takes a [`Slot`]: an idle connection, or the right to open one
//! while fewer than the most are open. When all of them are in use, it
//! waits for one to come back, until the deadline of its request: a caller
//! beyond the most costs a wait, never a connection of its own opened and
//! closed (which is what the server would otherwise pay for every call
//! beyond the pool, and the kernel a socket in `TIME_WAIT`). This is the
//! shape of r2d2's, bb8's and deadpool's pools (a bound on the connections
//! open, a wait for one under a timeout, idle ones closed after a while);
//! idle connections are closed when the pool is next used, not by a thread
//! of their own, so an idle program keeps at most the connections it had.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::wire::Conn;

/// The most connections open to one server by default: as many as the I/O
/// threads an `async fn` may have busy at once, so that those never wait for
/// a connection.
pub(crate) const MAX_CONNECTIONS: usize = 64;

/// How long a connection may stay unused by default before it is closed.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How many connections a pool keeps and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The most open at once, at least 1.
    pub(crate) max: usize,
    /// How long one may stay unused.
    pub(crate) idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max: MAX_CONNECTIONS, idle: IDLE_TIMEOUT }
    }
}

pub(crate) struct Pool {
    state: Mutex<State>,
    /// Notified when a connection comes back or one fewer is open.
    freed: Condvar,
}

#[derive(Default)]
struct State {
    /// Unused connections, each with when it came back: the oldest first.
    idle: VecDeque<(Conn, Instant)>,
    /// Connections open or being opened, idle ones included.
    open: usize,
}

/// What a caller got from [`Pool::take`].
pub(crate) enum Taken<'p> {
    /// An idle connection.
    Idle(Conn, Slot<'p>),
    /// Room for a connection to be opened.
    Room(Slot<'p>),
    /// All the connections were in use until the deadline.
    Busy,
}

/// One of the pool's connections, in a caller's hands: when it is dropped
/// without being [given back](Slot::give_back), its connection is counted
/// closed, and a waiter may open another.
pub(crate) struct Slot<'p> {
    pool: &'p Pool,
}

impl Pool {
    pub(crate) fn new() -> Self {
        Pool { state: Mutex::new(State::default()), freed: Condvar::new() }
    }

    /// The most recently used idle connection, else room to open one,
    /// waiting until `deadline` for either while `limits.max` are in use.
    pub(crate) fn take(&self, limits: &Limits, deadline: Instant) -> Taken<'_> {
        let mut closing = Vec::new();
        let mut state = self.state.lock();
        let taken = loop {
            let now = Instant::now();
            while state
                .idle
                .front()
                .is_some_and(|(_, since)| now.saturating_duration_since(*since) >= limits.idle)
            {
                closing.extend(state.idle.pop_front().map(|(conn, _)| conn));
                state.open -= 1;
            }
            if let Some((conn, _)) = state.idle.pop_back() {
                break Taken::Idle(conn, Slot { pool: self });
            }
            if state.open < limits.max.max(1) {
                state.open += 1;
                break Taken::Room(Slot { pool: self });
            }
            if now >= deadline {
                break Taken::Busy;
            }
            // Woken or timed out, the state is looked at again.
            self.freed.wait_until(&mut state, deadline);
        };
        drop(state);
        // Closed outside the lock.
        drop(closing);
        taken
    }

    /// Closes every idle connection (the server failed: they are suspect).
    pub(crate) fn clear(&self) {
        let mut state = self.state.lock();
        let closing = core::mem::take(&mut state.idle);
        state.open -= closing.len();
        drop(state);
        self.freed.notify_all();
        drop(closing);
    }

    /// Connections open now, idle or in use.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.state.lock().open
    }
}

impl Slot<'_> {
    /// Puts `conn` back for the next caller.
    pub(crate) fn give_back(self, conn: Conn) {
        let pool = self.pool;
        core::mem::forget(self);
        pool.state.lock().idle.push_back((conn, Instant::now()));
        pool.freed.notify_one();
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.pool.state.lock().open -= 1;
        self.pool.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;
    use std::net::{TcpListener, TcpStream};

    use super::*;

    fn conn(listener: &TcpListener) -> Conn {
        BufReader::new(TcpStream::connect(listener.local_addr().unwrap()).unwrap())
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(20)
    }

    #[test]
    fn at_most_max_are_open_and_one_given_back_is_taken_again() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new();
        let limits = Limits { max: 2, idle: Duration::from_secs(60) };
        let Taken::Room(a) = pool.take(&limits, soon()) else { panic!("room for the first") };
        let Taken::Room(b) = pool.take(&limits, soon()) else { panic!("room for the second") };
        assert!(matches!(pool.take(&limits, soon()), Taken::Busy), "a third waits, and times out");
        a.give_back(conn(&listener));
        assert!(matches!(pool.take(&limits, soon()), Taken::Idle(..)), "the one given back");
        assert_eq!(pool.open(), 1, "the idle one taken and dropped is closed; b is open");
        drop(b);
        assert_eq!(pool.open(), 0);
    }

    #[test]
    fn a_waiter_gets_the_connection_given_back() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new();
        let limits = Limits { max: 1, idle: Duration::from_secs(60) };
        let Taken::Room(slot) = pool.take(&limits, soon()) else { panic!() };
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                matches!(pool.take(&limits, Instant::now() + Duration::from_secs(30)), Taken::Idle(..))
            });
            std::thread::sleep(Duration::from_millis(20));
            slot.give_back(conn(&listener));
            assert!(waiter.join().unwrap());
        });
        assert_eq!(pool.open(), 0);
    }

    #[test]
    fn an_idle_connection_past_its_time_is_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new();
        let limits = Limits { max: 4, idle: Duration::ZERO };
        let Taken::Room(slot) = pool.take(&limits, soon()) else { panic!() };
        slot.give_back(conn(&listener));
        assert!(matches!(pool.take(&limits, soon()), Taken::Room(_)), "not the idle one");
        assert_eq!(pool.open(), 0, "closed, and the room taken dropped");
    }

    #[test]
    fn clearing_closes_the_idle_ones_and_wakes_waiters() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new();
        let limits = Limits { max: 2, idle: Duration::from_secs(60) };
        let Taken::Room(a) = pool.take(&limits, soon()) else { panic!() };
        let Taken::Room(b) = pool.take(&limits, soon()) else { panic!() };
        a.give_back(conn(&listener));
        pool.clear();
        assert_eq!(pool.open(), 1);
        assert!(matches!(pool.take(&limits, soon()), Taken::Room(_)));
        drop(b);
    }
}
