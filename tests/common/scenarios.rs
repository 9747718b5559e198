//! The scenarios of function identity that every shared store must pass,
//! written once for the Redis and the memcached tests.

#![allow(unused_macros, unused_imports, reason = "test files that share `common` without the scenarios")]

/// Writes the identity scenarios (their functions and their tests) for a
/// shared store. The test file defines, and names here:
///
/// - `env`: the variable without which the tests are skipped;
/// - `named`: `fn<K, V>() -> Store<K, V>`, a store of the test servers named
///   after its function, in a version of this run's own;
/// - `unnamed`: `fn<K, V>() -> Store<K, V>`, a store of the test servers with
///   neither a namespace nor a version;
/// - `shaped`: `fn<V>() -> Store<u64, V>`, one namespace of this run's.
///
/// Names are passed as identifiers (not as expressions) so that the
/// `#[memoize(store = ...)]` attributes below see plain tokens.
macro_rules! identity_scenarios {
    (env: $env:literal, named: $named:ident, unnamed: $unnamed:ident, shaped: $shaped:ident $(,)?) => {
        // Two functions of one name in one module: methods of two `impl` blocks.
        struct Users;
        struct Orders;

        impl Users {
            #[::memo::memoize(store = $named())]
            fn describe(id: u64) -> String {
                format!("user {id}")
            }
        }

        impl Orders {
            #[::memo::memoize(store = $named())]
            fn describe(id: u64) -> String {
                format!("order {id}")
            }
        }

        #[test]
        fn same_named_methods_of_two_impl_blocks_do_not_share_entries() {
            let Some(_) = common::server_env($env) else { return };
            assert_eq!(Users::describe(1), "user 1");
            assert_eq!(Orders::describe(1), "order 1");
            assert_eq!(Users::describe(1), "user 1");
            assert_eq!(Orders::describe(1), "order 1");
            for info in [Users::describe_cache().info(), Orders::describe_cache().info()] {
                assert_eq!((info.hits, info.misses, info.store_errors), (1, 1, 0), "{info}");
            }
        }

        // Two nested functions of one name in one module.
        fn plus_one(x: u64) -> u64 {
            #[::memo::memoize(store = $named())]
            fn helper(x: u64) -> u64 {
                x + 1
            }
            helper(x)
        }

        fn plus_two(x: u64) -> u64 {
            #[::memo::memoize(store = $named())]
            fn helper(x: u64) -> u64 {
                x + 2
            }
            helper(x)
        }

        #[test]
        fn same_named_nested_functions_do_not_share_entries() {
            let Some(_) = common::server_env($env) else { return };
            assert_eq!(plus_one(10), 11);
            assert_eq!(plus_two(10), 12);
            assert_eq!(plus_one(10), 11);
            assert_eq!(plus_two(10), 12);
        }

        trait Scale {
            const FACTOR: u64;
        }
        struct Double;
        struct Triple;
        impl Scale for Double {
            const FACTOR: u64 = 2;
        }
        impl Scale for Triple {
            const FACTOR: u64 = 3;
        }

        // Two instantiations of equal key and value types.
        #[::memo::memoize(store = $named())]
        fn scaled<S: Scale + 'static>(x: u64) -> u64 {
            x * S::FACTOR
        }

        #[test]
        fn two_instantiations_of_a_generic_function_do_not_share_entries() {
            let Some(_) = common::server_env($env) else { return };
            assert_eq!(scaled::<Double>(5), 10);
            assert_eq!(scaled::<Triple>(5), 15);
            assert_eq!(scaled::<Double>(5), 10);
            assert_eq!(scaled::<Triple>(5), 15);
            assert_eq!(scaled_cache().info().store_errors, 0);
        }

        static WRAPPED: ::std::sync::atomic::AtomicUsize = ::std::sync::atomic::AtomicUsize::new(0);

        // A store of the user's that does not forward the hook: the stores
        // inside cannot be named after their function.
        #[::memo::memoize(store = common::Wrapper($unnamed()))]
        fn wrapped_a(x: u64) -> u64 {
            WRAPPED.fetch_add(1, ::std::sync::atomic::Ordering::SeqCst);
            x + 1000
        }

        #[::memo::memoize(store = common::Wrapper($unnamed()))]
        fn wrapped_b(x: u64) -> u64 {
            WRAPPED.fetch_add(1, ::std::sync::atomic::Ordering::SeqCst);
            x + 2000
        }

        #[test]
        fn an_unnamed_store_inside_a_wrapper_refuses_and_the_function_computes() {
            let Some(_) = common::server_env($env) else { return };
            assert_eq!(wrapped_a(1), 1001);
            assert_eq!(wrapped_b(1), 2001);
            assert_eq!(wrapped_a(1), 1001);
            assert_eq!(wrapped_b(1), 2001);
            assert_eq!(
                WRAPPED.load(::std::sync::atomic::Ordering::SeqCst),
                4,
                "nothing is shared, nothing is kept"
            );
            for info in [wrapped_a_cache().info(), wrapped_b_cache().info()] {
                assert_eq!(
                    (info.hits, info.store_errors),
                    (0, 4),
                    "two lookups and two inserts refused: {info}"
                );
            }
            // A store made by hand is unnamed too, and says what to write.
            let error = $unnamed::<u64, u64>().key_of(&1).unwrap_err().to_string();
            assert!(error.contains(".namespace(") && error.contains("Store::bind"), "{error}");
        }

        // A store of the user's that forwards the hook: each function's
        // entries are its own. The store inside has no namespace (only the
        // hook names it) and this run's version, so that a run never reads
        // what an earlier run on the same servers left (memcached cannot
        // clear them).
        #[::memo::memoize(store = common::Forwarding($named()))]
        fn forwarded_a(x: u64) -> u64 {
            x + 3000
        }

        #[::memo::memoize(store = common::Forwarding($named()))]
        fn forwarded_b(x: u64) -> u64 {
            x + 4000
        }

        #[test]
        fn a_wrapper_that_forwards_bind_names_each_function_apart() {
            let Some(_) = common::server_env($env) else { return };
            for _ in 0..2 {
                assert_eq!(forwarded_a(1), 3001);
                assert_eq!(forwarded_b(1), 4001);
            }
            for info in [forwarded_a_cache().info(), forwarded_b_cache().info()] {
                assert_eq!((info.hits, info.misses, info.store_errors), (1, 1, 0), "{info}");
            }
        }

        /// An argument whose `Serialize` writes both variants alike.
        #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(untagged)]
        enum Id {
            User(u64),
            Order(u64),
        }

        #[::memo::memoize(store = $named())]
        fn label(id: Id) -> String {
            match id {
                Id::User(n) => format!("user {n}"),
                Id::Order(n) => format!("order {n}"),
            }
        }

        #[test]
        fn an_untagged_enum_key_never_gets_another_variants_value() {
            let Some(_) = common::server_env($env) else { return };
            assert_eq!(label(Id::User(1)), "user 1");
            assert_eq!(label(Id::Order(1)), "order 1");
            assert_eq!(label(Id::Order(1)), "order 1");
            // `Order(1)` decodes back as `User(1)`: it has no exact encoding,
            // and never reaches the server (two lookups, two inserts refused).
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

        #[::memo::memoize(store = $named())]
        fn search(query: Search) -> String {
            format!("{} results for {}", query.limit, query.text)
        }

        #[test]
        fn a_key_with_a_skipped_field_never_gets_the_value_of_another_limit() {
            let Some(_) = common::server_env($env) else { return };
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

        /// Values of a function whose return type changed shape between two
        /// builds: one name and one `type_name`, other field types or another
        /// variant set.
        #[test]
        fn a_value_of_another_shape_is_a_miss() {
            let Some(_) = common::server_env($env) else { return };
            {
                #[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
                struct Reading {
                    value: u64,
                    unit: String,
                }
                let old = ::memo::Cache::new($shaped());
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
                let new = ::memo::Cache::new($shaped());
                let reading = Reading { value: -5, unit: String::from("m") };
                assert_eq!(
                    new.get_or_insert_with(&1, || reading.clone()),
                    reading,
                    "not the old build's value"
                );
                assert_eq!(new.info().store_errors, 1);
                assert_eq!(new.get_or_insert_with(&1, || unreachable!()), reading);
            }
            {
                #[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
                enum Plan {
                    Free,
                    Pro,
                }
                let old = ::memo::Cache::new($shaped());
                assert_eq!(old.get_or_insert_with(&2, || Plan::Pro), Plan::Pro);
            }
            {
                #[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
                enum Plan {
                    Free,
                    Pro,
                    Team,
                }
                let new = ::memo::Cache::new($shaped());
                assert_eq!(
                    new.get_or_insert_with(&2, || Plan::Team),
                    Plan::Team,
                    "not the old build's value"
                );
                assert_eq!(new.info().store_errors, 1);
                let _ = (Plan::Free, Plan::Pro);
            }
        }
    };
}

pub(crate) use identity_scenarios;
