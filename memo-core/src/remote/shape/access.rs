//! What the tracing `Deserializer` hands a `Deserialize` to read from: the
//! elements of a sequence, tuple or struct, the entries of a map, and the
//! variant of an enum, each traced into its slot.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::TraceError;
use super::trace::{Body, De, Format, Result, Tracer, fail};

/// The elements of a sequence or tuple, the fields of a struct, or the keys
/// and values of a map, one per slot.
pub(super) struct Seq<'t> {
    pub(super) tracer: &'t mut Tracer,
    pub(super) slots: &'t mut [Format],
    pub(super) next: usize,
    pub(super) shadow: bool,
}

impl Seq<'_> {
    fn next<'de, S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>> {
        let Some(slot) = self.slots.get_mut(self.next) else { return Ok(None) };
        self.next += 1;
        seed.deserialize(De { tracer: &mut *self.tracer, out: slot, shadow: self.shadow }).map(Some)
    }
}

impl<'de> de::SeqAccess<'de> for Seq<'_> {
    type Error = TraceError;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>> {
        self.next(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.slots.len() - self.next)
    }
}

impl<'de> de::MapAccess<'de> for Seq<'_> {
    type Error = TraceError;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>> {
        self.next(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value> {
        self.next(seed)?.map_or_else(|| fail("a map value without its key"), Ok)
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.slots.len() - self.next) / 2)
    }
}

/// The variant chosen, and where its body goes.
pub(super) struct Enum<'t> {
    pub(super) tracer: &'t mut Tracer,
    pub(super) name: &'static str,
    pub(super) body: &'t mut Option<Body>,
    pub(super) shadow: bool,
}

impl<'de> de::EnumAccess<'de> for Enum<'_> {
    type Error = TraceError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        let name: de::value::StrDeserializer<'_, TraceError> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'_> {
    type Error = TraceError;

    fn unit_variant(self) -> Result<()> {
        *self.body = Some(Body::Unit);
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value> {
        let mut inner = Format::Unknown;
        let value = seed.deserialize(De { tracer: self.tracer, out: &mut inner, shadow: self.shadow })?;
        *self.body = Some(Body::Newtype(inner));
        Ok(value)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        self.fields(len, visitor, Body::Tuple)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.fields(fields.len(), visitor, |slots| Body::Struct(fields.iter().copied().zip(slots).collect()))
    }
}

impl Enum<'_> {
    /// Visits the `len` fields of a tuple or struct variant as a sequence,
    /// and records their formats as the body that `body` makes of them.
    fn fields<'de, V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
        body: impl FnOnce(Vec<Format>) -> Body,
    ) -> Result<V::Value> {
        let mut slots = vec![Format::Unknown; len];
        let value = visitor.visit_seq(Seq {
            tracer: self.tracer,
            slots: &mut slots,
            next: 0,
            shadow: self.shadow,
        })?;
        *self.body = Some(body(slots));
        Ok(value)
    }
}
