//! A memcached server's name, resolved under a deadline.
//!
//! `std`'s resolver (`getaddrinfo`) takes as long as the system's resolver
//! likes, seconds or more when a name server does not answer, and cannot be
//! cancelled. So a name is looked up on a short-lived thread of its own
//! (`memo-dns`), and the caller waits for it at most the connect timeout: a
//! lookup that takes longer is an error for that call (a failure of the
//! server, so a miss, counted, and the server left alone for `retry_after`),
//! while the lookup goes on, and its answer serves the next connect. One
//! lookup per server runs at a time, however many callers wait for it, so a
//! resolver that hangs costs one thread, not one per call.
//!
//! Addresses are kept for [`FRESH`], then looked up again; while a new
//! lookup is slower than the deadline, the addresses known are used. After a
//! connect to them fails, they are looked up again at the next connect (the
//! server may have moved). An address written as an IP address and a port
//! is never looked up.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// How long the addresses of a name are used before it is looked up again.
const FRESH: Duration = Duration::from_secs(30);

/// A name's lookup: the system's, or a test's.
type Lookup = fn(&str) -> io::Result<Vec<SocketAddr>>;

fn system(name: &str) -> io::Result<Vec<SocketAddr>> {
    Ok(name.to_socket_addrs()?.collect())
}

pub(crate) enum Resolver {
    /// An IP address and a port.
    Fixed(Arc<[SocketAddr]>),
    /// A name to look up.
    Name { name: String, lookup: Lookup, shared: Arc<Lookups> },
}

#[derive(Default)]
pub(crate) struct Lookups {
    state: Mutex<State>,
    /// Notified when a lookup ends.
    ended: Condvar,
}

#[derive(Default)]
struct State {
    /// The addresses of the last lookup that found some.
    known: Option<Arc<[SocketAddr]>>,
    /// Until when they are used without a lookup.
    fresh_until: Option<Instant>,
    /// Whether a lookup is under way.
    pending: bool,
    /// Lookups ended so far, so that a caller knows when its own has.
    ended: u64,
    /// Why the last lookup found nothing, if it did.
    error: Option<(io::ErrorKind, String)>,
}

impl Resolver {
    pub(crate) fn new(addr: &str) -> Self {
        Self::with_lookup(addr, system)
    }

    fn with_lookup(addr: &str, lookup: Lookup) -> Self {
        match addr.parse::<SocketAddr>() {
            Ok(addr) => Resolver::Fixed(Arc::new([addr])),
            Err(_) => Resolver::Name { name: addr.to_owned(), lookup, shared: Arc::default() },
        }
    }

