//! The demo: an axum app (signup, purchase with a cart, subscriber import)
//! that tracks derived events through `bento-axum` while it serves.
//!
//! With no `BENTO_*` variables set it starts the Bento emulator in-process;
//! with `BENTO_PUBLISHABLE_KEY`, `BENTO_SECRET_KEY` and `BENTO_SITE_UUID` set
//! it talks to your Bento account.
//!
//!     cargo run --example axum_app              # drives a few requests, shuts down, prints what Bento received
//!     cargo run --example axum_app -- --serve   # keeps serving on 127.0.0.1:3000 for curl
//!
//! Shutdown is graceful: the server stops taking requests, finishes the ones
//! in flight, then `client.shutdown` delivers every queued event.

use std::time::Duration;

use axum::Router;
use axum::extract::Json;
use axum::http::StatusCode;
use axum::routing::{get, post};
use bento_axum::{Bento, BentoLayer};
use bento_core::{BentoEvent, BentoSubscriber, Client, TrackError};
use bento_emulator::Emulator;
use serde::{Deserialize, Serialize};

/// `POST /signup` body.
#[derive(Deserialize)]
struct SignupForm {
    email: String,
    first_name: String,
    plan: String,
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup<'a> {
    email: &'a str,
    #[bento(field)]
    first_name: &'a str,
    #[bento(field)]
    plan: &'a str,
}

#[derive(Deserialize, Serialize)]
struct Item {
    product_sku: String,
    product_name: String,
    quantity: u32,
    price: u64,
}

/// `POST /purchase` body.
#[derive(Deserialize)]
struct Order {
    email: String,
    order_id: String,
    currency: String,
    items: Vec<Item>,
}

#[derive(Serialize)]
struct Money<'a> {
    currency: &'a str,
    amount: u64,
}

#[derive(Serialize)]
struct Cart<'a> {
    items: &'a [Item],
}

#[derive(BentoEvent)]
#[bento(event = "$purchase")]
struct Purchase<'a> {
    email: &'a str,
    #[bento(unique)]
    order_id: &'a str,
    value: Money<'a>,
    cart: Cart<'a>,
}

/// `POST /import` body: one record per subscriber.
#[derive(Deserialize, BentoSubscriber)]
struct Member {
    email: String,
    first_name: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    company: Option<String>,
}

async fn signup(
    bento: Bento,
    Json(form): Json<SignupForm>,
) -> Result<StatusCode, (StatusCode, String)> {
    let event = Signup {
        email: &form.email,
        first_name: &form.first_name,
        plan: &form.plan,
    };
    bento.track(&event).map_err(unprocessable)?;
    // Accounts for "fail@..." fail after the event was tracked: with
    // `deliver_on_success`, Bento never hears of this signup.
    if form.email.starts_with("fail@") {
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "database unavailable".into(),
        ));
    }
    Ok(StatusCode::CREATED)
}

async fn purchase(
    bento: Bento,
    Json(order): Json<Order>,
) -> Result<StatusCode, (StatusCode, String)> {
    let amount = order
        .items
        .iter()
        .map(|i| i.price * u64::from(i.quantity))
        .sum();
    let event = Purchase {
        email: &order.email,
        order_id: &order.order_id,
        value: Money {
            currency: &order.currency,
            amount,
        },
        cart: Cart {
            items: &order.items,
        },
    };
    bento.track(&event).map_err(unprocessable)?;
    Ok(StatusCode::CREATED)
}

async fn import(
    bento: Bento,
    Json(members): Json<Vec<Member>>,
) -> Result<StatusCode, (StatusCode, String)> {
    bento
        .client()
        .enqueue_subscribers(&members)
        .map_err(unprocessable)?;
    Ok(StatusCode::ACCEPTED)
}

