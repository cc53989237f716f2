//! The request's subscriber from the app's own auth: an async lookup, or
//! the app's auth extractor, run at most once per request and only when the
//! request needs its subscriber; events tracked before it answers wait for
//! it. A real server on 127.0.0.1:0 against the emulator. `bento-actix`'s
//! `tests/identity.rs` runs the same scenario.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::{StatusCode, request::Parts};
use axum::response::Html;
use axum::routing::{get, post};
use bento_axum::{Bento, BentoLayer};
use bento_core::{FailureReason, TrackError};
use bento_emulator::Emulator;
use bento_tests::{Upgraded, client_for};
use tokio::net::TcpListener;

fn http() -> reqwest::Client {
    bento_tests::install_tls();
    reqwest::Client::new()
}

async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The app's routes: events without an email, nothing, an HTML page, and a
/// handler that asks whom the request is about.
fn routes() -> Router {
    Router::new()
        .route(
            "/upgrade",
            post(|bento: Bento| async move {
                for _ in 0..3 {
                    bento.track(&Upgraded { plan: "team" })?;
                }
                Ok::<_, bento_axum::TrackRejection>(StatusCode::OK)
            }),
        )
        .route("/noop", post(|| async { StatusCode::OK }))
        .route("/page", get(|| async { Html("<h1>Pricing</h1>") }))
        .route(
            "/whoami",
            post(|bento: Bento| async move {
                let first = bento.resolve_identity().await;
                let again = bento.resolve_identity().await;
                assert_eq!(first, again);
                bento.track(&Upgraded { plan: "pro" })?;
                Ok::<_, bento_axum::TrackRejection>(
                    first.map(|e| e.to_string()).unwrap_or_default(),
                )
            }),
        )
        .route(
            "/fail",
            post(|bento: Bento| async move {
                bento.track(&Upgraded { plan: "team" }).unwrap();
                StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
}

fn users() -> Arc<HashMap<&'static str, &'static str>> {
    Arc::new(HashMap::from([
        ("1", "ada@example.com"),
        ("3", "grace@example.com"),
    ]))
}

fn upgrades_for(emulator: &Emulator, email: &str) -> usize {
    emulator
        .events()
        .iter()
        .filter(|e| e.event_type == "plan.upgraded" && e.email == email)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_lookup_runs_once_and_only_for_requests_that_need_it() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let refused = Arc::new(Mutex::new(Vec::new()));
    let client = client_for(&emulator)
        .on_delivery_failure({
            let refused = refused.clone();
            move |failure| {
                if let FailureReason::Refused(error) = failure.reason {
                    refused.lock().unwrap().push(error);
                }
            }
        })
        .build()
        .unwrap();
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = BentoLayer::new(client.clone())
        .identify_async({
            let (users, lookups) = (users(), lookups.clone());
            move |parts: &Parts| {
                let id = parts
                    .headers
                    .get("x-user-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let (users, lookups) = (users.clone(), lookups.clone());
                async move {
                    lookups.fetch_add(1, Ordering::SeqCst);
                    // A database's round trip.
                    tokio::task::yield_now().await;
                    users.get(id?.as_str()).map(|e| (*e).to_owned())
                }
            }
        })
        .track_page_views();
    let url = serve(routes().layer(layer)).await;
    let http = http();
    let send = |method: &str, path: &str, user: &str| {
        let request = match method {
            "GET" => http.get(format!("{url}{path}")),
            _ => http.post(format!("{url}{path}")),
        };
        request.header("x-user-id", user).send()
    };

    assert_eq!(send("POST", "/upgrade", "1").await.unwrap().status(), 200);
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        1,
        "three events, one lookup"
    );
    assert_eq!(send("POST", "/noop", "2").await.unwrap().status(), 200);
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        1,
        "nothing tracked, no lookup"
    );
    assert_eq!(send("GET", "/page", "3").await.unwrap().status(), 200);
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        2,
        "a page view needs its subscriber"
    );
    let whoami = send("POST", "/whoami", "1").await.unwrap();
    assert_eq!(whoami.text().await.unwrap(), "ada@example.com");
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        3,
        "asked twice, looked up once"
    );
    // An unknown user: the handler's `track` succeeded, the events cannot.
    assert_eq!(send("POST", "/upgrade", "99").await.unwrap().status(), 200);
    assert_eq!(lookups.load(Ordering::SeqCst), 4);

    client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(upgrades_for(&emulator, "ada@example.com"), 4);
    let views: Vec<_> = emulator
        .events()
        .into_iter()
        .filter(|e| e.event_type == "$view")
        .collect();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].email, "grace@example.com");
    assert_eq!(
        client.stats().refused,
        3,
        "the unknown user's events, counted"
    );
    let refused = refused.lock().unwrap();
    assert_eq!(refused.len(), 3, "and handed to the failure hook");
    assert!(refused.iter().all(
        |e| matches!(e, TrackError::Anonymous { event_type } if event_type == "plan.upgraded")
    ));
}

/// The app's own auth extractor: the subscriber's email from a bearer token.
struct AuthUser {
    email: String,
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(StatusCode::UNAUTHORIZED)?;
        Ok(AuthUser {
            email: token.to_owned(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_auth_extractor_names_the_subscriber_and_failed_requests_look_nobody_up() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = client_for(&emulator).build().unwrap();
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = BentoLayer::new(client.clone())
        .identify_from((), {
            let lookups = lookups.clone();
            move |user: &AuthUser| {
                let (email, lookups) = (user.email.clone(), lookups.clone());
                async move {
                    lookups.fetch_add(1, Ordering::SeqCst);
                    Some(email)
                }
            }
        })
        .deliver_on_success();
    let url = serve(routes().layer(layer.clone())).await;
    let http = http();
    let status = http
        .post(format!("{url}/upgrade"))
        .bearer_auth("ada@example.com")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    // A server error discards the request's events: nobody is looked up.
    let status = http
        .post(format!("{url}/fail"))
        .bearer_auth("bob@example.com")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 500);
    // No token: the extractor rejects, the request is anonymous.
    let status = http
        .post(format!("{url}/upgrade"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(upgrades_for(&emulator, "ada@example.com"), 3);
    assert_eq!(upgrades_for(&emulator, "bob@example.com"), 0);
    assert_eq!(lookups.load(Ordering::SeqCst), 1);
    assert_eq!(layer.discarded(), 1, "the failed request's event");
    assert_eq!(client.stats().refused, 3, "the anonymous request's events");
}
