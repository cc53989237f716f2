//! `BentoMiddleware`: shares a client with every request.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use bento_core::Client;
use bento_core::integration::{RequestLine, RequestTracking, Resolving, Settlement};

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
    /// Makes the lookup of whom a request is about, when set.
    identify_async: Option<IdentifyAsync>,
    /// Runs the app's auth extractor, then makes the lookup, when set.
    identify_from: Option<IdentifyFrom>,
}

/// Reads a request's subscriber from what the app's auth put in it.
type Identify = Arc<dyn Fn(&ServiceRequest) -> Option<String> + Send + Sync>;

/// A lookup of a request's subscriber, not yet started.
type Lookup = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// Makes a request's lookup from the request.
type IdentifyAsync = Arc<dyn Fn(&ServiceRequest) -> Lookup + Send + Sync>;

/// A future on the worker's thread (actix's extractors are not `Send`).
type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Extracts the app's auth from a request and makes the lookup from it.
type IdentifyFrom = Arc<dyn Fn(&HttpRequest) -> LocalBoxFuture<Option<Lookup>> + Send + Sync>;

impl std::fmt::Debug for BentoMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BentoMiddleware")
            .field("tracking", &self.tracking)
            .field("identify", &self.identify.is_some())
            .field("identify_async", &self.identify_async.is_some())
            .field("identify_from", &self.identify_from.is_some())
            .finish()
    }
}

