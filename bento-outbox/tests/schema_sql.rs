//! The outbox's schema as SQL for an application's own migrations: the
//! shipped files are what `schema_sql()` generates, and applied by sqlx's
//! migrator (what `sqlx::migrate!` embeds) to a real PostgreSQL and a real
//! SQLite file, they make the outbox work with no `migrate()` at run time;
//! a `migrate()` afterwards finds nothing to do. `wait_drained` says when
//! the relay has delivered everything.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use bento_core::Event;
use bento_emulator::Emulator;
use bento_tests::postgres::Postgres;
use bento_tests::sqlite::{SqliteFile, pool};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

const FILE: &str = "20261206000000_bento_outbox.sql";

fn migrations(db: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(db)
}

/// The shipped file of `db`, rewritten from `generated` when
/// `BENTO_BLESS=1` (after a schema change).
fn shipped(db: &str, generated: &str) -> String {
    let path = migrations(db).join(FILE);
    if std::env::var_os("BENTO_BLESS").is_some() {
        std::fs::write(&path, generated).unwrap();
    }
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn the_shipped_migrations_are_the_generated_schema() {
    let postgres = bento_outbox::postgres::Outbox::schema_sql();
    assert_eq!(
        shipped("postgres", &postgres),
        postgres,
        "migrations/postgres/{FILE} is stale: rerun with BENTO_BLESS=1"
    );
    let sqlite = bento_outbox::sqlite::Outbox::schema_sql();
    assert_eq!(
        shipped("sqlite", &sqlite),
        sqlite,
        "migrations/sqlite/{FILE} is stale: rerun with BENTO_BLESS=1"
    );
}

fn client(emulator: &Emulator) -> bento_core::ClientBuilder {
    bento_tests::client_for(emulator).flush_interval(Duration::from_millis(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_works_from_the_apps_own_migrations() {
    let server = Postgres::start();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&server.url())
        .await
        .unwrap();
    Migrator::new(migrations("postgres"))
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let outbox = bento_outbox::postgres::Outbox::new(pool.clone())
        .poll_interval(Duration::from_millis(50))
        .takeover_interval(Duration::from_millis(50));
    let bento = client(&emulator).outbox(outbox.clone()).build().unwrap();
    let mut tx = pool.begin().await.unwrap();
    for n in 0..5 {
        let event = Event::new("account.signup", format!("user{n}@example.com"));
        outbox.track(&mut tx, &event).await.unwrap();
    }
    tx.commit().await.unwrap();
    outbox.wait_drained(Duration::from_secs(30)).await.unwrap();
    assert_eq!(emulator.events().len(), 5);
    // `migrate()` finds the versions the script recorded.
    outbox.migrate().await.unwrap();
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM bento_outbox_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        versions,
        i64::from(bento_outbox::postgres::Outbox::schema_version())
    );
    bento.shutdown(Duration::from_secs(5)).await.unwrap();

    // With nobody relaying, the wait ends at its deadline and says so.
    let mut tx = pool.begin().await.unwrap();
    outbox
        .track(&mut tx, &Event::new("account.signup", "late@example.com"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let error = outbox
        .wait_drained(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            bento_outbox::OutboxError::NotDrained { pending: 1, .. }
        ),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_works_from_the_apps_own_migrations() {
    let file = SqliteFile::new("schema-sql");
    let pool = pool(&file.path()).await.unwrap();
    Migrator::new(migrations("sqlite"))
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let outbox = bento_outbox::sqlite::Outbox::new(pool.clone())
        .poll_interval(Duration::from_millis(50))
        .takeover_interval(Duration::from_millis(50));
    let bento = client(&emulator).outbox(outbox.clone()).build().unwrap();
    let mut tx = pool.begin().await.unwrap();
    for n in 0..5 {
        let event = Event::new("account.signup", format!("user{n}@example.com"));
        outbox.track(&mut tx, &event).await.unwrap();
    }
    tx.commit().await.unwrap();
    outbox.wait_drained(Duration::from_secs(30)).await.unwrap();
    assert_eq!(emulator.events().len(), 5);
    outbox.migrate().await.unwrap();
    bento.shutdown(Duration::from_secs(5)).await.unwrap();
}
