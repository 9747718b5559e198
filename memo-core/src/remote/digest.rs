//! The digest of a key for a shared store: BLAKE3 over an unambiguous
//! encoding of the arguments, written by a serde `Serializer` of our own.
//!
//! Not `std::hash::Hash`, whose output may change between Rust versions and
//! platforms and which is not collision-resistant; not the codec's bytes,
//! which are made to be decoded, not to be unambiguous. Every value is written
//! as a tag byte for its shape, then its content: integers at their full
//! width, little-endian (so `5_u32` and `5_u64` differ), strings and bytes
//! after their length, sequences and maps with a marker before each element
//! and one at the end (their length may be unknown), structs and enum
//! variants with their names. Two different values of one type never encode
//! alike, so their digests differ unless BLAKE3 collides; the same value gives
//! the same digest in every process, on every platform, with every compiler.

use core::fmt;

use serde::ser::{self, Serialize};

/// Shape tags: the first byte of every encoded value.
mod tag {
    pub const BOOL: u8 = 1;
    pub const I8: u8 = 2;
    pub const I16: u8 = 3;
    pub const I32: u8 = 4;
    pub const I64: u8 = 5;
    pub const I128: u8 = 6;
    pub const U8: u8 = 7;
    pub const U16: u8 = 8;
    pub const U32: u8 = 9;
    pub const U64: u8 = 10;
    pub const U128: u8 = 11;
    pub const F32: u8 = 12;
    pub const F64: u8 = 13;
    pub const CHAR: u8 = 14;
    pub const STR: u8 = 15;
    pub const BYTES: u8 = 16;
    pub const NONE: u8 = 17;
    pub const SOME: u8 = 18;
    pub const UNIT: u8 = 19;
    pub const UNIT_STRUCT: u8 = 20;
    pub const UNIT_VARIANT: u8 = 21;
    pub const NEWTYPE_STRUCT: u8 = 22;
    pub const NEWTYPE_VARIANT: u8 = 23;
    pub const SEQ: u8 = 24;
    pub const TUPLE: u8 = 25;
    pub const TUPLE_STRUCT: u8 = 26;
    pub const TUPLE_VARIANT: u8 = 27;
    pub const MAP: u8 = 28;
    pub const STRUCT: u8 = 29;
    pub const STRUCT_VARIANT: u8 = 30;
    /// Before each element of a sequence or map, and at its end.
    pub const ITEM: u8 = 1;
    pub const END: u8 = 0;
}

/// The digest of `key` under `namespace`: 32 bytes.
pub(crate) fn digest<K: Serialize + ?Sized>(namespace: &[u8], key: &K) -> Result<[u8; 32], DigestError> {
    let mut writer = Writer(blake3::Hasher::new());
    writer.len(namespace.len());
    writer.0.update(namespace);
    key.serialize(&mut writer)?;
    Ok(*writer.0.finalize().as_bytes())
}

/// A key whose `Serialize` failed (a map whose keys fail, a custom error).
#[derive(Debug)]
pub(crate) struct DigestError(String);

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the key cannot be digested: {}", self.0)
    }
}

impl std::error::Error for DigestError {}

impl ser::Error for DigestError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DigestError(msg.to_string())
    }
}

struct Writer(blake3::Hasher);

impl Writer {
    fn tag(&mut self, tag: u8) {
        self.0.update(&[tag]);
    }

    fn len(&mut self, len: usize) {
        self.0.update(&(len as u64).to_le_bytes());
    }

    fn name(&mut self, name: &str) {
        self.len(name.len());
        self.0.update(name.as_bytes());
    }
}

type Result<T = (), E = DigestError> = core::result::Result<T, E>;

