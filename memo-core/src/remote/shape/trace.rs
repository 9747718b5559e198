//! The tracing `Deserializer` behind [`fingerprint`](super::fingerprint): it
//! hands a type's `Deserialize` placeholder values and writes down what it
//! asked for.
//!
//! Named types (structs, enums, tuple, newtype and unit structs) become
//! [`Record`]s, numbered in the order they are first met and keyed by their
//! `TypeId` within one trace (two types of one name stay apart); a field of
//! such a type is a [`Format::Ref`] to its record. A type met again inside
//! itself is not recorded again: its value there is traced in *shadow*, where
//! only a value is needed (options `None`, sequences and maps empty, enums a
//! variant that does not recurse). Each pass over the type traces one variant
//! of every enum it meets, the first not traced yet, or one that leads to
//! such; passes go on until every variant of every enum is known.

use core::any::TypeId;
use std::collections::HashMap;

use serde::de::{self, DeserializeOwned, Visitor};

use super::access::{Enum, Seq};
use super::{MAX_DEPTH, TraceError};

/// The most passes over one type.
const MAX_PASSES: usize = 256;

/// What a value is made of.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Format {
    /// Not asked for (a slot the `Deserialize` did not read).
    Unknown,
    Primitive(&'static str),
    Option(Box<Format>),
    Seq(Box<Format>),
    Map(Box<Format>, Box<Format>),
    Tuple(Vec<Format>),
    /// The named type of this number.
    Ref(usize),
}

