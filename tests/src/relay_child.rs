//! The body of a process that relays a PostgreSQL or SQLite outbox into
//! Bento, for the outbox tests, which start several, kill them with real
//! signals and watch them take over from each other. The process is the
//! test binary itself, re-run for one ignored test (see [`RelayProcess`](super::RelayProcess)),
//! so the suites can live in bento-outbox without a binary target there.
//!
//! Reads `DATABASE_URL` (or `RELAY_SQLITE`, a SQLite file) and the `BENTO_*` variables; `RELAY_FLUSH_MS`,
//! `RELAY_REQUESTS` and `RELAY_WINDOW_MS` (the client's batch pacing) and
//! `RELAY_TAKEOVER_MS` tune it. Prints its relay counters as one line every
//! 50 ms; stops gracefully on SIGTERM. With `RELAY_MODE=writer` (and
//! `RELAY_SQLITE`) it relays nothing and writes instead, as another busy
//! process of the application would: short write transactions into a table
//! of its own, back to back, their count printed as `writes=`.

use std::io::Write;
use std::time::Duration;

use bento_core::{Client, EndpointFamily, RateLimit, RateLimits};
use bento_outbox::postgres::Outbox;
use sqlx::postgres::PgPoolOptions;

enum Store {
    Postgres(Outbox),
    Sqlite(bento_outbox::sqlite::Outbox),
}

fn var(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs the relay until SIGTERM. Called by the ignored test each outbox suite
/// declares, when [`RelayProcess`](super::RelayProcess) re-runs the test binary for it.
///
/// # Panics
///
/// When the process was not started by [`RelayProcess`](super::RelayProcess) (no
/// `BENTO_RELAY_CHILD`), or the relay fails.
pub fn main() {
    assert!(
        std::env::var_os(super::CHILD).is_some(),
        "the relay child runs only when RelayProcess starts it ({} is unset)",
        super::CHILD
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            if std::env::var("RELAY_MODE").as_deref() == Ok("writer") {
                write().await
            } else {
                relay().await
            }
        })
        .expect("the relay runs until SIGTERM and shuts down");
}

#[allow(clippy::print_stdout)]
async fn relay() -> Result<(), Box<dyn std::error::Error>> {
    let takeover = Duration::from_millis(var("RELAY_TAKEOVER_MS").unwrap_or(200));
    let (store, stats): (Store, Box<dyn Fn() -> bento_outbox::RelayStats>) =
        match std::env::var("RELAY_SQLITE") {
            Ok(file) => {
                let pool = crate::sqlite::pool(std::path::Path::new(&file)).await?;
                let outbox = bento_outbox::sqlite::Outbox::new(pool)
                    .takeover_interval(takeover)
                    .lease(Duration::from_millis(var("RELAY_LEASE_MS").unwrap_or(1000)))
                    .poll_interval(Duration::from_millis(100));
                outbox.migrate().await?;
                let handle = outbox.clone();
                (
                    Store::Sqlite(outbox),
                    Box::new(move || handle.relay_stats()),
                )
            }
            Err(_) => {
                let url = std::env::var("DATABASE_URL")?;
                let pool = PgPoolOptions::new()
                    .max_connections(2)
                    .connect(&url)
                    .await?;
                let outbox = Outbox::new(pool)
                    .takeover_interval(takeover)
                    .poll_interval(Duration::from_millis(500));
                outbox.migrate().await?;
                let handle = outbox.clone();
                (
                    Store::Postgres(outbox),
                    Box::new(move || handle.relay_stats()),
                )
            }
        };
    let mut limits = RateLimits::unlimited();
    if let (Some(requests), Some(window)) = (var("RELAY_REQUESTS"), var("RELAY_WINDOW_MS")) {
        limits = limits.set(
            EndpointFamily::Batch,
            RateLimit::new(requests as u32, Duration::from_millis(window)),
        );
    }
    let builder = Client::builder()
        .base_url(std::env::var("BENTO_BASE_URL")?)
        .publishable_key(std::env::var("BENTO_PUBLISHABLE_KEY")?)
        .secret_key(std::env::var("BENTO_SECRET_KEY")?)
        .site_uuid(std::env::var("BENTO_SITE_UUID")?)
        .rate_limits(limits)
        .flush_interval(Duration::from_millis(var("RELAY_FLUSH_MS").unwrap_or(20)));
    let client = match store {
        Store::Postgres(outbox) => builder.outbox(outbox),
        Store::Sqlite(outbox) => builder.outbox(outbox),
    }
    .build()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let s = stats();
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "leader={} takeovers={} sent={} retried={} possible_duplicates={} failed={}",
                    u8::from(s.leader), s.takeovers, s.sent, s.retried, s.possible_duplicates, s.failed
                )?;
                out.flush()?;
            }
            _ = term.recv() => break,
        }
    }
    client.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

/// Writes back to back until SIGTERM: each transaction takes the write lock
/// and inserts a few rows.
#[allow(clippy::print_stdout)]
async fn write() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::var("RELAY_SQLITE")?;
    let pool = crate::sqlite::pool(std::path::Path::new(&file)).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS app_writes (n INTEGER NOT NULL, at REAL)")
        .execute(&pool)
        .await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut writes = 0u64;
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = ticker.tick() => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "leader=0 writes={writes}")?;
                out.flush()?;
            }
            written = async {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                for n in 0..5 {
                    sqlx::query("INSERT INTO app_writes (n, at) VALUES (?1, julianday('now'))")
                        .bind(n)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            } => {
                written?;
                writes += 1;
            }
        }
    }
    Ok(())
}
