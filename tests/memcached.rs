//! The memcached store against real servers: three of them, and servers of
//! the test's own that it kills and restarts. See `tests/common` for where
//! the addresses come from; without them these tests say they were skipped.

#![cfg(feature = "memcached")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{OwnServer, Wrapper, raw, run, server_env, silent_server};
use memo::{Cache, Memcached, Store, memoize};

fn servers() -> Vec<String> {
    std::env::var("MEMO_TEST_MEMCACHED").unwrap_or_default().split(',').map(str::to_owned).collect()
}

/// A store of the test servers under `namespace`, fresh for this run (a
/// memcached store cannot delete by prefix: a new version starts afresh).
fn store<K, V>(namespace: &str) -> Memcached<K, V> {
    let run = std::process::id();
    Memcached::new(servers()).namespace(format!("tests::memcached::{namespace}")).version(run)
}

/// A store of the test servers named after its function, fresh for this run.
fn named<K, V>() -> Memcached<K, V> {
    Memcached::new(servers()).version(run())
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[memoize(store = store("greet"))]
fn greet(name: &str) -> String {
    CALLS.fetch_add(1, SeqCst);
    format!("hello, {name}")
}

#[test]
fn values_are_kept_on_the_servers_and_shared() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(greet("ann"), "hello, ann");
    assert_eq!(greet("ann"), "hello, ann");
    assert_eq!(CALLS.load(SeqCst), 1);
    // Another store of the namespace (another process, say) reads it.
    let other = Cache::new(store::<String, String>("greet"));
    assert_eq!(other.get_or_insert_with(&String::from("ann"), || unreachable!()), "hello, ann");
    assert!(greet_cache().remove(&String::from("ann")));
    assert_eq!(greet("ann"), "hello, ann");
    assert_eq!(CALLS.load(SeqCst), 2);
    assert_eq!(greet_cache().info().store_errors, 0);
}

/// `stats` of the server at `addr`: its number of items.
fn items(addr: &str) -> u64 {
    let reply = String::from_utf8(raw(addr, b"stats\r\n")).unwrap();
    reply.lines().find_map(|l| l.strip_prefix("STAT curr_items ")).unwrap().trim().parse().unwrap()
}

#[test]
fn keys_spread_over_the_servers_the_same_way_in_every_store() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let before: Vec<u64> = servers().iter().map(|s| items(s)).collect();
    let cache = Cache::new(store::<u64, u64>("spread"));
    for x in 0..300 {
        cache.get_or_insert_with(&x, || x * 2);
    }
    let after: Vec<u64> = servers().iter().map(|s| items(s)).collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert!(a - b >= 50, "server {i} got {} of 300 keys", a - b);
    }
    let twin = store::<u64, u64>("spread");
    for x in 0..300 {
        assert_eq!(cache.store().server_of(&x).unwrap(), twin.server_of(&x).unwrap());
        assert_eq!(cache.get_or_insert_with(&x, || unreachable!()), x * 2);
    }
}

#[test]
fn an_oversized_value_is_returned_and_not_kept() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let cache = Cache::new(store::<u64, String>("oversized"));
    let big = "x".repeat(2 << 20);
    assert_eq!(cache.get_or_insert_with(&1, || big.clone()).len(), big.len());
    assert_eq!(cache.info().store_errors, 1);
    // Over the server's own limit, with the client's check lifted.
    let lifted = Cache::new(store::<u64, String>("oversized").max_value_bytes(usize::MAX));
    assert_eq!(lifted.get_or_insert_with(&2, || big.clone()).len(), big.len());
    assert_eq!(lifted.info().store_errors, 1, "the server refuses it");
    assert_eq!(lifted.get_or_insert_with(&3, || String::from("small")), "small");
    assert_eq!(lifted.get_or_insert_with(&3, || unreachable!()), "small", "the connection still works");
}

#[memoize(store = store("expiring"), ttl = Duration::from_secs(1))]
fn expiring(x: u64) -> u64 {
    x + 1
}

#[test]
fn the_server_expires_entries() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(expiring(1), 2);
    let twin = store::<u64, u64>("expiring");
    let key = twin.key_of(&1).unwrap();
    let addr = twin.server_of(&1).unwrap();
    let get = || raw(&addr, format!("get {key}\r\n").as_bytes());
    assert!(get().starts_with(b"VALUE "));
    // One second, in memcached's whole seconds: gone within two.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(get(), b"END\r\n");
}

#[test]
fn clear_is_refused_and_counted() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let cache = Cache::new(store::<u64, u64>("clear"));
    cache.get_or_insert_with(&1, || 1);
    cache.clear();
    assert_eq!(cache.info().store_errors, 1);
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!()), 1, "entries stay correct");
}

