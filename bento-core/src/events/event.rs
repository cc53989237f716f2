use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::BentoEvent;
use crate::convert::{DateError, Timestamp};
use crate::envelope::EventEnvelope;

/// One event, as sent to `/batch/events`.
///
/// ```
/// use bento_core::Event;
/// use serde_json::json;
///
/// let purchase = Event::new("$purchase", "ada@example.com")
///     .field("first_name", "Ada")
///     .detail("unique", json!({ "key": "order_123" }))
///     .detail("value", json!({ "currency": "USD", "amount": 8000 }))
///     .date("2024-05-01T12:00:00Z");
/// assert_eq!(
///     serde_json::to_value(&purchase).unwrap(),
///     json!({
///         "type": "$purchase",
///         "email": "ada@example.com",
///         "fields": { "first_name": "Ada" },
///         "details": { "unique": { "key": "order_123" }, "value": { "currency": "USD", "amount": 8000 } },
///         "date": "2024-05-01T12:00:00Z"
///     })
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    event_type: String,
    email: String,
    fields: Map<String, Value>,
    details: Map<String, Value>,
    date: Option<String>,
}

impl Event {
    /// An event of type `event_type` (such as `account.signup` or `$purchase`) for `email`.
    pub fn new(event_type: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            event_type: event_type.into(),
            email: email.into(),
            fields: Map::new(),
            details: Map::new(),
            date: None,
        }
    }

    /// Writes `key` to the subscriber's profile (a custom field, created if new).
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// Stores `key` on the event itself.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Backdates the event: an RFC 3339 timestamp such as `2024-05-01T12:00:00Z`.
    pub fn date(mut self, rfc3339: impl Into<String>) -> Self {
        self.date = Some(rfc3339.into());
        self
    }

    /// The event type.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The subscriber's email.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The profile fields.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The event details.
    pub fn details(&self) -> &Map<String, Value> {
        &self.details
    }
}

impl BentoEvent for Event {
    fn event_type(&self) -> &str {
        &self.event_type
    }

    fn email(&self) -> &str {
        &self.email
    }

    fn date(&self) -> Result<Option<Timestamp>, DateError> {
        self.date.as_deref().map(Timestamp::parse).transpose()
    }

    fn has_fields(&self) -> bool {
        !self.fields.is_empty()
    }

    fn serialize_fields<M: SerializeMap>(&self, fields: &mut M) -> Result<(), M::Error> {
        self.fields
            .iter()
            .try_for_each(|(key, value)| fields.serialize_entry(key, value))
    }

    fn has_details(&self) -> bool {
        !self.details.is_empty()
    }

    fn serialize_details<M: SerializeMap>(&self, details: &mut M) -> Result<(), M::Error> {
        self.details
            .iter()
            .try_for_each(|(key, value)| details.serialize_entry(key, value))
    }
}

/// The same JSON the client sends; fails when the date is not RFC 3339.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let date = BentoEvent::date(self).map_err(serde::ser::Error::custom)?;
        EventEnvelope::new(self, date).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minimal_event_omits_empty_members() {
        let event = Event::new("account.signup", "a@example.com");
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type": "account.signup", "email": "a@example.com"})
        );
    }

    #[test]
    fn date_is_checked_through_the_trait() {
        let dated = Event::new("x", "a@b.co").date("2024-05-01T12:00:00+02:00");
        assert_eq!(
            BentoEvent::date(&dated).unwrap().unwrap().as_str(),
            "2024-05-01T12:00:00+02:00"
        );
        assert!(BentoEvent::date(&Event::new("x", "a@b.co").date("1714564800")).is_err());
        assert_eq!(BentoEvent::date(&Event::new("x", "a@b.co")), Ok(None));
    }
}
