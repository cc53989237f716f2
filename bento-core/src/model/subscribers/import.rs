use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::BentoSubscriber;
use crate::convert::tags::{Tags, check_tags};
use crate::error::ValidationError;
use crate::model::envelope::RecordEnvelope;

/// One record of a subscriber import, written flat as `/batch/subscribers` expects.
///
/// ```
/// use bento_core::SubscriberImport;
/// use serde_json::json;
///
/// let record = SubscriberImport::new("ada@example.com")
///     .first_name("Ada")
///     .tags(["lead", "mql"])
///     .remove_tag("prospect")
///     .field("plan", "pro");
/// assert_eq!(
///     serde_json::to_value(&record).unwrap(),
///     json!({
///         "email": "ada@example.com", "first_name": "Ada",
///         "tags": "lead,mql", "remove_tags": "prospect", "plan": "pro"
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriberImport {
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    tags: Vec<String>,
    remove_tags: Vec<String>,
    fields: Map<String, Value>,
    verbatim_keys: bool,
}

const RESERVED_KEYS: [&str; 5] = ["email", "first_name", "last_name", "tags", "remove_tags"];

impl SubscriberImport {
    /// A record for `email`.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            ..Self::default()
        }
    }

    /// The first name.
    pub fn first_name(mut self, name: impl Into<String>) -> Self {
        self.first_name = Some(name.into());
        self
    }

    /// The last name.
    pub fn last_name(mut self, name: impl Into<String>) -> Self {
        self.last_name = Some(name.into());
        self
    }

    /// Adds one tag (created in Bento if new).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds several tags.
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Removes one tag.
    pub fn remove_tag(mut self, tag: impl Into<String>) -> Self {
        self.remove_tags.push(tag.into());
        self
    }

    /// Sets a custom field. `key` follows Bento's key rule (`first_name`,
    /// not `firstName`), as [`Event::field`](crate::Event::field) does,
    /// unless the record is [`verbatim_keys`](Self::verbatim_keys).
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// Sends this record's field keys as written, for an account whose
    /// fields were named before Bento's key rule (`firstName`).
    pub fn verbatim_keys(mut self) -> Self {
        self.verbatim_keys = true;
        self
    }

    /// The email.
    pub fn email(&self) -> &str {
        &self.email
    }
}

impl BentoSubscriber for SubscriberImport {
    fn email(&self) -> &str {
        &self.email
    }

    fn serialize_record<M: SerializeMap>(&self, record: &mut M) -> Result<(), M::Error> {
        if let Some(first) = &self.first_name {
            record.serialize_entry("first_name", first)?;
        }
        if let Some(last) = &self.last_name {
            record.serialize_entry("last_name", last)?;
        }
        if !self.tags.is_empty() {
            record.serialize_entry("tags", &Tags(&self.tags))?;
        }
        if !self.remove_tags.is_empty() {
            record.serialize_entry("remove_tags", &Tags(&self.remove_tags))?;
        }
        self.fields
            .iter()
            .try_for_each(|(key, value)| record.serialize_entry(key, value))
    }

    fn validate(&self) -> Result<(), ValidationError> {
        check_tags("tags", &self.tags)?;
        check_tags("remove_tags", &self.remove_tags)?;
        for key in self.fields.keys() {
            if RESERVED_KEYS.contains(&key.as_str()) {
                return Err(ValidationError::InvalidKey {
                    field: "fields".to_owned(),
                    key: key.clone(),
                    reason: "is a reserved import column; use the dedicated builder method instead",
                });
            }
            if key.trim().is_empty() {
                return Err(ValidationError::InvalidKey {
                    field: "fields".to_owned(),
                    key: key.clone(),
                    reason: "is empty",
                });
            }
            if !self.verbatim_keys {
                crate::validate::key(|| "fields".to_owned(), key)?;
            }
        }
        Ok(())
    }
}

/// The same JSON the client sends.
impl Serialize for SubscriberImport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RecordEnvelope(self).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(record: &SubscriberImport) -> Result<(), ValidationError> {
        crate::model::envelope::encode_record(record, || "subscribers[0]".into(), &mut Vec::new())
    }

    #[test]
    fn import_validation() {
        assert!(matches!(
            check(&SubscriberImport::new("a@b.co").tag("x,y")),
            Err(ValidationError::TagContainsComma { field, .. }) if field == "subscribers[0].tags"
        ));
        assert!(check(&SubscriberImport::new("a@b.co").remove_tag("x,y")).is_err());
        assert!(matches!(
            check(&SubscriberImport::new("a@b.co").field("tags", "x")),
            Err(ValidationError::InvalidKey { key, .. }) if key == "tags"
        ));
        assert!(check(&SubscriberImport::new("bad")).is_err());
        assert!(matches!(
            check(&SubscriberImport::new("a@b.co").field("firstName", "Ada")),
            Err(ValidationError::KeyCase { field, suggestion, .. })
                if field == "subscribers[0].fields" && suggestion == "first_name"
        ));
        assert!(
            check(
                &SubscriberImport::new("a@b.co")
                    .field("firstName", "Ada")
                    .verbatim_keys()
            )
            .is_ok()
        );
        assert!(
            check(
                &SubscriberImport::new("a@b.co")
                    .tags(["x", "y"])
                    .field("plan", 1)
            )
            .is_ok()
        );
    }
}
