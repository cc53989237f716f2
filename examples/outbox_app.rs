//! Durable delivery: an axum + sqlx app whose signup inserts the user and
//! writes the `account.signup` event in one PostgreSQL transaction, through
//! the outbox. A signup that fails (a duplicate email, an invalid address)
//! rolls back, and its event is never sent; one that commits is delivered,
//! even if the process dies right after the commit.
//!
//!     cargo run --example outbox_app              # drives a few signups, prints what Bento received
//!     cargo run --example outbox_app -- --serve   # keeps serving on 127.0.0.1:3000 for curl
//!
//! With `DATABASE_URL` set it uses that database; otherwise it starts a
//! throwaway PostgreSQL from the Debian `postgresql` package (as the tests
//! do) and removes it at exit. With no `BENTO_*` variables it sends to the
//! in-process emulator, like the other demos.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use bento_core::{Client, Event};
use bento_examples::{axum_demo, demo};
use bento_outbox::OutboxError;
use bento_outbox::postgres::Outbox;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

#[derive(Clone)]
struct AppState {
    pool: PgPool,
    outbox: Outbox,
}

#[derive(Deserialize)]
struct Signup {
    email: String,
    first_name: String,
    plan: String,
}

/// The user and the event are committed together, or neither is.
async fn signup(
    State(app): State<AppState>,
    Json(form): Json<Signup>,
) -> Result<StatusCode, (StatusCode, String)> {
    let failed = |status: StatusCode| move |e: sqlx::Error| (status, e.to_string());
    let mut tx = app
        .pool
        .begin()
        .await
        .map_err(failed(StatusCode::SERVICE_UNAVAILABLE))?;
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, first_name, plan) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(&form.email)
    .bind(&form.first_name)
    .bind(&form.plan)
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed(StatusCode::INTERNAL_SERVER_ERROR))?;
    if created.is_none() {
        // Dropping `tx` rolls back: no user, no event.
        return Err((StatusCode::CONFLICT, "already signed up".into()));
    }
    let event = Event::new("account.signup", &form.email)
        .field("first_name", &form.first_name)
        .detail("plan", &form.plan);
    match app.outbox.track(&mut tx, &event).await {
        Ok(()) => {}
        Err(OutboxError::Invalid(error)) => {
            return Err((StatusCode::UNPROCESSABLE_ENTITY, error.to_string()));
        }
        Err(error) => return Err((StatusCode::INTERNAL_SERVER_ERROR, error.to_string())),
    }
    tx.commit()
        .await
        .map_err(failed(StatusCode::SERVICE_UNAVAILABLE))?;
    Ok(StatusCode::CREATED)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve_forever = std::env::args().any(|a| a == "--serve");
    // A throwaway server unless DATABASE_URL names one; dropped (stopped and
    // deleted) at the end of main.
    let (url, _throwaway) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            if !std::path::Path::new("/usr/lib/postgresql").exists() {
                eprintln!(
                    "Set DATABASE_URL, or install PostgreSQL (`apt-get install postgresql`) for a throwaway server."
                );
                std::process::exit(2);
            }
            let server = bento_tests::postgres::Postgres::start();
            println!(
                "No DATABASE_URL set: started a throwaway PostgreSQL at {}",
                server.url()
            );
            (server.url(), Some(server))
        }
    };
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS users (
            id bigserial PRIMARY KEY,
            email text NOT NULL UNIQUE,
            first_name text NOT NULL,
            plan text NOT NULL
        )",
    )
    .execute(&pool)
    .await?;
    let outbox = Outbox::new(pool.clone());
    outbox.migrate().await?;

    // Every instance of the app builds its client with the outbox; one of
    // them at a time relays the table into Bento.
    let (builder, emulator) = demo::builder("bento-outbox-demo")?;
    let client: Client = builder.outbox(outbox.clone()).build()?;

    let app = Router::new()
        .route("/signup", post(signup))
        .with_state(AppState {
            pool: pool.clone(),
            outbox: outbox.clone(),
        });
    let server = axum_demo::serve(app, serve_forever).await?;
    let url = server.url.clone();

    if serve_forever {
        demo::shutdown_signal().await;
    } else {
        let http = demo::http();
        for (email, expected) in [
            ("ada@example.com", "201 Created: user and event committed"),
            ("ada@example.com", "409 Conflict: rolled back, no event"),
            (
                "not-an-email",
                "422 Unprocessable Entity: rolled back, nothing written",
            ),
            ("grace@example.com", "201 Created: user and event committed"),
        ] {
            let response = http
                .post(format!("{url}/signup"))
                .json(&json!({"email": email, "first_name": "Ada", "plan": "pro"}))
                .send()
                .await?;
            println!(
                "POST /signup {email:<20} -> {} (expected {expected})",
                response.status()
            );
        }
        // The relay delivers within the flush interval of the commit.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while outbox.pending().await? > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    server.stop().await?;
    client.shutdown(Duration::from_secs(10)).await?;
    let stats = outbox.relay_stats();
    println!(
        "\nRelayed {} events to Bento; {} still in the outbox table, {} dead letters.",
        stats.sent,
        outbox.pending().await?,
        outbox.dead_letters(100).await?.len()
    );
    if let Some(emulator) = emulator {
        for event in emulator.events() {
            println!("  Bento received {} for {}", event.event_type, event.email);
        }
    }
    Ok(())
}
