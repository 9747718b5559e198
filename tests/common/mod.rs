//! Cache servers for the tests of the shared stores.
//!
//! Addresses come from the environment that `.ci/run` sets up
//! (`MEMO_TEST_REDIS_URL`, `MEMO_TEST_REDIS_CLUSTER`, `MEMO_TEST_MEMCACHED`,
//! and the server binaries for tests that start, kill and restart servers of
//! their own). Without them a test says that it was skipped and why, unless
//! `MEMO_TEST_REQUIRE_SERVERS` is set, as CI sets it: then a missing server is
//! a failure.

#![allow(dead_code, reason = "each test file uses some of these")]

pub mod cluster;
pub mod scenarios;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The variable `var`, or `None` after saying the test is skipped.
pub fn server_env(var: &str) -> Option<String> {
    if let Ok(value) = std::env::var(var) {
        return Some(value);
    }
    assert!(
        std::env::var_os("MEMO_TEST_REQUIRE_SERVERS").is_none(),
        "{var} is not set, but MEMO_TEST_REQUIRE_SERVERS says the cache servers are required"
    );
    // Straight to stderr, past the test harness's capture, so that a run
    // without servers shows what it did not test.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {var} is not set, so there is no server to test against; `bash .ci/run` starts them"
    );
    None
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process of the test's own, which the test may kill and restart.
pub struct OwnServer {
    binary: String,
    args: Vec<String>,
    pub port: u16,
    child: Option<Child>,
}

impl OwnServer {
    /// A Redis of our own, or `None` (skipped) without `MEMO_TEST_REDIS_SERVER`.
    pub fn redis() -> Option<Self> {
        Self::redis_with(&[])
    }

    /// A Redis of our own with the options `more` too.
    pub fn redis_with(more: &[&str]) -> Option<Self> {
        let binary = server_env("MEMO_TEST_REDIS_SERVER")?;
        let port = free_port();
        let args = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--port", &port.to_string()];
        let args = args.iter().chain(more).map(|a| (*a).to_owned()).collect();
        Some(Self::start(binary, args, port))
    }

    /// A Redis Sentinel of our own, watching the master on `master_port`
    /// as `memo` (quorum 1), which it holds for down after `down_after`
    /// without an answer.
    pub fn sentinel(master_port: u16, down_after: Duration) -> Option<Self> {
        let binary = server_env("MEMO_TEST_REDIS_SERVER")?;
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("memo-sentinel-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor memo 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds memo {}\nsentinel failover-timeout memo 10000\n",
            dir.display(),
            down_after.as_millis()
        );
        std::fs::write(&config, text).unwrap();
        let args = vec![config.display().to_string(), String::from("--sentinel")];
        Some(Self::start(binary, args, port))
    }

    /// A memcached of our own, or `None` (skipped) without
    /// `MEMO_TEST_MEMCACHED_SERVER`.
    pub fn memcached() -> Option<Self> {
        let binary = server_env("MEMO_TEST_MEMCACHED_SERVER")?;
        let port = free_port();
        let args = ["-u", "root", "-l", "127.0.0.1", "-U", "0", "-p", &port.to_string()];
        Some(Self::start(binary, args.iter().map(|a| (*a).to_owned()).collect(), port))
    }

    fn start(binary: String, args: Vec<String>, port: u16) -> Self {
        let mut server = OwnServer { binary, args, port, child: None };
        server.restart();
        server
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the server and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on its port, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(self.addr()).is_err() {
            assert!(Instant::now() < deadline, "{} did not start on {}", self.binary, self.addr());
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port where something accepts connections and never answers; the
/// listener lives as long as the test process.
pub fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// Sends raw bytes to `addr` and returns the first reply bytes.
pub fn raw(addr: &str, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    stream.write_all(request).unwrap();
    let mut reply = vec![0; 4096];
    let n = stream.read(&mut reply).unwrap();
    reply.truncate(n);
    reply
}

/// `SET key value` in RESP.
pub fn resp_set(key: &str, value: &[u8]) -> Vec<u8> {
    let mut out = format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n", key.len(), value.len()).into_bytes();
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    out
}

/// The `host:port` of a `redis://host:port` URL.
pub fn host_port(url: &str) -> String {
    url.trim_start_matches("redis://").trim_end_matches('/').to_owned()
}

/// A version of this run's own for stores named after their function, so
/// that entries left by earlier runs on the same servers are never read
/// (there is no clearing the namespace of a function before its first call).
/// A child process gets its parent's through `MEMO_TEST_RUN`.
pub fn run() -> u32 {
    std::env::var("MEMO_TEST_RUN").ok().and_then(|run| run.parse().ok()).unwrap_or_else(std::process::id)
}

/// A store of the user's around another, as a user would write one: it
/// forwards every operation, but not the hidden hook by which `#[memoize]`
/// tells a store its function.
pub struct Wrapper<S>(pub S);

impl<K, V, S: memo::Store<K, V>> memo::Store<K, V> for Wrapper<S> {
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, memo::StoreError>
    where
        Q: memo::KeyView<Owned = K> + ?Sized,
    {
        self.0.get(key)
    }

    fn insert(&self, key: K, value: V) -> Result<(), memo::StoreError> {
        self.0.insert(key, value)
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, memo::StoreError>
    where
        Q: memo::KeyView<Owned = K> + ?Sized,
    {
        self.0.remove(key)
    }

    fn clear(&self) -> Result<(), memo::StoreError> {
        self.0.clear()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// [`Wrapper`] that forwards [`memo::Store::bind`], as a store that wraps
/// another should.
pub struct Forwarding<S>(pub S);

impl<K, V, S: memo::Store<K, V>> memo::Store<K, V> for Forwarding<S> {
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, memo::StoreError>
    where
        Q: memo::KeyView<Owned = K> + ?Sized,
    {
        self.0.get(key)
    }

    fn insert(&self, key: K, value: V) -> Result<(), memo::StoreError> {
        self.0.insert(key, value)
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, memo::StoreError>
    where
        Q: memo::KeyView<Owned = K> + ?Sized,
    {
        self.0.remove(key)
    }

    fn clear(&self) -> Result<(), memo::StoreError> {
        self.0.clear()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn bind(&mut self, function: &memo::FunctionId) {
        self.0.bind(function);
    }
}

/// A command in RESP.
pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A hostile Redis: it answers a client's handshake (`CLIENT SETINFO`) at
/// once, then answers any other command with a bulk reply of `len` bytes
/// that it sends one byte every `every`. The listener lives as long as the
/// test process.
pub fn dribbling_redis(len: usize, every: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut request = [0; 4096];
                while let Ok(n @ 1..) = stream.read(&mut request) {
                    let handshakes = request[..n].windows(7).filter(|w| w == b"SETINFO").count();
                    if handshakes > 0 {
                        let _ = stream.write_all(&b"+OK\r\n".repeat(handshakes));
                        continue;
                    }
                    let _ = stream.write_all(format!("${len}\r\n").as_bytes());
                    for _ in 0..len {
                        thread::sleep(every);
                        if stream.write_all(b"x").is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}
