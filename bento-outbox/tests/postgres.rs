//! The outbox against a real PostgreSQL (a throwaway server the test starts
//! from Debian's package): writes happen in the caller's transaction, with
//! the client's checks, and migrations are idempotent under concurrency.
#![allow(clippy::unwrap_used)]

use bento_core::{Encoded, Event, SubscriberImport, ValidationError};
use bento_outbox::OutboxError;
use bento_outbox::postgres::Outbox;
use bento_tests::postgres::Postgres;
use sqlx::Connection;
use sqlx::postgres::PgPoolOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_follow_the_transaction_and_migrations_are_idempotent() {
    let server = Postgres::start();
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&server.url())
        .await
        .unwrap();
    let outbox = Outbox::new(pool.clone());

    // Four at once, then twice more: one set of tables, one recorded version.
    let (a, b, c, d) = tokio::join!(
        outbox.migrate(),
        outbox.migrate(),
        outbox.migrate(),
        outbox.migrate()
    );
    for run in [a, b, c, d] {
        run.unwrap();
    }
    outbox.migrate().await.unwrap();
    outbox.migrate().await.unwrap();
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM bento_outbox_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(versions, Outbox::schema_version() as i64);

    // Off the tracking plan: refused, nothing written.
    let planned = outbox
        .clone()
        .plan(bento_core::plan::Plan::parse("[events.\"account.signup\"]\nfields = []\n").unwrap());
    let mut tx = pool.begin().await.unwrap();
    let drift = Event::new("account.signup", "ada@example.com").field("plan", "pro");
    let error = planned.track(&mut tx, &drift).await.unwrap_err();
    assert!(
        matches!(
            &error,
            OutboxError::Bug(ValidationError::OffPlan { item, .. }) if item == "event"
        ),
        "{error:?}"
    );
    tx.commit().await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 0);

    // Rollback: nothing written.
    let signup = Event::new("account.signup", "ada@example.com").field("plan", "pro");
    let mut tx = pool.begin().await.unwrap();
    outbox.track(&mut tx, &signup).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 0);

    // Commit: written, as exactly the bytes `track` would queue.
    let mut tx = pool.begin().await.unwrap();
    outbox.track(&mut tx, &signup).await.unwrap();
    outbox
        .import(
            &mut tx,
            &[
                SubscriberImport::new("bob@example.com").tag("lead"),
                SubscriberImport::new("cy@example.com"),
            ],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 3);
    let (kind, body): (i16, String) =
        sqlx::query_as("SELECT kind, body::text FROM bento_outbox ORDER BY id LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kind, 1);
    assert_eq!(body.as_bytes(), Encoded::event(&signup).unwrap().json());

    // Invalid items: a typed error, nothing written, the transaction usable.
    let mut tx = pool.begin().await.unwrap();
    match outbox
        .track(&mut tx, &Event::new("x", "not-an-email"))
        .await
    {
        Err(OutboxError::Invalid(ValidationError::InvalidEmail { .. })) => {}
        other => panic!("unexpected {other:?}"),
    }
    match outbox
        .import(
            &mut tx,
            &[
                SubscriberImport::new("ok@example.com"),
                SubscriberImport::new("bad"),
            ],
        )
        .await
    {
        Err(OutboxError::Invalid(error)) => {
            assert!(error.to_string().contains("subscribers[1]"), "{error}")
        }
        other => panic!("unexpected {other:?}"),
    }
    outbox
        .track(&mut tx, &Event::new("still.fine", "ada@example.com"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        outbox.pending().await.unwrap(),
        4,
        "only the valid event was added"
    );
}

/// The database password never shows in `Debug` output, of the outbox or
/// of a client built with it.
#[tokio::test]
async fn debug_output_never_shows_the_database_password() {
    let pool = PgPoolOptions::new()
        .connect_lazy("postgres://app:SECRET-PW@127.0.0.1:1/app")
        .unwrap();
    let outbox = Outbox::new(pool).fleet_pacing(true);
    let builder = bento_core::Client::builder()
        .base_url("http://127.0.0.1:1")
        .publishable_key("pk")
        .secret_key("sk")
        .site_uuid("site")
        .outbox(outbox.clone());
    for shown in [format!("{outbox:?}"), format!("{builder:?}")] {
        assert!(!shown.contains("SECRET-PW"), "{shown}");
    }
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains("SECRET-PW"));
    client
        .shutdown(std::time::Duration::from_secs(1))
        .await
        .unwrap();
}

/// The relay takes its connections from the application's pool, inside its
/// `max_connections`: while it leads, listens and paces a fleet, the
/// database sees no more backends than the pool allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_stays_inside_the_applications_pool() {
    use std::time::Duration;

    use bento_emulator::Emulator;

    // The leader holds two (its lock, LISTEN); the app and fleet pacing share the third.
    const POOL: u32 = 3;
    let server = Postgres::start();
    let pool = PgPoolOptions::new()
        .max_connections(POOL)
        .connect(&server.url())
        .await
        .unwrap();
    let outbox = Outbox::new(pool.clone())
        .poll_interval(Duration::from_millis(50))
        .takeover_interval(Duration::from_millis(50))
        .fleet_pacing(true);
    outbox.migrate().await.unwrap();
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = bento_tests::client_for(&emulator)
        .outbox(outbox.clone())
        .build()
        .unwrap();
    for n in 0..50 {
        let mut tx = pool.begin().await.unwrap();
        outbox
            .track(
                &mut *tx,
                &Event::new("account.signup", format!("u{n}@example.com")),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    outbox.wait_drained(Duration::from_secs(30)).await.unwrap();
    assert_eq!(emulator.events().len(), 50);

    // Counted from a connection outside the pool, while the relay leads.
    let mut probe = sqlx::PgConnection::connect(&server.url()).await.unwrap();
    let backends: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut probe)
    .await
    .unwrap();
    assert!(
        backends <= i64::from(POOL),
        "{backends} backends for a pool of {POOL}"
    );
    let relay: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bento-outbox-relay'",
    )
    .fetch_one(&mut probe)
    .await
    .unwrap();
    assert_eq!(relay, 1, "the leader's locked connection");
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}
