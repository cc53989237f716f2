//! The `Bento` extractor.

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use bento_core::integration::RequestEvents;
use http::StatusCode;
use http::request::Parts;

/// A handler's handle on Bento, put in every request by [`BentoLayer`](crate::BentoLayer).
///
/// [`track`](RequestEvents::track) returns at once; [`client`](RequestEvents::client)
/// gives the whole API for calls a handler wants to await.
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

/// Every method is the request handle's, shared with the other frameworks'
/// extractor so the two cannot drift: [`track`](RequestEvents::track)
/// (returns at once), [`enqueue_command`](RequestEvents::enqueue_command),
/// [`identify`](RequestEvents::identify), [`identity`](RequestEvents::identity)
/// and [`client`](RequestEvents::client) for every other call.
impl std::ops::Deref for Bento {
    type Target = RequestEvents;

    fn deref(&self) -> &RequestEvents {
        &self.0
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

/// A refused `track` as a response, so that a handler tracks in one line:
/// `bento.track(&event)?` in a handler returning `Result<_, TrackRejection>`
/// (or an error type of yours with `From<TrackError>`). The user's invalid
/// data is a 422 naming what is wrong; a full queue a 503; the program's
/// mistakes a 500 with a generic body (the client logged, counted and hooked
/// them already). See [`bento_core::integration::rejection`].
#[derive(Debug)]
pub struct TrackRejection(pub bento_core::TrackError);

impl From<bento_core::TrackError> for TrackRejection {
    fn from(error: bento_core::TrackError) -> Self {
        Self(error)
    }
}

impl std::fmt::Display for TrackRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TrackRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for TrackRejection {
    fn into_response(self) -> Response {
        let (status, body) = bento_core::integration::rejection(&self.0);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, body).into_response()
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
