//! Serde deserialisation from a [`Node`] tree.
//!
//! Unlike a plain serde format, unknown keys do not stop decoding: each is recorded (with a
//! "did you mean" from the struct's own field list) and skipped, so one pass reports all of them.
//! Type errors carry the span of the innermost node that was wrong.

use std::cell::RefCell;
use std::fmt;

use pactum_domain::diagnostic::did_you_mean;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::yaml::{Kind, Node, Span};

/// A decoding error at a place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub message: String,
    pub span: Option<Span>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            span: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format!(
            "unknown key `{field}`, expected one of {}",
            expected.join(", ")
        ))
    }
}

impl DeError {
    fn at(mut self, span: Span) -> DeError {
        self.span.get_or_insert(span);
        self
    }
}

/// A key the target type does not have.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownKey {
    pub key: String,
    pub span: Span,
    pub suggestion: Option<String>,
    pub expected: Vec<&'static str>,
}

/// Decodes `node` into `T`, recording unknown keys in `unknown`.
pub fn from_node<T: de::DeserializeOwned>(
    node: &Node,
    unknown: &RefCell<Vec<UnknownKey>>,
) -> Result<T, DeError> {
    T::deserialize(NodeDe { node, unknown })
}

#[derive(Clone, Copy)]
struct NodeDe<'a> {
    node: &'a Node,
    unknown: &'a RefCell<Vec<UnknownKey>>,
}

impl<'a> NodeDe<'a> {
    fn child(&self, node: &'a Node) -> NodeDe<'a> {
        NodeDe {
            node,
            unknown: self.unknown,
        }
    }

    fn invalid(&self, expected: &str) -> DeError {
        DeError {
            message: format!("expected {expected}, found {}", self.node.describe()),
            span: Some(self.node.span),
        }
    }
}

macro_rules! forward_to_any {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.deserialize_any(visitor)
        })*
    };
}

impl<'de, 'a> de::Deserializer<'de> for NodeDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        let result = match &self.node.kind {
            Kind::Null => visitor.visit_unit(),
            Kind::Bool(b, _) => visitor.visit_bool(*b),
            Kind::Int(i, _) => visitor.visit_i64(*i),
            Kind::Float(f, _) => visitor.visit_f64(*f),
            Kind::Str(s) => visitor.visit_str(s),
            Kind::Seq(items) => visitor.visit_seq(SeqAccess {
                de: self,
                items: items.iter(),
            }),
            Kind::Map(entries) => visitor.visit_map(MapAccess {
                de: self,
                entries: entries.iter().collect::<Vec<_>>().into_iter(),
                value: None,
            }),
        };
        result.map_err(|e| e.at(span))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Plain scalars keep their text, so `version: 3.1` reads as "3.1" where a string is wanted.
        match self.node.as_str() {
            Some(s) => visitor
                .visit_str(s)
                .map_err(|e: DeError| e.at(self.node.span)),
            None => Err(self.invalid("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.kind {
            Kind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Seq(_) => self.deserialize_any(visitor),
            _ => Err(self.invalid("a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Map(_) => self.deserialize_any(visitor),
            _ => Err(self.invalid("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let Kind::Map(entries) = &self.node.kind else {
            return Err(self.invalid("a mapping"));
        };
        let mut known = Vec::with_capacity(entries.len());
        for entry in entries {
            let key = entry.0.as_str().unwrap_or_default();
            if fields.contains(&key) {
                known.push(entry);
            } else {
                self.unknown.borrow_mut().push(UnknownKey {
                    key: key.to_owned(),
                    span: entry.0.span,
                    suggestion: did_you_mean(key, fields.iter().copied()).map(str::to_owned),
                    expected: fields.to_vec(),
                });
            }
        }
        visitor
            .visit_map(MapAccess {
                de: self,
                entries: known.into_iter(),
                value: None,
            })
            .map_err(|e| e.at(self.node.span))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = self.node.span;
        match &self.node.kind {
            Kind::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                visitor
                    .visit_enum(EnumAccess {
                        de: self,
                        variant: k,
                        value: Some(v),
                    })
                    .map_err(|e| e.at(span))
            }
            _ if self.node.as_str().is_some() => visitor
                .visit_enum(EnumAccess {
                    de: self,
                    variant: self.node,
                    value: None,
                })
                .map_err(|e| e.at(span)),
            _ => Err(self.invalid("a name, or a mapping with one key")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    forward_to_any! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_identifier deserialize_i128 deserialize_u128
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }
}

struct SeqAccess<'a> {
    de: NodeDe<'a>,
    items: std::slice::Iter<'a, Node>,
}

impl<'de, 'a> de::SeqAccess<'de> for SeqAccess<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(self.de.child(node))
                .map(Some)
                .map_err(|e| e.at(node.span)),
            None => Ok(None),
        }
    }
}

struct MapAccess<'a> {
    de: NodeDe<'a>,
    entries: std::vec::IntoIter<&'a (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de, 'a> de::MapAccess<'de> for MapAccess<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                // Keys are always read as text: `2026: x` is the key "2026".
                let key = seed
                    .deserialize(KeyDe { node: k })
                    .map_err(|e| e.at(k.span))?;
                Ok(Some(key))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("value without a key"))?;
        seed.deserialize(self.de.child(node))
            .map_err(|e| e.at(node.span))
    }
}

struct KeyDe<'a> {
    node: &'a Node,
}

impl<'de, 'a> de::Deserializer<'de> for KeyDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.as_str() {
            Some(s) => visitor.visit_str(s),
            None => Err(DeError {
                message: format!("expected a name as key, found {}", self.node.describe()),
                span: Some(self.node.span),
            }),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.node.as_str() {
            Some(s) => visitor.visit_enum(s.into_deserializer()),
            None => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct EnumAccess<'a> {
    de: NodeDe<'a>,
    variant: &'a Node,
    value: Option<&'a Node>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumAccess<'a> {
    type Error = DeError;
    type Variant = VariantAccess<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAccess<'a>), DeError> {
        let v = seed
            .deserialize(KeyDe { node: self.variant })
            .map_err(|e| e.at(self.variant.span))?;
        Ok((
            v,
            VariantAccess {
                de: self.de,
                value: self.value,
                variant: self.variant,
            },
        ))
    }
}

struct VariantAccess<'a> {
    de: NodeDe<'a>,
    value: Option<&'a Node>,
    variant: &'a Node,
}

impl<'de, 'a> de::VariantAccess<'de> for VariantAccess<'a> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            None => Ok(()),
            Some(node) if node.kind == Kind::Null => Ok(()),
            Some(node) => Err(DeError {
                message: format!(
                    "`{}` takes no value",
                    self.variant.as_str().unwrap_or_default()
                ),
                span: Some(node.span),
            }),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.value {
            Some(node) => seed.deserialize(self.de.child(node)),
            None => Err(DeError {
                message: format!(
                    "`{name}` needs a value: write `{name}: <value>`",
                    name = self.variant.as_str().unwrap_or_default()
                ),
                span: Some(self.variant.span),
            }),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Some(node) => de::Deserializer::deserialize_seq(self.de.child(node), visitor),
            None => Err(self.de.invalid("a list")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Some(node) => {
                de::Deserializer::deserialize_struct(self.de.child(node), "", fields, visitor)
            }
            None => Err(self.de.invalid("a mapping")),
        }
    }
}
