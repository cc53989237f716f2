use serde::ser::{Serialize, SerializeMap, Serializer};

use super::BentoSubscriber;
use super::profile::{Profile, profile_builder};
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
    profile: Profile,
    remove_tags: Vec<String>,
}

const RESERVED_KEYS: [&str; 5] = ["email", "first_name", "last_name", "tags", "remove_tags"];

impl SubscriberImport {
    /// A record for `email`.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            profile: Profile::new(email.into()),
            remove_tags: Vec::new(),
        }
    }

    profile_builder!();

    /// Removes one tag (an import only: a new subscriber has none to remove).
    pub fn remove_tag(mut self, tag: impl Into<String>) -> Self {
        self.remove_tags.push(tag.into());
        self
    }
}

impl BentoSubscriber for SubscriberImport {
    fn email(&self) -> &str {
        &self.profile.email
    }

    fn serialize_record<M: SerializeMap>(&self, record: &mut M) -> Result<(), M::Error> {
        let profile = &self.profile;
        if let Some(first) = &profile.first_name {
            record.serialize_entry("first_name", first)?;
        }
        if let Some(last) = &profile.last_name {
            record.serialize_entry("last_name", last)?;
        }
        if !profile.tags.is_empty() {
            record.serialize_entry("tags", &Tags(&profile.tags))?;
        }
        if !self.remove_tags.is_empty() {
            record.serialize_entry("remove_tags", &Tags(&self.remove_tags))?;
        }
        profile
            .fields
            .iter()
            .try_for_each(|(key, value)| record.serialize_entry(key, value))
    }

    fn validate(&self) -> Result<(), ValidationError> {
        self.profile.check_values()?;
        check_tags("tags", &self.profile.tags)?;
        check_tags("remove_tags", &self.remove_tags)?;
        for key in self.profile.fields.keys() {
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
            if !self.profile.verbatim_keys {
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
        assert!(matches!(
            check(&SubscriberImport::new("a@b.co").field("score", f64::NAN)),
            Err(ValidationError::NonFiniteNumber { .. })
        ));
    }
}
