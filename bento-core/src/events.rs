//! Events: `POST /batch/events`.
//!
//! An event records something a person did. Sending one creates the
//! subscriber when the email is new, writes `fields` to their profile, stores
//! `details` on the event itself, and triggers automations.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::batch::{BatchResult, in_chunks};
use crate::client::Client;
use crate::error::{Error, ValidationError};
use crate::transport::ApiRequest;
use crate::validate;

/// The most events Bento accepts in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;

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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    event_type: String,
    email: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    fields: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    details: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

    pub(crate) fn validate(&self, index: usize) -> Result<(), ValidationError> {
        validate::non_empty(|| format!("events[{index}].type"), &self.event_type)?;
        validate::email(|| format!("events[{index}].email"), &self.email)?;
        if let Some(date) = &self.date
            && !looks_like_rfc3339(date)
        {
            {
                return Err(ValidationError::Arguments(format!(
                    "events[{index}].date `{date}` is not an RFC 3339 timestamp such as 2024-05-01T12:00:00Z"
                )));
            }
        }
        Ok(())
    }
}

/// Shape check only (`YYYY-MM-DDTHH:MM:SS` then anything): enough to catch a
/// unix timestamp or a locale-formatted date before Bento silently misreads it.
fn looks_like_rfc3339(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && matches!(b[10], b'T' | b't' | b' ')
        && b[11..13].iter().all(u8::is_ascii_digit)
        && b[13] == b':'
}

#[derive(Serialize)]
struct EventsBody<'a> {
    events: &'a [Event],
}

impl Client {
    /// Sends events now, in requests of up to 1000 (see
    /// [`ClientBuilder::events_per_request`](crate::ClientBuilder::events_per_request)).
    ///
    /// Every event is validated first; nothing is sent if one is invalid. A
    /// failure after some requests succeeded is [`Error::PartialBatch`].
    pub async fn send_events(&self, events: &[Event]) -> Result<BatchResult, Error> {
        validate::non_empty_batch("events", events)?;
        for (index, event) in events.iter().enumerate() {
            event.validate(index)?;
        }
        let chunks = in_chunks(
            events,
            self.inner.events_per_request,
            |_, chunk| async move {
                let request =
                    ApiRequest::post("batch/events").json(&EventsBody { events: chunk })?;
                self.call::<BatchResult>(request).await
            },
        )
        .await?;
        Ok(chunks.into_iter().sum())
    }

    /// Sends one event now and waits for Bento to accept it.
    pub async fn track_now(&self, event: &Event) -> Result<(), Error> {
        self.send_events(std::slice::from_ref(event))
            .await
            .map(drop)
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
    fn validation_names_the_offending_event() {
        let bad = Event::new("x", "nope");
        assert!(
            matches!(bad.validate(3), Err(ValidationError::InvalidEmail { field, .. }) if field == "events[3].email")
        );
        assert!(matches!(
            Event::new(" ", "a@b.co").validate(0),
            Err(ValidationError::Empty { .. })
        ));
        assert!(
            Event::new("x", "a@b.co")
                .date("1714564800")
                .validate(0)
                .is_err()
        );
        assert!(
            Event::new("x", "a@b.co")
                .date("2024-05-01T12:00:00+02:00")
                .validate(0)
                .is_ok()
        );
    }
}
