//! What the engine carries: [`Encoded`] items of an [`ItemKind`].

use std::fmt;

use crate::error::ValidationError;
use crate::model::envelope::{encode_event, encode_record};
use crate::model::events::BentoEvent;
use crate::model::subscribers::BentoSubscriber;
use crate::rate_limit::EndpointFamily;

pub use crate::model::kind::ItemKind;
pub(crate) use crate::model::kind::KINDS;

/// `{"events":[` ... `]}`: what a body adds around its items.
pub(crate) const BODY_OVERHEAD: usize = 32;

/// `{"<kind>":[item,item,...]}` from encoded items.
pub(crate) fn batch_body<'a>(
    kind: ItemKind,
    items: impl Iterator<Item = &'a [u8]> + Clone,
) -> Vec<u8> {
    let key = kind.body_key();
    if kind == ItemKind::Deletion {
        // One request per deletion: `{"data_deletion_request":{"email":..}}`.
        let mut body = Vec::new();
        for json in items.take(1) {
            body.extend_from_slice(b"{\"");
            body.extend_from_slice(key.as_bytes());
            body.extend_from_slice(b"\":");
            body.extend_from_slice(json);
            body.push(b'}');
        }
        return body;
    }
    let size: usize = items.clone().map(|json| json.len() + 1).sum();
    let mut body = Vec::with_capacity(size + key.len() + 8);
    body.extend_from_slice(b"{\"");
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(b"\":[");
    for (i, json) in items.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(json);
    }
    body.extend_from_slice(b"]}");
    body
}

// Defined with the models; its rate-limit family is the engine's concern.
impl ItemKind {
    /// The rate limit its requests count against: commands go to a `/fetch`
    /// endpoint, and share that family's budget with reads.
    pub(crate) fn family(self) -> EndpointFamily {
        match self {
            Self::Event | Self::Subscriber => EndpointFamily::Batch,
            Self::Command => EndpointFamily::Fetch,
            Self::Deletion => EndpointFamily::Deletion,
        }
    }
}

/// An event, subscriber record or subscriber command, checked and encoded,
/// as the delivery engine queues it.
///
/// Handed back inside [`TrackError`](crate::TrackError) when it could not be queued, and inside
/// [`DeliveryFailure`](crate::DeliveryFailure) when it could not be delivered, so nothing is lost
/// silently: requeue it with [`Client::enqueue`](crate::Client::enqueue), store
/// it, or log it.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    pub(crate) kind: ItemKind,
    pub(crate) json: Vec<u8>,
}

impl Encoded {
    /// Where it goes.
    pub fn kind(&self) -> ItemKind {
        self.kind
    }

    /// Its JSON, exactly as it is sent.
    pub fn json(&self) -> &[u8] {
        &self.json
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("kind", &self.kind)
            .field("json", &String::from_utf8_lossy(&self.json))
            .finish()
    }
}

impl Encoded {
    /// Checks and encodes an event, as [`Client::track`](crate::Client::track) does.
    pub fn event<E: BentoEvent + ?Sized>(event: &E) -> Result<Self, ValidationError> {
        let mut json = Vec::new();
        encode_event(event, || "event".to_owned(), &mut json)?;
        Ok(Self {
            kind: ItemKind::Event,
            json,
        })
    }

    /// Checks and encodes a subscriber record, as [`Client::enqueue_subscriber`](crate::Client::enqueue_subscriber) does.
    pub fn subscriber<S: BentoSubscriber + ?Sized>(record: &S) -> Result<Self, ValidationError> {
        let mut json = Vec::new();
        encode_record(record, || "subscriber".to_owned(), &mut json)?;
        Ok(Self {
            kind: ItemKind::Subscriber,
            json,
        })
    }
}

impl Encoded {
    /// Checks and encodes a subscriber command, as [`Client::enqueue_command`](crate::Client::enqueue_command) does.
    pub fn command(command: &crate::Command) -> Result<Self, ValidationError> {
        Self::command_at(command, "command")
    }

    pub(crate) fn command_at(command: &crate::Command, at: &str) -> Result<Self, ValidationError> {
        command.validate(at)?;
        let json = serde_json::to_vec(command).map_err(|error| {
            ValidationError::Arguments(format!("{at} could not be encoded: {error}"))
        })?;
        Ok(Self {
            kind: ItemKind::Command,
            json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deletion_request_is_one_object_per_request() {
        let body = batch_body(
            ItemKind::Deletion,
            [&br#"{"email":"a@example.com"}"#[..]].into_iter(),
        );
        assert_eq!(
            String::from_utf8(body).unwrap_or_default(),
            r#"{"data_deletion_request":{"email":"a@example.com"}}"#
        );
        let events = batch_body(ItemKind::Event, [&b"{}"[..], &b"{}"[..]].into_iter());
        assert_eq!(
            String::from_utf8(events).unwrap_or_default(),
            r#"{"events":[{},{}]}"#
        );
    }
}
