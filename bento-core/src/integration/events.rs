//! One request's handle on Bento: what a framework's `Bento` extractor
//! wraps, and what handlers track through.

use std::sync::Arc;

use super::held::HeldEvents;
use super::identity::Identity;
use crate::client::Client;
use crate::commands::Command;
use crate::delivery::{Encoded, TrackError};
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
    pub fn track<E: SubscriberEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        let tracked = if event.own_email().is_some() {
            self.send(&ForSubscriber::new("", event))
        } else {
            match self.identity() {
                Some(email) => self.send(&ForSubscriber::new(&email, event)),
                None => Err(TrackError::Anonymous {
                    event_type: event.event_type().to_owned(),
                }),
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
            .map_err(TrackError::from)
            .and_then(|item| match &self.held {
                None => self.client.try_enqueue(item),
                Some(held) => held.hold(&self.client, item),
            });
        self.client.account(queued)
    }

    /// Makes `email` the subscriber this request is about (at login or
    /// signup, say): events without an email tracked from now on, by this
    /// handle or its clones, are about them.
    pub fn identify(&self, email: impl Into<String>) {
        self.identity.set(email);
    }

    /// The subscriber this request is about, if known.
    pub fn identity(&self) -> Option<Arc<str>> {
        self.identity.get()
    }

    /// The client, for every other Bento call.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
