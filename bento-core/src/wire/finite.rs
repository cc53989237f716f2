//! Refusing NaN and infinities on the way into JSON.
//!
//! serde_json writes a non-finite `f32`/`f64` as `null`, so a price of `NaN`
//! would reach Bento as `null` without a word. [`Finite`] wraps any serde
//! serializer and fails on such a number instead, remembering where it was
//! (`details.cart.items[2].price`) so the error can name it. It adds one
//! branch per float and nothing else: every other call goes straight through.

use std::cell::RefCell;
use std::fmt::Display;

use crate::error::ValidationError;
use serde::ser::{
    self, Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant,
    SerializeTuple, SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

/// Where a non-finite number was found: the path is filled in innermost
/// first while the error travels out.
#[derive(Debug, Default)]
pub(crate) struct Found {
    found: RefCell<Option<(Vec<String>, f64)>>,
}

impl Found {
    /// The error for `field` whose serialization failed with `message`: the
    /// non-finite number and where it was below `field`, if that was the
    /// cause, else the serializer's own message.
    pub(crate) fn error(&self, field: &str, message: impl Display) -> ValidationError {
        let Some((mut path, value)) = self.found.borrow_mut().take() else {
            return ValidationError::Unserializable {
                field: field.to_owned(),
                message: message.to_string(),
            };
        };
        path.reverse();
        let mut dotted = field.to_owned();
        for part in path {
            if !dotted.is_empty() && !part.starts_with('[') {
                dotted.push('.');
            }
            dotted.push_str(&part);
        }
        let value = if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        ValidationError::NonFiniteNumber {
            field: dotted,
            value: value.to_owned(),
        }
    }

    fn is_set(&self) -> bool {
        self.found.borrow().is_some()
    }

    fn within(&self, part: impl FnOnce() -> String) {
        if let Some((path, _)) = self.found.borrow_mut().as_mut() {
            path.push(part());
        }
    }

    fn check<E: ser::Error>(&self, value: f64) -> Result<(), E> {
        if value.is_finite() {
            return Ok(());
        }
        *self.found.borrow_mut() = Some((Vec::new(), value));
        Err(E::custom(format_args!(
            "{value} cannot be represented in JSON"
        )))
    }
}

/// A serializer that refuses non-finite numbers, then defers to `S`.
pub(crate) struct Finite<'f, S> {
    inner: S,
    found: &'f Found,
}

impl<'f, S> Finite<'f, S> {
    pub(crate) fn new(inner: S, found: &'f Found) -> Self {
        Self { inner, found }
    }
}

/// A value whose serialization goes through [`Finite`].
struct Wrap<'a, 'f, T: ?Sized> {
    value: &'a T,
    found: &'f Found,
}

impl<T: Serialize + ?Sized> Serialize for Wrap<'_, '_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Finite::new(serializer, self.found))
    }
}

fn key_name<K: Serialize + ?Sized>(key: &K) -> String {
    match serde_json::to_value(key) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

/// A compound serializer of `S`, wrapping each element.
pub(crate) struct Compound<'f, C> {
    inner: C,
    found: &'f Found,
    index: usize,
}

impl<'f, C> Compound<'f, C> {
    fn new(inner: C, found: &'f Found) -> Self {
        Self {
            inner,
            found,
            index: 0,
        }
    }

    /// Serializes one element, naming it in the path if it held the number.
    fn element<E, T: Serialize + ?Sized>(
        &mut self,
        value: &T,
        name: impl FnOnce(usize) -> String,
        write: impl FnOnce(&mut C, &Wrap<'_, 'f, T>) -> Result<(), E>,
    ) -> Result<(), E> {
        let index = self.index;
        self.index += 1;
        let found = self.found;
        let result = write(&mut self.inner, &Wrap { value, found });
        if result.is_err() && found.is_set() {
            found.within(|| name(index));
        }
        result
    }
}

macro_rules! forward_primitives {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, value: $ty) -> Result<S::Ok, S::Error> {
            self.inner.$method(value)
        })*
    };
}

