//! How values are written to a shared store: a [`Codec`], MessagePack with
//! named fields by default, behind a header that says the value's type and
//! deadline ([`Payload`]).

use core::any::type_name;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::shape::fingerprint;
use crate::clock;
use crate::store::StoreError;
use crate::store::expiry::Expiring;

/// Turns values into bytes for a shared store and back.
///
/// The default, [`MessagePack`], writes structs as maps of field names.
/// Plug in another with [`Shared::codec`](crate::Shared::codec). Whatever the
/// codec, a stored value is read only by a type of the same shape (its
/// fingerprint is in the header): after a field is added, renamed or
/// reordered, values of the older build are misses.
pub trait Codec: Send + Sync + 'static {
    /// The bytes of `value`.
    ///
    /// # Errors
    ///
    /// When `value` cannot be encoded; the value is then not stored.
    fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, StoreError>;

    /// The value of `bytes`.
    ///
    /// # Errors
    ///
    /// When `bytes` are not a `T`; the lookup is then a miss.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, StoreError>;
}

/// MessagePack with named fields (`rmp_serde::to_vec_named`), the default
/// codec: compact, and tolerant of added `#[serde(default)]` fields, reordered
/// fields, `skip_serializing_if` and every enum tagging.
#[derive(Debug, Default, Clone, Copy)]
pub struct MessagePack;

impl Codec for MessagePack {
    fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, StoreError> {
        rmp_serde::to_vec_named(value).map_err(StoreError::new)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, StoreError> {
        rmp_serde::from_slice(bytes).map_err(StoreError::new)
    }
}

/// The header of every stored value: a magic, the fingerprint of the value's
/// type, and its deadline as Unix milliseconds (0: none).
const MAGIC: &[u8; 2] = b"m2";
const HEADER: usize = 2 + 16 + 8;

/// A value a shared store can keep: any `T: Serialize + DeserializeOwned`,
/// and the [`Expiring`] values of functions with a `ttl`, whose deadline
/// becomes the server's expiry. Implemented for you.
pub trait Payload: Sized {
    /// The bytes to store, and how long the server is to keep them (`None`:
    /// until evicted).
    #[doc(hidden)]
    fn __encode<C: Codec>(&self, codec: &C) -> Result<(Vec<u8>, Option<Duration>), StoreError>;