/// What a named type, or a variant, is made of.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    Unit,
    Newtype(Format),
    Tuple(Vec<Format>),
    Struct(Vec<(&'static str, Format)>),
    /// Variants in order; `None` until traced.
    Enum(Vec<(&'static str, Option<Body>)>),
}

/// A named type.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) name: &'static str,
    pub(crate) body: Body,
}

pub(crate) struct Tracer {
    records: Vec<Record>,
    index: HashMap<TypeId, usize>,
    /// The records being traced, outermost first.
    stack: Vec<usize>,
    /// The variants being traced, recorded or in shadow: enum, variant.
    variants: Vec<(TypeId, usize)>,
    depth: usize,
}

pub(super) type Result<T, E = TraceError> = core::result::Result<T, E>;

pub(super) fn fail<T>(why: &str) -> Result<T> {
    Err(TraceError(why.to_owned()))
}

impl Tracer {
    /// The format of `T` and the records it refers to.
    pub(crate) fn trace<T: DeserializeOwned>() -> Result<(Format, Vec<Record>)> {
        let mut tracer = Tracer {
            records: Vec::new(),
            index: HashMap::new(),
            stack: Vec::new(),
            variants: Vec::new(),
            depth: 0,
        };
        for _ in 0..MAX_PASSES {
            let before = tracer.traced_variants();
            let mut root = Format::Unknown;
            T::deserialize(De { tracer: &mut tracer, out: &mut root, shadow: false })?;
            if tracer.untraced_variants() == 0 {
                return Ok((root, tracer.records));
            }
            if tracer.traced_variants() == before {
                return fail("some variants cannot be reached");
            }
        }
        fail("too many variants")
    }

    fn enum_variants(&self) -> impl Iterator<Item = &Option<Body>> {
        self.records
            .iter()
            .flat_map(|record| match &record.body {
                Body::Enum(variants) => variants.as_slice(),
                _ => &[],
            })
            .map(|(_, body)| body)
    }

    fn traced_variants(&self) -> usize {
        self.enum_variants().filter(|body| body.is_some()).count()
    }

    fn untraced_variants(&self) -> usize {
        self.enum_variants().filter(|body| body.is_none()).count()
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { fail("nested too deep") } else { Ok(()) }
    }

    /// Starts a named type that is not an enum: its record's number if it is
    /// to be recorded, `None` if it is traced in shadow.
    fn open(
        &mut self,
        id: TypeId,
        name: &'static str,
        shadow: bool,
        out: &mut Format,
    ) -> Result<Option<usize>> {
        self.enter()?;
        if shadow {
            return Ok(None);
        }
        if let Some(&index) = self.index.get(&id) {
            *out = Format::Ref(index);
            if self.stack.contains(&index) {
                return Ok(None);
            }
            self.stack.push(index);
            return Ok(Some(index));
        }
        let index = self.records.len();
        self.records.push(Record { name, body: Body::Unit });
        self.index.insert(id, index);
        *out = Format::Ref(index);
        self.stack.push(index);
        Ok(Some(index))
    }

    /// Ends what [`open`](Self::open) started, with its body.
    fn close(&mut self, recorded: Option<usize>, body: impl FnOnce() -> Body) {
        self.depth -= 1;
        if let Some(index) = recorded {
            self.stack.pop();
            self.records[index].body = body();
        }
    }

    /// The variant of enum `index` to record: the first not traced yet, else
    /// one that leads to such.
    fn choose(&self, index: usize) -> usize {
        let Body::Enum(variants) = &self.records[index].body else { return 0 };
        variants.iter().position(|(_, body)| body.is_none()).unwrap_or_else(|| {
            let leads =
                |body: &Option<Body>| body.as_ref().is_some_and(|b| self.leads_on(b, &mut Vec::new()));
            variants.iter().position(|(_, body)| leads(body)).unwrap_or(0)
        })
    }

    /// Whether `body` refers to an enum with variants not traced yet.
    fn leads_on(&self, body: &Body, seen: &mut Vec<usize>) -> bool {
        body_formats(body).any(|format| self.format_leads_on(format, seen))
    }

    fn format_leads_on(&self, format: &Format, seen: &mut Vec<usize>) -> bool {
        match format {
            Format::Unknown | Format::Primitive(_) => false,
            Format::Option(inner) | Format::Seq(inner) => self.format_leads_on(inner, seen),
            Format::Map(key, value) => self.format_leads_on(key, seen) || self.format_leads_on(value, seen),
            Format::Tuple(items) => items.iter().any(|item| self.format_leads_on(item, seen)),
            Format::Ref(index) if seen.contains(index) => false,
            Format::Ref(index) => {
                seen.push(*index);
                match &self.records[*index].body {
                    Body::Enum(variants) => variants
                        .iter()
                        .any(|(_, body)| body.as_ref().is_none_or(|body| self.leads_on(body, seen))),
                    body => self.leads_on(body, seen),
                }
            }
        }
    }

    /// The variant of the enum `index` (if it has a record) to give where
    /// only a value is needed: a traced one that does not lead back into a
    /// type being traced, else one not being traced now.
    fn choose_in_shadow(&self, id: TypeId, index: Option<usize>, count: usize) -> usize {
        if let Some(Body::Enum(variants)) = index.map(|index| &self.records[index].body) {
            let ends = |body: &Option<Body>| body.as_ref().is_some_and(|b| self.ends(b, &mut Vec::new()));
            if let Some(found) = variants.iter().position(|(_, body)| ends(body)) {
                return found;
            }
        }
        (0..count).find(|variant| !self.variants.contains(&(id, *variant))).unwrap_or(0)
    }

    /// Whether a value of `body` in shadow ends without meeting a type being
    /// traced (options, sequences and maps are empty there).
    fn ends(&self, body: &Body, seen: &mut Vec<usize>) -> bool {
        match body {
            Body::Enum(variants) => {
                variants.iter().any(|(_, body)| body.as_ref().is_some_and(|body| self.ends(body, seen)))
            }
            body => body_formats(body).all(|format| self.format_ends(format, seen)),
        }
    }

    fn format_ends(&self, format: &Format, seen: &mut Vec<usize>) -> bool {
        match format {
            Format::Tuple(items) => items.iter().all(|item| self.format_ends(item, seen)),
            Format::Ref(index) if self.stack.contains(index) => false,
            Format::Ref(index) if seen.contains(index) => true,
            Format::Ref(index) => {
                seen.push(*index);
                self.ends(&self.records[*index].body, seen)
            }
            _ => true,
        }
    }
}

/// The formats directly inside a body that is not an enum.
fn body_formats(body: &Body) -> Box<dyn Iterator<Item = &Format> + '_> {
    match body {
        Body::Unit | Body::Enum(_) => Box::new(core::iter::empty()),
        Body::Newtype(format) => Box::new(core::iter::once(format)),
        Body::Tuple(formats) => Box::new(formats.iter()),
        Body::Struct(fields) => Box::new(fields.iter().map(|(_, format)| format)),
    }
}

/// Traces one value into `out`.
pub(super) struct De<'t> {
    pub(super) tracer: &'t mut Tracer,
    pub(super) out: &'t mut Format,
    pub(super) shadow: bool,
}

