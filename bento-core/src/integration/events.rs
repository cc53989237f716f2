//! One request's handle on Bento: what a framework's `Bento` extractor
//! wraps, and what handlers track through.

use std::sync::Arc;

use super::held::HeldEvents;
use super::identity::{Admitted, Identity, fill};
use crate::client::Client;
use crate::commands::Command;
use crate::delivery::{Encoded, ItemKind, TrackError};
use crate::events::{BentoEvent, ForSubscriber, SubscriberEvent};

/// One request's handle on Bento: what a framework's `Bento` extractor wraps.
/// Clones share the request's held events and its subscriber.
#[derive(Clone)]
pub struct RequestEvents {
    client: Client,
    held: Option<Arc<HeldEvents>>,
    /// Whom the request is about, once known.
    identity: Identity,
}

impl std::fmt::Debug for RequestEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestEvents")
            .field("client", &self.client)
            .field("deliver_on_success", &self.held.is_some())
            .field("identified", &self.identity().is_some())
            .finish()
    }
}

impl RequestEvents {
    pub(crate) fn new(client: Client, held: Option<Arc<HeldEvents>>, identity: Identity) -> Self {
        Self {
            client,
            held,
            identity,
        }
    }

    /// A handle that queues events at once, for a request that did not go
    /// through a layer (a client found in the app's state, say).
    pub fn direct(client: Client) -> Self {
        Self {
            client,
            held: None,
            identity: Identity::default(),
        }
    }

    /// Checks and encodes the event, and queues it for background delivery,
    /// or holds it until the response exists under `deliver_on_success`.
    /// Never blocks.
    ///
    /// An event with its own email is about that subscriber; one without is
    /// about the request's ([`identify`](Self::identify)), and a typed
    /// [`TrackError::Anonymous`] when the request has none: nothing is sent.
    /// While the request's subscriber is still to be looked up
    /// ([`identify_with`](Self::identify_with)), the event is checked and
    /// encoded now and waits for the lookup, which runs once, when the
    /// response exists (or when a handler asks,
    /// [`resolve_identity`](Self::resolve_identity)).
    pub fn track<E: SubscriberEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        let tracked = if event.own_email().is_some() {
            self.send(&ForSubscriber::new("", event))
        } else {
            let admitted = self.identity.admit(|stand_in| {
                let item = Encoded::event(&ForSubscriber::new(stand_in, event))?;
                self.client
                    .check_plan(ItemKind::Event, item.json(), || "event".to_owned())?;
                Ok(item)
            });
            match admitted {
                Ok(Admitted::Known(email)) => self.send(&ForSubscriber::new(&email, event)),
                Ok(Admitted::Waiting) => Ok(()),
                Ok(Admitted::Anonymous) => Err(TrackError::Anonymous {
                    event_type: event.event_type().to_owned(),
                }),
                Err(error) => Err(error),
            }
        };
        // A refusal that is the program's mistake is logged, counted and
        // hooked however the caller treats this result.
        self.client.account(tracked)
    }

    fn send<E: BentoEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        match &self.held {
            None => self.client.try_track(event),
            Some(held) => held.track(&self.client, event),
        }
    }

    /// Checks and encodes a subscriber command, and queues it for background
    /// delivery like an event ([`Client::enqueue_command`]), or holds it
    /// until the response exists under `deliver_on_success`. Never blocks.
    pub fn enqueue_command(&self, command: Command) -> Result<(), TrackError> {
        let queued = Encoded::command(&command)
            .and_then(|item| {
                self.client
                    .check_plan(ItemKind::Command, item.json(), || "command".to_owned())?;
                Ok(item)
            })
            .map_err(TrackError::from)
            .and_then(|item| match &self.held {
                None => self.client.try_enqueue(item),
                Some(held) => held.hold(&self.client, item),
            });
        self.client.account(queued)
    }

    /// Makes `email` the subscriber this request is about (at login or
    /// signup, say): events without an email tracked from now on, by this
    /// handle or its clones, are about them, and so are those waiting for a
    /// lookup ([`identify_with`](Self::identify_with)), which then never runs.
    pub fn identify(&self, email: impl Into<String>) {
        let email = email.into();
        let waiting = self.identity.set(email.clone());
        self.release(Some(&email), waiting);
    }

    /// Gives the request an async lookup of its subscriber's email (from a
    /// user id, a session store, a token), for a layer or middleware to call
    /// at the start of each request. It is not started here: it runs at
    /// most once, and only if the request tracks an event without an email
    /// or is a page view, when the response exists or when a handler calls
    /// [`resolve_identity`](Self::resolve_identity). `None` from it leaves the
    /// request anonymous. A subscriber already known wins.
    ///
    /// Events wait for the lookup in requests begun by a
    /// [`RequestTracking`](super::RequestTracking) set to
    /// [`looks_up_identity`](super::RequestTracking::looks_up_identity), whose
    /// settlement runs it; elsewhere (a [`direct`](Self::direct) handle),
    /// call [`resolve_identity`](Self::resolve_identity) before tracking.
    pub fn identify_with(
        &self,
        lookup: impl std::future::Future<Output = Option<String>> + Send + 'static,
    ) {
        self.identity.defer(Box::pin(lookup));
    }

    /// The subscriber this request is about, if known now (a pending lookup
    /// is not run: see [`resolve_identity`](Self::resolve_identity)).
    pub fn identity(&self) -> Option<Arc<str>> {
        self.identity.get()
    }

    /// The subscriber this request is about, running the pending lookup
    /// ([`identify_with`](Self::identify_with)) if there is one: at most once
    /// per request, whoever asks first (a handler, the response).
    pub async fn resolve_identity(&self) -> Option<Arc<str>> {
        let (email, waiting) = self.identity.resolve().await;
        self.release(email.as_deref(), waiting);
        email
    }

    /// Sends (or holds) the events that waited for the request's subscriber,
    /// now about `email`; without one they are refusals, accounted as such.
    pub(crate) fn release(&self, email: Option<&str>, waiting: Vec<Encoded>) {
        for item in waiting {
            let released = match email {
                Some(email) => fill(item, email).and_then(|item| match &self.held {
                    None => self.client.try_enqueue(item),
                    Some(held) => held.hold(&self.client, item),
                }),
                None => Err(TrackError::Anonymous {
                    event_type: event_type_of(item.json()),
                }),
            };
            // Nobody holds this result: any refusal goes to the failure hook.
            self.client.orphan(released);
        }
    }

    /// The client, for every other Bento call.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The `type` of an encoded event, for a refusal's message.
fn event_type_of(json: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Type {
        #[serde(rename = "type")]
        event_type: String,
    }
    serde_json::from_slice::<Type>(json)
        .map(|t| t.event_type)
        .unwrap_or_default()
}
