//! The `Bento` extractor.

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use bento_core::integration::RequestEvents;
use bento_core::{Client, Command, SubscriberEvent, TrackError};
use http::StatusCode;
use http::request::Parts;

/// A handler's handle on Bento, put in every request by [`BentoLayer`](crate::BentoLayer).
///
/// [`track`](Self::track) returns at once; [`client`](Self::client) gives the
/// whole API for calls a handler wants to await.
///
/// ```no_run
/// use axum::{Router, routing::post};
/// use bento_axum::{Bento, BentoLayer};
/// use bento_core::BentoEvent;
///
/// #[derive(BentoEvent)]
/// #[bento(event = "account.signup")]
/// struct Signup { email: String }
///
/// async fn signup(bento: Bento) -> &'static str {
///     if let Err(error) = bento.track(&Signup { email: "ada@example.com".into() }) {
///         eprintln!("signup event not queued: {error}");
///     }
///     "welcome"
/// }
///
/// # fn app(client: bento_core::Client) -> Router {
/// Router::new().route("/signup", post(signup)).layer(BentoLayer::new(client))
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Bento(pub(crate) RequestEvents);

impl Bento {
    /// Checks and encodes the event, and queues it for background delivery
    /// (or, under `deliver_on_success`, holds it until the response exists).
    /// Never blocks.
    ///
    /// An event without an email is about the request's subscriber (the
    /// layer's [`identify`](crate::BentoLayer::identify), or
    /// [`identify`](Self::identify) here); in an anonymous request it is
    /// [`TrackError::Anonymous`] and nothing is sent. An event with its own
    /// email keeps it.
    pub fn track<E: SubscriberEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        self.0.track(event)
    }

    /// Checks and encodes a subscriber command (subscribe, tag, field...),
    /// and queues it for background delivery to `/fetch/commands` like an
    /// event, held with the request's events under `deliver_on_success`.
    /// Never blocks; [`client`](Self::client)`.run_command(..)` waits for
    /// Bento's answer instead.
    pub fn enqueue_command(&self, command: Command) -> Result<(), TrackError> {
        self.0.enqueue_command(command)
    }

    /// Makes `email` the subscriber this request is about, from here on (at
    /// login or signup, say).
    pub fn identify(&self, email: impl Into<String>) {
        self.0.identify(email);
    }

    /// The subscriber this request is about, if known.
    pub fn identity(&self) -> Option<std::sync::Arc<str>> {
        self.0.identity()
    }

    /// The client, for every other Bento call.
    pub fn client(&self) -> &Client {
        self.0.client()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Bento {
    type Rejection = MissingBentoLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Bento>()
            .cloned()
            .ok_or(MissingBentoLayer)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Bento {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Bento>().cloned())
    }
}

/// The rejection when a handler takes [`Bento`] but the route has no
/// [`BentoLayer`](crate::BentoLayer): a 500 whose body (and an error log) says what to add.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MissingBentoLayer;

impl std::fmt::Display for MissingBentoLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "a handler extracts `Bento` but the route has no BentoLayer: add \
             `.layer(bento_axum::BentoLayer::new(client))` to the Router (after the routes \
             that use it), or take `Option<Bento>`",
        )
    }
}

impl std::error::Error for MissingBentoLayer {}

impl IntoResponse for MissingBentoLayer {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        // The developer sees the body first: it names the line to add.
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejection_says_which_line_to_add() {
        let message = MissingBentoLayer.to_string();
        assert!(
            message.contains(".layer(bento_axum::BentoLayer::new(client))"),
            "{message}"
        );
        assert_eq!(MissingBentoLayer.into_response().status(), 500);
    }
}
