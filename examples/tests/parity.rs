//! Parity between the frameworks: the axum and actix-web demo apps are
//! driven with the same requests, each against its own emulator, and must
//! answer the same and make Bento receive the same events and subscribers.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use actix_web::{App, HttpServer};
use bento_emulator::Emulator;
use bento_examples::{actix_demo, axum_demo, demo};
use bento_tests::emulator_and_client_blocking;
use serde_json::{Value, json};

/// What Bento received, in a comparable form (times of receipt left out).
fn received(emulator: &Emulator) -> Value {
    // Sorted: requests' events travel in batches that may land in either order.
    let mut events: Vec<Value> = emulator
        .events()
        .into_iter()
        .map(|e| json!([e.event_type, e.email, e.fields, e.details, e.date]))
        .collect();
    events.sort_by_key(|e| e.to_string());
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
        let layer = axum_demo::layer(client.clone());
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
        let middleware = actix_demo::middleware(client.clone());
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
    assert_eq!(
        axum.0,
        vec![201, 500, 422, 201, 202, 200, 200, 401, 202],
        "axum's answers"
    );
    assert_eq!(axum.0, actix.0, "same answers");
    assert_eq!(axum.1, actix.1, "same events and subscribers at Bento");
    assert_eq!(axum.2, 1, "the failed signup's event was held back");
    assert_eq!(axum.2, actix.2, "same delivery policy");
    // And the data is what the demo means to send.
    let events = axum.1["events"].as_array().unwrap();
    let mut types: Vec<&str> = events.iter().map(|e| e[0].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(
        types,
        ["$purchase", "$view", "account.signup", "plan.upgraded"]
    );
    let of_type = |t: &str| events.iter().find(|e| e[0] == t).unwrap();
    assert_eq!(
        of_type("$purchase")[3]["value"],
        json!({"currency": "USD", "amount": 8000})
    );
    let view = of_type("$view");
    assert_eq!(view[1], "ada@example.com", "the view is the visitor's");
    assert_eq!(view[3], json!({"path": "/pricing"}));
    let upgrade = of_type("plan.upgraded");
    assert_eq!(
        upgrade[1], "ada@example.com",
        "the upgrade is the visitor's"
    );
    assert_eq!(upgrade[2], json!({"plan": "team"}));
    let people = axum.1["subscribers"].as_array().unwrap();
    assert_eq!(people.len(), 3);
    let ada = people.iter().find(|p| p[0] == "ada@example.com").unwrap();
    assert_eq!(ada[2], json!(["newsletter"]), "the queued command applied");
    assert_eq!(
        bento_examples::app::EVENT_TYPES,
        ["account.signup", "$purchase"]
    );
}
