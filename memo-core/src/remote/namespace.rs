//! The namespace of a shared store: who may read its entries.
//!
//! Two calls share an entry only if they have one namespace and equal
//! arguments. A namespace is one of:
//!
//! - the function's: its module path, name and instantiation (the `TypeId`
//!   that [`Store::bind`](crate::Store::bind) gives, different for every
//!   item and every instantiation of a generic one, even for two methods of
//!   one name in two `impl` blocks of one module), told when `#[memoize]`
//!   makes its cache;
//! - the user's, given with [`Shared::namespace`](super::Shared::namespace),
//!   to share entries between functions or programs at their word;
//!
//! each with the version and the fingerprint of the key type. A store that
//! has neither was never told what it serves (made by hand, or inside a store
//! of the user's that does not forward the hook): it refuses every operation,
//! rather than share one default namespace with every other such store.

use crate::store::FunctionId;
use core::hash::{Hash, Hasher};

/// What a namespace is made of.
#[derive(Debug, Clone, Default)]
pub(crate) struct Naming {
    pub(crate) function: Option<FunctionId>,
    pub(crate) explicit: Option<String>,
    pub(crate) version: u32,
}

/// A derived namespace.
#[derive(Debug)]
pub(crate) struct Namespace {
    /// BLAKE3 of what the namespace is made of; hashed into every digest.
    pub(crate) hash: [u8; 32],
    /// Starts every key: `memo:<readable name>:<16 hex digits of hash>:`.
    pub(crate) prefix: String,
}

/// Why a store with no namespace refuses to work.
pub(crate) const UNNAMED: &str = "this shared store was never told which function it serves, and has no \
     namespace, so it keeps nothing rather than share entries with other functions: give it one with \
     `.namespace(\"my_crate::my_function\")`, or, if it sits inside a store of your own, forward \
     `Store::bind` to it";

impl Naming {
    /// The namespace, with `key` the fingerprint of the key type; `None` if
    /// the store is unnamed.
    pub(crate) fn derive(&self, key: &[u8]) -> Option<Namespace> {
        let mut hasher = blake3::Hasher::new();
        let readable = match (&self.explicit, &self.function) {
            (Some(explicit), _) => {
                field(&mut hasher, b"namespace");
                field(&mut hasher, explicit.as_bytes());
                explicit.rsplit("::").next().unwrap_or(explicit)
            }
            (None, Some(function)) => {
                field(&mut hasher, b"function");
                field(&mut hasher, function.module().as_bytes());
                field(&mut hasher, function.name().as_bytes());
                // `TypeId` is the same in every process of one build; in
                // another build it may differ, which is a miss.
                let mut instance = TypeIdHasher(blake3::Hasher::new());
                function.instance().hash(&mut instance);
                field(&mut hasher, instance.0.finalize().as_bytes());
                function.name()
            }
            (None, None) => return None,
        };
        field(&mut hasher, &self.version.to_le_bytes());
        field(&mut hasher, key);
        let hash = *hasher.finalize().as_bytes();
        let readable: String = readable
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
            .take(40)
            .collect();
        let prefix = format!("memo:{readable}:{}:", hex(&hash[..8]));
        Some(Namespace { hash, prefix })
    }
}

/// Writes `bytes` after their length, so that no two lists of fields hash
/// alike.
fn field(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// Feeds what a `Hash` impl writes into BLAKE3: the bits of a `TypeId`,
/// whatever their width in this Rust version.
struct TypeIdHasher(blake3::Hasher);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        let mut out = [0; 8];
        out.copy_from_slice(&self.0.finalize().as_bytes()[..8]);
        u64::from_le_bytes(out)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        use core::fmt::Write;
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A;
    struct B;

    fn function<T: 'static>(module: &'static str, name: &'static str) -> Naming {
        let function = FunctionId::new(module, name, core::any::TypeId::of::<T>());
        Naming { function: Some(function), ..Naming::default() }
    }

    fn hash(naming: &Naming) -> [u8; 32] {
        naming.derive(b"key").unwrap().hash
    }

    #[test]
    fn every_part_of_a_function_names_it() {
        let base = hash(&function::<A>("m", "f"));
        assert_eq!(base, hash(&function::<A>("m", "f")));
        assert_ne!(base, hash(&function::<B>("m", "f")), "another instantiation");
        assert_ne!(base, hash(&function::<A>("m", "g")));
        assert_ne!(base, hash(&function::<A>("n", "f")));
        assert_ne!(hash(&function::<A>("m::a", "b")), hash(&function::<A>("m", "a::b")));
        let mut bumped = function::<A>("m", "f");
        bumped.version = 1;
        assert_ne!(base, hash(&bumped));
        assert_ne!(base, function::<A>("m", "f").derive(b"other key").unwrap().hash);
    }

    #[test]
    fn an_explicit_namespace_wins_and_is_never_a_functions() {
        let explicit = |ns: &str| Naming { explicit: Some(ns.to_owned()), ..Naming::default() };
        let mut bound = function::<A>("m", "f");
        bound.explicit = Some(String::from("shared"));
        assert_eq!(hash(&bound), hash(&explicit("shared")));
        assert_ne!(hash(&explicit("m::f")), hash(&function::<A>("m", "f")));
        assert_eq!(explicit("app::profile").derive(b"k").unwrap().prefix.split(':').nth(1), Some("profile"));
    }

    #[test]
    fn an_unnamed_store_has_no_namespace() {
        assert!(Naming::default().derive(b"key").is_none());
    }
}
