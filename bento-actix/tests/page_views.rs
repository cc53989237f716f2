//! Page views for every kind of app: a JSON API's answers by content type
//! on the paths it names, or every successful GET; HTML stays the default.
//! A real `HttpServer` against the emulator: the same scenario as
//! `bento-axum`'s `tests/page_views.rs`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use bento_actix::{BentoMiddleware, PageViews};
use bento_emulator::Emulator;
use bento_tests::client_for;

fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/api/account",
            web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"plan": "pro"})) }),
        )
        .route(
            "/api/missing",
            web::get().to(|| async { HttpResponse::NotFound().json(serde_json::json!({})) }),
        )
        .route(
            "/health",
            web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"ok": true})) }),
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
            "/logo",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("image/png")
                    .body(vec![0u8; 4])
            }),
        );
}

/// The paths Bento got a `$view` for, after each path was requested once,
/// signed in, under `rule`.
fn views(rule: Option<PageViews>) -> Vec<String> {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    let client = client_for(&emulator).build().unwrap();
    let middleware =
        BentoMiddleware::new(client.clone()).identify(|_| Some("ada@example.com".into()));
    let middleware = match rule {
        Some(rule) => middleware.track_page_views_with(rule),
        None => middleware.track_page_views(),
    };
    actix_web::rt::System::new().block_on(async {
        let server = HttpServer::new(move || App::new().wrap(middleware.clone()).configure(routes))
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
        let url = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        bento_tests::install_tls();
        let http = reqwest::Client::new();
        for path in ["/api/account", "/api/missing", "/health", "/page", "/logo"] {
            http.get(format!("{url}{path}")).send().await.unwrap();
        }
        handle.stop(true).await;
        client.flush(Duration::from_secs(10)).await.unwrap();
    });
    let mut paths: Vec<String> = emulator
        .events()
        .into_iter()
        .filter(|e| e.event_type == "$view")
        .map(|e| e.details["path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    paths
}

#[test]
fn html_pages_by_default() {
    assert_eq!(views(None), ["/page"]);
}

#[test]
fn a_json_api_counts_its_json_answers_on_the_paths_it_names() {
    let rule = PageViews::content_types(["application/json"]).paths(|p| p.starts_with("/api/"));
    assert_eq!(
        views(Some(rule)),
        ["/api/account"],
        "not the 404, not /health"
    );
}

#[test]
fn every_successful_get_whatever_it_answers() {
    assert_eq!(
        views(Some(PageViews::every_get())),
        ["/api/account", "/health", "/logo", "/page"]
    );
}
