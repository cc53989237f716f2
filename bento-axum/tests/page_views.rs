//! Page views for every kind of app: a JSON API's answers by content type
//! on the paths it names, or every successful GET; HTML stays the default.
//! A real server against the emulator; `bento-actix`'s `tests/page_views.rs`
//! runs the same scenario.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use bento_axum::{BentoLayer, PageViews};
use bento_emulator::Emulator;
use bento_tests::client_for;
use tokio::net::TcpListener;

fn routes() -> Router {
    Router::new()
        .route(
            "/api/account",
            get(|| async { Json(serde_json::json!({"plan": "pro"})) }),
        )
        .route(
            "/api/missing",
            get(|| async { (StatusCode::NOT_FOUND, Json(serde_json::json!({}))) }),
        )
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
        .route("/page", get(|| async { Html("<h1>Pricing</h1>") }))
        .route(
            "/logo",
            get(|| async { ([("content-type", "image/png")], vec![0u8; 4]) }),
        )
}

/// The paths Bento got a `$view` for, after each path was requested once,
/// signed in, under `rule`.
async fn views(rule: Option<PageViews>) -> Vec<String> {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = client_for(&emulator).build().unwrap();
    let layer = BentoLayer::new(client.clone()).identify(|_| Some("ada@example.com".into()));
    let layer = match rule {
        Some(rule) => layer.track_page_views_with(rule),
        None => layer.track_page_views(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, routes().layer(layer)).await.unwrap() });
    bento_tests::install_tls();
    let http = reqwest::Client::new();
    for path in ["/api/account", "/api/missing", "/health", "/page", "/logo"] {
        http.get(format!("{url}{path}")).send().await.unwrap();
    }
    client.flush(Duration::from_secs(10)).await.unwrap();
    let mut paths: Vec<String> = emulator
        .events()
        .into_iter()
        .filter(|e| e.event_type == "$view")
        .map(|e| e.details["path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_pages_by_default() {
    assert_eq!(views(None).await, ["/page"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_api_counts_its_json_answers_on_the_paths_it_names() {
    let rule = PageViews::content_types(["application/json"]).paths(|p| p.starts_with("/api/"));
    assert_eq!(
        views(Some(rule)).await,
        ["/api/account"],
        "not the 404, not /health"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_successful_get_whatever_it_answers() {
    assert_eq!(
        views(Some(PageViews::every_get())).await,
        ["/api/account", "/health", "/logo", "/page"]
    );
}
