use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::BentoEvent;
use crate::convert::{DateError, Timestamp};
use crate::error::ValidationError;
use crate::model::envelope::EventEnvelope;

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
    /// The first value that could not become JSON, reported by `track` and
    /// `send_events` (builder methods cannot fail).
    invalid: Option<ValidationError>,
    /// Keys are sent as written, not held to Bento's key rule.
    verbatim_keys: bool,
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
            invalid: None,
            verbatim_keys: false,
        }
    }

    /// Writes `key` to the subscriber's profile (a custom field, created if new).
    ///
    /// `key` follows Bento's key rule, as the derive's keys do: lowercase
    /// letters, digits and underscores (`first_name`). Another spelling
    /// (`firstName`) makes the event invalid, with the fix in the
    /// [`ValidationError::KeyCase`], unless the event is
    /// [`verbatim_keys`](Self::verbatim_keys).
    ///
    /// `value` is anything `Serialize`: a string, a number, a `json!` value,
    /// your own struct. A value that cannot become JSON (NaN or an infinite
    /// number anywhere inside it, a failing `Serialize`) makes the event
    /// invalid: `track` and `send_events` refuse it with a
    /// [`ValidationError`] naming the key.
    pub fn field(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let key = key.into();
        if let Some(value) = self.checked("fields", &key, &value) {
            self.fields.insert(key, value);
        }
        self
    }

    /// Stores `key` on the event itself; `key` and `value` as for
    /// [`field`](Self::field).
    pub fn detail(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let key = key.into();
        if let Some(value) = self.checked("details", &key, &value) {
            self.details.insert(key, value);
        }
        self
    }

    fn checked(&mut self, member: &str, key: &str, value: &impl Serialize) -> Option<Value> {
        match crate::wire::finite::to_value(value, &format!("{member}.{key}")) {
            Ok(value) => Some(value),
            Err(error) => {
                self.invalid.get_or_insert(error);
                None
            }
        }
    }

    /// Sends this event's field and detail keys as written, for an account
    /// whose fields were named before Bento's key rule (`firstName`): the
    /// escape hatch from [`ValidationError::KeyCase`], like
    /// `#[bento(verbatim)]` in the derive.
    ///
    /// ```
    /// let event = bento_core::Event::new("account.signup", "ada@example.com")
    ///     .field("firstName", "Ada")
    ///     .verbatim_keys();
    /// assert!(bento_core::Encoded::event(&event).is_ok());
    /// ```
    pub fn verbatim_keys(mut self) -> Self {
        self.verbatim_keys = true;
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

    fn validate(&self) -> Result<(), ValidationError> {
        if let Some(error) = &self.invalid {
            return Err(error.clone());
        }
        if !self.verbatim_keys {
            for key in self.fields.keys() {
                crate::validate::key(|| "fields".to_owned(), key)?;
            }
            for key in self.details.keys() {
                crate::validate::key(|| "details".to_owned(), key)?;
            }
        }
        Ok(())
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
    fn non_finite_numbers_make_the_event_invalid() {
        let event = Event::new("x", "a@example.com")
            .detail("ok", 1.5)
            .detail("price", f64::NAN)
            .field("score", json!({"list": [1.0]}))
            .field("weights", vec![1.0, f64::INFINITY]);
        assert_eq!(
            BentoEvent::validate(&event),
            Err(ValidationError::NonFiniteNumber {
                field: "details.price".into(),
                value: "NaN".into()
            }),
            "the first problem is reported"
        );
        let nested = Event::new("x", "a@example.com").field("weights", vec![1.0, f64::INFINITY]);
        assert!(matches!(
            BentoEvent::validate(&nested),
            Err(ValidationError::NonFiniteNumber { field, .. }) if field == "fields.weights[1]"
        ));
        let mut out = Vec::new();
        let error = crate::model::envelope::encode_event(&event, || "events[0]".into(), &mut out)
            .unwrap_err();
        assert!(
            error.to_string().contains("events[0].details.price"),
            "{error}"
        );
        assert!(out.is_empty());
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
