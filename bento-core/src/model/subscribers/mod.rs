//! The subscriber model: records to import ([`BentoSubscriber`]), the
//! subscribers Bento returns, and searches. The endpoints are in
//! `resources/subscribers.rs`.

mod import;
mod profile;

pub use import::SubscriberImport;
use profile::{Profile, profile_builder};

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::model::envelope::encode_record;
use crate::validate;
use crate::wire::de::{self, Resource};

/// The most subscribers Bento accepts in one import request.
pub const MAX_SUBSCRIBERS_PER_REQUEST: usize = 1000;

/// Something that can be imported as a subscriber record.
///
/// Derive it (see [the derive's documentation](derive@crate::BentoSubscriber))
/// or use the run-time [`SubscriberImport`] builder. The record is flat, as
/// `/batch/subscribers` expects: `email`, then `first_name`, `last_name`,
/// `tags` and `remove_tags` (comma-separated) and custom fields side by side.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Bento subscriber record",
    label = "`{Self}` does not implement `BentoSubscriber`",
    note = "add `#[derive(BentoSubscriber)]` to `{Self}`, or build a `bento_core::SubscriberImport` at run time"
)]
pub trait BentoSubscriber {
    /// The subscriber's email; checked before the record is sent.
    fn email(&self) -> &str;

    /// Writes every entry of the record except `email`.
    fn serialize_record<M: SerializeMap>(&self, record: &mut M) -> Result<(), M::Error>;

    /// Checks run before the record is serialized. Field paths in the error
    /// are relative to the record (`tags`, not `subscribers[3].tags`).
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

impl<S: BentoSubscriber + ?Sized> BentoSubscriber for &S {
    fn email(&self) -> &str {
        (**self).email()
    }
    fn serialize_record<M: SerializeMap>(&self, record: &mut M) -> Result<(), M::Error> {
        (**self).serialize_record(record)
    }
    fn validate(&self) -> Result<(), ValidationError> {
        (**self).validate()
    }
}

/// A subscriber as Bento returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Resource<SubscriberAttributes>")]
#[non_exhaustive]
pub struct Subscriber {
    /// Bento's record id.
    pub id: String,
    /// The subscriber's UUID.
    pub uuid: String,
    /// The email address.
    pub email: String,
    /// Custom fields; empty when Bento sends `null`.
    pub fields: Map<String, Value>,
    /// Ids of the subscriber's tags (`cached_tag_ids`); look names up with
    /// [`Client::tags`](crate::Client::tags).
    pub tag_ids: Vec<String>,
    /// When the subscriber unsubscribed, if they did.
    pub unsubscribed_at: Option<String>,
    /// The subscriber's page in the Bento dashboard, when sent.
    pub navigation_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SubscriberAttributes {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    fields: Map<String, Value>,
    #[serde(default, deserialize_with = "de::ids")]
    cached_tag_ids: Vec<String>,
    #[serde(default)]
    unsubscribed_at: Option<String>,
    #[serde(default)]
    navigation_url: Option<String>,
}

impl From<Resource<SubscriberAttributes>> for Subscriber {
    fn from(resource: Resource<SubscriberAttributes>) -> Self {
        let attributes = resource.attributes.unwrap_or_default();
        Self {
            id: resource.id,
            uuid: attributes.uuid.unwrap_or_default(),
            email: attributes.email.unwrap_or_default(),
            fields: attributes.fields,
            tag_ids: attributes.cached_tag_ids,
            unsubscribed_at: attributes.unsubscribed_at,
            navigation_url: attributes.navigation_url,
        }
    }
}

impl Subscriber {
    /// Whether the subscriber is currently subscribed.
    pub fn is_subscribed(&self) -> bool {
        self.unsubscribed_at.is_none()
    }
}

/// A subscriber to create with [`Client::create_subscriber`](crate::Client::create_subscriber):
/// the same builder methods as [`SubscriberImport`], sent as the create
/// endpoint expects (`fields` nested, tags comma-separated).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSubscriber {
    profile: Profile,
}

/// The body `create_subscriber` sends.
#[derive(Serialize)]
pub(crate) struct NewSubscriberBody<'a> {
    pub(crate) email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<&'a str>,
    #[serde(skip_serializing_if = "String::is_empty")]
    tags: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    fields: &'a Map<String, Value>,
}