    /// The addresses to connect to, waiting at most `wait` for a lookup.
    pub(crate) fn addrs(&self, wait: Duration) -> io::Result<Arc<[SocketAddr]>> {
        let (name, lookup, shared) = match self {
            Resolver::Fixed(addrs) => return Ok(Arc::clone(addrs)),
            Resolver::Name { name, lookup, shared } => (name, lookup, shared),
        };
        let mut state = shared.state.lock();
        if let (Some(addrs), Some(until)) = (&state.known, state.fresh_until) {
            if Instant::now() < until {
                return Ok(Arc::clone(addrs));
            }
        }
        if !state.pending {
            Self::start(name, *lookup, shared)?;
            state.pending = true;
        }
        let mine = state.ended;
        let deadline = Instant::now() + wait;
        while state.ended == mine {
            if shared.ended.wait_until(&mut state, deadline).timed_out() {
                break;
            }
        }
        if state.ended == mine {
            return match &state.known {
                // Slower than the deadline this time: the addresses known.
                Some(addrs) => Ok(Arc::clone(addrs)),
                None => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("looking up {name} took longer than {wait:?} (it goes on, for the next try)"),
                )),
            };
        }
        match (&state.error, &state.known) {
            (None, Some(addrs)) => Ok(Arc::clone(addrs)),
            (Some((kind, error)), _) => Err(io::Error::new(*kind, format!("looking up {name}: {error}"))),
            (None, None) => {
                Err(io::Error::new(io::ErrorKind::NotFound, format!("{name} resolves to nothing")))
            }
        }
    }

    /// Starts a lookup of `name` on a thread of its own.
    fn start(name: &str, lookup: Lookup, shared: &Arc<Lookups>) -> io::Result<()> {
        let (name, shared) = (name.to_owned(), Arc::clone(shared));
        std::thread::Builder::new().name(String::from("memo-dns")).spawn(move || {
            let found = lookup(&name);
            let mut state = shared.state.lock();
            state.pending = false;
            state.ended += 1;
            match found {
                Ok(addrs) if !addrs.is_empty() => {
                    state.known = Some(addrs.into());
                    state.fresh_until = Some(Instant::now() + FRESH);
                    state.error = None;
                }
                Ok(_) => {
                    state.known = None;
                    state.error = Some((io::ErrorKind::NotFound, String::from("no address")));
                }
                Err(error) => {
                    state.known = None;
                    state.error = Some((error.kind(), error.to_string()));
                }
            }
            drop(state);
            shared.ended.notify_all();
        })?;
        Ok(())
    }

    /// A connect to the addresses failed: look the name up again next time
    /// (they stay in use while that lookup is slower than the deadline).
    pub(crate) fn forget(&self) {
        if let Resolver::Name { shared, .. } = self {
            shared.state.lock().fresh_until = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;

    const WAIT: Duration = Duration::from_millis(50);

    #[test]
    fn an_ip_address_is_never_looked_up() {
        let resolver = Resolver::with_lookup("127.0.0.1:11211", |_| panic!("looked up"));
        assert_eq!(&*resolver.addrs(WAIT).unwrap(), &["127.0.0.1:11211".parse().unwrap()]);
        let resolver = Resolver::with_lookup("[::1]:11211", |_| panic!("looked up"));
        assert_eq!(resolver.addrs(WAIT).unwrap().len(), 1);
    }

    static HANGING: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn a_lookup_that_hangs_is_an_error_after_the_wait_and_is_not_started_twice() {
        let resolver = Resolver::with_lookup("cache.example:11211", |_| {
            HANGING.fetch_add(1, SeqCst);
            std::thread::sleep(Duration::from_secs(3600));
            unreachable!()
        });
        for _ in 0..3 {
            let error = resolver.addrs(WAIT).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
            assert!(error.to_string().contains("cache.example:11211"), "{error}");
        }
        assert_eq!(HANGING.load(SeqCst), 1, "one lookup at a time");
    }

    static COUNTED: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn addresses_are_kept_until_a_connect_to_them_fails() {
        let resolver = Resolver::with_lookup("cache.example:11211", |_| {
            COUNTED.fetch_add(1, SeqCst);
            Ok(vec!["127.0.0.1:11211".parse().unwrap()])
        });
        let long = Duration::from_secs(30);
        assert_eq!(resolver.addrs(long).unwrap().len(), 1);
        assert_eq!(resolver.addrs(long).unwrap().len(), 1);
        assert_eq!(COUNTED.load(SeqCst), 1);
        resolver.forget();
        assert_eq!(resolver.addrs(long).unwrap().len(), 1);
        assert_eq!(COUNTED.load(SeqCst), 2);
    }

    #[test]
    fn a_name_that_resolves_to_nothing_or_fails_is_an_error() {
        let empty = Resolver::with_lookup("cache.example:11211", |_| Ok(Vec::new()));
        assert_eq!(empty.addrs(Duration::from_secs(30)).unwrap_err().kind(), io::ErrorKind::NotFound);
        let failing = Resolver::with_lookup("cache.example:11211", |_| Err(io::Error::other("SERVFAIL")));
        let error = failing.addrs(Duration::from_secs(30)).unwrap_err();
        assert!(error.to_string().contains("SERVFAIL"), "{error}");
    }

    #[test]
    fn localhost_resolves_to_loopback() {
        let addrs = Resolver::new("localhost:11211").addrs(Duration::from_secs(30)).unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 11211), "{addrs:?}");
    }
}
