//! Durable delivery: an axum + sqlx app whose signup inserts the user and
//! writes the `account.signup` event in one database transaction, through
//! the outbox. A signup that fails (a duplicate email, an invalid address)
//! rolls back, and its event is never sent; one that commits is delivered,
//! even if the process dies right after the commit.
//!
//!     cargo run --example outbox_app              # drives a few signups, prints what Bento received
//!     cargo run --example outbox_app -- --serve   # keeps serving on 127.0.0.1:3000 for curl
//!
//! With `DATABASE_URL` set it uses that PostgreSQL database
//! (`bento_outbox::postgres::Outbox`); otherwise a SQLite file, embedded,
//! nothing to install (`bento_outbox::sqlite::Outbox`; `BENTO_DEMO_DB`
//! names the file, by default one in the temporary directory, started
//! afresh). With no `BENTO_*` variables it sends to the in-process emulator,
//! like the other demos.
//!
//!     DATABASE_URL=postgres://user@localhost/app cargo run --example outbox_app

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use bento_core::{Client, Event};
use bento_examples::{axum_demo, demo};
use bento_outbox::OutboxError;
use serde::Deserialize;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

/// The app's database: PostgreSQL or SQLite, each with its outbox.
#[derive(Clone)]
enum AppState {
    Postgres(PgPool, bento_outbox::postgres::Outbox),
    Sqlite(SqlitePool, bento_outbox::sqlite::Outbox),
}

#[derive(Deserialize)]
struct Signup {
    email: String,
    first_name: String,
    plan: String,
}

type Refusal = (StatusCode, String);

fn failed(status: StatusCode) -> impl Fn(sqlx::Error) -> Refusal {
    move |e: sqlx::Error| (status, e.to_string())
}

fn refused(error: OutboxError) -> Refusal {
    match error {
        OutboxError::Invalid(error) => (StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
        // The program's mistakes and database failures are logged; their
        // text is not for the user.
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "something went wrong on our side".to_owned(),
        ),
    }
}

fn signup_event(form: &Signup) -> Event {
    Event::new("account.signup", &form.email)
        .field("first_name", &form.first_name)
        .detail("plan", &form.plan)
}

const INSERT_USER: &str = "INSERT INTO users (email, first_name, plan) VALUES ($1, $2, $3)
     ON CONFLICT (email) DO NOTHING RETURNING id";

/// The user and the event are committed together, or neither is. Dropping
/// an uncommitted `tx` rolls it back: no user, no event.
async fn signup(
    State(app): State<AppState>,
    Json(form): Json<Signup>,
) -> Result<StatusCode, Refusal> {
    let conflict = || (StatusCode::CONFLICT, "already signed up".to_owned());
    match app {
        AppState::Postgres(pool, outbox) => {
            let mut tx = pool
                .begin()
                .await
                .map_err(failed(StatusCode::SERVICE_UNAVAILABLE))?;
            let created: Option<i64> = sqlx::query_scalar(INSERT_USER)
                .bind(&form.email)
                .bind(&form.first_name)
                .bind(&form.plan)
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed(StatusCode::INTERNAL_SERVER_ERROR))?;
            created.ok_or_else(conflict)?;
            outbox
                .track(&mut tx, &signup_event(&form))
                .await
                .map_err(refused)?;
            tx.commit()
                .await
                .map_err(failed(StatusCode::SERVICE_UNAVAILABLE))?;
        }
        AppState::Sqlite(pool, outbox) => {
            let mut tx = pool
                .begin()
                .await
                .map_err(failed(StatusCode::SERVICE_UNAVAILABLE))?;
            let created: Option<i64> = sqlx::query_scalar(INSERT_USER)
                .bind(&form.email)
                .bind(&form.first_name)
                .bind(&form.plan)
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed(StatusCode::INTERNAL_SERVER_ERROR))?;
            created.ok_or_else(conflict)?;
            outbox
                .track(&mut tx, &signup_event(&form))
                .await
                .map_err(refused)?;
            tx.commit()
                .await
                .map_err(failed(StatusCode::SERVICE_UNAVAILABLE))?;
        }
    }
    Ok(StatusCode::CREATED)
}

/// The database `DATABASE_URL` names (PostgreSQL), or a SQLite file.
async fn open() -> Result<AppState, Box<dyn std::error::Error>> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
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
        println!("Using the PostgreSQL database in DATABASE_URL");
        let outbox = bento_outbox::postgres::Outbox::new(pool.clone());
        outbox.migrate().await?;
        return Ok(AppState::Postgres(pool, outbox));
    }
    let file = match std::env::var_os("BENTO_DEMO_DB") {
        Some(file) => std::path::PathBuf::from(file),
        None => {
            let file =
                std::env::temp_dir().join(format!("bento-outbox-demo-{}.db", std::process::id()));
            let _ = std::fs::remove_file(&file);
            file
        }
    };
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            email TEXT NOT NULL UNIQUE,
            first_name TEXT NOT NULL,
            plan TEXT NOT NULL
        )",
    )
    .execute(&pool)
    .await?;
    println!(
        "No DATABASE_URL set: using the SQLite file {}",
        file.display()
    );
    let outbox =
        bento_outbox::sqlite::Outbox::new(pool.clone()).poll_interval(Duration::from_millis(100));
    outbox.migrate().await?;
    Ok(AppState::Sqlite(pool, outbox))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve_forever = std::env::args().any(|a| a == "--serve");
    let state = open().await?;

    // Every instance of the app builds its client with the outbox; one of
    // them at a time relays the table into Bento.
    let (builder, emulator) = demo::builder("bento-outbox-demo")?;
    let builder = match &state {
        AppState::Postgres(_, outbox) => builder.outbox(outbox.clone()),
        AppState::Sqlite(_, outbox) => builder.outbox(outbox.clone()),
    };
    let client: Client = builder.build()?;

    let app = Router::new()
        .route("/signup", post(signup))
        .with_state(state.clone());
    let (listener, url) = axum_demo::listen(serve_forever).await?;
    let server = bento_axum::serve(listener, app, client);

    let served = if serve_forever {
        server.await
    } else {
        let (done, stop) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(
            server
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .into_future(),
        );
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
        match &state {
            AppState::Postgres(_, outbox) => outbox.wait_drained(Duration::from_secs(10)).await?,
            AppState::Sqlite(_, outbox) => outbox.wait_drained(Duration::from_secs(10)).await?,
        }
        let _ = done.send(());
        running.await?
    };
    served?;
    let (sent, dead) = match &state {
        AppState::Postgres(_, outbox) => (
            outbox.relay_stats().sent,
            outbox.dead_letters(100).await?.len(),
        ),
        AppState::Sqlite(_, outbox) => (
            outbox.relay_stats().sent,
            outbox.dead_letters(100).await?.len(),
        ),
    };
    println!(
        "\nRelayed {sent} events to Bento; {} still in the outbox table, {dead} dead letters.",
        pending(&state).await?,
    );
    if let Some(emulator) = emulator {
        for event in emulator.events() {
            println!("  Bento received {} for {}", event.event_type, event.email);
        }
    }
    Ok(())
}

async fn pending(state: &AppState) -> Result<u64, OutboxError> {
    match state {
        AppState::Postgres(_, outbox) => outbox.pending().await,
        AppState::Sqlite(_, outbox) => outbox.pending().await,
    }
}
