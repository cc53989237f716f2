//! Erasure through the outbox, on a real SQLite file and a real PostgreSQL,
//! over loopback HTTP: while Bento answers 503 and the relay holds a batch
//! carrying the person, `Client::erase` deletes their rows and dead letters,
//! waits for the relay's request in flight, sets a tombstone every process
//! sharing the database honours, and only then asks Bento to delete them.
//! After it returns, no request that reaches Bento carries the address (a
//! recording proxy sees every body), not even a row written by a
//! transaction that raced the erasure; everyone else's events are delivered
//! exactly once; lifting the tombstone lets the person back in.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use bento_core::delivery::Backoff;
use bento_core::{Client, Event};
use bento_emulator::{Emulator, Fault};
use bento_outbox::OutboxError;
use bento_tests::contract::ContractProxy;
use bento_tests::wait::eventually;

const ERASED: &str = "erased.person@example.com";

fn event(n: u64) -> Event {
    let email = if n.is_multiple_of(2) {
        ERASED.to_owned()
    } else {
        format!("other{n}@example.com")
    };
    Event::new("order.placed", email).detail("n", n)
}

fn other_event(n: u64) -> Event {
    Event::new("order.placed", format!("other{n}@example.com")).detail("n", n)
}

async fn relaying<S: bento_core::integration::store::DurableStore>(
    emulator: &Emulator,
    proxy: &ContractProxy,
    outbox: S,
) -> Client {
    bento_tests::client_for(emulator)
        .base_url(proxy.base_url())
        .outbox(outbox)
        .events_per_request(5)
        .flush_interval(Duration::from_millis(5))
        .delivery_backoff(Backoff::new(
            Duration::from_millis(20),
            Duration::from_millis(200),
        ))
        .build()
        .unwrap()
}

/// Bento answers the first two batches 503: the relay holds one batch,
/// which carries the person, when the erasure comes.
async fn start() -> (Emulator, ContractProxy) {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    emulator.inject(Fault::status(503).on("/batch/events").times(2));
    let proxy = ContractProxy::observe(&emulator.base_url()).await;
    (emulator, proxy)
}

/// What the erasure promised, read off what reached Bento.
fn check_delivery(emulator: &Emulator, proxy: &ContractProxy, seen_before: usize, others: &[u64]) {
    let after: Vec<_> = proxy.exchanges().split_off(seen_before);
    bento_tests::erasure::none_carries(&after, ERASED);
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for event in emulator.events().iter().filter(|e| e.email != ERASED) {
        if let Some(n) = event.details.get("n").and_then(serde_json::Value::as_u64) {
            *seen.entry(n).or_default() += 1;
        }
    }
    for n in others {
        assert_eq!(seen.get(n), Some(&1), "event {n} of someone else: {seen:?}");
    }
}