#[test]
fn a_server_killed_mid_run_is_a_miss_and_the_cache_recovers() {
    let Some(mut server) = OwnServer::memcached() else { return };
    let cache = Cache::new(
        Memcached::<u64, u64>::new([server.addr()])
            .namespace("tests::memcached::killed")
            .timeout(Duration::from_millis(30))
            .retry_after(Duration::from_millis(100)),
    );
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert_eq!(cache.get_or_insert_with(&1, || unreachable!()), 10);
    server.kill();
    let start = Instant::now();
    for _ in 0..50 {
        assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(cache.info().store_errors >= 1);
    server.restart();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(cache.get_or_insert_with(&2, || 20), 20);
    assert_eq!(cache.get_or_insert_with(&2, || unreachable!()), 20, "back on the server");
}

#[test]
fn a_server_that_never_answers_is_a_miss_after_the_timeout() {
    let store = Memcached::<u64, u64>::new([silent_server()]).namespace("tests::memcached::silent");
    let cache = Cache::new(store.timeout(Duration::from_millis(30)));
    let start = Instant::now();
    assert_eq!(cache.get_or_insert_with(&1, || 10), 10);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(cache.info().store_errors >= 1);
}

#[test]
fn keys_fit_memcached() {
    let store = store::<String, u8>("keys");
    for text in ["", "with spaces", "new\nline", &"long".repeat(1000), "ünïcödé"] {
        let key = store.key_of(&text.to_owned()).unwrap();
        assert!(key.len() <= 250 && key.bytes().all(|b| b.is_ascii_graphic()), "{key}");
    }
    assert_eq!(Memcached::<u8, u8>::new(Vec::<String>::new()).get(&memo::Exact(&1)).ok(), None);
}

#[test]
fn a_garbage_value_is_a_miss_and_is_replaced() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let store = store::<u64, String>("garbage");
    let (key, addr) = (store.key_of(&7).unwrap(), store.server_of(&7).unwrap());
    let garbage = b"\xff\x00 not memo";
    let mut request = format!("set {key} 0 0 {}\r\n", garbage.len()).into_bytes();
    request.extend_from_slice(garbage);
    request.extend_from_slice(b"\r\n");
    assert_eq!(raw(&addr, &request), b"STORED\r\n");
    let cache = Cache::new(store);
    assert_eq!(cache.get_or_insert_with(&7, || String::from("seven")), "seven");
    assert_eq!(cache.info().store_errors, 1);
    assert_eq!(cache.get_or_insert_with(&7, || unreachable!()), "seven");
}

// Two functions of one name in one module: methods of two `impl` blocks.
struct Dogs;
struct Cats;

impl Dogs {
    #[memoize(store = named())]
    fn sound(n: u64) -> String {
        format!("woof {n}")
    }
}

impl Cats {
    #[memoize(store = named())]
    fn sound(n: u64) -> String {
        format!("meow {n}")
    }
}

#[test]
fn same_named_methods_of_two_impl_blocks_do_not_share_entries() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(Cats::sound(1), "meow 1");
    assert_eq!(Dogs::sound(1), "woof 1");
    assert_eq!(Cats::sound(1), "meow 1");
    assert_eq!(Dogs::sound(1), "woof 1");
    for info in [Dogs::sound_cache().info(), Cats::sound_cache().info()] {
        assert_eq!((info.hits, info.misses, info.store_errors), (1, 1, 0), "{info}");
    }
}

fn first(x: u64) -> u64 {
    #[memoize(store = named())]
    fn helper(x: u64) -> u64 {
        x * 10
    }
    helper(x)
}

fn second(x: u64) -> u64 {
    #[memoize(store = named())]
    fn helper(x: u64) -> u64 {
        x * 20
    }
    helper(x)
}

#[test]
fn same_named_nested_functions_do_not_share_entries() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(first(3), 30);
    assert_eq!(second(3), 60);
    assert_eq!(first(3), 30);
    assert_eq!(second(3), 60);
}

#[memoize(store = named())]
fn size_times<T: 'static>(x: u64) -> u64 {
    x * std::mem::size_of::<T>() as u64
}

#[test]
fn two_instantiations_of_a_generic_function_do_not_share_entries() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(size_times::<u8>(2), 2);
    assert_eq!(size_times::<u64>(2), 16);
    assert_eq!(size_times::<u8>(2), 2);
    assert_eq!(size_times::<u64>(2), 16);
    assert_eq!(size_times_cache().info().store_errors, 0);
}

