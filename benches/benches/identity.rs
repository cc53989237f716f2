//! What an async identity and JSON page views cost per request, beside the
//! layer alone: one axum router called in-process (no sockets, so the
//! figure is the layer's CPU and nothing else), every setup in one run:
//! - `layer`: `BentoLayer::new(client).identify(..)` (a header), nothing tracked;
//! - `layer + identify_async, nothing tracked`: the lookup is made (not run);
//! - `layer + identify_from, nothing tracked`: the request's head is copied for the extractor;
//! - `layer, one event`: the handler tracks one event without an email, subscriber from the header;
//! - `layer + identify_async, one event`: the same event waits for the lookup (a ready map read), which runs once;
//! - `layer + JSON page views, anonymous` / `identified`: `PageViews::content_types(["application/json"])`.
//!
//! The client delivers to a sink (`benches/src/sink.rs`) that holds its
//! answers while calls are timed, and the queue is flushed, untimed, every
//! 5,000 requests, as in the `track` and `page_views` benches.
//!
//! `cargo bench -p bento-benches --bench identity`; figures in docs/BENCHMARKS.md.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::{Request, StatusCode, request::Parts};
use axum::routing::{get, post};
use bento_axum::{Bento, BentoLayer, PageViews};
use bento_benches::setup::client_for_sink;
use bento_benches::sink::Sink;
use bento_core::BentoEvent;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::{Service, ServiceExt};

const USER: &str = "x-user";

#[derive(BentoEvent)]
#[bento(event = "plan.upgraded")]
struct Upgraded {
    plan: &'static str,
}

/// The app's auth extractor: the user from a header.
struct AuthUser(String);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        let user = parts.headers.get(USER).ok_or(StatusCode::UNAUTHORIZED)?;
        let user = user.to_str().map_err(|_| StatusCode::UNAUTHORIZED)?;
        Ok(AuthUser(user.to_owned()))
    }
}

fn router() -> Router {
    Router::new()
        .route("/noop", post(|| async { StatusCode::OK }))
        .route(
            "/upgrade",
            post(|bento: Bento| async move {
                match bento.track(&Upgraded { plan: "team" }) {
                    Ok(()) => StatusCode::OK,
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }),
        )
        .route(
            "/api/account",
            get(|| async { axum::Json(serde_json::json!({"plan": "pro"})) }),
        )
}

fn request(method: &str, path: &str, identified: bool) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if identified {
        request = request.header(USER, "ada@example.com");
    }
    request.body(Body::empty()).expect("request")
}

/// One request through `app`, to completion.
async fn serve(app: &mut Router, (method, path, identified): Call) -> u16 {
    let ready: Result<_, Infallible> = ServiceExt::<Request<Body>>::ready(app).await;
    let service = ready.unwrap_or_else(|never| match never {});
    let answered: Result<_, Infallible> = service.call(request(method, path, identified)).await;
    let response = answered.unwrap_or_else(|never| match never {});
    response.status().as_u16()
}

type Call = (&'static str, &'static str, bool);

fn identity(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let sink = Sink::start().expect("sink");
    let client = client_for_sink(&sink)
        .queue_capacity(4_000_000)
        .build()
        .expect("client");
    let by_header = BentoLayer::new(client.clone()).identify(|parts| {
        let user = parts.headers.get(USER)?;
        user.to_str().ok().map(str::to_owned)
    });
    let by_lookup = BentoLayer::new(client.clone()).identify_async(|parts| {
        let user = parts
            .headers
            .get(USER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // A lookup that answers at once: the figure is the SDK's share.
        async move { user }
    });
    let by_extractor = BentoLayer::new(client.clone()).identify_from((), |user: &AuthUser| {
        let email = user.0.clone();
        async move { Some(email) }
    });
    let json_views = by_header
        .clone()
        .track_page_views_with(PageViews::content_types(["application/json"]));
    let setups: [(&str, Router, Call); 7] = [
        (
            "layer",
            router().layer(by_header.clone()),
            ("POST", "/noop", true),
        ),
        (
            "layer + identify_async, nothing tracked",
            router().layer(by_lookup.clone()),
            ("POST", "/noop", true),
        ),
        (
            "layer + identify_from, nothing tracked",
            router().layer(by_extractor),
            ("POST", "/noop", true),
        ),
        (
            "layer, one event",
            router().layer(by_header),
            ("POST", "/upgrade", true),
        ),
        (
            "layer + identify_async, one event",
            router().layer(by_lookup),
            ("POST", "/upgrade", true),
        ),
        (
            "layer + JSON page views, anonymous",
            router().layer(json_views.clone()),
            ("GET", "/api/account", false),
        ),
        (
            "layer + JSON page views, identified",
            router().layer(json_views),
            ("GET", "/api/account", true),
        ),
    ];
    // Each setup answers; the tracking ones deliver exactly one event each.
    for (name, app, call) in &setups {
        let mut app = app.clone();
        let status = runtime.block_on(serve(&mut app, *call));
        assert_eq!(status, 200, "{name}");
    }
    runtime
        .block_on(client.flush(Duration::from_secs(60)))
        .expect("flushed");
    assert_eq!(client.stats().sent, 3, "two events and one view");

    let mut group = c.benchmark_group("identity");
    group.sample_size(50);
    for (name, app, call) in setups {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut app = app.clone();
                sink.time_held(
                    iters,
                    |n| {
                        runtime.block_on(async {
                            for _ in 0..n {
                                black_box(serve(&mut app, call).await);
                            }
                        })
                    },
                    || {
                        runtime
                            .block_on(client.flush(Duration::from_secs(600)))
                            .expect("flushed");
                    },
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, identity);
criterion_main!(benches);