macro_rules! primitives {
    ($($method:ident => $visit:ident($value:expr), $kind:literal;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                *self.out = Format::Primitive($kind);
                visitor.$visit($value)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for De<'_> {
    type Error = TraceError;

    primitives! {
        deserialize_bool => visit_bool(false), "bool";
        deserialize_i8 => visit_i8(1), "i8";
        deserialize_i16 => visit_i16(1), "i16";
        deserialize_i32 => visit_i32(1), "i32";
        deserialize_i64 => visit_i64(1), "i64";
        deserialize_i128 => visit_i128(1), "i128";
        deserialize_u8 => visit_u8(1), "u8";
        deserialize_u16 => visit_u16(1), "u16";
        deserialize_u32 => visit_u32(1), "u32";
        deserialize_u64 => visit_u64(1), "u64";
        deserialize_u128 => visit_u128(1), "u128";
        deserialize_f32 => visit_f32(1.0), "f32";
        deserialize_f64 => visit_f64(1.0), "f64";
        deserialize_char => visit_char('a'), "char";
        deserialize_str => visit_str(""), "str";
        deserialize_string => visit_str(""), "str";
        deserialize_bytes => visit_bytes(&[]), "bytes";
        deserialize_byte_buf => visit_bytes(&[]), "bytes";
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        fail("its `Deserialize` asks for `deserialize_any`")
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        fail("its `Deserialize` asks for an identifier")
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        fail("its `Deserialize` ignores a value")
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        *self.out = Format::Primitive("unit");
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut inner = Format::Unknown;
        self.tracer.enter()?;
        let value = if self.shadow {
            visitor.visit_none()
        } else {
            visitor.visit_some(De { tracer: &mut *self.tracer, out: &mut inner, shadow: false })
        }?;
        self.tracer.depth -= 1;
        *self.out = Format::Option(Box::new(inner));
        Ok(value)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        let mut slots = if self.shadow { vec![] } else { vec![Format::Unknown] };
        let value = self.elements(&mut slots, |seq| visitor.visit_seq(seq))?;
        *self.out = Format::Seq(Box::new(slots.pop().unwrap_or(Format::Unknown)));
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(mut self, len: usize, visitor: V) -> Result<V::Value> {
        let mut slots = vec![Format::Unknown; len];
        let value = self.elements(&mut slots, |seq| visitor.visit_seq(seq))?;
        *self.out = Format::Tuple(slots);
        Ok(value)
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        let mut slots = if self.shadow { vec![] } else { vec![Format::Unknown; 2] };
        let value = self.elements(&mut slots, |seq| visitor.visit_map(seq))?;
        let value_format = slots.pop().unwrap_or(Format::Unknown);
        *self.out = Format::Map(Box::new(slots.pop().unwrap_or(Format::Unknown)), Box::new(value_format));
        Ok(value)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value> {
        let recorded = self.tracer.open(typeid::of::<V::Value>(), name, self.shadow, self.out)?;
        let value = visitor.visit_unit()?;
        self.tracer.close(recorded, || Body::Unit);
        Ok(value)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value> {
        let recorded = self.tracer.open(typeid::of::<V::Value>(), name, self.shadow, self.out)?;
        let mut inner = Format::Unknown;
        let shadow = recorded.is_none();
        let value =
            visitor.visit_newtype_struct(De { tracer: &mut *self.tracer, out: &mut inner, shadow })?;
        self.tracer.close(recorded, || Body::Newtype(inner));
        Ok(value)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        let recorded = self.tracer.open(typeid::of::<V::Value>(), name, self.shadow, self.out)?;
        let mut slots = vec![Format::Unknown; len];
        let seq = Seq { tracer: &mut *self.tracer, slots: &mut slots, next: 0, shadow: recorded.is_none() };
        let value = visitor.visit_seq(seq)?;
        self.tracer.close(recorded, || Body::Tuple(slots));
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let recorded = self.tracer.open(typeid::of::<V::Value>(), name, self.shadow, self.out)?;
        let mut slots = vec![Format::Unknown; fields.len()];
        let seq = Seq { tracer: &mut *self.tracer, slots: &mut slots, next: 0, shadow: recorded.is_none() };
        let value = visitor.visit_seq(seq)?;
        self.tracer.close(recorded, || Body::Struct(fields.iter().copied().zip(slots).collect()));
        Ok(value)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        if variants.is_empty() {
            return fail("an enum without variants");
        }
        let id = typeid::of::<V::Value>();
        let tracer = self.tracer;
        tracer.enter()?;
        let known = tracer.index.get(&id).copied();
        let recorded = match known {
            _ if self.shadow => None,
            Some(index) if tracer.stack.contains(&index) => None,
            Some(index) => Some(index),
            None => {
                let index = tracer.records.len();
                let body = Body::Enum(variants.iter().map(|variant| (*variant, None)).collect());
                tracer.records.push(Record { name, body });
                tracer.index.insert(id, index);
                Some(index)
            }
        };
        if let Some(index) = recorded.or(known).filter(|_| !self.shadow) {
            *self.out = Format::Ref(index);
        }
        let choice = match recorded {
            Some(index) => tracer.choose(index),
            None => tracer.choose_in_shadow(id, known, variants.len()),
        };
        if let Some(index) = recorded {
            tracer.stack.push(index);
        }
        tracer.variants.push((id, choice));
        let mut body = None;
        let access = Enum {
            tracer: &mut *tracer,
            name: variants[choice],
            body: &mut body,
            shadow: recorded.is_none(),
        };
        let value = visitor.visit_enum(access)?;
        tracer.depth -= 1;
        tracer.variants.pop();
        if let Some(index) = recorded {
            tracer.stack.pop();
            if let Body::Enum(known) = &mut tracer.records[index].body {
                known[choice].1 = body;
            }
        }
        Ok(value)
    }

    fn is_human_readable(&self) -> bool {
        // As MessagePack, the default codec.
        false
    }
}

impl De<'_> {
    /// Gives `visit` the elements (or keys and values) of `slots` to read.
    fn elements<R>(&mut self, slots: &mut [Format], visit: impl FnOnce(Seq<'_>) -> Result<R>) -> Result<R> {
        self.tracer.enter()?;
        let value = visit(Seq { tracer: &mut *self.tracer, slots, next: 0, shadow: self.shadow })?;
        self.tracer.depth -= 1;
        Ok(value)
    }
}