static WRAPPED: AtomicUsize = AtomicUsize::new(0);

#[memoize(store = Wrapper(Memcached::new(servers())))]
fn wrapped_a(x: u64) -> u64 {
    WRAPPED.fetch_add(1, SeqCst);
    x + 1000
}

#[memoize(store = Wrapper(Memcached::new(servers())))]
fn wrapped_b(x: u64) -> u64 {
    WRAPPED.fetch_add(1, SeqCst);
    x + 2000
}

#[test]
fn an_unnamed_store_inside_a_wrapper_refuses_and_the_function_computes() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(wrapped_a(1), 1001);
    assert_eq!(wrapped_b(1), 2001);
    assert_eq!(wrapped_b(1), 2001);
    assert_eq!(WRAPPED.load(SeqCst), 3, "nothing is shared, nothing is kept");
    let info = wrapped_b_cache().info();
    assert_eq!((info.hits, info.store_errors), (0, 4), "two lookups and two inserts refused: {info}");
}

/// An argument whose `Serialize` writes both variants alike.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Id {
    User(u64),
    Order(u64),
}

#[memoize(store = named())]
fn label(id: Id) -> String {
    match id {
        Id::User(n) => format!("user {n}"),
        Id::Order(n) => format!("order {n}"),
    }
}

#[test]
fn an_untagged_enum_key_never_gets_another_variants_value() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    assert_eq!(label(Id::User(1)), "user 1");
    assert_eq!(label(Id::Order(1)), "order 1");
    assert_eq!(label(Id::Order(1)), "order 1");
    // `Order(1)` decodes back as `User(1)`: it has no exact encoding, and
    // never reaches the server (two lookups, two inserts refused).
    assert_eq!(label_cache().info().store_errors, 4);
    assert_eq!(label(Id::User(1)), "user 1");
    assert_eq!(label_cache().info().hits, 1, "`User(1)` round-trips, and is shared");
}

/// An argument with a field that `Serialize` leaves out.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
struct Search {
    text: String,
    #[serde(skip)]
    limit: u32,
}

#[memoize(store = named())]
fn search(query: Search) -> String {
    format!("{} results for {}", query.limit, query.text)
}

#[test]
fn a_key_with_a_skipped_field_never_gets_the_value_of_another_limit() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    let query = |limit| Search { text: String::from("rust"), limit };
    assert_eq!(search(query(10)), "10 results for rust");
    assert_eq!(search(query(500)), "500 results for rust");
    assert_eq!(search(query(10)), "10 results for rust");
    assert_eq!(search_cache().info().store_errors, 6);
    // At its default the field round-trips: that key is shared.
    assert_eq!(search(query(0)), "0 results for rust");
    assert_eq!(search(query(0)), "0 results for rust");
    assert_eq!(search_cache().info().hits, 1);
}

/// Values of a function whose return type changed shape between two builds:
/// one name and one `type_name`, other field types or another variant set.
#[test]
fn a_value_of_another_shape_is_a_miss() {
    let Some(_) = server_env("MEMO_TEST_MEMCACHED") else { return };
    {
        #[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
        struct Reading {
            value: u64,
            unit: String,
        }
        let old = Cache::new(store::<u64, _>("shape"));
        let reading = Reading { value: 5, unit: String::from("m") };
        assert_eq!(old.get_or_insert_with(&1, || reading.clone()), reading);
        assert_eq!(old.get_or_insert_with(&1, || unreachable!()), reading);
    }
    {
        #[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
        struct Reading {
            value: i64,
            unit: String,
        }
        let new = Cache::new(store::<u64, _>("shape"));
        let reading = Reading { value: -5, unit: String::from("m") };
        assert_eq!(new.get_or_insert_with(&1, || reading.clone()), reading, "not the old build's value");
        assert_eq!(new.info().store_errors, 1);
        assert_eq!(new.get_or_insert_with(&1, || unreachable!()), reading);
    }
    {
        #[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
        enum Plan {
            Free,
            Pro,
        }
        let old = Cache::new(store::<u64, _>("shape"));
        assert_eq!(old.get_or_insert_with(&2, || Plan::Pro), Plan::Pro);
    }
    {
        #[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
        enum Plan {
            Free,
            Pro,
            Team,
        }
        let new = Cache::new(store::<u64, _>("shape"));
        assert_eq!(new.get_or_insert_with(&2, || Plan::Team), Plan::Team, "not the old build's value");
        assert_eq!(new.info().store_errors, 1);
        let _ = (Plan::Free, Plan::Pro);
    }
}
