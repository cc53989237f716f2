//! What `track_page_views()` costs per request: one axum router serving a
//! small HTML page, called in-process (no sockets, so the figure is the
//! layer's CPU and nothing else), in four setups measured in one run:
//! - `plain axum`: no layer;
//! - `layer`: `BentoLayer::new(client).identify(..)`, page views off;
//! - `layer + page views, anonymous`: views on, the request not identified
//!   (the candidate is kept, then nothing is tracked);
//! - `layer + page views, identified`: every request tracks a `$view`.
//!
//! The client delivers to a sink (`benches/src/sink.rs`) that holds its
//! answers while calls are timed, and the queue is flushed, untimed, every
//! 5,000 requests, as in the `track` bench.
//!
//! `cargo bench -p bento-benches --bench page_views`; figures in docs/BENCHMARKS.md.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::response::Html;
use axum::routing::get;
use bento_axum::BentoLayer;
use bento_benches::setup::client_for_sink;
use bento_benches::sink::Sink;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::{Service, ServiceExt};

const USER: &str = "x-user";

fn router() -> Router {
    Router::new().route(
        "/pricing",
        get(|| async { Html("<!doctype html><h1>Pricing</h1>") }),
    )
}

fn request(identified: bool) -> Request<Body> {
    let mut request = Request::get("/pricing?plan=pro");
    if identified {
        request = request.header(USER, "ada@example.com");
    }
    request.body(Body::empty()).expect("request")
}

/// One request through `app`, to completion.
async fn serve(app: &mut Router, identified: bool) -> u16 {
    let ready: Result<_, Infallible> = ServiceExt::<Request<Body>>::ready(app).await;
    let service = ready.unwrap_or_else(|never| match never {});
    let answered: Result<_, Infallible> = service.call(request(identified)).await;
    let response = answered.unwrap_or_else(|never| match never {});
    response.status().as_u16()
}

fn page_views(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let sink = Sink::start().expect("sink");
    let client = client_for_sink(&sink)
        .queue_capacity(4_000_000)
        .build()
        .expect("client");
    let layer = BentoLayer::new(client.clone()).identify(|parts| {
        let user = parts.headers.get(USER)?;
        user.to_str().ok().map(str::to_owned)
    });
    let setups: [(&str, Router, bool); 4] = [
        ("plain axum", router(), true),
        ("layer", router().layer(layer.clone()), true),
        (
            "layer + page views, anonymous",
            router().layer(layer.clone().track_page_views()),
            false,
        ),
        (
            "layer + page views, identified",
            router().layer(layer.clone().track_page_views()),
            true,
        ),
    ];
    // Each setup answers, and only the last one tracks.
    for (name, app, identified) in &setups {
        let mut app = app.clone();
        let status = runtime.block_on(serve(&mut app, *identified));
        assert_eq!(status, 200, "{name}");
    }
    runtime
        .block_on(client.flush(Duration::from_secs(60)))
        .expect("flushed");
    assert_eq!(
        client.stats().sent,
        1,
        "one view, from the identified setup"
    );

    let mut group = c.benchmark_group("page views");
    group.sample_size(50);
    for (name, app, identified) in setups {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut app = app.clone();
                sink.time_held(
                    iters,
                    |n| {
                        runtime.block_on(async {
                            for _ in 0..n {
                                black_box(serve(&mut app, identified).await);
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

criterion_group!(benches, page_views);
criterion_main!(benches);
