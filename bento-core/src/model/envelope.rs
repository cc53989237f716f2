//! The wire shapes of events and subscriber records, owned here so that the
//! derives only ever describe the *contents* of an object and can never get
//! the envelope wrong.
//!
//! Items are encoded one by one into a shared buffer (checking each as it
//! goes), then requests are cut from that buffer: encoding happens once, no
//! matter how a batch is split or retried.

use std::ops::Range;

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::convert::Timestamp;
use crate::error::ValidationError;
use crate::model::events::BentoEvent;
use crate::model::subscribers::BentoSubscriber;
use crate::validate;
use crate::wire::finite::{Finite, Found};

/// The default request budget of a batch body, and so the largest one item
/// may be once encoded ([`ClientBuilder::max_batch_bytes`](crate::ClientBuilder::max_batch_bytes)):
/// 4 MiB, well under any request size limit in front of Bento's API.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// `{"type","email","fields"?,"details"?,"date"?}`.
pub(crate) struct EventEnvelope<'a, E: ?Sized> {
    event: &'a E,
    date: Option<Timestamp>,
}

impl<'a, E: BentoEvent + ?Sized> EventEnvelope<'a, E> {
    /// `date` is passed in because the caller has already checked it.
    pub(crate) fn new(event: &'a E, date: Option<Timestamp>) -> Self {
        Self { event, date }
    }
}

impl<E: BentoEvent + ?Sized> Serialize for EventEnvelope<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.event.event_type())?;
        map.serialize_entry("email", self.event.email())?;
        if self.event.has_fields() {
            map.serialize_entry("fields", &Fields(self.event))?;
        }
        if self.event.has_details() {
            map.serialize_entry("details", &Details(self.event))?;
        }
        if let Some(date) = &self.date {
            map.serialize_entry("date", date.as_str())?;
        }
        map.end()
    }
}

struct Fields<'a, E: ?Sized>(&'a E);

impl<E: BentoEvent + ?Sized> Serialize for Fields<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.serialize_fields(&mut map)?;
        map.end()
    }
}

struct Details<'a, E: ?Sized>(&'a E);

impl<E: BentoEvent + ?Sized> Serialize for Details<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.serialize_details(&mut map)?;
        map.end()
    }
}

/// The flat import record: `{"email", ...everything else}`.
pub(crate) struct RecordEnvelope<'a, S: ?Sized>(pub(crate) &'a S);

impl<R: BentoSubscriber + ?Sized> Serialize for RecordEnvelope<'_, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("email", self.0.email())?;
        self.0.serialize_record(&mut map)?;
        map.end()
    }
}

/// Checks one event and appends its JSON to `out`; on error `out` is unchanged.
pub(crate) fn encode_event<E: BentoEvent + ?Sized>(
    event: &E,
    item: impl Fn() -> String,
    out: &mut Vec<u8>,
) -> Result<(), ValidationError> {
    validate::non_empty(|| format!("{}.type", item()), event.event_type())?;
    validate::email(|| format!("{}.email", item()), event.email())?;
    let date = event
        .date()
        .map_err(|source| ValidationError::InvalidDate {
            field: format!("{}.date", item()),
            source,
        })?;
    event.validate().map_err(|error| error.within(&item()))?;
    write(&EventEnvelope::new(event, date), &item, out)
}

/// Checks one subscriber record and appends its JSON to `out`; on error `out`
/// is unchanged.
pub(crate) fn encode_record<R: BentoSubscriber + ?Sized>(
    record: &R,
    item: impl Fn() -> String,
    out: &mut Vec<u8>,
) -> Result<(), ValidationError> {
    validate::email(|| format!("{}.email", item()), record.email())?;
    record.validate().map_err(|error| error.within(&item()))?;
    write(&RecordEnvelope(record), &item, out)
}

fn write(
    value: &impl Serialize,
    item: &impl Fn() -> String,
    out: &mut Vec<u8>,
) -> Result<(), ValidationError> {
    let start = out.len();
    let found = Found::default();
    let mut serializer = serde_json::Serializer::new(&mut *out);
    value
        .serialize(Finite::new(&mut serializer, &found))
        .map_err(|error| {
            out.truncate(start);
            found.error(&item(), error)
        })
}

