use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde::Serialize;

/// A string-keyed map whose entries are merged into the surrounding object:
/// the type of a `#[bento(flatten)]` field.
///
/// Keys are checked when the event or record is sent: an empty key, or one
/// that another field of the struct already writes, is a
/// [`ValidationError::InvalidKey`](crate::ValidationError::InvalidKey).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be flattened into a Bento object",
    label = "a flattened field must be a map with string keys",
    note = "use `HashMap<String, V>`, `BTreeMap<String, V>` or `serde_json::Map<String, Value>` where `V: Serialize`, or implement `bento_core::convert::FlattenMap`"
)]
pub trait FlattenMap {
    /// The type of the map's values.
    type Value: Serialize + ?Sized;

    /// The entries, in the map's iteration order.
    fn entries(&self) -> impl Iterator<Item = (&str, &Self::Value)>;
}

impl<K: AsRef<str>, V: Serialize, S: BuildHasher> FlattenMap for HashMap<K, V, S> {
    type Value = V;

    fn entries(&self) -> impl Iterator<Item = (&str, &V)> {
        self.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<K: AsRef<str>, V: Serialize> FlattenMap for BTreeMap<K, V> {
    type Value = V;

    fn entries(&self) -> impl Iterator<Item = (&str, &V)> {
        self.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl FlattenMap for serde_json::Map<String, serde_json::Value> {
    type Value = serde_json::Value;

    fn entries(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<M: FlattenMap + ?Sized> FlattenMap for &M {
    type Value = M::Value;

    fn entries(&self) -> impl Iterator<Item = (&str, &M::Value)> {
        (**self).entries()
    }
}

impl<M: FlattenMap> FlattenMap for Option<M> {
    type Value = M::Value;

    fn entries(&self) -> impl Iterator<Item = (&str, &M::Value)> {
        self.iter().flat_map(FlattenMap::entries)
    }
}

impl<M: FlattenMap + ?Sized> FlattenMap for Box<M> {
    type Value = M::Value;

    fn entries(&self) -> impl Iterator<Item = (&str, &M::Value)> {
        (**self).entries()
    }
}
