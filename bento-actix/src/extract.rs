//! The `Bento` extractor.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use bento_core::integration::RequestEvents;
use bento_core::{Client, Command, SubscriberEvent, TrackError};

/// A handler's handle on Bento: from [`BentoMiddleware`](crate::BentoMiddleware)
/// when the request went through it, otherwise from the app data (a `Client`
/// or a `web::Data<Client>`), so `App::new().app_data(client)` works alone.
///
/// [`track`](Self::track) returns at once; [`client`](Self::client) gives the
/// whole API for calls a handler wants to await.
#[derive(Clone, Debug)]
pub struct Bento(pub(crate) RequestEvents);

impl Bento {
    /// Checks and encodes the event, and queues it for background delivery
    /// (or, under `deliver_on_success`, holds it until the response exists).
    /// Never blocks.
    ///
    /// An event without an email is about the request's subscriber (the
    /// layer's [`identify`](crate::BentoMiddleware::identify), or
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