impl NewSubscriberBody<'_> {
    /// Its custom fields (the names included) as an import record, to hold
    /// them to a tracking plan.
    pub(crate) fn as_record(&self) -> Map<String, Value> {
        let mut record = self.fields.clone();
        for (key, value) in [
            ("first_name", self.first_name),
            ("last_name", self.last_name),
        ] {
            if let Some(value) = value {
                record.insert(key.to_owned(), Value::from(value));
            }
        }
        record
    }
}

impl NewSubscriber {
    /// Checks the subscriber and joins its tags, as `create_subscriber` sends it.
    pub(crate) fn checked(&self) -> Result<NewSubscriberBody<'_>, ValidationError> {
        let profile = &self.profile;
        validate::email(|| "subscriber.email".to_owned(), &profile.email)?;
        profile.check_values()?;
        let tags = validate::join_tags("subscriber.tags", &profile.tags)?;
        if !profile.verbatim_keys {
            for key in profile.fields.keys() {
                validate::key(|| "subscriber.fields".to_owned(), key)?;
            }
        }
        Ok(NewSubscriberBody {
            email: &profile.email,
            first_name: profile.first_name.as_deref(),
            last_name: profile.last_name.as_deref(),
            tags,
            fields: &profile.fields,
        })
    }

    /// A subscriber with just an email.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            profile: Profile::new(email.into()),
        }
    }

    profile_builder!();
}

impl From<&str> for NewSubscriber {
    fn from(email: &str) -> Self {
        Self::new(email)
    }
}

impl From<String> for NewSubscriber {
    fn from(email: String) -> Self {
        Self::new(email)
    }
}

/// A date range filter of [`SubscriberSearch`]: `gt` and/or `lt`, RFC 3339.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DateRange {
    /// After this instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gt: Option<String>,
    /// Before this instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lt: Option<String>,
}

impl DateRange {
    /// After `instant`.
    pub fn after(instant: impl Into<String>) -> Self {
        Self {
            gt: Some(instant.into()),
            lt: None,
        }
    }

    /// Before `instant`.
    pub fn before(instant: impl Into<String>) -> Self {
        Self {
            gt: None,
            lt: Some(instant.into()),
        }
    }

    /// Between two instants.
    pub fn between(after: impl Into<String>, before: impl Into<String>) -> Self {
        Self {
            gt: Some(after.into()),
            lt: Some(before.into()),
        }
    }
}

/// Filters for [`Client::search_subscribers`](crate::Client::search_subscribers) (an Enterprise feature of Bento).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SubscriberSearch {
    /// The result page, from 1.
    pub page: u32,
    /// Filter on creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateRange>,
    /// Filter on last update time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateRange>,
    /// Filter on the time of the last event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<DateRange>,
    /// Filter on unsubscribe time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribed_at: Option<DateRange>,
    /// Only subscribers with every one of these tags (by name).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Only subscribers with every one of these tags (by id).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_ids: Vec<String>,
    /// Only the members of this segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<String>,
}

impl Default for SubscriberSearch {
    fn default() -> Self {
        Self {
            page: 1,
            created_at: None,
            updated_at: None,
            last_event_at: None,
            unsubscribed_at: None,
            tags: Vec::new(),
            tag_ids: Vec::new(),
            segment_id: None,
        }
    }
}

impl SubscriberSearch {
    /// Page `page` of all subscribers.
    pub fn page(page: u32) -> Self {
        Self {
            page: page.max(1),
            ..Self::default()
        }
    }

    /// Only subscribers created within `range`.
    pub fn created(mut self, range: DateRange) -> Self {
        self.created_at = Some(range);
        self
    }

    /// Only subscribers updated within `range`.
    pub fn updated(mut self, range: DateRange) -> Self {
        self.updated_at = Some(range);
        self
    }

    /// Only subscribers whose last event falls within `range`.
    pub fn last_event(mut self, range: DateRange) -> Self {
        self.last_event_at = Some(range);
        self
    }

