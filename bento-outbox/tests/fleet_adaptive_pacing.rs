//! Pacing that holds however Bento counts, across a fleet: two clients,
//! each its own process's pacer, share one durable store with fleet pacing
//! of direct calls (SQLite, then
//! PostgreSQL). Bento allows 60 requests a window where both assume 100.
//! The first sends alone and meets the limit: the 429 lowers the *fleet's*
//! rate to what the fleet had sent. The second joins three windows later,
//! never having seen a 429, and paces to the fleet's rate all the same: a
//! handful of 429s in the first window, none after (none when the second
//! joins), and at least 90% of Bento's capacity used by the two together.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::time::Duration;

use bento_core::{Client, EndpointFamily, RateLimit, RateLimits};
use bento_emulator::{Emulator, Family, Limit};
use bento_tests::arrivals::{Seen, fetch_tags_for};

const WINDOW: Duration = Duration::from_secs(2);
const CALLERS: usize = 4;

async fn emulator() -> Emulator {
    Emulator::builder()
        .no_rate_limits()
        .rate_limit(Family::Fetch, Limit::new(60, WINDOW))
        .start()
        .await
        .unwrap()
}

fn builder(emulator: &Emulator) -> bento_core::ClientBuilder {
    bento_tests::client_for(emulator).rate_limits(
        RateLimits::unlimited().set(EndpointFamily::Fetch, RateLimit::new(100, WINDOW)),
    )
}

async fn two_processes_at_once(emulator: &Emulator, a: Client, b: Client) {
    tokio::join!(fetch_tags_for(&a, CALLERS, WINDOW * 8), async {
        // When the second process starts is the scenario, not a wait for
        // something to happen.
        tokio::time::sleep(WINDOW * 3).await;
        fetch_tags_for(&b, CALLERS, WINDOW * 5).await
    });
    let seen = Seen::of(emulator, "fetch/tags", WINDOW);
    seen.report("fleet");
    seen.found_the_limit_at_once(CALLERS, 60, 2, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_sqlite_finds_a_stricter_bento_together() {
    let file = bento_tests::sqlite::SqliteFile::new("adaptive");
    let outbox = |pool| bento_outbox::sqlite::Outbox::new(pool).fleet_pacing(true);
    let first = outbox(bento_tests::sqlite::pool(&file.path()).await.unwrap());
    first.migrate().await.unwrap();
    let second = outbox(bento_tests::sqlite::pool(&file.path()).await.unwrap());
    let emulator = emulator().await;
    let a = builder(&emulator).outbox(first).build().unwrap();
    let b = builder(&emulator).outbox(second).build().unwrap();
    two_processes_at_once(&emulator, a, b).await;
    // The rate the fleet found is in the file, for every process.
    let check = bento_tests::sqlite::pool(&file.path()).await.unwrap();
    let found: i64 =
        sqlx::query_scalar("SELECT requests FROM bento_outbox_ceiling WHERE family = 'fetch'")
            .fetch_one(&check)
            .await
            .unwrap();
    assert!((54..=60).contains(&found), "the fleet paces to {found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_postgres_finds_a_stricter_bento_together() {
    let server = bento_tests::postgres::Postgres::start();
    let pool = || async {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&server.url())
            .await
            .unwrap()
    };
    let first = bento_outbox::postgres::Outbox::new(pool().await).fleet_pacing(true);
    first.migrate().await.unwrap();
    let second = bento_outbox::postgres::Outbox::new(pool().await).fleet_pacing(true);
    let emulator = emulator().await;
    let a = builder(&emulator).outbox(first).build().unwrap();
    let b = builder(&emulator).outbox(second).build().unwrap();
    two_processes_at_once(&emulator, a, b).await;
}