impl BentoMiddleware {
    /// Middleware handing tracked events to `client`'s delivery queue at once.
    pub fn new(client: Client) -> Self {
        Self {
            tracking: RequestTracking::new(client),
            identify: None,
            identify_async: None,
            identify_from: None,
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

    /// Looks the request's subscriber up asynchronously (a user id to an
    /// email in the database, a session store), at most once per request
    /// and only if it tracks an event without an email or is a page view.
    /// The same semantics as `bento_axum::BentoLayer::identify_async`.
    ///
    /// `lookup` runs at the start of each request, to take what it needs
    /// (a cookie, a header, an extension, app data); the future it returns
    /// is not started then. It runs when the response exists, before it is
    /// sent (or when a handler calls
    /// [`resolve_identity`](bento_core::integration::RequestEvents::resolve_identity)),
    /// and events tracked before wait for it, checked already. `None` from
    /// it leaves the request anonymous: events waiting are then refused as
    /// [`Anonymous`](bento_core::TrackError::Anonymous) (logged, counted, and
    /// handed to the failure hook).
    ///
    /// ```
    /// # fn middleware(client: bento_core::Client, users: std::sync::Arc<std::collections::HashMap<String, String>>) -> bento_actix::BentoMiddleware {
    /// bento_actix::BentoMiddleware::new(client).identify_async(move |request| {
    ///     // A header your gateway sets; a cookie or an extension work the same.
    ///     let user = request.headers().get("x-user-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    ///     let users = users.clone(); // a database pool, in a real app
    ///     async move { users.get(&user?).cloned() }
    /// })
    /// # }
    /// ```
    pub fn identify_async<F, Fut>(mut self, lookup: F) -> Self
    where
        F: Fn(&ServiceRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<String>> + Send + 'static,
    {
        self.identify_async = Some(Arc::new(move |request: &ServiceRequest| -> Lookup {
            Box::pin(lookup(request))
        }));
        self.tracking = self.tracking.looks_up_identity();
        self
    }

    /// Looks the request's subscriber up from the app's own auth extractor
    /// `E` (any [`FromRequest`], such as an identity or session extractor):
    /// `E` is extracted as the request starts (actix's extractors are not
    /// `Send`, so they run on the worker then, as they would for the
    /// handler), and `lookup` makes the future of the email from it, taking
    /// what it needs (a user id). That future runs at most once, and only
    /// if the request needs its subscriber, as for
    /// [`identify_async`](Self::identify_async). A request `E` rejects is
    /// anonymous. The same semantics as `bento_axum::BentoLayer::identify_from`.
    ///
    /// ```
    /// use std::future::{Ready, ready};
    /// use actix_web::{FromRequest, HttpRequest, dev::Payload, error::ErrorUnauthorized};
    ///
    /// /// The app's own auth: who sent the request, from its bearer token.
    /// struct AuthUser { email: String }
    ///
    /// impl FromRequest for AuthUser {
    ///     type Error = actix_web::Error;
    ///     type Future = Ready<Result<Self, Self::Error>>;
    ///     fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
    ///         let token = request.headers().get("authorization").and_then(|v| v.to_str().ok());
    ///         ready(match token {
    ///             Some(token) => Ok(AuthUser { email: token.trim_start_matches("Bearer ").to_owned() }),
    ///             None => Err(ErrorUnauthorized("sign in")),
    ///         })
    ///     }
    /// }
    ///
    /// # fn middleware(client: bento_core::Client) -> bento_actix::BentoMiddleware {
    /// bento_actix::BentoMiddleware::new(client).identify_from(|user: &AuthUser| {
    ///     let email = user.email.clone(); // or a user id, looked up below
    ///     async move { Some(email) }
    /// })
    /// # }
    /// ```
    pub fn identify_from<E, F, Fut>(mut self, lookup: F) -> Self
    where
        E: FromRequest + 'static,
        F: Fn(&E) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Option<String>> + Send + 'static,
    {
        self.identify_from = Some(Arc::new(
            move |request: &HttpRequest| -> LocalBoxFuture<Option<Lookup>> {
                let extracting = E::from_request(request, &mut Payload::None);
                let lookup = lookup.clone();
                Box::pin(async move {
                    let extracted = extracting.await.ok()?;
                    Some(Box::pin(lookup(&extracted)) as Lookup)
                })
            },
        ));
        self.tracking = self.tracking.looks_up_identity();
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

    /// Tracks page views under `rule`: for a JSON API or an SPA's backend,
    /// `PageViews::content_types(["application/json"])` or
    /// `PageViews::every_get()`, optionally `.paths(..)`. The same
    /// conditions otherwise as [`track_page_views`](Self::track_page_views).
    ///
    /// ```
    /// # fn layer(client: bento_core::Client) -> bento_actix::BentoMiddleware {
    /// use bento_actix::PageViews;
    /// bento_actix::BentoMiddleware::new(client)
    ///     .track_page_views_with(PageViews::content_types(["application/json"]).paths(|p| p.starts_with("/api/")))
    /// # }
    /// ```
    pub fn track_page_views_with(self, rule: bento_core::integration::PageViews) -> Self {
        Self {
            tracking: self.tracking.track_page_views_with(rule),
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
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = BentoService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BentoService {
            service: Rc::new(service),
            middleware: self.clone(),
        }))
    }
}

/// The service [`BentoMiddleware`] wraps around an app or scope.
#[derive(Debug)]
pub struct BentoService<S> {
    service: Rc<S>,
    middleware: BentoMiddleware,
}

impl<S, B> Service<ServiceRequest> for BentoService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
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
        let known = identity.is_some();
        let uri = request.uri();
        let line = RequestLine::new(request.method().as_str(), uri.path(), uri.query());
        let (events, settlement) = self.middleware.tracking.begin_request(Some(line), identity);
        if !known && let Some(identify_async) = &self.middleware.identify_async {
            events.identify_with(identify_async(&request));
        }
        request.extensions_mut().insert(Bento(events.clone()));
        let stage = match &self.middleware.identify_from {
            Some(identify_from) if !known => {
                let extracting = identify_from(request.request());
                let service = Rc::clone(&self.service);
                Stage::Starting {
                    // Yields the inner service's future (not awaited here):
                    // the response path below is the same for every request.
                    #[allow(clippy::async_yields_async)]
                    start: Box::pin(async move {
                        // A request the extractor rejects gets a lookup that
                        // finds nobody, as with `bento-axum`'s lazy extraction:
                        // what waits is then refused and accounted the same way.
                        match extracting.await {
                            Some(lookup) => events.identify_with(lookup),
                            None => events.identify_with(std::future::ready(None)),
                        }
                        service.call(request)
                    }),
                }
            }
            _ => Stage::Running {
                inner: self.service.call(request),
            },
        };
        ResponseFuture {
            stage,
            settlement,
            resolving: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// Where a request is: running the app's auth extractor
    /// ([`BentoMiddleware::identify_from`]), or in the inner service.
    #[project = StageProjection]
    enum Stage<F> {
        Starting { start: LocalBoxFuture<F> },
        Running { #[pin] inner: F },
    }
}

pin_project_lite::pin_project! {
    /// The future of [`BentoService`]: the inner future, unboxed, and the
    /// request's held events.
    pub struct ResponseFuture<F: Future> {
        #[pin]
        stage: Stage<F>,
        // Settles the request's held events; dropped unsettled (a panic, a
        // cancelled request), it discards them.
        settlement: Option<Settlement>,
        // The lookup of the request's subscriber, when events wait for it,
        // and the response held back until it is done.
        resolving: Option<(Resolving, F::Output)>,
    }
}

impl<F: Future> std::fmt::Debug for ResponseFuture<F> {
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
        let mut this = self.project();
        if let Some((resolving, _)) = this.resolving {
            std::task::ready!(Pin::new(resolving).poll(cx));
            if let Some((_, output)) = this.resolving.take() {
                return Poll::Ready(output);
            }
        }
        let result = loop {
            match this.stage.as_mut().project() {
                StageProjection::Starting { start } => {
                    let inner = std::task::ready!(start.as_mut().poll(cx));
                    this.stage.set(Stage::Running { inner });
                }
                StageProjection::Running { inner } => break std::task::ready!(inner.poll(cx)),
            }
        };
        if let Some(settlement) = this.settlement.take() {
            let responded = match &result {
                Ok(response) => {
                    let content_type = response
                        .headers()
                        .get(actix_web::http::header::CONTENT_TYPE)
                        .and_then(|value| value.to_str().ok());
                    settlement.respond(response.status().as_u16(), content_type)
                }
                // actix turns the error into a response with this status.
                Err(error) => {
                    settlement.respond(error.as_response_error().status_code().as_u16(), None)
                }
            };
            if let Some(mut resolving) = responded {
                // The response waits for the lookup, as for the handler.
                if Pin::new(&mut resolving).poll(cx).is_pending() {
                    *this.resolving = Some((resolving, result));
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(result)
    }
}
