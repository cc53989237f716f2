//! Events: `POST /batch/events`.
//!
//! An event records something a person did. Sending one creates the
//! subscriber when the email is new, writes `fields` to their profile, stores
//! `details` on the event itself, and triggers automations.
//!
//! Describe events as structs with [`#[derive(BentoEvent)]`](derive@crate::BentoEvent),
//! or build them at run time with [`Event`].

pub use crate::model::events::*;

use crate::client::Client;
use crate::error::Error;
use crate::model::batch::BatchResult;
use crate::model::envelope::{Encoded, encode_event};
use crate::model::kind::ItemKind;
use crate::resources::batch::in_ranges;
use crate::transport::ApiRequest;

impl Client {
    /// Sends events now, in requests of up to 1000 (see
    /// [`ClientBuilder::events_per_request`](crate::ClientBuilder::events_per_request)).
    ///
    /// Takes any [`BentoEvent`]: derived structs, [`Event`]s, or references
    /// to either. Every event is checked and encoded first; nothing is sent
    /// if one is invalid. A failure after some requests succeeded is
    /// [`Error::PartialBatch`].
    pub async fn send_events<E: BentoEvent>(&self, events: &[E]) -> Result<BatchResult, Error> {
        let encoded = Encoded::all("events", events, |event, item, out| {
            let start = out.len();
            encode_event(event, item, out)?;
            self.check_plan(ItemKind::Event, &out[start..], item)
        })?;
        self.refuse_erased(encoded.each())?;
        let encoded = &encoded;
        let chunks = in_ranges(
            encoded.len(),
            self.inner.api.events_per_request,
            |range| async move {
                let items = range.len();
                let request =
                    ApiRequest::post("batch/events").json_bytes(encoded.body("events", range));
                self.call_batch(request, items).await
            },
        )
        .await?;
        Ok(chunks.into_iter().sum())
    }

    /// Sends one event about `email` now and waits for Bento to accept it
    /// (an event with its own email keeps it).
    pub async fn track_now_for<E: SubscriberEvent + ?Sized>(
        &self,
        email: &str,
        event: &E,
    ) -> Result<(), Error> {
        self.track_now(&ForSubscriber::new(email, event)).await
    }

    /// Sends one event now and waits for Bento to accept it.
    pub async fn track_now<E: BentoEvent + ?Sized>(&self, event: &E) -> Result<(), Error> {
        self.send_events(std::slice::from_ref(&event))
            .await
            .map(drop)
    }
}
