//! The `Bento` extractor.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use bento_core::Client;
use bento_core::integration::RequestEvents;

/// A handler's handle on Bento: from [`BentoMiddleware`](crate::BentoMiddleware)
/// when the request went through it, otherwise from the app data (a `Client`
/// or a `web::Data<Client>`), so `App::new().app_data(client)` works alone.
///
/// [`track`](RequestEvents::track) returns at once; [`client`](RequestEvents::client)
/// gives the whole API for calls a handler wants to await.
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

impl FromRequest for Bento {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(bento) = request.extensions().get::<Bento>() {
            return ready(Ok(bento.clone()));
        }
        let client = request.app_data::<Client>().cloned().or_else(|| {
            request
                .app_data::<web::Data<Client>>()
                .map(|data| data.get_ref().clone())
        });
        ready(match client {
            Some(client) => Ok(Bento(RequestEvents::direct(client))),
            None => {
                tracing::error!("{MissingBento}");
                Err(MissingBento.into())
            }
        })
    }
}

/// The error when a handler takes [`Bento`] but the app has neither
/// [`BentoMiddleware`](crate::BentoMiddleware) nor a `Client` in its app data:
/// a 500 whose body (and an error log) says what to add.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MissingBento;

impl std::fmt::Display for MissingBento {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "a handler extracts `Bento` but the app has no Bento client: add \
             `.wrap(bento_actix::BentoMiddleware::new(client.clone()))` or \
             `.app_data(client.clone())` to the App, or take `Option<Bento>`",
        )
    }
}

impl ResponseError for MissingBento {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        // The developer sees the body first: it names the line to add.
        actix_web::HttpResponse::InternalServerError().body(self.to_string())
    }
}

/// A refused `track` as a response, so that a handler tracks in one line:
/// `bento.track(&event)?` in a handler returning `Result<_, TrackRejection>`
/// (or an error type of yours with `From<TrackError>`). The user's invalid
/// data is a 422 naming what is wrong; a full queue a 503; the program's
/// mistakes a 500 with a generic body (the client logged, counted and hooked
/// them already). The same answers as `bento-axum`'s: see
/// [`bento_core::integration::rejection`].
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

impl ResponseError for TrackRejection {
    fn status_code(&self) -> StatusCode {
        let (status, _) = bento_core::integration::rejection(&self.0);
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let (_, body) = bento_core::integration::rejection(&self.0);
        actix_web::HttpResponse::build(self.status_code()).body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_says_what_to_add() {
        let message = MissingBento.to_string();
        assert!(message.contains(".wrap(bento_actix::BentoMiddleware::new(client.clone()))"));
        assert!(message.contains(".app_data(client.clone())"));
        assert_eq!(MissingBento.status_code(), 500);
    }
}
