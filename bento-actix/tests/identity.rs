//! The request's subscriber from the app's own auth: an async lookup, or
//! the app's auth extractor, with the lookup run at most once per request
//! and only when the request needs its subscriber; events tracked before it
//! answers wait for it. A real `HttpServer` on 127.0.0.1:0 against the
//! emulator: the same scenario as `bento-axum`'s `tests/identity.rs`.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::{App, FromRequest, HttpRequest, HttpResponse, HttpServer, web};
use bento_actix::{Bento, BentoMiddleware};
use bento_core::{FailureReason, TrackError};
use bento_emulator::Emulator;
use bento_tests::{Upgraded, client_for};

fn http() -> reqwest::Client {
    bento_tests::install_tls();
    reqwest::Client::new()
}

/// The app's routes: events without an email, nothing, an HTML page, and a
/// handler that asks whom the request is about.
fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/upgrade",
            web::post().to(|bento: Bento| async move {
                for _ in 0..3 {
                    bento.track(&Upgraded { plan: "team" })?;
                }
                Ok::<_, bento_actix::TrackRejection>(HttpResponse::Ok().finish())
            }),
        )
        .route(
            "/noop",
            web::post().to(|| async { HttpResponse::Ok().finish() }),
        )
        .route(
            "/page",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body("<h1>Pricing</h1>")
            }),
        )
        .route(
            "/whoami",
            web::post().to(|bento: Bento| async move {
                let first = bento.resolve_identity().await;
                let again = bento.resolve_identity().await;
                assert_eq!(first, again);
                bento.track(&Upgraded { plan: "pro" })?;
                Ok::<_, bento_actix::TrackRejection>(
                    first.map(|e| e.to_string()).unwrap_or_default(),
                )
            }),
        )
        .route(
            "/fail",
            web::post().to(|bento: Bento| async move {
                bento.track(&Upgraded { plan: "team" }).unwrap();
                HttpResponse::InternalServerError().finish()
            }),
        );
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

/// Serves `middleware` and `routes` on a free port, on actix's runtime.
fn serve(middleware: BentoMiddleware) -> (String, actix_web::dev::ServerHandle) {
    let server = HttpServer::new(move || App::new().wrap(middleware.clone()).configure(routes))
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
    let url = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (url, handle)
}

#[test]
fn an_async_lookup_runs_once_and_only_for_requests_that_need_it() {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
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
    let middleware = BentoMiddleware::new(client.clone())
        .identify_async({
            let (users, lookups) = (users(), lookups.clone());
            move |request: &ServiceRequest| {
                let id = request
                    .headers()
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
    actix_web::rt::System::new().block_on(async {
        let (url, handle) = serve(middleware);
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
        assert_eq!(send("POST", "/upgrade", "99").await.unwrap().status(), 200);
        assert_eq!(lookups.load(Ordering::SeqCst), 4);
        handle.stop(true).await;
        client.flush(Duration::from_secs(10)).await.unwrap();
    });
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

impl FromRequest for AuthUser {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        ready(match token {
            Some(token) => Ok(AuthUser {
                email: token.to_owned(),
            }),
            None => Err(actix_web::error::ErrorUnauthorized("sign in")),
        })
    }
}

#[test]
fn the_apps_auth_extractor_names_the_subscriber_and_failed_requests_look_nobody_up() {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    let client = client_for(&emulator).build().unwrap();
    let lookups = Arc::new(AtomicUsize::new(0));
    let middleware = BentoMiddleware::new(client.clone())
        .identify_from({
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
    actix_web::rt::System::new().block_on(async {
        let (url, handle) = serve(middleware.clone());
        let http = http();
        let status = http
            .post(format!("{url}/upgrade"))
            .bearer_auth("ada@example.com")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        let status = http
            .post(format!("{url}/fail"))
            .bearer_auth("bob@example.com")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 500);
        let status = http
            .post(format!("{url}/upgrade"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        handle.stop(true).await;
        client.flush(Duration::from_secs(10)).await.unwrap();
    });
    assert_eq!(upgrades_for(&emulator, "ada@example.com"), 3);
    assert_eq!(upgrades_for(&emulator, "bob@example.com"), 0);
    assert_eq!(lookups.load(Ordering::SeqCst), 1);
    assert_eq!(middleware.discarded(), 1, "the failed request's event");
    assert_eq!(client.stats().refused, 3, "the anonymous request's events");
}
