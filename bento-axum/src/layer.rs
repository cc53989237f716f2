//! `BentoLayer`: shares a client with every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::extract::FromRequestParts;
use bento_core::Client;
use bento_core::integration::{RequestLine, RequestTracking, Resolving, Settlement};
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
    /// Makes the lookup of whom a request is about, when set.
    identify_async: Option<IdentifyAsync>,
}

/// Reads a request's subscriber from what the app's auth put in it.
type Identify = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

/// A lookup of a request's subscriber, not yet started.
type Lookup = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// Makes a request's lookup from its head.
type IdentifyAsync = Arc<dyn Fn(&Parts) -> Lookup + Send + Sync>;

impl std::fmt::Debug for BentoLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BentoLayer")
            .field("tracking", &self.tracking)
            .field("identify", &self.identify.is_some())
            .field("identify_async", &self.identify_async.is_some())
            .finish()
    }
}

impl BentoLayer {
    /// A layer handing tracked events to `client`'s delivery queue at once.
    pub fn new(client: Client) -> Self {
        Self {
            tracking: RequestTracking::new(client),
            identify: None,
            identify_async: None,
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

    /// Looks the request's subscriber up asynchronously (a user id to an
    /// email in the database, a session store), at most once per request
    /// and only if it tracks an event without an email or is a page view.
    ///
    /// `lookup` runs at the start of each request with its head, to take
    /// what it needs (a cookie, a claim, an extension your auth middleware
    /// inserted, a pool it captured); the future it returns is not started
    /// then. It runs when the response exists, before it is sent (or when a
    /// handler calls [`resolve_identity`](bento_core::integration::RequestEvents::resolve_identity)),
    /// and events tracked before wait for it, checked already. `None` from it
    /// leaves the request anonymous: events waiting are then refused as
    /// [`Anonymous`](bento_core::TrackError::Anonymous) (logged, counted, and
    /// handed to the failure hook). [`identify`](Self::identify), or a
    /// handler's `bento.identify(email)`, wins when it knows the subscriber.
    ///
    /// ```
    /// # fn layer(client: bento_core::Client, users: std::sync::Arc<std::collections::HashMap<u64, String>>) -> bento_axum::BentoLayer {
    /// #[derive(Clone, Copy)]
    /// struct UserId(u64); // inserted by the app's auth middleware
    ///
    /// bento_axum::BentoLayer::new(client).identify_async(move |parts| {
    ///     let user = parts.extensions.get::<UserId>().copied();
    ///     let users = users.clone(); // a database pool, in a real app
    ///     async move { users.get(&user?.0).cloned() }
    /// })
    /// # }
    /// ```
    pub fn identify_async<F, Fut>(mut self, lookup: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<String>> + Send + 'static,
    {
        self.identify_async = Some(Arc::new(move |parts: &Parts| -> Lookup {
            Box::pin(lookup(parts))
        }));
        self.tracking = self.tracking.looks_up_identity();
        self
    }

    /// Looks the request's subscriber up from the app's own auth extractor
    /// `E` (any [`FromRequestParts`] of the router's state `S`): when
    /// something needs the subscriber (as for
    /// [`identify_async`](Self::identify_async)), `E` is extracted from a
    /// copy of the request's head with `state`, and `lookup` makes the
    /// future of its email from it (taking what it needs, such as a user
    /// id). A request `E` rejects is anonymous. Both run at most once per
    /// request, and not at all for a request that needs no subscriber. (In
    /// `bento-actix`, whose extractors are not `Send`, the extractor runs as
    /// the request starts; the lookup is as lazy.)
    ///
    /// ```
    /// use axum::extract::FromRequestParts;
    /// use axum::http::{StatusCode, request::Parts};
    ///
    /// /// The app's own auth: who sent the request, from its bearer token.
    /// struct AuthUser { email: String }
    ///
    /// impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    ///     type Rejection = StatusCode;
    ///     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
    ///         let token = parts.headers.get("authorization").ok_or(StatusCode::UNAUTHORIZED)?;
    ///         let email = token.to_str().map_err(|_| StatusCode::UNAUTHORIZED)?;
    ///         Ok(AuthUser { email: email.trim_start_matches("Bearer ").to_owned() })
    ///     }
    /// }
    ///
    /// # fn layer(client: bento_core::Client) -> bento_axum::BentoLayer {
    /// bento_axum::BentoLayer::new(client)
    ///     .identify_from((), |user: &AuthUser| {
    ///         let email = user.email.clone(); // or a user id, looked up below
    ///         async move { Some(email) }
    ///     })
    /// # }
    /// ```
    pub fn identify_from<E, S, F, Fut>(self, state: S, lookup: F) -> Self
    where
        E: FromRequestParts<S> + 'static,
        S: Clone + Send + Sync + 'static,
        F: Fn(&E) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Option<String>> + Send + 'static,
    {
        self.identify_async(move |parts: &Parts| {
            let mut parts = parts.clone();
            let state = state.clone();
            let lookup = lookup.clone();
            async move {
                // `E` need not be `Send`: only what `lookup` took from it is
                // held across the lookup.
                let lookup = match E::from_request_parts(&mut parts, &state).await {
                    Ok(extracted) => lookup(&extracted),
                    Err(_) => return None,
                };
                lookup.await
            }
        })
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

    /// Tracks page views under `rule`: for a JSON API or an SPA's backend,
    /// `PageViews::content_types(["application/json"])` or
    /// `PageViews::every_get()`, optionally `.paths(..)`. The same
    /// conditions otherwise as [`track_page_views`](Self::track_page_views).
    ///
    /// ```
    /// # fn layer(client: bento_core::Client) -> bento_axum::BentoLayer {
    /// use bento_axum::PageViews;
    /// bento_axum::BentoLayer::new(client)
    ///     .track_page_views_with(PageViews::content_types(["application/json"]).paths(|p| p.starts_with("/api/")))
    /// # }
    /// ```
    pub fn track_page_views_with(self, rule: bento_core::integration::PageViews) -> Self {
        Self {
            tracking: self.tracking.track_page_views_with(rule),
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
        let known = identity.is_some();
        let (events, settlement) = self.layer.tracking.begin_request(Some(line), identity);
        if !known && let Some(identify_async) = &self.layer.identify_async {
            events.identify_with(identify_async(&parts));
        }
        parts.extensions.insert(Bento(events));
        let request = Request::from_parts(parts, body);
        ResponseFuture {
            inner: self.inner.call(request),
            settlement,
            resolving: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`BentoService`]: the inner future, unboxed, and the
    /// request's held events.
    pub struct ResponseFuture<F: Future> {
        #[pin]
        inner: F,
        // Settles the request's held events; dropped unsettled (a panic, a
        // cancelled request), it discards them.
        settlement: Option<Settlement>,
        // The lookup of the request's subscriber, when events wait for it,
        // and the response held back until it is done.
        resolving: Option<(Resolving, F::Output)>,
    }
}

impl<F: Future + std::fmt::Debug> std::fmt::Debug for ResponseFuture<F> {
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
        if let Some((resolving, _)) = this.resolving {
            std::task::ready!(Pin::new(resolving).poll(cx));
            if let Some((_, output)) = this.resolving.take() {
                return Poll::Ready(output);
            }
        }
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(settlement) = this.settlement.take() {
            match &result {
                Ok(response) => {
                    let content_type = response
                        .headers()
                        .get(http::header::CONTENT_TYPE)
                        .and_then(|value| value.to_str().ok());
                    if let Some(mut resolving) =
                        settlement.respond(response.status().as_u16(), content_type)
                    {
                        // The response waits for the lookup, as for the handler.
                        if Pin::new(&mut resolving).poll(cx).is_pending() {
                            *this.resolving = Some((resolving, result));
                            return Poll::Pending;
                        }
                    }
                }
                Err(_) => settlement.fail(),
            }
        }
        Poll::Ready(result)
    }
}
