//! `BentoMiddleware`: shares a client with every request.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::HttpMessage;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use bento_core::Client;
use bento_core::integration::{RequestLine, RequestTracking, Settlement};

use crate::extract::Bento;

/// Middleware that puts a [`Bento`] handle in every request's extensions, for
/// handlers to extract. The same semantics as `bento_axum::BentoLayer`.
///
/// By default, events a handler tracks go straight to the client's delivery
/// queue. With [`deliver_on_success`](Self::deliver_on_success), they are held
/// until the response exists and dropped if it is a server error.
///
/// Build the client once, outside the `HttpServer::new` closure (which runs
/// once per worker), and clone the middleware into it.
#[derive(Clone)]
pub struct BentoMiddleware {
    tracking: RequestTracking,
    /// Reads whom a request is about, when set.
    identify: Option<Identify>,
}

/// Reads a request's subscriber from what the app's auth put in it.
type Identify = Arc<dyn Fn(&ServiceRequest) -> Option<String> + Send + Sync>;

impl std::fmt::Debug for BentoMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BentoMiddleware")
            .field("tracking", &self.tracking)
            .field("identify", &self.identify.is_some())
            .finish()
    }
}

impl BentoMiddleware {
    /// Middleware handing tracked events to `client`'s delivery queue at once.
    pub fn new(client: Client) -> Self {
        Self {
            tracking: RequestTracking::new(client),
            identify: None,
        }
    }

    /// How to tell whom a request is about, from what the app's auth put in
    /// it (a session, a JWT claim, an extension): events without an email
    /// that a handler tracks through [`Bento`] are then about that
    /// subscriber. `None` leaves the request anonymous until a handler calls
    /// [`identify`](bento_core::integration::RequestEvents::identify) through [`Bento`] (at login or signup). The same semantics as
    /// `bento_axum::BentoLayer::identify`.
    pub fn identify(
        mut self,
        identify: impl Fn(&ServiceRequest) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.identify = Some(Arc::new(identify));
        self
    }

    /// Holds the events a request tracks until its response exists, then
    /// delivers them if the status is below 500 and discards them otherwise.
    /// A handler that panics, or a request cancelled before its response,
    /// discards them too.
    pub fn deliver_on_success(self) -> Self {
        Self {
            tracking: self.tracking.deliver_on_success(),
            ..self
        }
    }

    /// Like [`deliver_on_success`](Self::deliver_on_success), with your own
    /// rule on the response's status: `.deliver_if(|status| status.is_success())`
    /// delivers the events of 2xx responses only.
    pub fn deliver_if(
        self,
        rule: impl Fn(actix_web::http::StatusCode) -> bool + Send + Sync + 'static,
    ) -> Self {
        let tracking = self
            .tracking
            .deliver_if(move |code| actix_web::http::StatusCode::from_u16(code).is_ok_and(&rule));
        Self { tracking, ..self }
    }

    /// Tracks a page view ([`PageView`](bento_core::events::PageView),
    /// Bento's `$view`, with the path and query in `details`) for each
    /// identified request whose response is a successful `GET` of an HTML
    /// page, under the same hold policy as a handler's events. Nothing for
    /// anonymous requests, JSON, redirects or errors. The same semantics as
    /// `bento_axum::BentoLayer::track_page_views`.
    pub fn track_page_views(self) -> Self {
        Self {
            tracking: self.tracking.track_page_views(),
            ..self
        }
    }

    /// Like [`track_page_views`](Self::track_page_views), for the paths
    /// `filter` accepts: `.track_page_views_if(|path| !path.starts_with("/admin"))`.
    /// Leave out pages whose query carries secrets (a reset token): the
    /// query is sent as is.
    pub fn track_page_views_if(
        self,
        filter: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            tracking: self.tracking.track_page_views_if(filter),
            ..self
        }
    }

    /// Events held and then delivered (under `deliver_on_success`), across
    /// every clone of this middleware.
    pub fn delivered(&self) -> u64 {
        self.tracking.delivered()
    }

    /// Events held and then discarded (under `deliver_on_success`).
    pub fn discarded(&self) -> u64 {
        self.tracking.discarded()
    }

    /// The client requests receive.
    pub fn client(&self) -> &Client {
        self.tracking.client()
    }
}

impl<S, B> Transform<S, ServiceRequest> for BentoMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = BentoService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BentoService {
            service,
            middleware: self.clone(),
        }))
    }
}

/// The service [`BentoMiddleware`] wraps around an app or scope.
#[derive(Debug)]
pub struct BentoService<S> {
    service: S,
    middleware: BentoMiddleware,
}

impl<S, B> Service<ServiceRequest> for BentoService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let identity = self
            .middleware
            .identify
            .as_ref()
            .and_then(|identify| identify(&request));
        let uri = request.uri();
        let line = RequestLine::new(request.method().as_str(), uri.path(), uri.query());
        let (events, settlement) = self.middleware.tracking.begin_request(Some(line), identity);
        request.extensions_mut().insert(Bento(events));
        ResponseFuture {
            inner: self.service.call(request),
            settlement,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`BentoService`]: the inner future, unboxed, and the
    /// request's held events.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // Settles the request's held events; dropped unsettled (a panic, a
        // cancelled request), it discards them.
        settlement: Option<Settlement>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(settlement) = this.settlement.take() {
            match &result {
                Ok(response) => {
                    let content_type = response
                        .headers()
                        .get(actix_web::http::header::CONTENT_TYPE)
                        .and_then(|value| value.to_str().ok());
                    settlement.respond(response.status().as_u16(), content_type);
                }
                // actix turns the error into a response with this status.
                Err(error) => {
                    settlement.respond(error.as_response_error().status_code().as_u16(), None);
                }
            }
        }
        Poll::Ready(result)
    }
}
