//! The event model: what an event is ([`BentoEvent`]), the dynamic
//! [`Event`], page views, and their encoding. The endpoints are in
//! `resources/events.rs`.

mod event;
mod page_view;

pub use event::Event;
pub use page_view::PageView;

use serde::ser::SerializeMap;

use crate::convert::{DateError, Timestamp};
use crate::error::ValidationError;
use crate::model::envelope::encode_event;

/// The most events Bento accepts in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;

/// Something that can be sent to Bento as an event.
///
/// Derive it (see [the derive's documentation](derive@crate::BentoEvent)) or
/// use the run-time [`Event`] builder. The client owns the envelope
/// (`{"type","email","fields","details","date"}`); an implementation only
/// says what goes inside it.
///
/// Implementing it by hand:
///
/// ```
/// use bento_core::BentoEvent;
/// use serde::ser::SerializeMap;
///
/// struct PageView<'a> { email: &'a str, path: &'a str }
///
/// impl BentoEvent for PageView<'_> {
///     fn event_type(&self) -> &str { "page.view" }
///     fn email(&self) -> &str { self.email }
///     fn serialize_details<M: SerializeMap>(&self, details: &mut M) -> Result<(), M::Error> {
///         details.serialize_entry("path", self.path)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Bento event with an email",
    label = "`{Self}` does not implement `BentoEvent`",
    note = "add `#[derive(BentoEvent)]` and `#[bento(event = \"...\")]` to `{Self}`, or build a `bento_core::Event` at run time",
    note = "if `{Self}` is an event without an email, say whom it is about: `client.track_for(email, &event)`, or in a request `bento.track(&event)` once the layer's `identify` or `bento.identify(email)` knows the subscriber"
)]
pub trait BentoEvent {
    /// The event type, such as `$purchase` or `account.signup`.
    fn event_type(&self) -> &str;

    /// The subscriber's email; checked before the event is sent.
    fn email(&self) -> &str;

    /// When the event happened, to backfill an old event; `None` means now.
    fn date(&self) -> Result<Option<Timestamp>, DateError> {
        Ok(None)
    }

    /// Whether [`serialize_fields`](Self::serialize_fields) writes anything;
    /// `fields` is left out of the event when it does not.
    fn has_fields(&self) -> bool {
        false
    }

    /// Writes the entries of `fields`: the subscriber's profile fields.
    fn serialize_fields<M: SerializeMap>(&self, fields: &mut M) -> Result<(), M::Error> {
        let _ = fields;
        Ok(())
    }

    /// Whether [`serialize_details`](Self::serialize_details) writes anything;
    /// `details` is left out of the event when it does not.
    fn has_details(&self) -> bool {
        true
    }

    /// Writes the entries of `details`: data stored on the event.
    fn serialize_details<M: SerializeMap>(&self, details: &mut M) -> Result<(), M::Error>;

    /// Checks beyond the email and date, run before the event is serialized.
    /// Field paths in the error are relative to the event (`extra`, not
    /// `events[3].extra`).
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

impl<E: BentoEvent + ?Sized> BentoEvent for &E {
    fn event_type(&self) -> &str {
        (**self).event_type()
    }
    fn email(&self) -> &str {
        (**self).email()
    }
    fn date(&self) -> Result<Option<Timestamp>, DateError> {
        (**self).date()
    }
    fn has_fields(&self) -> bool {
        (**self).has_fields()
    }
    fn serialize_fields<M: SerializeMap>(&self, fields: &mut M) -> Result<(), M::Error> {
        (**self).serialize_fields(fields)
    }
    fn has_details(&self) -> bool {
        (**self).has_details()
    }
    fn serialize_details<M: SerializeMap>(&self, details: &mut M) -> Result<(), M::Error> {
        (**self).serialize_details(details)
    }
    fn validate(&self) -> Result<(), ValidationError> {
        (**self).validate()
    }
}

/// An event, with or without an email of its own: about a subscriber who
/// may be named only when it is tracked.
///
/// `#[derive(BentoEvent)]` on a struct without an email field implements
/// this trait (and not [`BentoEvent`]): such an event is tracked *for* a
/// subscriber, with [`Client::track_for`](crate::Client::track_for), or in a request whose subscriber
/// is known, through the framework's `Bento` handle (after the layer's
/// `identify`, or `bento.identify(email)` in a handler). Every
/// [`BentoEvent`] is one too, carrying its own email
/// ([`own_email`](Self::own_email)), which it keeps wherever it is tracked.
///
/// ```
/// use bento_core::BentoEvent;
///
/// #[derive(BentoEvent)]
/// #[bento(event = "plan.upgraded")]
/// struct Upgraded<'a> { plan: &'a str }
///
/// let event = Upgraded { plan: "pro" };
/// let json = bento_core::events::to_vec(&bento_core::events::ForSubscriber::new("ada@example.com", &event))?;
/// assert_eq!(json, br#"{"type":"plan.upgraded","email":"ada@example.com","details":{"plan":"pro"}}"#);
/// # Ok::<(), bento_core::ValidationError>(())
/// ```
pub trait SubscriberEvent {
    /// The event type, such as `$purchase` or `account.signup`.
    fn event_type(&self) -> &str;

