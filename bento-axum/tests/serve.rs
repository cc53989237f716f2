//! `bento_axum::serve`: a real server on 127.0.0.1:0 that stops on its
//! signal, lets the request in flight finish, and only then drains the
//! client; and says what Bento did not get. (The demo's tests stop it with a
//! real SIGTERM and SIGINT.)
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use bento_axum::{Bento, BentoLayer, ServeError};
use bento_core::FlushError;
use bento_emulator::Emulator;
use bento_tests::{client_for, signup_for};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

const SIGNUPS: usize = 12;

fn http() -> reqwest::Client {
    bento_tests::install_tls();
    reqwest::Client::new()
}

/// `/signup` tracks; `/slow` tracks once the test lets it finish.
fn app(client: bento_core::Client, entered: Arc<Notify>, release: Arc<Notify>) -> Router {
    Router::new()
        .route(
            "/signup",
            post(|bento: Bento, body: String| async move {
                bento.track(&signup_for(body.parse().unwrap()))?;
                Ok::<_, bento_axum::TrackRejection>(StatusCode::CREATED)
            }),
        )
        .route(
            "/slow",
            post(move |bento: Bento| async move {
                entered.notify_one();
                release.notified().await;
                bento.track(&signup_for(SIGNUPS))?;
                Ok::<_, bento_axum::TrackRejection>(StatusCode::CREATED)
            }),
        )
        .layer(BentoLayer::new(client))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_finishes_requests_in_flight_then_delivers_everything_queued() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    // Nothing leaves before the stop: only the drain can deliver.
    let client = client_for(&emulator)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        bento_axum::serve(
            listener,
            app(client.clone(), entered.clone(), release.clone()),
            client.clone(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .into_future(),
    );
    let http = http();
    for n in 0..SIGNUPS {
        let response = http
            .post(format!("{url}/signup"))
            .body(n.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    assert_eq!(client.stats().sent, 0, "nothing delivered before the stop");
    let slow = tokio::spawn({
        let (http, url) = (http.clone(), url.clone());
        async move { http.post(format!("{url}/slow")).send().await.unwrap() }
    });
    entered.notified().await;
    stop.send(()).unwrap();
    // The server stops taking requests but waits for /slow, whose event the
    // drain then delivers too.
    release.notify_one();
    assert_eq!(slow.await.unwrap().status(), 201);
    let report = tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("serve resolves once drained")
        .unwrap()
        .expect("everything delivered");
    assert_eq!(report.stats.sent, SIGNUPS as u64 + 1);
    assert_eq!(report.stats.pending, 0);
    assert_eq!(emulator.events().len(), SIGNUPS + 1);
    assert!(
        client.track(&signup_for(99)).is_err(),
        "the client is shut down"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_bento_unreachable_serve_says_how_many_items_were_not_delivered() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = bento_core::Client::builder()
        .publishable_key("pk")
        .secret_key("sk")
        .site_uuid("site")
        .base_url(format!("http://127.0.0.1:{port}/api/v1"))
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        bento_axum::serve(
            listener,
            app(client.clone(), entered, release),
            client.clone(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .drain_timeout(Duration::from_millis(300))
        .into_future(),
    );
    let http = http();
    for n in 0..3 {
        let status = http
            .post(format!("{url}/signup"))
            .body(n.to_string())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 201);
    }
    stop.send(()).unwrap();
    let served = tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("serve resolves at the drain's deadline")
        .unwrap();
    match served {
        Err(ServeError::Undelivered(FlushError::Timeout { pending, .. })) => {
            assert_eq!(pending, 3);
        }
        other => panic!("expected the 3 signups undelivered, got {other:?}"),
    }
}
