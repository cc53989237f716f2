//! The outbox against a real PostgreSQL (a throwaway server the test starts
//! from Debian's package): writes happen in the caller's transaction, with
//! the client's checks, and migrations are idempotent under concurrency.
#![allow(clippy::unwrap_used)]

use bento_core::{Encoded, Event, SubscriberImport, ValidationError};
use bento_outbox::OutboxError;
use bento_outbox::postgres::Outbox;
use bento_tests::postgres::Postgres;
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
