//! Decoding helpers for the variations Bento's responses show in the wild.

use serde::{Deserialize, Deserializer};

/// JSON:API resource: `{"id": "1", "type": "tags", "attributes": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Resource<A> {
    #[serde(deserialize_with = "id")]
    pub(crate) id: String,
    #[serde(rename = "type", default)]
    #[allow(dead_code)]
    pub(crate) kind: Option<String>,
    #[serde(default = "Option::default")]
    pub(crate) attributes: Option<A>,
}

/// `{"data": T}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Data<T> {
    pub(crate) data: T,
}

/// `{"data": T}`, `{"data": null}` or `{}`.
#[derive(Debug, Deserialize)]
pub(crate) struct MaybeData<T> {
    #[serde(default = "Option::default")]
    pub(crate) data: Option<T>,
}

/// Create endpoints are specified to return a list of one and observed to return the object.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    pub(crate) fn into_first(self) -> Option<T> {
        match self {
            OneOrMany::One(one) => Some(one),
            OneOrMany::Many(many) => many.into_iter().next(),
        }
    }
}

/// An identifier sent as a string or as a number.
pub(crate) fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    })
}

/// A list of identifiers, each a string or a number; `null` is empty.
pub(crate) fn ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "id")] String);
    let ids: Option<Vec<Wrapped>> = Option::deserialize(deserializer)?;
    Ok(ids
        .unwrap_or_default()
        .into_iter()
        .map(|Wrapped(id)| id)
        .collect())
}

/// `null` decodes as the type's default (`"fields": null` is an empty map).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
