use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::*;

fn is_traced<T: DeserializeOwned>() -> bool {
    traced::<T>().is_ok()
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "only traced")]
struct Profile {
    id: u64,
    name: String,
    tags: Vec<String>,
    plan: Option<Plan>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "only traced")]
enum Plan {
    Free,
    Paid { seats: u32 },
    Trial(Duration),
}

#[test]
fn the_fingerprint_of_an_unchanged_type_is_pinned() {
    // Pinned: it depends on what serde sees alone, not on the compiler or
    // the build; a change here empties every shared cache once.
    let hex: String = traced::<Profile>().unwrap().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, PINNED);
    assert_eq!(fingerprint::<Profile>(), fingerprint::<Profile>());
}

const PINNED: &str = "eb0abc195c1905ebca487bf87673e71f";

#[test]
fn a_change_of_shape_changes_the_fingerprint() {
    let before = {
        #[derive(Deserialize)]
        #[allow(dead_code, reason = "only traced")]
        struct Price {
            amount: u64,
            currency: String,
        }
        fingerprint::<Price>()
    };
    // The same name and fields, in another block: one `type_name`.
    macro_rules! price {
        ($($field:ident: $ty:ty),*) => {{
            #[derive(Deserialize)]
            #[allow(dead_code, reason = "only traced")]
            struct Price {
                $($field: $ty),*
            }
            fingerprint::<Price>()
        }};
    }
    assert_eq!(before, price!(amount: u64, currency: String), "an equal shape");
    assert_ne!(before, price!(amount: i64, currency: String), "another field type");
    assert_ne!(before, price!(amount: u32, currency: String), "another width");
    assert_ne!(before, price!(cents: u64, currency: String), "a renamed field");
    assert_ne!(before, price!(currency: String, amount: u64), "reordered fields");
    assert_ne!(before, price!(amount: u64, currency: String, note: Option<String>), "an added field");
    assert_ne!(before, price!(amount: u64, currency: Vec<String>), "a nested change");
}

#[test]
fn every_variant_counts() {
    let one = {
        #[derive(Deserialize)]
        #[allow(dead_code, reason = "only traced")]
        enum Status {
            Active,
            Banned(String),
        }
        fingerprint::<Status>()
    };
    let other = {
        #[derive(Deserialize)]
        #[allow(dead_code, reason = "only traced")]
        enum Status {
            Active,
            Banned(u64),
        }
        fingerprint::<Status>()
    };
    let more = {
        #[derive(Deserialize)]
        #[allow(dead_code, reason = "only traced")]
        enum Status {
            Active,
            Banned(String),
            Deleted,
        }
        fingerprint::<Status>()
    };
    assert_ne!(one, other);
    assert_ne!(one, more);
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "only traced")]
enum Outer {
    Plain,
    Inner(Inner),
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "only traced")]
enum Inner {
    A,
    B(Deep),
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "only traced")]
enum Deep {
    X,
    Y { z: u8 },
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "only traced")]
enum List {
    Cons(u8, Box<List>),
    Nil,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "only traced")]
struct Tree {
    label: String,
    kids: Vec<Tree>,
    parent: Option<Box<Tree>>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "only traced")]
enum Expr {
    Add(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Lit(i64),
}

#[test]
fn nested_and_recursive_types_are_traced() {
    assert!(is_traced::<Outer>());
    let (_, records) = Tracer::trace::<Outer>().unwrap();
    assert_eq!(records.len(), 3, "{records:?}");
    assert!(is_traced::<List>());
    assert!(is_traced::<Tree>());
    assert!(is_traced::<Expr>());
    assert_ne!(fingerprint::<List>(), fingerprint::<Expr>());
}

#[test]
fn std_types_are_traced() {
    assert!(is_traced::<u64>());
    assert!(is_traced::<String>());
    assert!(is_traced::<(u8, String, [u16; 3])>());
    assert!(is_traced::<Vec<Option<Vec<u8>>>>());
    assert!(is_traced::<HashMap<String, Vec<u64>>>());
    assert!(is_traced::<BTreeMap<u32, Profile>>());
    assert!(is_traced::<Result<Duration, String>>());
    assert!(is_traced::<std::net::IpAddr>());
    assert!(is_traced::<std::time::SystemTime>());
    assert!(is_traced::<std::num::NonZeroU32>());
    assert_ne!(fingerprint::<u32>(), fingerprint::<u64>());
    assert_ne!(fingerprint::<Vec<u8>>(), fingerprint::<Option<u8>>());
    assert_eq!(fingerprint::<String>(), fingerprint::<Box<str>>(), "they decode alike");
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Number(u64),
    Text(String),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Internal {
    A { x: u8 },
}

#[derive(Serialize, Deserialize)]
struct Flat {
    #[serde(flatten)]
    inner: HashMap<String, u8>,
}

#[test]
fn types_that_cannot_be_traced_are_opaque_and_never_shared() {
    assert!(!is_traced::<Untagged>());
    assert!(!is_traced::<Internal>());
    assert!(!is_traced::<Flat>());
    assert!(!is_traced::<serde_json_like::Any>());
    assert_eq!(fingerprint::<Untagged>(), opaque::<Untagged>());
    assert_eq!(fingerprint::<Untagged>(), fingerprint::<Untagged>());
    assert_ne!(fingerprint::<Untagged>(), fingerprint::<Internal>());
    let other = {
        #[derive(Deserialize)]
        #[serde(untagged)]
        #[allow(dead_code, reason = "only traced")]
        enum Untagged {
            Number(u64),
            Text(String),
        }
        fingerprint::<Untagged>()
    };
    assert_ne!(fingerprint::<Untagged>(), other, "one name, two types");
}

/// A type whose `Deserialize` takes whatever comes.
mod serde_json_like {
    pub struct Any;

    impl<'de> serde::Deserialize<'de> for Any {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(serde::de::IgnoredAny).map(|_| Any)
        }
    }
}
