//! Parity between the frameworks: the axum and actix-web demo apps are
//! driven with the same requests, each against its own emulator, and must
//! answer the same and make Bento receive the same events and subscribers.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use actix_web::{App, HttpServer};
use bento_actix::BentoMiddleware;
use bento_axum::BentoLayer;
use bento_emulator::Emulator;
use bento_examples::{actix_demo, axum_demo, demo};
use bento_tests::emulator_and_client_blocking;
use serde_json::{Value, json};

/// What Bento received, in a comparable form (times of receipt left out).
fn received(emulator: &Emulator) -> Value {
    let events: Vec<Value> = emulator
        .events()
        .into_iter()
        .map(|e| json!([e.event_type, e.email, e.fields, e.details, e.date]))
        .collect();
    let mut people: Vec<Value> = emulator
        .subscribers()
        .into_iter()
        .map(|mut s| {
            s.tags.sort();
            json!([s.email, s.fields, s.tags, s.subscribed])
        })
        .collect();
    people.sort_by_key(|p| p[0].to_string());
    json!({ "events": events, "subscribers": people })
}

fn run_axum() -> (Vec<u16>, Value, u64) {
    let (emulator, client) = emulator_and_client_blocking();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (statuses, discarded) = runtime.block_on(async {
        let layer = BentoLayer::new(client.clone()).deliver_on_success();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            axum::serve(listener, axum_demo::router(layer.clone()))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        let statuses = demo::drive(&url, false).await.unwrap();
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        client.shutdown(Duration::from_secs(10)).await.unwrap();
        (statuses, layer.discarded())
    });
    (statuses, received(&emulator), discarded)
}

fn run_actix() -> (Vec<u16>, Value, u64) {
    let (emulator, client) = emulator_and_client_blocking();
    let (statuses, discarded) = actix_web::rt::System::new().block_on(async {
        let middleware = BentoMiddleware::new(client.clone()).deliver_on_success();
        let factory = middleware.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(factory.clone())
                .configure(actix_demo::routes)
        })
        .workers(2)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let url = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        let running = actix_web::rt::spawn(server);
        let statuses = demo::drive(&url, false).await.unwrap();
        handle.stop(true).await;
        running.await.unwrap().unwrap();
        client.shutdown(Duration::from_secs(10)).await.unwrap();
        (statuses, middleware.discarded())
    });
    (statuses, received(&emulator), discarded)
}

#[test]
fn axum_and_actix_apps_send_bento_the_same_data() {
    let axum = run_axum();
    let actix = run_actix();
    assert_eq!(axum.0, vec![201, 500, 422, 201, 202], "axum's answers");
    assert_eq!(axum.0, actix.0, "same answers");
    assert_eq!(axum.1, actix.1, "same events and subscribers at Bento");
    assert_eq!(axum.2, 1, "the failed signup's event was held back");
    assert_eq!(axum.2, actix.2, "same delivery policy");
    // And the data is what the demo means to send.
    let events = axum.1["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1][3]["value"],
        json!({"currency": "USD", "amount": 8000})
    );
    assert_eq!(axum.1["subscribers"].as_array().unwrap().len(), 3);
}