/// The same story on each database: `$outbox` over `$pool` relays, and
/// `$elsewhere` (another outbox value over `$other`, as another process
/// would hold) writes; `$dead` and `$raced` are that database's SQL for a
/// dead letter and for a row written past the tombstone check.
macro_rules! erasure_story {
    ($outbox:expr, $pool:expr, $elsewhere:expr, $other:expr, dead: $dead:literal, raced: $raced:literal) => {{
        let (outbox, pool, elsewhere, other) = ($outbox, $pool, $elsewhere, $other);
        outbox.migrate().await.unwrap();
        // A dead letter about the person, from an earlier failure.
        sqlx::query($dead)
            .bind(serde_json::json!({"type": "old", "email": ERASED}).to_string())
            .execute(&pool)
            .await
            .unwrap();
        let (emulator, proxy) = start().await;
        let client = relaying(&emulator, &proxy, outbox.clone()).await;
        let mut tx = pool.begin().await.unwrap();
        outbox
            .track_all(&mut tx, &(0..40).map(event).collect::<Vec<_>>())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        bento_tests::erasure::refused(&emulator, 503, 2).await;

        let erasure = client.erase(ERASED).await.unwrap();
        let seen_before = proxy.exchanges().len();
        let stored = erasure.stored.unwrap();
        assert_eq!(stored.dead_letters, 1, "{erasure:?}");
        assert!(stored.removed >= 1, "rows about the person waited: {erasure:?}");
        // Bento's deletion request is a row the relay sends, after the rest.
        assert!(stored.deletion_queued, "{erasure:?}");
        assert_eq!(erasure.deletion, None, "{erasure:?}");

        // Another process (its own outbox value and pool): refused, in any case.
        let mut tx = other.begin().await.unwrap();
        let refused = elsewhere
            .track(&mut tx, &Event::new("order.placed", "Erased.Person@Example.com"))
            .await
            .unwrap_err();
        assert!(matches!(refused, OutboxError::Erased { items: 1 }), "{refused:?}");
        assert!(!refused.to_string().contains(ERASED), "no address in: {refused}");
        // All or none: two items about the person and one about someone else.
        let mixed = [event(0), event(2), other_event(90)];
        let refused = elsewhere.track_all(&mut tx, &mixed).await.unwrap_err();
        assert!(matches!(refused, OutboxError::Erased { items: 2 }), "{refused:?}");
        // A row a raced transaction wrote past the check (here by hand):
        // the relay removes it unsent.
        sqlx::query($raced)
            .bind(serde_json::json!({"type": "raced", "email": ERASED}).to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
        elsewhere
            .track_all(&mut tx, &(40..50).map(other_event).collect::<Vec<_>>())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        outbox.wait_drained(Duration::from_secs(30)).await.unwrap();
        eventually("the raced row was removed unsent", Duration::from_secs(10), || {
            outbox.relay_stats().erased >= 1
        })
        .await;
        let others: Vec<u64> = (0..50).filter(|n| n % 2 == 1 || *n >= 40).collect();
        check_delivery(&emulator, &proxy, seen_before, &others);
        assert!(
            !emulator.events().iter().any(|e| e.details.get("n") == Some(&90.into())),
            "the refused track_all wrote nothing"
        );
        // One deletion request (queued, or "no such person" when none of
        // theirs got through: both settle the row).
        let deletions: Vec<_> = proxy
            .exchanges()
            .into_iter()
            .filter(|e| e.path == "data_deletion_requests")
            .collect();
        assert_eq!(deletions.len(), 1, "{deletions:?}");
        assert!(matches!(deletions[0].status, 200 | 201 | 202 | 404), "{deletions:?}");
        assert!(String::from_utf8_lossy(&deletions[0].request).contains(ERASED));
        assert!(outbox.dead_letters(100).await.unwrap().is_empty());

        // Consent again.
        assert!(client.lift_erasure(ERASED).await.unwrap());
        let mut tx = other.begin().await.unwrap();
        elsewhere
            .track(&mut tx, &Event::new("account.signup", ERASED))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        client.shutdown(Duration::from_secs(10)).await.unwrap();
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_erase_reaches_rows_dead_letters_the_relay_and_every_process() {
    use bento_outbox::sqlite::Outbox;
    let file = bento_tests::sqlite::SqliteFile::new("erasure");
    let pool = bento_tests::sqlite::pool(&file.path()).await.unwrap();
    let other = bento_tests::sqlite::pool(&file.path()).await.unwrap();
    erasure_story!(
        Outbox::new(pool.clone())
            .poll_interval(Duration::from_millis(20))
            .takeover_interval(Duration::from_millis(50)),
        pool,
        Outbox::new(other.clone()),
        other,
        dead: "INSERT INTO bento_outbox (kind, body, dead, reason) VALUES (1, ?1, 1, 'refused')",
        raced: "INSERT INTO bento_outbox (kind, body) VALUES (1, ?1)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_erase_reaches_rows_dead_letters_the_relay_and_every_process() {
    use bento_outbox::postgres::Outbox;
    let server = bento_tests::postgres::Postgres::start();
    let url = server.url();
    let connect = |max| {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(max)
            .connect(&url)
    };
    let pool = connect(8).await.unwrap();
    let other = connect(2).await.unwrap();
    erasure_story!(
        Outbox::new(pool.clone())
            .poll_interval(Duration::from_millis(20))
            .takeover_interval(Duration::from_millis(50)),
        pool,
        Outbox::new(other.clone()),
        other,
        dead: "INSERT INTO bento_outbox (kind, body, dead, reason) VALUES (1, $1::json, true, 'refused')",
        raced: "INSERT INTO bento_outbox (kind, body) VALUES (1, $1::json)"
    );
}
