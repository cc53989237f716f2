//! `bento_actix::run`: a real `HttpServer` on 127.0.0.1:0 that stops on its
//! shutdown signal, lets the request in flight finish, and only then drains
//! the client; and says what Bento did not get. (The demo's tests stop it
//! with a real SIGTERM and SIGINT.)
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use bento_actix::{Bento, BentoMiddleware, ServeError};
use bento_core::FlushError;
use bento_emulator::Emulator;
use bento_tests::{client_for, signup_for};
use tokio::sync::{Notify, oneshot};

const SIGNUPS: usize = 12;

fn http() -> reqwest::Client {
    bento_tests::install_tls();
    reqwest::Client::new()
}

/// A server whose `/signup` tracks and whose `/slow` tracks once the test
/// lets it finish; it stops gracefully when `stopped` resolves.
fn server(
    client: &bento_core::Client,
    gates: (Arc<Notify>, Arc<Notify>),
    stopped: oneshot::Receiver<()>,
) -> (String, actix_web::dev::Server) {
    let middleware = BentoMiddleware::new(client.clone());
    let server = HttpServer::new(move || {
        let (entered, release) = gates.clone();
        App::new()
            .wrap(middleware.clone())
            .route(
                "/signup",
                web::post().to(|bento: Bento, body: String| async move {
                    bento.track(&signup_for(body.parse().unwrap()))?;
                    Ok::<_, bento_actix::TrackRejection>(HttpResponse::Created().finish())
                }),
            )
            .route(
                "/slow",
                web::post().to(move |bento: Bento| {
                    let (entered, release) = (entered.clone(), release.clone());
                    async move {
                        entered.notify_one();
                        release.notified().await;
                        bento.track(&signup_for(SIGNUPS))?;
                        Ok::<_, bento_actix::TrackRejection>(HttpResponse::Created().finish())
                    }
                }),
            )
    })
    .workers(1)
    .shutdown_signal(async {
        let _ = stopped.await;
    })
    .bind(("127.0.0.1", 0))
    .unwrap();
    let url = format!("http://{}", server.addrs()[0]);
    (url, server.run())
}

#[test]
fn run_finishes_requests_in_flight_then_delivers_everything_queued() {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    // Nothing leaves before the stop: only the drain can deliver.
    let client = client_for(&emulator)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (stop, stopped) = oneshot::channel::<()>();
    let report = actix_web::rt::System::new().block_on(async {
        let (url, server) = server(&client, (entered.clone(), release.clone()), stopped);
        let running = actix_web::rt::spawn(bento_actix::run(server, client.clone()).into_future());
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
        let slow = actix_web::rt::spawn({
            let (http, url) = (http.clone(), url.clone());
            async move { http.post(format!("{url}/slow")).send().await.unwrap() }
        });
        entered.notified().await;
        stop.send(()).unwrap();
        release.notify_one();
        assert_eq!(slow.await.unwrap().status(), 201);
        tokio::time::timeout(Duration::from_secs(30), running)
            .await
            .expect("run resolves once drained")
            .unwrap()
            .expect("everything delivered")
    });
    assert_eq!(report.stats.sent, SIGNUPS as u64 + 1);
    assert_eq!(report.stats.pending, 0);
    assert_eq!(emulator.events().len(), SIGNUPS + 1);
}

#[test]
fn with_bento_unreachable_run_says_how_many_items_were_not_delivered() {
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
    let (stop, stopped) = oneshot::channel::<()>();
    let served = actix_web::rt::System::new().block_on(async {
        let gates = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (url, server) = server(&client, gates, stopped);
        let running = actix_web::rt::spawn(
            bento_actix::run(server, client.clone())
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
        tokio::time::timeout(Duration::from_secs(30), running)
            .await
            .expect("run resolves at the drain's deadline")
            .unwrap()
    });
    match served {
        Err(ServeError::Undelivered(FlushError::Timeout { pending, .. })) => {
            assert_eq!(pending, 3);
        }
        other => panic!("expected the 3 signups undelivered, got {other:?}"),
    }
}
