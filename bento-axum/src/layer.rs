//! `BentoLayer`: shares a client with every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bento_core::Client;
use bento_core::integration::{RequestLine, RequestTracking, Settlement};
use http::request::Parts;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::extract::Bento;

/// A tower [`Layer`] that puts a [`Bento`] handle in every request's
/// extensions, for handlers to extract.
///
/// By default, events a handler tracks go straight to the client's delivery
/// queue. With [`deliver_on_success`](Self::deliver_on_success), they are held
/// until the response exists and dropped if it is a server error.
///
/// Cheap to clone; no request type parameter, so it is `Send + Sync` whatever
/// the body type.
#[derive(Clone)]
pub struct BentoLayer {
    tracking: RequestTracking,
    /// Reads whom a request is about, when set.
    identify: Option<Identify>,
}

/// Reads a request's subscriber from what the app's auth put in it.
type Identify = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

impl std::fmt::Debug for BentoLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BentoLayer")
            .field("tracking", &self.tracking)
            .field("identify", &self.identify.is_some())
            .finish()
    }
}

impl BentoLayer {
    /// A layer handing tracked events to `client`'s delivery queue at once.
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
    /// [`identify`](bento_core::integration::RequestEvents::identify) through [`Bento`] (at login or signup).
    ///
    /// ```
    /// # fn layer(client: bento_core::Client) -> bento_axum::BentoLayer {
    /// #[derive(Clone)]
    /// struct CurrentUser { email: String }
    ///
    /// bento_axum::BentoLayer::new(client).identify(|parts| {
    ///     parts.extensions.get::<CurrentUser>().map(|user| user.email.clone())
    /// })
    /// # }
    /// ```
    pub fn identify(
        mut self,
        identify: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.identify = Some(Arc::new(identify));
        self
    }

    /// Holds the events a request tracks until its response exists, then
    /// delivers them if the status is below 500 and discards them otherwise,
    /// so a failed signup does not emit `account.signup`. A handler that
    /// panics, or a request cancelled before its response, discards them too.
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
        rule: impl Fn(http::StatusCode) -> bool + Send + Sync + 'static,
    ) -> Self {
        let tracking = self
            .tracking
            .deliver_if(move |code| http::StatusCode::from_u16(code).is_ok_and(&rule));
        Self { tracking, ..self }
    }

    /// Tracks a page view ([`PageView`](bento_core::events::PageView),
    /// Bento's `$view`, with the path and query in `details`) for each
    /// identified request whose response is a successful `GET` of an HTML
    /// page, under the same hold policy as a handler's events. Nothing for
    /// anonymous requests, JSON, redirects or errors.
    ///
    /// ```
    /// # fn layer(client: bento_core::Client) -> bento_axum::BentoLayer {
    /// # #[derive(Clone)] struct CurrentUser { email: String }
    /// bento_axum::BentoLayer::new(client)
    ///     .identify(|parts| parts.extensions.get::<CurrentUser>().map(|u| u.email.clone()))
    ///     .track_page_views()
    /// # }
    /// ```
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

    /// Events this layer held and then delivered (under `deliver_on_success`).
    pub fn delivered(&self) -> u64 {
        self.tracking.delivered()
    }

    /// Events this layer held and then discarded (under `deliver_on_success`).
    pub fn discarded(&self) -> u64 {
        self.tracking.discarded()
    }

    /// The client requests receive.
    pub fn client(&self) -> &Client {
        self.tracking.client()
    }
}

impl<S> Layer<S> for BentoLayer {
    type Service = BentoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BentoService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`BentoLayer`] wraps around a router or handler.
#[derive(Clone, Debug)]
pub struct BentoService<S> {
    inner: S,
    layer: BentoLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for BentoService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let identity = self
            .layer
            .identify
            .as_ref()
            .and_then(|identify| identify(&parts));
        let line = RequestLine::new(parts.method.as_str(), parts.uri.path(), parts.uri.query());
        let (events, settlement) = self.layer.tracking.begin_request(Some(line), identity);
        parts.extensions.insert(Bento(events));
        let request = Request::from_parts(parts, body);
        ResponseFuture {
            inner: self.inner.call(request),
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

impl<F: std::fmt::Debug> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
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
                        .get(http::header::CONTENT_TYPE)
                        .and_then(|value| value.to_str().ok());
                    settlement.respond(response.status().as_u16(), content_type);
                }
                Err(_) => settlement.fail(),
            }
        }
        Poll::Ready(result)
    }
}
