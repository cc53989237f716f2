//! Subscribers: import (`POST /batch/subscribers`), find and create
//! (`/fetch/subscribers`) and search (`/fetch/search`).
//!
//! Imports upsert without triggering automations; use events when a change
//! should fire them.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::batch::{BatchResult, in_chunks};
use crate::client::Client;
use crate::de::{self, MaybeData, Resource};
use crate::error::{Error, ValidationError};
use crate::transport::ApiRequest;
use crate::validate;

/// The most subscribers Bento accepts in one import request.
pub const MAX_SUBSCRIBERS_PER_REQUEST: usize = 1000;

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

    /// Sets a custom field.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// The email.
    pub fn email(&self) -> &str {
        &self.email
    }

    pub(crate) fn validate(&self, index: usize) -> Result<(), ValidationError> {
        validate::email(|| format!("subscribers[{index}].email"), &self.email)?;
        validate::join_tags(&format!("subscribers[{index}].tags"), &self.tags)?;
        validate::join_tags(
            &format!("subscribers[{index}].remove_tags"),
            &self.remove_tags,
        )?;
        for key in self.fields.keys() {
            if RESERVED_KEYS.contains(&key.as_str()) {
                return Err(ValidationError::Arguments(format!(
                    "subscribers[{index}] has a custom field named `{key}`, which is a reserved import column; \
                     use the dedicated builder method instead"
                )));
            }
            validate::non_empty(|| format!("subscribers[{index}] custom field name"), key)?;
        }
        Ok(())
    }
}

impl Serialize for SubscriberImport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("email", &self.email)?;
        if let Some(first) = &self.first_name {
            map.serialize_entry("first_name", first)?;
        }
        if let Some(last) = &self.last_name {
            map.serialize_entry("last_name", last)?;
        }
        if !self.tags.is_empty() {
            map.serialize_entry("tags", &self.tags.join(","))?;
        }
        if !self.remove_tags.is_empty() {
            map.serialize_entry("remove_tags", &self.remove_tags.join(","))?;
        }
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
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
    /// [`Client::tags`].
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

/// A subscriber to create with [`Client::create_subscriber`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewSubscriber {
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    tags: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    fields: Map<String, Value>,
    #[serde(skip)]
    tag_list: Vec<String>,
}

impl NewSubscriber {
    /// A subscriber with just an email.
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

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag_list.push(tag.into());
        self
    }

    /// Sets a custom field.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }
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

/// Filters for [`Client::search_subscribers`] (an Enterprise feature of Bento).
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
}

impl Default for SubscriberSearch {
    fn default() -> Self {
        Self {
            page: 1,
            created_at: None,
            updated_at: None,
            last_event_at: None,
            unsubscribed_at: None,
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
}

/// One page of [`Client::search_subscribers`].
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

#[derive(Serialize)]
struct ImportBody<'a> {
    subscribers: &'a [SubscriberImport],
}

#[derive(Serialize)]
struct CreateBody<'a> {
    subscriber: &'a NewSubscriber,
}

impl Client {
    /// Imports or updates subscribers without triggering automations, in
    /// requests of up to 1000.
    ///
    /// Every record is validated first; nothing is sent if one is invalid. A
    /// failure after some requests succeeded is [`Error::PartialBatch`].
    pub async fn import_subscribers(
        &self,
        subscribers: &[SubscriberImport],
    ) -> Result<BatchResult, Error> {
        validate::non_empty_batch("subscribers", subscribers)?;
        for (index, record) in subscribers.iter().enumerate() {
            record.validate(index)?;
        }
        let chunks = in_chunks(
            subscribers,
            MAX_SUBSCRIBERS_PER_REQUEST,
            |_, chunk| async move {
                let request = ApiRequest::post("batch/subscribers")
                    .json(&ImportBody { subscribers: chunk })?;
                self.call::<BatchResult>(request).await
            },
        )
        .await?;
        Ok(chunks.into_iter().sum())
    }

    /// Finds a subscriber by email; `Ok(None)` when there is none.
    pub async fn find_subscriber(&self, email: &str) -> Result<Option<Subscriber>, Error> {
        validate::email(|| "email".to_owned(), email)?;
        let request = ApiRequest::get("fetch/subscribers").query("email", email);
        Ok(self.call::<MaybeData<Subscriber>>(request).await?.data)
    }

    /// Finds a subscriber by UUID; `Ok(None)` when there is none.
    pub async fn find_subscriber_by_uuid(&self, uuid: &str) -> Result<Option<Subscriber>, Error> {
        validate::non_empty(|| "uuid".to_owned(), uuid)?;
        let request = ApiRequest::get("fetch/subscribers").query("uuid", uuid);
        Ok(self.call::<MaybeData<Subscriber>>(request).await?.data)
    }

    /// Creates a subscriber (or returns the existing one with that email).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let ada = client.create_subscriber("ada@example.com").await?;
    /// let bob = client
    ///     .create_subscriber(bento_core::NewSubscriber::new("bob@example.com").first_name("Bob"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_subscriber(
        &self,
        subscriber: impl Into<NewSubscriber>,
    ) -> Result<Subscriber, Error> {
        let mut subscriber = subscriber.into();
        validate::email(|| "subscriber.email".to_owned(), &subscriber.email)?;
        subscriber.tags = validate::join_tags("subscriber.tags", &subscriber.tag_list)?;
        let request = ApiRequest::post("fetch/subscribers").json(&CreateBody {
            subscriber: &subscriber,
        })?;
        let created: MaybeData<Subscriber> = self.call(request).await?;
        created.data.ok_or_else(|| Error::Decode {
            endpoint: "fetch/subscribers".into(),
            body: "{\"data\": null}".into(),
            source: serde::de::Error::custom("Bento returned no subscriber for a create"),
        })
    }

    /// Searches subscribers (Bento Enterprise). Sent as `GET` with a JSON body, as documented.
    pub async fn search_subscribers(&self, search: &SubscriberSearch) -> Result<SearchPage, Error> {
        let request = ApiRequest::get("fetch/search").json(search)?;
        self.call(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn import_validation() {
        assert!(
            SubscriberImport::new("a@b.co")
                .tag("x,y")
                .validate(0)
                .is_err()
        );
        assert!(
            SubscriberImport::new("a@b.co")
                .remove_tag("x,y")
                .validate(0)
                .is_err()
        );
        assert!(
            SubscriberImport::new("a@b.co")
                .field("tags", "x")
                .validate(0)
                .is_err()
        );
        assert!(SubscriberImport::new("bad").validate(0).is_err());
        assert!(
            SubscriberImport::new("a@b.co")
                .tags(["x", "y"])
                .field("plan", 1)
                .validate(0)
                .is_ok()
        );
    }
}