impl ser::Serializer for &mut Writer {
    type Ok = ();
    type Error = DigestError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> Result {
        self.tag(tag::BOOL);
        self.0.update(&[u8::from(v)]);
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result {
        self.tag(tag::I8);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result {
        self.tag(tag::I16);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result {
        self.tag(tag::I32);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result {
        self.tag(tag::I64);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result {
        self.tag(tag::I128);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result {
        self.tag(tag::U8);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result {
        self.tag(tag::U16);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result {
        self.tag(tag::U32);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result {
        self.tag(tag::U64);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result {
        self.tag(tag::U128);
        self.0.update(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result {
        self.tag(tag::F32);
        self.0.update(&v.to_bits().to_le_bytes());
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result {
        self.tag(tag::F64);
        self.0.update(&v.to_bits().to_le_bytes());
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result {
        self.tag(tag::CHAR);
        self.0.update(&u32::from(v).to_le_bytes());
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result {
        self.tag(tag::STR);
        self.name(v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result {
        self.tag(tag::BYTES);
        self.len(v.len());
        self.0.update(v);
        Ok(())
    }

    fn serialize_none(self) -> Result {
        self.tag(tag::NONE);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        self.tag(tag::SOME);
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.tag(tag::UNIT);
        Ok(())
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result {
        self.tag(tag::UNIT_STRUCT);
        self.name(name);
        Ok(())
    }

    fn serialize_unit_variant(self, name: &'static str, index: u32, variant: &'static str) -> Result {
        self.tag(tag::UNIT_VARIANT);
        self.variant(name, index, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result {
        self.tag(tag::NEWTYPE_STRUCT);
        self.name(name);
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.tag(tag::NEWTYPE_VARIANT);
        self.variant(name, index, variant);
        value.serialize(self)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self> {
        self.tag(tag::SEQ);
        Ok(self)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self> {
        self.tag(tag::TUPLE);
        self.len(len);
        Ok(self)
    }

    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Self> {
        Ok(self.open(tag::TUPLE_STRUCT, name, None, len))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self> {
        Ok(self.open(tag::TUPLE_VARIANT, name, Some((index, variant)), len))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self> {
        self.tag(tag::MAP);
        Ok(self)
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self> {
        Ok(self.open(tag::STRUCT, name, None, len))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self> {
        Ok(self.open(tag::STRUCT_VARIANT, name, Some((index, variant)), len))
    }
}

impl Writer {
    /// The start of a struct, tuple struct or variant with fields: its tag,
    /// names and number of fields.
    fn open(&mut self, tag: u8, name: &str, variant: Option<(u32, &str)>, len: usize) -> &mut Self {
        self.tag(tag);
        match variant {
            Some((index, variant)) => self.variant(name, index, variant),
            None => self.name(name),
        }
        self.len(len);
        self
    }

    fn variant(&mut self, name: &str, index: u32, variant: &str) {
        self.name(name);
        self.0.update(&index.to_le_bytes());
        self.name(variant);
    }
}

impl ser::SerializeSeq for &mut Writer {
    type Ok = ();
    type Error = DigestError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.tag(tag::ITEM);
        value.serialize(&mut **self)
    }

    fn end(self) -> Result {
        self.tag(tag::END);
        Ok(())
    }
}

/// Tuples and structs have their length written up front; their elements need
/// no markers.
macro_rules! fixed {
    ($trait:ident, $method:ident $(, $field:ident)?) => {
        impl ser::$trait for &mut Writer {
            type Ok = ();
            type Error = DigestError;

            fn $method<T: Serialize + ?Sized>(&mut self, $($field: &'static str,)? value: &T) -> Result {
                $(self.name($field);)?
                value.serialize(&mut **self)
            }

            fn end(self) -> Result {
                Ok(())
            }
        }
    };
}

fixed!(SerializeTuple, serialize_element);
fixed!(SerializeTupleStruct, serialize_field);
fixed!(SerializeTupleVariant, serialize_field);
fixed!(SerializeStruct, serialize_field, key);
fixed!(SerializeStructVariant, serialize_field, key);

impl ser::SerializeMap for &mut Writer {
    type Ok = ();
    type Error = DigestError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.tag(tag::ITEM);
        key.serialize(&mut **self)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }

    fn end(self) -> Result {
        self.tag(tag::END);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d<K: Serialize + ?Sized>(key: &K) -> [u8; 32] {
        digest(b"ns", key).unwrap()
    }

    #[test]
    fn different_values_and_shapes_differ() {
        assert_ne!(d(&5_u32), d(&5_u64));
        assert_ne!(d(&("ab", "c")), d(&("a", "bc")));
        assert_ne!(d(&vec!["ab".to_owned()]), d(&vec!["a".to_owned(), "b".to_owned()]));
        assert_ne!(d(&(Some(1_u8), None::<u8>)), d(&(None::<u8>, Some(1_u8))));
        assert_ne!(d(&vec![vec![1_u8], vec![]]), d(&vec![vec![], vec![1_u8]]));
        assert_ne!(digest(b"a", &1_u8).unwrap(), digest(b"b", &1_u8).unwrap());
        assert_ne!(digest(b"ab", &"c").unwrap(), digest(b"a", &"bc").unwrap());
    }

    #[test]
    fn equal_values_agree_and_the_digest_is_stable() {
        assert_eq!(d(&("x", 1_u64)), d(&(String::from("x"), 1_u64)));
        // Pinned: a change of the encoding changes every key on every server.
        let hex: String = d(&(String::from("memo"), 90_u64)).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex, PINNED);
    }

    const PINNED: &str = "81ffbc3273a28b7ea27236e1a3ffe16c05ae5b87595e0ba8436bedbcc717fa92";
}