impl<'f, S: Serializer> Serializer for Finite<'f, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'f, S::SerializeSeq>;
    type SerializeTuple = Compound<'f, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'f, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'f, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'f, S::SerializeMap>;
    type SerializeStruct = Compound<'f, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'f, S::SerializeStructVariant>;

    forward_primitives! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_char(char),
        serialize_str(&str), serialize_bytes(&[u8]),
    }

    fn serialize_f32(self, value: f32) -> Result<S::Ok, S::Error> {
        self.found.check(f64::from(value))?;
        self.inner.serialize_f32(value)
    }

    fn serialize_f64(self, value: f64) -> Result<S::Ok, S::Error> {
        self.found.check(value)?;
        self.inner.serialize_f64(value)
    }

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let found = self.found;
        self.inner.serialize_some(&Wrap { value, found })
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_struct(name)
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let found = self.found;
        self.inner
            .serialize_newtype_struct(name, &Wrap { value, found })
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let found = self.found;
        let result =
            self.inner
                .serialize_newtype_variant(name, index, variant, &Wrap { value, found });
        if result.is_err() && found.is_set() {
            found.within(|| variant.to_owned());
        }
        result
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Ok(Compound::new(self.inner.serialize_seq(len)?, self.found))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        Ok(Compound::new(self.inner.serialize_tuple(len)?, self.found))
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Ok(Compound::new(
            self.inner.serialize_tuple_struct(name, len)?,
            self.found,
        ))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Ok(Compound::new(
            self.inner
                .serialize_tuple_variant(name, index, variant, len)?,
            self.found,
        ))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(Compound::new(self.inner.serialize_map(len)?, self.found))
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(Compound::new(
            self.inner.serialize_struct(name, len)?,
            self.found,
        ))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Ok(Compound::new(
            self.inner
                .serialize_struct_variant(name, index, variant, len)?,
            self.found,
        ))
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

fn indexed(index: usize) -> String {
    format!("[{index}]")
}

macro_rules! indexed_compound {
    ($trait:ident, $method:ident) => {
        impl<C: $trait> $trait for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
                self.element(value, indexed, |inner, value| inner.$method(value))
            }

            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    };
}

indexed_compound!(SerializeSeq, serialize_element);
indexed_compound!(SerializeTuple, serialize_element);
indexed_compound!(SerializeTupleStruct, serialize_field);
indexed_compound!(SerializeTupleVariant, serialize_field);

macro_rules! named_compound {
    ($trait:ident) => {
        impl<C: $trait> $trait for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), C::Error> {
                self.element(
                    value,
                    |_| key.to_owned(),
                    |inner, value| inner.serialize_field(key, value),
                )
            }

            fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
                self.inner.skip_field(key)
            }

            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    };
}

named_compound!(SerializeStruct);
named_compound!(SerializeStructVariant);

impl<C: SerializeMap> SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        self.inner.serialize_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.element(
            value,
            |_| "?".to_owned(),
            |inner, value| inner.serialize_value(value),
        )
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), C::Error> {
        self.element(
            value,
            |_| key_name(key),
            |inner, value| inner.serialize_entry(key, value),
        )
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

/// `value` (found at `field`) as a JSON value, refusing non-finite numbers.
pub(crate) fn to_value<T: Serialize + ?Sized>(
    value: &T,
    field: &str,
) -> Result<serde_json::Value, ValidationError> {
    let found = Found::default();
    value
        .serialize(Finite::new(serde_json::value::Serializer, &found))
        .map_err(|error| found.error(field, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    struct Item {
        sku: &'static str,
        price: f64,
    }

    #[derive(serde::Serialize)]
    struct Cart {
        items: Vec<Item>,
        meta: BTreeMap<&'static str, f32>,
    }

    #[test]
    fn finite_values_pass_through_unchanged() {
        let cart = Cart {
            items: vec![Item {
                sku: "a",
                price: 1.5,
            }],
            meta: BTreeMap::from([("w", 2.0)]),
        };
        assert_eq!(
            to_value(&cart, "cart").unwrap(),
            json!({"items": [{"sku": "a", "price": 1.5}], "meta": {"w": 2.0}})
        );
        assert_eq!(to_value(&Some(3), "n").unwrap(), json!(3));
    }

    #[test]
    fn non_finite_numbers_are_refused_with_their_path() {
        let cart = Cart {
            items: vec![
                Item {
                    sku: "a",
                    price: 1.0,
                },
                Item {
                    sku: "b",
                    price: f64::NAN,
                },
            ],
            meta: BTreeMap::new(),
        };
        assert_eq!(
            to_value(&cart, "cart").unwrap_err(),
            non_finite("cart.items[1].price", "NaN")
        );
        let meta = Cart {
            items: vec![],
            meta: BTreeMap::from([("weight", f32::NEG_INFINITY)]),
        };
        assert_eq!(
            to_value(&meta, "cart").unwrap_err(),
            non_finite("cart.meta.weight", "-inf")
        );
        assert_eq!(
            to_value(&f64::INFINITY, "x").unwrap_err(),
            non_finite("x", "inf")
        );
        assert_eq!(
            to_value(&vec![f64::NAN], "list").unwrap_err(),
            non_finite("list[0]", "NaN")
        );
    }

    fn non_finite(field: &str, value: &str) -> ValidationError {
        ValidationError::NonFiniteNumber {
            field: field.into(),
            value: value.into(),
        }
    }
}