fn unprocessable(error: TrackError) -> (StatusCode, String) {
    let status = match error {
        TrackError::Invalid(_) | TrackError::TooLarge { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, error.to_string())
}

fn app(layer: BentoLayer) -> Router {
    Router::new()
        .route("/signup", post(signup))
        .route("/purchase", post(purchase))
        .route("/import", post(import))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve_forever = std::env::args().any(|a| a == "--serve");
    let emulator = if std::env::var_os(bento_core::env::SECRET_KEY).is_some() {
        None
    } else {
        Some(Emulator::start().await?)
    };
    let client = match &emulator {
        None => bento_core::ClientBuilder::from_env()?
            .app_name("bento-axum-demo")
            .build()?,
        Some(emulator) => {
            println!(
                "No BENTO_* variables set: using the in-process emulator at {}",
                emulator.base_url()
            );
            Client::builder()
                .base_url(emulator.base_url())
                .publishable_key(emulator.publishable_key())
                .secret_key(emulator.secret_key())
                .site_uuid(emulator.site_uuid())
                .app_name("bento-axum-demo")
                .build()?
        }
    };

    let layer = BentoLayer::new(client.clone()).deliver_on_success();
    let address = if serve_forever {
        "127.0.0.1:3000"
    } else {
        "127.0.0.1:0"
    };
    let listener = tokio::net::TcpListener::bind(address).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("Serving on {url}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app(layer.clone()))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );

    if serve_forever {
        println!(
            "Try:\n  curl -X POST {url}/signup -H 'content-type: application/json' \\\n    -d '{{\"email\":\"ada@example.com\",\"first_name\":\"Ada\",\"plan\":\"pro\"}}'"
        );
        println!("Ctrl-C stops the server and delivers what is queued.");
        tokio::signal::ctrl_c().await?;
    } else {
        drive(&url).await?;
    }

    // Graceful: stop taking requests, finish those in flight, then deliver.
    let _ = stop.send(());
    server.await??;
    let report = client.shutdown(Duration::from_secs(10)).await?;
    println!(
        "\nDelivered {} items to Bento ({} retried, {} failed); held back {} event(s) of failed requests.",
        report.stats.sent,
        report.stats.retried,
        report.stats.failed,
        layer.discarded()
    );

    if let Some(emulator) = &emulator {
        println!("\nWhat Bento received:");
        for event in emulator.events() {
            println!(
                "  event  {:<16} {:<22} fields {} details {}",
                event.event_type,
                event.email,
                serde_json::Value::Object(event.fields.clone()),
                serde_json::Value::Object(event.details.clone()),
            );
        }
        for person in emulator.subscribers() {
            println!(
                "  person {:<22} tags {:?} fields {}",
                person.email,
                person.tags,
                serde_json::Value::Object(person.fields)
            );
        }
    }
    Ok(())
}

/// A few requests through the running app, as a browser or an API client would send them.
async fn drive(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let requests: [(&str, serde_json::Value); 5] = [
        (
            "/signup",
            serde_json::json!({"email": "ada@example.com", "first_name": "Ada", "plan": "pro"}),
        ),
        (
            "/signup",
            serde_json::json!({"email": "fail@example.com", "first_name": "Bob", "plan": "free"}),
        ),
        (
            "/signup",
            serde_json::json!({"email": "not-an-email", "first_name": "Cy", "plan": "free"}),
        ),
        (
            "/purchase",
            serde_json::json!({
                "email": "ada@example.com", "order_id": "ord_1001", "currency": "USD",
                "items": [
                    {"product_sku": "MUG-1", "product_name": "Engine Mug", "quantity": 2, "price": 1500},
                    {"product_sku": "TEA-7", "product_name": "Earl Grey", "quantity": 1, "price": 2000},
                    {"product_sku": "SPN-3", "product_name": "Brass Spoon", "quantity": 4, "price": 750}
                ]
            }),
        ),
        (
            "/import",
            serde_json::json!([
                {"email": "grace@example.com", "first_name": "Grace", "tags": ["lead", "newsletter"]},
                {"email": "alan@example.com", "company": "Bletchley"}
            ]),
        ),
    ];
    for (path, body) in requests {
        let response = http
            .post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body)?)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        println!("POST {path:<9} -> {status} {text}");
    }
    Ok(())
}