    /// Only subscribers who unsubscribed within `range`.
    pub fn unsubscribed(mut self, range: DateRange) -> Self {
        self.unsubscribed_at = Some(range);
        self
    }

    /// Only subscribers tagged `name` (repeat for several: all must match).
    pub fn tag(mut self, name: impl Into<String>) -> Self {
        self.tags.push(name.into());
        self
    }

    /// Only subscribers with the tag of id `id` (repeatable).
    pub fn tag_id(mut self, id: impl Into<String>) -> Self {
        self.tag_ids.push(id.into());
        self
    }

    /// Only the members of segment `id`.
    pub fn segment(mut self, id: impl Into<String>) -> Self {
        self.segment_id = Some(id.into());
        self
    }

    /// The newer spec's form: every filter as a query parameter
    /// (`created_at[gt]=..`, `tags=a&tags=b`).
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![("page", self.page.to_string())];
        let ranges: [(&'static str, &'static str, &Option<DateRange>); 4] = [
            ("created_at[gt]", "created_at[lt]", &self.created_at),
            ("updated_at[gt]", "updated_at[lt]", &self.updated_at),
            (
                "last_event_at[gt]",
                "last_event_at[lt]",
                &self.last_event_at,
            ),
            (
                "unsubscribed_at[gt]",
                "unsubscribed_at[lt]",
                &self.unsubscribed_at,
            ),
        ];
        for (gt, lt, range) in ranges {
            if let Some(range) = range {
                query.extend(range.gt.clone().map(|v| (gt, v)));
                query.extend(range.lt.clone().map(|v| (lt, v)));
            }
        }
        query.extend(self.tags.iter().map(|t| ("tags", t.clone())));
        query.extend(self.tag_ids.iter().map(|t| ("tag_ids", t.clone())));
        query.extend(self.segment_id.clone().map(|s| ("segment_id", s)));
        query
    }
}

/// One page of [`Client::search_subscribers`](crate::Client::search_subscribers).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct SearchPage {
    /// The subscribers on this page (up to 100).
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub data: Vec<Subscriber>,
    /// Pagination and echo of the query.
    #[serde(default)]
    pub meta: Option<Value>,
}

/// The JSON the client sends for one import record, after the same checks.
///
/// ```
/// use bento_core::SubscriberImport;
///
/// let json = bento_core::subscribers::to_vec(&SubscriberImport::new("ada@example.com").tag("lead"))?;
/// assert_eq!(json, br#"{"email":"ada@example.com","tags":"lead"}"#);
/// # Ok::<(), bento_core::ValidationError>(())
/// ```
pub fn to_vec<S: BentoSubscriber + ?Sized>(record: &S) -> Result<Vec<u8>, ValidationError> {
    let mut out = Vec::with_capacity(128);
    encode_record(record, || "subscriber".to_owned(), &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::de::MaybeData;
    use serde_json::json;

    #[test]
    fn decodes_subscriber_variations() {
        let spec: MaybeData<Subscriber> = serde_json::from_value(json!({"data": {
            "id": "568", "type": "visitors",
            "attributes": {"uuid": "u1", "email": "a@b.co", "fields": null, "cached_tag_ids": []}
        }}))
        .unwrap();
        let sub = spec.data.unwrap();
        assert!(sub.fields.is_empty());
        assert!(sub.is_subscribed());
        let numeric: MaybeData<Subscriber> = serde_json::from_value(json!({"data": {
            "id": 569, "type": "visitors",
            "attributes": {"uuid": "u2", "email": "a@b.co", "fields": {"name": "Jesse"}, "cached_tag_ids": [233, "234"],
                           "unsubscribed_at": "2024-01-01T00:00:00Z"}
        }}))
        .unwrap();
        let sub = numeric.data.unwrap();
        assert_eq!(sub.id, "569");
        assert_eq!(sub.tag_ids, vec!["233", "234"]);
        assert!(!sub.is_subscribed());
        assert!(
            serde_json::from_str::<MaybeData<Subscriber>>(r#"{"data": null}"#)
                .unwrap()
                .data
                .is_none()
        );
        assert!(
            serde_json::from_str::<MaybeData<Subscriber>>("{}")
                .unwrap()
                .data
                .is_none()
        );
    }
}
