//! The fingerprint of a type for a shared store: what its values look like
//! to serde, so that a value of another shape is a miss.
//!
//! `std::any::type_name` is documented as unstable across compiler versions
//! and gives one name to two versions of one crate; a `TypeId` changes with
//! the build and stays when a struct's fields change. Neither says what a
//! stored value decodes as. This module traces a type through its
//! `Deserialize` instead, with a [`Deserializer`](de::Deserializer) of its own
//! that hands out placeholder values and writes down what is asked of it:
//! struct, enum, tuple and newtype names, field and variant names in their
//! order, primitive kinds (`u32` is not `u64`), options, sequences, maps and
//! tuples, recursing through every field and, over several passes, every
//! variant. The fingerprint is BLAKE3 over that description.
//!
//! - **Traced** types (structs, tuples, enums with serde's default tagging,
//!   collections, std types): the fingerprint depends only on what
//!   serde sees, so it is the same in every build and with every compiler for
//!   an unchanged type, and differs when a field or variant is added,
//!   removed, renamed, reordered or changes type. Two types with one
//!   description decode alike.
//! - **Opaque** types, which cannot be traced: those whose `Deserialize`
//!   asks for `deserialize_any` or an identifier (`#[serde(untagged)]`,
//!   internally and adjacently tagged enums, `#[serde(flatten)]`, values of
//!   self-describing formats such as `serde_json::Value`), those that
//!   refuse the placeholder values, and those nested deeper than
//!   [`MAX_DEPTH`] or whose variants cannot all be reached. Their fingerprint
//!   is the `TypeId` and name of the type and a hash of the running
//!   executable: never shared by two types, the same in every process of one
//!   build, and different in another build (a miss, never a wrong value).
//!
//! Recursive types are traced: a type met again inside itself is referred
//! to, not described again, and its value there is the smallest one (`None`,
//! an empty sequence, a variant that ends the recursion). Fingerprints are
//! computed once per type and process.

use core::any::TypeId;
use core::fmt;
use core::hash::{Hash, Hasher};
use std::collections::HashMap;
use std::sync::OnceLock;

use parking_lot::RwLock;
use serde::de::{self, DeserializeOwned};

mod access;
#[cfg(test)]
mod tests;
mod trace;

use trace::{Body, Format, Record, Tracer};

/// How deep a traced type may nest before it counts as opaque.
pub(crate) const MAX_DEPTH: usize = 64;

/// The fingerprint of `T`: 16 bytes.
pub(crate) fn fingerprint<T: DeserializeOwned>() -> [u8; 16] {
    static KNOWN: OnceLock<RwLock<HashMap<TypeId, [u8; 16]>>> = OnceLock::new();
    let known = KNOWN.get_or_init(RwLock::default);
    let id = typeid::of::<T>();
    if let Some(fingerprint) = known.read().get(&id) {
        return *fingerprint;
    }
    // Traced outside the lock: `Deserialize` is the user's code.
    let fingerprint = traced::<T>().unwrap_or_else(|_| opaque::<T>());
    *known.write().entry(id).or_insert(fingerprint)
}

/// The fingerprint of a traced type, or why it cannot be traced.
fn traced<T: DeserializeOwned>() -> Result<[u8; 16], TraceError> {
    let (root, records) = Tracer::trace::<T>()?;
    let mut out = Description(blake3::Hasher::new());
    out.bytes(b"memo shape 1");
    out.format(&root);
    out.len(records.len());
    for record in &records {
        out.record(record);
    }
    Ok(first_16(&out.0.finalize()))
}

/// The fingerprint of a type that cannot be traced.
fn opaque<T>() -> [u8; 16] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"memo opaque 1");
    let mut id = HashInto(&mut hasher);
    typeid::of::<T>().hash(&mut id);
    hasher.update(core::any::type_name::<T>().as_bytes());
    hasher.update(build());
    first_16(&hasher.finalize())
}

/// A hash of the running executable, which names this build; if it cannot be
/// read, one of this process alone (so nothing is shared, and nothing wrong).
fn build() -> &'static [u8; 32] {
    static BUILD: OnceLock<[u8; 32]> = OnceLock::new();
    BUILD.get_or_init(|| {
        let mut hasher = blake3::Hasher::new();
        let read = std::env::current_exe()
            .and_then(std::fs::File::open)
            .and_then(|mut exe| std::io::copy(&mut exe, &mut hasher));
        if read.is_err() {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            hasher.update(format!("process {} at {now:?}", std::process::id()).as_bytes());
        }
        *hasher.finalize().as_bytes()
    })
}

fn first_16(hash: &blake3::Hash) -> [u8; 16] {
    let mut out = [0; 16];
    out.copy_from_slice(&hash.as_bytes()[..16]);
    out
}

/// Feeds what a `Hash` impl writes into BLAKE3.
struct HashInto<'a>(&'a mut blake3::Hasher);

impl Hasher for HashInto<'_> {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Why a type cannot be traced.
#[derive(Debug)]
pub(crate) struct TraceError(String);

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

impl de::Error for TraceError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TraceError(msg.to_string())
    }
}

/// Writes a description unambiguously: tags, lengths before names.
struct Description(blake3::Hasher);

impl Description {
    fn bytes(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.0.update(bytes);
    }

    fn len(&mut self, len: usize) {
        self.0.update(&(len as u64).to_le_bytes());
    }

    fn tag(&mut self, tag: u8) {
        self.0.update(&[tag]);
    }

    fn format(&mut self, format: &Format) {
        match format {
            Format::Unknown => self.tag(0),
            Format::Primitive(kind) => {
                self.tag(1);
                self.bytes(kind.as_bytes());
            }
            Format::Option(inner) => {
                self.tag(2);
                self.format(inner);
            }
            Format::Seq(inner) => {
                self.tag(3);
                self.format(inner);
            }
            Format::Map(key, value) => {
                self.tag(4);
                self.format(key);
                self.format(value);
            }
            Format::Tuple(items) => {
                self.tag(5);
                self.formats(items);
            }
            Format::Ref(index) => {
                self.tag(6);
                self.len(*index);
            }
        }
    }

    fn formats(&mut self, formats: &[Format]) {
        self.len(formats.len());
        for format in formats {
            self.format(format);
        }
    }

    fn fields(&mut self, fields: &[(&str, Format)]) {
        self.len(fields.len());
        for (name, format) in fields {
            self.bytes(name.as_bytes());
            self.format(format);
        }
    }

    fn body(&mut self, body: &Body) {
        match body {
            Body::Unit => self.tag(10),
            Body::Newtype(format) => {
                self.tag(11);
                self.format(format);
            }
            Body::Tuple(formats) => {
                self.tag(12);
                self.formats(formats);
            }
            Body::Struct(fields) => {
                self.tag(13);
                self.fields(fields);
            }
            Body::Enum(variants) => {
                self.tag(14);
                self.len(variants.len());
                for (name, variant) in variants {
                    self.bytes(name.as_bytes());
                    // Every variant is known once tracing succeeded.
                    match variant {
                        Some(body) => self.body(body),
                        None => self.tag(15),
                    }
                }
            }
        }
    }

    fn record(&mut self, record: &Record) {
        self.bytes(record.name.as_bytes());
        self.body(&record.body);
    }
}
