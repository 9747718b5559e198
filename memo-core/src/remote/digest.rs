//! The digest of a key for a shared store: BLAKE3 over the namespace and the
//! key's encoding, for keys whose encoding is exact.
//!
//! A key's `Serialize` may lose what its `Eq` sees: `#[serde(untagged)]`
//! writes `User(1)` and `Order(1)` alike, `#[serde(skip)]` leaves a field out,
//! `serialize_with` writes what it likes. Two unequal keys that encode alike
//! would share an entry, and one of them would get the other's value. So the
//! encoding of a key is decoded back and compared with `==` before it is used:
//!
//! **If the decoded key equals the key for every key that is used, two
//! unequal keys never share an encoding.** Were `a != b` both encoded as `s`,
//! decoding `s` gives one value `c` (decoding is a function of the bytes), and
//! the check passed for both: `c == a` and `c == b`, so `a == b` (`Eq` is
//! symmetric and transitive), which contradicts `a != b`.
//!
//! A key whose decoded encoding is not equal to it, or does not decode, has
//! no exact encoding: that call does not use the server (a store error, so
//! the function computes its own value). Other keys of the same type whose
//! encoding is exact still do: for a skipped field, the keys whose field holds
//! its default.
//!
//! The encoding is MessagePack with named fields (`rmp_serde::to_vec_named`):
//! the same in every process of one build. A key struct whose fields were
//! renamed or reordered in another build encodes otherwise, which is a miss;
//! a key type that changed in other ways changes its fingerprint, which is
//! part of the namespace (see `shape`).

use core::any::type_name;
use core::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The digest of `key` under the namespace whose hash is `namespace`.
pub(crate) fn digest<K>(namespace: &[u8; 32], key: &K) -> Result<[u8; 32], DigestError>
where
    K: Serialize + DeserializeOwned + PartialEq,
{
    let encoded = rmp_serde::to_vec_named(key).map_err(|error| DigestError::Encode(error.to_string()))?;
    match rmp_serde::from_slice::<K>(&encoded) {
        Ok(decoded) if decoded == *key => {}
        Ok(_) => return Err(DigestError::Inexact(type_name::<K>(), None)),
        Err(error) => return Err(DigestError::Inexact(type_name::<K>(), Some(error.to_string()))),
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(namespace);
    hasher.update(&encoded);
    Ok(*hasher.finalize().as_bytes())
}

/// A key that cannot be digested.
#[derive(Debug)]
pub(crate) enum DigestError {
    /// Its `Serialize` failed (a map whose keys fail, a custom error).
    Encode(String),
    /// Its encoding decodes to another key, or not at all (why).
    Inexact(&'static str, Option<String>),
}

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestError::Encode(error) => write!(f, "the key cannot be encoded: {error}"),
            DigestError::Inexact(name, why) => {
                write!(
                    f,
                    "this key of type `{name}` has no exact encoding: its serde encoding decodes to another \
                     key"
                )?;
                if let Some(why) = why {
                    write!(f, " or fails to decode ({why})")?;
                }
                write!(
                    f,
                    ", so two unequal keys could share an entry (`#[serde(untagged)]`, `#[serde(skip)]` or \
                     `serialize_with` lose what `==` sees); the call goes on without the shared store"
                )
            }
        }
    }
}

impl std::error::Error for DigestError {}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn d<K: Serialize + DeserializeOwned + PartialEq>(key: &K) -> Result<[u8; 32], DigestError> {
        digest(&[7; 32], key)
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    #[serde(untagged)]
    enum Id {
        User(u64),
        Order(u64),
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Query {
        name: String,
        #[serde(skip)]
        limit: u32,
    }

    #[test]
    fn different_values_differ() {
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_ne!(d(&pair("ab", "c")).unwrap(), d(&pair("a", "bc")).unwrap());
        assert_ne!(d(&vec![vec![1_u8], vec![]]).unwrap(), d(&vec![vec![], vec![1_u8]]).unwrap());
        assert_ne!(d(&(Some(1_u8), None::<u8>)).unwrap(), d(&(None::<u8>, Some(1_u8))).unwrap());
        assert_ne!(digest(&[1; 32], &1_u8).unwrap(), digest(&[2; 32], &1_u8).unwrap());
    }

    #[test]
    fn keys_that_lose_what_eq_sees_are_refused() {
        assert!(d(&Id::User(1)).is_ok(), "the variant that decodes back is exact");
        let error = d(&Id::Order(1)).unwrap_err().to_string();
        assert!(error.contains("no exact encoding") && error.contains("Id"), "{error}");
        assert!(d(&Query { name: String::from("a"), limit: 0 }).is_ok(), "the skipped field at its default");
        assert!(d(&Query { name: String::from("a"), limit: 10 }).is_err());
        assert!(d(&Some(None::<u8>)).is_err(), "`Some(None)` encodes as `None`");
        assert!(d(&None::<Option<u8>>).is_ok());
    }

    #[test]
    fn equal_values_agree_and_the_digest_is_stable() {
        assert_eq!(d(&(String::from("x"), 1_u64)).unwrap(), d(&(String::from("x"), 1_u64)).unwrap());
        // Pinned: a change of the encoding changes every key on every server.
        let hex: String =
            d(&(String::from("memo"), 90_u64)).unwrap().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, PINNED);
    }

    const PINNED: &str = "3bda6604eb25a4c225949ef4ee6cc46ebff240d9294cb524ba6ce640d166c835";
}
