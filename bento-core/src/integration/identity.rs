//! Whom a request is about: the subscriber its email-less events are
//! tracked for, shared by the request's handle, its clones and its
//! settlement; set by the layer from the request, later by the handler, or
//! looked up (once, and only if something needs it) by an async lookup the
//! layer gave.
//!
//! Events tracked while the lookup is still to run wait here, checked and
//! encoded with a stand-in address, until it answers: the handler's `track`
//! still returns at once and still reports the user's bad data.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::delivery::{Encoded, ItemKind, TrackError};

/// The address email-less events are encoded with while their subscriber is
/// looked up (`.invalid` is reserved: it can never be someone's).
const STAND_IN: &str = "subscriber-pending@bento.invalid";

/// An async lookup of the request's subscriber's email.
pub(crate) type Lookup = Pin<Box<dyn Future<Output = Option<String>> + Send + 'static>>;

/// The request's subscriber, once known, and what waits for it.
#[derive(Clone, Default)]
pub(crate) struct Identity(Arc<Shared>);

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The lookup's answer, computed at most once.
    resolved: tokio::sync::OnceCell<Option<Arc<str>>>,
}

#[derive(Default)]
struct State {
    email: Option<Arc<str>>,
    /// The lookup, until it is started.
    lookup: Option<Lookup>,
    /// Whether a lookup was given and has not answered yet.
    pending: bool,
    /// Email-less items tracked while pending, with the stand-in address.
    waiting: Vec<Encoded>,
    /// The request was settled: nothing waits any more.
    closed: bool,
    /// A settlement will run the lookup for what waits: without one (a
    /// handle made outside a layer), nothing may wait.
    settled_later: bool,
}

/// What became of an email-less event tracked through [`Identity::admit`].
pub(crate) enum Admitted {
    /// The subscriber is known: track the event for them.
    Known(Arc<str>),
    /// It waits for the lookup.
    Waiting,
    /// Nobody: the request is anonymous.
    Anonymous,
}

impl Identity {
    /// `email`, when known; `settled_later` when a settlement will run
    /// the lookup for events that wait for it.
    pub(crate) fn new(email: Option<String>, settled_later: bool) -> Self {
        let identity = Self::default();
        {
            let mut state = identity.lock();
            state.email = email.map(Arc::from);
            state.settled_later = settled_later;
        }
        identity
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives the lookup to run when something needs the subscriber. A
    /// subscriber already known wins.
    pub(crate) fn defer(&self, lookup: Lookup) {
        let mut state = self.lock();
        if state.email.is_none() && !state.closed {
            state.lookup = Some(lookup);
            state.pending = true;
        }
    }

    /// Makes `email` the subscriber; returns the items that waited for it.
    pub(crate) fn set(&self, email: impl Into<String>) -> Vec<Encoded> {
        let email: Arc<str> = Arc::from(email.into());
        let mut state = self.lock();
        state.email = Some(email);
        state.lookup = None;
        state.pending = false;
        std::mem::take(&mut state.waiting)
    }

    pub(crate) fn get(&self) -> Option<Arc<str>> {
        self.lock().email.clone()
    }

    /// Whom an email-less event is about, or that it must wait: `encode`
    /// makes the item with the given stand-in address, checked as any other.
    pub(crate) fn admit(
        &self,
        encode: impl FnOnce(&str) -> Result<Encoded, TrackError>,
    ) -> Result<Admitted, TrackError> {
        let mut state = self.lock();
        if let Some(email) = &state.email {
            return Ok(Admitted::Known(Arc::clone(email)));
        }
        if !state.pending || state.closed || !state.settled_later {
            return Ok(Admitted::Anonymous);
        }
        let item = encode(STAND_IN)?;
        state.waiting.push(item);
        Ok(Admitted::Waiting)
    }

    /// Whether the lookup must run for this request to settle: it is
    /// pending and events wait for it, or `view` (a page view) needs it.
    pub(crate) fn needs_lookup(&self, view: bool) -> bool {
        let state = self.lock();
        state.email.is_none() && state.pending && (view || !state.waiting.is_empty())
    }

    /// The subscriber: the one known, or the lookup's answer (run at most
    /// once, whoever asks first). Returns it with the items that waited.
    pub(crate) async fn resolve(&self) -> (Option<Arc<str>>, Vec<Encoded>) {
        if let Some(email) = self.get() {
            return (Some(email), Vec::new());
        }
        let answer = self
            .0
            .resolved
            .get_or_init(|| async {
                let lookup = self.lock().lookup.take();
                match lookup {
                    Some(lookup) => lookup.await.map(Arc::from),
                    None => None,
                }
            })
            .await
            .clone();
        let mut state = self.lock();
        // A handler's `identify` during the lookup wins over its answer.
        if state.email.is_none() {
            state.email = answer;
        }
        state.pending = false;
        (state.email.clone(), std::mem::take(&mut state.waiting))
    }

    /// The request is settled: what still waits can never be told whom it
    /// is about, and later email-less events are anonymous.
    pub(crate) fn close(&self) -> Vec<Encoded> {
        let mut state = self.lock();
        state.closed = true;
        state.pending = false;
        state.lookup = None;
        std::mem::take(&mut state.waiting)
    }
}

/// `item`, encoded with the stand-in address, about `email` instead.
pub(crate) fn fill(item: Encoded, email: &str) -> Result<Encoded, TrackError> {
    crate::validate::email(|| "the request's subscriber".to_owned(), email)?;
    let needle = format!(r#","email":"{STAND_IN}""#);
    let json = item.json;
    // The envelope writes `type` then `email`: the first match is its own
    // (a JSON string cannot hold a bare `"`, so the type cannot fake one).
    let Some(at) = json
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
    else {
        return Ok(Encoded {
            kind: ItemKind::Event,
            json,
        });
    };
    let quoted = serde_json::Value::from(email).to_string();
    let mut filled = Vec::with_capacity(json.len() + email.len());
    filled.extend_from_slice(&json[..at]);
    filled.extend_from_slice(br#","email":"#);
    filled.extend_from_slice(quoted.as_bytes());
    filled.extend_from_slice(&json[at + needle.len()..]);
    Ok(Encoded {
        kind: ItemKind::Event,
        json: filled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::ForSubscriber;

    #[derive(Debug)]
    struct Upgraded;

    impl crate::events::SubscriberEvent for Upgraded {
        fn event_type(&self) -> &str {
            "plan.upgraded"
        }
        fn serialize_details<M: serde::ser::SerializeMap>(
            &self,
            details: &mut M,
        ) -> Result<(), M::Error> {
            details.serialize_entry("note", &format!(r#","email":"{STAND_IN}""#))
        }
    }

    #[test]
    fn the_stand_in_is_replaced_in_the_envelope_only() {
        let item = Encoded::event(&ForSubscriber::new(STAND_IN, &Upgraded)).unwrap();
        let filled = fill(item, "not-an-email").unwrap_err();
        assert!(
            matches!(filled, TrackError::Invalid(_)),
            "a bad address is the user's data"
        );
        let item = Encoded::event(&ForSubscriber::new(STAND_IN, &Upgraded)).unwrap();
        let filled = fill(item, "o\"neil@example.com").unwrap();
        let value: serde_json::Value = serde_json::from_slice(filled.json()).unwrap();
        assert_eq!(value["email"], "o\"neil@example.com", "escaped as JSON");
        assert_eq!(value["type"], "plan.upgraded");
        assert_eq!(
            value["details"]["note"],
            format!(r#","email":"{STAND_IN}""#),
            "a details value that looks like the stand-in is kept"
        );
    }
}
