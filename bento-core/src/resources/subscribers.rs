//! Subscribers: import (`POST /batch/subscribers`), find and create
//! (`/fetch/subscribers`) and search (`/fetch/search`).
//!
//! Imports upsert without triggering automations; use events when a change
//! should fire them.

pub use crate::model::subscribers::*;

use serde::Serialize;

use crate::client::Client;
use crate::error::Error;
use crate::model::batch::BatchResult;
use crate::model::envelope::{Encoded, encode_record};
use crate::model::kind::ItemKind;
use crate::resources::batch::in_ranges;
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::MaybeData;

#[derive(Serialize)]
struct CreateBody<'a> {
    subscriber: NewSubscriberBody<'a>,
}

impl Client {
    /// Imports or updates subscribers without triggering automations, in
    /// requests of up to 1000.
    ///
    /// Every record is validated first; nothing is sent if one is invalid. A
    /// failure after some requests succeeded is [`Error::PartialBatch`].
    pub async fn import_subscribers<S: BentoSubscriber>(
        &self,
        subscribers: &[S],
    ) -> Result<BatchResult, Error> {
        let encoded = Encoded::all("subscribers", subscribers, |record, item, out| {
            let start = out.len();
            encode_record(record, item, out)?;
            self.check_plan(ItemKind::Subscriber, &out[start..], item)
        })?;
        self.refuse_erased(encoded.each())?;
        let encoded = &encoded;
        let chunks = in_ranges(
            encoded.len(),
            MAX_SUBSCRIBERS_PER_REQUEST,
            |range| async move {
                let items = range.len();
                let request = ApiRequest::post("batch/subscribers")
                    .json_bytes(encoded.body("subscribers", range));
                self.call_batch(request, items).await
            },
        )
        .await?;
        Ok(chunks.into_iter().sum())
    }

    /// Finds a subscriber by email; `Ok(None)` when there is none.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// match client.find_subscriber("ada@example.com").await? {
    ///     Some(ada) => println!("{}", ada.uuid),
    ///     None => println!("not a subscriber"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_subscriber(&self, email: &str) -> Result<Option<Subscriber>, Error> {
        validate::email(|| "email".to_owned(), email)?;
        let request = ApiRequest::get("fetch/subscribers").query("email", email);
        Ok(self.call::<MaybeData<Subscriber>>(request).await?.data)
    }

    /// Finds a subscriber by UUID; `Ok(None)` when there is none.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let found = client.find_subscriber_by_uuid("0f8fad5b-d9cb-469f-a165-70867728950e").await?;
    /// println!("{:?}", found.map(|s| s.email));
    /// # Ok(()) }
    /// ```
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
        let subscriber = subscriber.into();
        let body = subscriber.checked()?;
        if self.erasures_active() {
            let about = serde_json::json!({ "email": body.email }).to_string();
            self.refuse_erased([about.as_bytes()])?;
        }
        if self.inner.plan.is_some() {
            // Held to the plan as an import record is: each custom field
            // (first and last names included) declared, with its kind.
            let json = serde_json::to_vec(&body.as_record()).unwrap_or_default();
            self.check_plan(crate::delivery::ItemKind::Subscriber, &json, || {
                "subscriber".to_owned()
            })?;
        }
        let request =
            ApiRequest::post("fetch/subscribers").json(&CreateBody { subscriber: body })?;
        let created: MaybeData<Subscriber> = self.call(request).await?;
        created.data.ok_or_else(|| Error::Decode {
            endpoint: "fetch/subscribers".into(),
            body: "{\"data\": null}".into(),
            source: serde::de::Error::custom("Bento returned no subscriber for a create"),
        })
    }

    /// Searches subscribers (Bento Enterprise): one page of up to 100. The
    /// filters go both ways Bento documents them, as query parameters (the
    /// 2026-08-22 spec) and as the `GET`'s JSON body (the older one).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::subscribers::{DateRange, SubscriberSearch};
    ///
    /// let page = client
    ///     .search_subscribers(&SubscriberSearch::page(1).created(DateRange::after("2026-01-01T00:00:00Z")))
    ///     .await?;
    /// println!("{} on the first page", page.data.len());
    /// # Ok(()) }
    /// ```
    pub async fn search_subscribers(&self, search: &SubscriberSearch) -> Result<SearchPage, Error> {
        let mut request = ApiRequest::get("fetch/search").json(search)?;
        for (key, value) in search.query() {
            request = request.query(key, value);
        }
        self.call(request).await
    }

    /// Every subscriber `search` selects, page after page (100 a page),
    /// starting from page 1.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::subscribers::SubscriberSearch;
    ///
    /// let vips = client
    ///     .search_all(SubscriberSearch::default().tag("vip"))
    ///     .all()
    ///     .await?;
    /// # let _ = vips; Ok(()) }
    /// ```
    pub fn search_all(&self, search: SubscriberSearch) -> crate::Pages<Subscriber> {
        let client = self.clone();
        crate::Pages::new(move |page| {
            let (client, search) = (client.clone(), search.clone());
            Box::pin(async move {
                let search = SubscriberSearch { page, ..search };
                let found = client.search_subscribers(&search).await?;
                Ok(crate::resources::pages::Page {
                    more: found.data.len() >= 100,
                    items: found.data,
                })
            })
        })
    }
}
