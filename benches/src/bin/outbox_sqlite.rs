//! The SQLite outbox, measured on a real file (WAL mode, as
//! `bento_tests::sqlite::pool` opens it) with the emulator:
//!
//! 1. `outbox.track` inside a transaction against a plain `INSERT` of the
//!    same bytes into a table of the same shape, in the same kind of
//!    transaction, interleaved write by write;
//! 2. the relay's throughput from a full table to the emulator.
//!
//! `BENTO_BENCH_ERASED=1` erases someone first (the tombstone checks run).
//!
//! `cargo run --release -p bento-benches --bin outbox_sqlite [rows]`

use std::time::{Duration, Instant};

use bento_core::{Encoded, Event};
use bento_emulator::Emulator;
use bento_outbox::sqlite::Outbox;
use bento_tests::sqlite::{SqliteFile, pool};

use bento_benches::setup::outbox_event as event;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000);
    let file = SqliteFile::new("bench");
    let pool = pool(&file.path()).await.expect("pool");
    let outbox = Outbox::new(pool.clone()).poll_interval(Duration::from_millis(20));
    outbox.migrate().await.expect("migrate");
    sqlx::query(
        "CREATE TABLE plain_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,
         body TEXT NOT NULL, created_at REAL NOT NULL DEFAULT 0)",
    )
    .execute(&pool)
    .await
    .expect("plain table");

    if std::env::var_os("BENTO_BENCH_ERASED").is_some() {
        // Someone erased: `track` finds a tombstone table that is not
        // empty, and the relay checks every claim against it.
        outbox.erase("gone@example.com").await.expect("erase");
        println!("with one erasure recorded");
    }
    // 1. One write per transaction, plain and outbox interleaved.
    let n = 2000;
    let (mut plain, mut tracked) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let event = event(i);
        let body = String::from_utf8(Encoded::event(&event).expect("valid").json().to_vec())
            .expect("utf-8");
        let started = Instant::now();
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("INSERT INTO plain_outbox (kind, body) VALUES (1, ?1)")
            .bind(&body)
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        plain.push(started.elapsed());
        let started = Instant::now();
        let mut tx = pool.begin().await.expect("begin");
        outbox.track(&mut tx, &event).await.expect("track");
        tx.commit().await.expect("commit");
        tracked.push(started.elapsed());
    }
    let (plain, tracked) = (median(plain), median(tracked));
    println!(
        "write, one per transaction (median of {n}): plain INSERT {plain:?}, outbox.track {tracked:?}, {:.2}x",
        tracked.as_secs_f64() / plain.as_secs_f64()
    );

    // 2. The relay drains a full table.
    sqlx::query("DELETE FROM bento_outbox")
        .execute(&pool)
        .await
        .expect("empty");
    let mut tx = pool.begin().await.expect("begin");
    let events: Vec<Event> = (0..rows).map(event).collect();
    outbox.track_all(&mut tx, &events).await.expect("fill");
    tx.commit().await.expect("commit");
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start()
        .await
        .expect("emulator");
    let started = Instant::now();
    let client = bento_benches::setup::client_for(&emulator)
        .flush_interval(Duration::from_millis(20))
        .outbox(outbox.clone())
        .build()
        .expect("client");
    while outbox.pending().await.expect("pending") > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    println!(
        "relay: {rows} rows in {took:?}, {:.0} events/s",
        rows as f64 / took.as_secs_f64()
    );
    assert_eq!(emulator.events().len(), rows, "every row delivered");
    client
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}