    /// The value of stored bytes.
    #[doc(hidden)]
    fn __decode<C: Codec>(bytes: &[u8], codec: &C) -> Result<Self, StoreError>;
}

fn wrap<T: Serialize + DeserializeOwned, C: Codec>(
    value: &T,
    deadline_ms: u64,
    codec: &C,
) -> Result<Vec<u8>, StoreError> {
    let body = codec.encode(value)?;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    // A value stored by a build in which the function returned a type of
    // another shape is a miss, not a wrong value (see `shape`).
    out.extend_from_slice(&fingerprint::<T>());
    out.extend_from_slice(&deadline_ms.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The value and deadline of stored bytes written by [`wrap`].
fn unwrap<T: DeserializeOwned, C: Codec>(bytes: &[u8], codec: &C) -> Result<(T, u64), StoreError> {
    if bytes.len() < HEADER || &bytes[..2] != MAGIC {
        return Err(StoreError::new("the stored value was not written by memo"));
    }
    if bytes[2..18] != fingerprint::<T>() {
        return Err(StoreError::new(format!(
            "the stored value is not a `{}` of this shape (written by another build?)",
            type_name::<T>()
        )));
    }
    let mut deadline = [0; 8];
    deadline.copy_from_slice(&bytes[18..HEADER]);
    Ok((codec.decode(&bytes[HEADER..])?, u64::from_le_bytes(deadline)))
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<T: Serialize + DeserializeOwned> Payload for T {
    fn __encode<C: Codec>(&self, codec: &C) -> Result<(Vec<u8>, Option<Duration>), StoreError> {
        Ok((wrap(self, 0, codec)?, None))
    }

    fn __decode<C: Codec>(bytes: &[u8], codec: &C) -> Result<Self, StoreError> {
        unwrap(bytes, codec).map(|(value, _)| value)
    }
}

impl<T: Serialize + DeserializeOwned> Payload for Expiring<T> {
    fn __encode<C: Codec>(&self, codec: &C) -> Result<(Vec<u8>, Option<Duration>), StoreError> {
        let Some(expires) = self.expires else {
            return Ok((wrap(&self.value, 0, codec)?, None));
        };
        // Deadlines are instants of this process: across processes they travel
        // as wall-clock time, and the server expires the entry itself. One
        // past what wall-clock time holds (a ttl of billions of years) is
        // the latest there is, not a panic.
        let left = expires.saturating_duration_since(clock::now());
        let deadline = SystemTime::now().checked_add(left).map_or(u64::MAX, unix_ms).max(1);
        Ok((wrap(&self.value, deadline, codec)?, Some(left)))
    }

    fn __decode<C: Codec>(bytes: &[u8], codec: &C) -> Result<Self, StoreError> {
        let (value, deadline) = unwrap(bytes, codec)?;
        // A deadline further than an `Instant` reaches is never, as it is
        // for `Expiring::new`.
        let expires = if deadline == 0 {
            None
        } else {
            let left = Duration::from_millis(deadline.saturating_sub(unix_ms(SystemTime::now())));
            let now: Instant = clock::now();
            now.checked_add(left)
        };
        Ok(Expiring { value, expires })
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    /// What an older build wrote.
    #[derive(Serialize)]
    struct Before {
        id: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        tags: Vec<String>,
    }

    /// What a newer build reads: fields reordered, one added with a default.
    #[derive(Deserialize, Debug, PartialEq)]
    struct After {
        tags: Vec<String>,
        #[serde(default)]
        note: Option<String>,
        id: u64,
        #[serde(default)]
        added: u32,
    }

    #[test]
    fn named_fields_survive_a_changed_struct() {
        let before = Before { id: 7, note: None, tags: vec![String::from("a")] };
        let bytes = MessagePack.encode(&before).unwrap();
        let after: After = MessagePack.decode(&bytes).unwrap();
        assert_eq!(after, After { tags: vec![String::from("a")], note: None, id: 7, added: 0 });
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(tag = "kind")]
    enum Internal {
        A { x: u8 },
        B { y: String },
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(tag = "t", content = "c")]
    enum Adjacent {
        A(u8),
        B(String),
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Untagged {
        Number(u64),
        Text(String),
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum External {
        Unit,
        Tuple(u8, u8),
        Struct { z: bool },
    }

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(value: T) {
        let (bytes, ttl) = value.__encode(&MessagePack).unwrap();
        assert_eq!(ttl, None);
        assert_eq!(T::__decode(&bytes, &MessagePack).unwrap(), value);
    }

    #[test]
    fn every_enum_tagging_round_trips() {
        round_trip(Internal::B { y: String::from("y") });
        round_trip(Adjacent::A(3));
        round_trip(Untagged::Text(String::from("t")));
        round_trip(Untagged::Number(5));
        round_trip(External::Tuple(1, 2));
        round_trip(External::Struct { z: true });
        round_trip(External::Unit);
    }

    #[test]
    fn a_value_of_another_type_or_no_header_is_refused() {
        let (bytes, _) = 5_u64.__encode(&MessagePack).unwrap();
        assert!(<String as Payload>::__decode(&bytes, &MessagePack).is_err());
        assert!(<u64 as Payload>::__decode(b"garbage", &MessagePack).is_err());
        assert!(<u64 as Payload>::__decode(&bytes[..HEADER], &MessagePack).is_err());
    }

    #[test]
    fn a_deadline_past_wall_clock_time_is_the_latest_not_a_panic() {
        // Fits in an `Instant` (counted from boot), not in a `SystemTime`
        // (counted from 1970).
        let ttl = Duration::from_secs(i64::MAX as u64 - 1_000_000_000);
        let entry = Expiring::new(1_u8, clock::now(), Some(ttl));
        assert!(entry.expires.is_some());
        let (bytes, left) = entry.__encode(&MessagePack).unwrap();
        assert!(left.unwrap() > ttl - Duration::from_secs(60));
        let back = <Expiring<u8> as Payload>::__decode(&bytes, &MessagePack).unwrap();
        assert!(back.is_fresh(clock::now() + Duration::from_secs(1 << 40)));
    }

    #[test]
    fn deadlines_travel_as_wall_clock_time() {
        let _mock = clock::MockClock::start();
        let entry = Expiring::new(String::from("v"), clock::now(), Some(Duration::from_secs(60)));
        let (bytes, ttl) = entry.__encode(&MessagePack).unwrap();
        assert_eq!(ttl, Some(Duration::from_secs(60)));
        let back = <Expiring<String> as Payload>::__decode(&bytes, &MessagePack).unwrap();
        assert_eq!(back.value, "v");
        let left = back.expires.unwrap().saturating_duration_since(clock::now());
        assert!(left > Duration::from_secs(58) && left <= Duration::from_secs(60), "{left:?}");
    }
}