/// Many encoded items, ready to be cut into request bodies.
#[derive(Debug, Default)]
pub(crate) struct Encoded {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Encoded {
    /// Encodes every item (named `{what}[index]` in errors), stopping at the first invalid one.
    pub(crate) fn all<T>(
        what: &'static str,
        items: &[T],
        encode: impl Fn(&T, &dyn Fn() -> String, &mut Vec<u8>) -> Result<(), ValidationError>,
    ) -> Result<Self, ValidationError> {
        validate::non_empty_batch(what, items)?;
        let mut encoded = Self {
            bytes: Vec::with_capacity(items.len() * 256),
            ends: Vec::with_capacity(items.len()),
        };
        for (index, item) in items.iter().enumerate() {
            encode(item, &|| format!("{what}[{index}]"), &mut encoded.bytes)?;
            encoded.ends.push(encoded.bytes.len());
        }
        Ok(encoded)
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Each item's JSON.
    pub(crate) fn each(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.bytes[start..end])
    }

    /// `{"<key>":[item, item, ...]}` for the items in `range`.
    pub(crate) fn body(&self, key: &str, range: Range<usize>) -> Bytes {
        let start = match range.start {
            0 => 0,
            n => self.ends[n - 1],
        };
        let items = &self.ends[range.clone()];
        let size = items.last().map_or(0, |end| end - start);
        let mut body = Vec::with_capacity(size + range.len() + key.len() + 8);
        body.extend_from_slice(b"{\"");
        body.extend_from_slice(key.as_bytes());
        body.extend_from_slice(b"\":[");
        let mut from = start;
        for (i, &end) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&self.bytes[from..end]);
            from = end;
        }
        body.extend_from_slice(b"]}");
        Bytes::from(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, SubscriberImport};
    use serde_json::json;

    fn events(items: &[Event]) -> Result<Encoded, ValidationError> {
        Encoded::all("events", items, |event, item, out| {
            encode_event(event, item, out)
        })
    }

    #[test]
    fn bodies_are_cut_from_one_encoding() {
        let items: Vec<Event> = (0..5)
            .map(|i| Event::new("x", format!("u{i}@example.com")).detail("n", i))
            .collect();
        let encoded = events(&items).unwrap();
        assert_eq!(encoded.len(), 5);
        let body: serde_json::Value =
            serde_json::from_slice(&encoded.body("events", 1..3)).unwrap();
        assert_eq!(
            body,
            json!({"events": [
                {"type": "x", "email": "u1@example.com", "details": {"n": 1}},
                {"type": "x", "email": "u2@example.com", "details": {"n": 2}},
            ]})
        );
        let all: serde_json::Value = serde_json::from_slice(&encoded.body("events", 0..5)).unwrap();
        assert_eq!(all["events"].as_array().map(Vec::len), Some(5));
    }

    #[test]
    fn errors_name_the_item_and_leave_nothing_behind() {
        let items = [
            Event::new("x", "a@example.com"),
            Event::new("x", "a@example.com").date("yesterday"),
        ];
        match events(&items) {
            Err(ValidationError::InvalidDate { field, .. }) => assert_eq!(field, "events[1].date"),
            other => panic!("unexpected {other:?}"),
        }
        let bad_email = [Event::new("x", "nope")];
        assert!(matches!(
            events(&bad_email),
            Err(ValidationError::InvalidEmail { field, .. }) if field == "events[0].email"
        ));
        let empty_type = [Event::new(" ", "a@example.com")];
        assert!(matches!(
            events(&empty_type),
            Err(ValidationError::Empty { field }) if field == "events[0].type"
        ));
        assert!(matches!(
            events(&[]),
            Err(ValidationError::EmptyBatch { what: "events" })
        ));

        let mut out = b"prefix".to_vec();
        let records = [SubscriberImport::new("a@example.com").tag("a,b")];
        let error = encode_record(&records[0], || "subscribers[0]".into(), &mut out).unwrap_err();
        assert!(matches!(
            error,
            ValidationError::TagContainsComma { field, .. } if field == "subscribers[0].tags"
        ));
        assert_eq!(out, b"prefix");
    }

    #[test]
    fn non_finite_numbers_in_derived_details_are_refused_by_key() {
        #[derive(serde::Serialize)]
        struct Money {
            amount: f64,
        }
        struct Priced(f64);
        impl BentoEvent for Priced {
            fn event_type(&self) -> &str {
                "x"
            }
            fn email(&self) -> &str {
                "a@example.com"
            }
            fn has_details(&self) -> bool {
                true
            }
            fn serialize_details<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
                map.serialize_entry("value", &Money { amount: self.0 })
            }
        }
        let mut out = b"prefix".to_vec();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let error = encode_event(&Priced(bad), || "event".into(), &mut out).unwrap_err();
            match error {
                ValidationError::NonFiniteNumber { field, .. } => {
                    assert_eq!(field, "event.details.value.amount")
                }
                other => panic!("unexpected {other:?}"),
            }
            assert_eq!(out, b"prefix");
        }
        encode_event(&Priced(1.5), || "event".into(), &mut out).unwrap();
        assert!(out.ends_with(br#""details":{"value":{"amount":1.5}}}"#));
    }
}