    /// The email the event carries itself, if any; it wins over the one it
    /// is tracked for.
    fn own_email(&self) -> Option<&str> {
        None
    }

    /// See [`BentoEvent::date`].
    fn date(&self) -> Result<Option<Timestamp>, DateError> {
        Ok(None)
    }

    /// See [`BentoEvent::has_fields`].
    fn has_fields(&self) -> bool {
        false
    }

    /// See [`BentoEvent::serialize_fields`].
    fn serialize_fields<M: SerializeMap>(&self, fields: &mut M) -> Result<(), M::Error> {
        let _ = fields;
        Ok(())
    }

    /// See [`BentoEvent::has_details`].
    fn has_details(&self) -> bool {
        true
    }

    /// See [`BentoEvent::serialize_details`].
    fn serialize_details<M: SerializeMap>(&self, details: &mut M) -> Result<(), M::Error>;

    /// See [`BentoEvent::validate`].
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

impl<E: BentoEvent + ?Sized> SubscriberEvent for E {
    fn event_type(&self) -> &str {
        BentoEvent::event_type(self)
    }
    fn own_email(&self) -> Option<&str> {
        Some(self.email())
    }
    fn date(&self) -> Result<Option<Timestamp>, DateError> {
        BentoEvent::date(self)
    }
    fn has_fields(&self) -> bool {
        BentoEvent::has_fields(self)
    }
    fn serialize_fields<M: SerializeMap>(&self, fields: &mut M) -> Result<(), M::Error> {
        BentoEvent::serialize_fields(self, fields)
    }
    fn has_details(&self) -> bool {
        BentoEvent::has_details(self)
    }
    fn serialize_details<M: SerializeMap>(&self, details: &mut M) -> Result<(), M::Error> {
        BentoEvent::serialize_details(self, details)
    }
    fn validate(&self) -> Result<(), ValidationError> {
        BentoEvent::validate(self)
    }
}

/// `event` about the subscriber `email` (unless it carries its own email,
/// which it keeps): a [`BentoEvent`] made of a [`SubscriberEvent`].
#[derive(Debug, Clone, Copy)]
pub struct ForSubscriber<'a, E: ?Sized> {
    email: &'a str,
    event: &'a E,
}

impl<'a, E: SubscriberEvent + ?Sized> ForSubscriber<'a, E> {
    /// `event`, tracked for `email`.
    pub fn new(email: &'a str, event: &'a E) -> Self {
        Self { email, event }
    }
}

impl<E: SubscriberEvent + ?Sized> BentoEvent for ForSubscriber<'_, E> {
    fn event_type(&self) -> &str {
        SubscriberEvent::event_type(self.event)
    }
    fn email(&self) -> &str {
        SubscriberEvent::own_email(self.event).unwrap_or(self.email)
    }
    fn date(&self) -> Result<Option<Timestamp>, DateError> {
        SubscriberEvent::date(self.event)
    }
    fn has_fields(&self) -> bool {
        SubscriberEvent::has_fields(self.event)
    }
    fn serialize_fields<M: SerializeMap>(&self, fields: &mut M) -> Result<(), M::Error> {
        SubscriberEvent::serialize_fields(self.event, fields)
    }
    fn has_details(&self) -> bool {
        SubscriberEvent::has_details(self.event)
    }
    fn serialize_details<M: SerializeMap>(&self, details: &mut M) -> Result<(), M::Error> {
        SubscriberEvent::serialize_details(self.event, details)
    }
    fn validate(&self) -> Result<(), ValidationError> {
        SubscriberEvent::validate(self.event)
    }
}

/// The JSON the client sends for `event`, after the same checks.
///
/// Useful in tests and when debugging a derive:
///
/// ```
/// use bento_core::Event;
///
/// let json = bento_core::events::to_vec(&Event::new("account.signup", "ada@example.com"))?;
/// assert_eq!(json, br#"{"type":"account.signup","email":"ada@example.com"}"#);
/// # Ok::<(), bento_core::ValidationError>(())
/// ```
pub fn to_vec<E: BentoEvent + ?Sized>(event: &E) -> Result<Vec<u8>, ValidationError> {
    let mut out = Vec::with_capacity(256);
    encode_into(event, &mut out)?;
    Ok(out)
}

/// Like [`to_vec`], appending to `out`, which is left as it was on error.
/// With enough capacity in `out`, encoding allocates nothing.
pub fn encode_into<E: BentoEvent + ?Sized>(
    event: &E,
    out: &mut Vec<u8>,
) -> Result<(), ValidationError> {
    encode_event(event, || "event".to_owned(), out)
}
