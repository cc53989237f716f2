//! The PostgreSQL outbox, measured against a throwaway server (Debian's
//! `postgresql` package, started like the tests do) and the emulator:
//!
//! 1. `outbox.track` inside a transaction against a plain `INSERT` of the
//!    same bytes into a table of the same shape without the outbox's
//!    trigger and index, in the same kind of transaction;
//! 2. the relay's throughput from a full table to the emulator;
//! 3. the time from commit to delivery on an idle system;
//! 4. the cost of fleet-wide pacing per direct call.
//!
//! `BENTO_BENCH_ERASED=1` erases someone first (the tombstone checks run).
//!
//! `cargo run --release -p bento-benches --bin outbox [rows]`
//!
//! `OUTBOX_WRITES_ONLY=1` stops after the writes, `OUTBOX_RELAY_ONLY=1` after
//! the relay's throughput; `OUTBOX_EXPERIMENT="SQL;SQL"`
//! runs statements after the migration, such as `DROP TRIGGER
//! bento_outbox_inserted ON bento_outbox`, to see what each part costs.

use std::time::{Duration, Instant};

use bento_core::{Client, Encoded, Event, RateLimits};
use bento_emulator::Emulator;
use bento_outbox::postgres::Outbox;
use bento_tests::postgres::Postgres;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use bento_benches::setup::outbox_event as event;

fn client(emulator: &Emulator) -> bento_core::ClientBuilder {
    Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .rate_limits(RateLimits::unlimited())
}

async fn reset(pool: &PgPool) {
    sqlx::query("TRUNCATE bento_outbox, plain_outbox")
        .execute(pool)
        .await
        .expect("truncate");
}

/// Median time of a write, plain `INSERT` and `outbox.track` interleaved
/// write by write so that both see the same machine: `n` of each, every
/// write in its own transaction (`BEGIN; write; COMMIT`, timed whole) or
/// all in one transaction per kind.
async fn writes(pool: &PgPool, outbox: &Outbox, n: usize, one_tx: bool) -> [Duration; 2] {
    let events: Vec<Event> = (0..n).map(event).collect();
    let bodies: Vec<String> = events
        .iter()
        .map(|e| {
            String::from_utf8(Encoded::event(e).expect("valid").json().to_vec()).expect("utf-8")
        })
        .collect();
    let mut samples = [Vec::with_capacity(n), Vec::with_capacity(n)];
    let mut plain_conn = pool.acquire().await.expect("connection");
    let mut outbox_conn = pool.acquire().await.expect("connection");
    if one_tx {
        sqlx::query("BEGIN")
            .execute(&mut *plain_conn)
            .await
            .expect("begin");
        sqlx::query("BEGIN")
            .execute(&mut *outbox_conn)
            .await
            .expect("begin");
    }
    for (e, body) in events.iter().zip(&bodies) {
        let started = Instant::now();
        if !one_tx {
            sqlx::query("BEGIN")
                .execute(&mut *plain_conn)
                .await
                .expect("begin");
        }
        sqlx::query("INSERT INTO plain_outbox (kind, body) VALUES ($1, $2::json)")
            .bind(1i16)
            .bind(body)
            .execute(&mut *plain_conn)
            .await
            .expect("insert");
        if !one_tx {
            sqlx::query("COMMIT")
                .execute(&mut *plain_conn)
                .await
                .expect("commit");
        }
        samples[0].push(started.elapsed());
        let started = Instant::now();
        if !one_tx {
            sqlx::query("BEGIN")
                .execute(&mut *outbox_conn)
                .await
                .expect("begin");
        }
        outbox.track(&mut outbox_conn, e).await.expect("track");
        if !one_tx {
            sqlx::query("COMMIT")
                .execute(&mut *outbox_conn)
                .await
                .expect("commit");
        }
        samples[1].push(started.elapsed());
    }
    if one_tx {
        sqlx::query("COMMIT")
            .execute(&mut *plain_conn)
            .await
            .expect("commit");
        sqlx::query("COMMIT")
            .execute(&mut *outbox_conn)
            .await
            .expect("commit");
    }
    samples.map(|mut s| {
        s.sort();
        s[s.len() / 2]
    })
}

async fn fill(pool: &PgPool, outbox: &Outbox, rows: usize) {
    for chunk in (0..rows).collect::<Vec<_>>().chunks(10_000) {
        let events: Vec<Event> = chunk.iter().map(|&i| event(i)).collect();
        let mut tx = pool.begin().await.expect("begin");
        outbox.track_all(&mut tx, &events).await.expect("track_all");
        tx.commit().await.expect("commit");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let server = Postgres::start();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&server.url())
        .await
        .expect("connect");
    let outbox = Outbox::new(pool.clone());
    outbox.migrate().await.expect("migrate");
    sqlx::query(
        "CREATE TABLE plain_outbox (
            id bigserial PRIMARY KEY, kind smallint NOT NULL, body json NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(), attempts integer NOT NULL DEFAULT 0,
            dead boolean NOT NULL DEFAULT false, reason text, failed_at timestamptz)",
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
    println!("PostgreSQL {}", server.url());
    if let Ok(drop) = std::env::var("OUTBOX_EXPERIMENT") {
        for statement in drop.split(';') {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .expect("experiment");
        }
    }
    // 1. Writes.
    for (label, one_tx) in [
        ("one write per transaction", false),
        ("20,000 writes in one transaction", true),
    ] {
        reset(&pool).await;
        let [plain, tracked] = writes(&pool, &outbox, 20_000, one_tx).await;
        println!(
            "{label}: median plain INSERT {plain:?}, outbox.track {tracked:?}, ratio {:.2}",
            tracked.as_secs_f64() / plain.as_secs_f64()
        );
    }
    if std::env::var("OUTBOX_WRITES_ONLY").is_ok() {
        return;
    }
    let relay_only = std::env::var("OUTBOX_RELAY_ONLY").is_ok();
    reset(&pool).await;

    // 2. Relay throughput from a full table.
    let emulator = Emulator::builder()
        .no_rate_limits()
        .keep_requests(100)
        .start()
        .await
        .expect("emulator");
    fill(&pool, &outbox, rows).await;
    let relay_outbox = Outbox::new(pool.clone());
    let started = Instant::now();
    let relay = client(&emulator)
        .outbox(relay_outbox.clone())
        .build()
        .expect("client");
    while relay_outbox.relay_stats().sent < rows as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    assert_eq!(outbox.pending().await.expect("pending"), 0);
    assert_eq!(emulator.events().len(), rows);
    println!(
        "relay: {rows} events in {took:?}: {:.0} events/s",
        rows as f64 / took.as_secs_f64()
    );
    relay
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    emulator.reset();
    if relay_only {
        return;
    }

    // 3. Commit to delivery, idle, at two flush intervals (after a vacuum,
    // as autovacuum would leave an idle table). `OUTBOX_SAMPLES=1` prints the
    // samples in order.
    sqlx::query("VACUUM bento_outbox")
        .execute(&pool)
        .await
        .expect("vacuum");
    for flush in [Duration::from_millis(100), Duration::from_secs(1)] {
        let relay_outbox = Outbox::new(pool.clone());
        let relay = client(&emulator)
            .flush_interval(flush)
            .outbox(relay_outbox.clone())
            .build()
            .expect("client");
        while !relay_outbox.relay_stats().leader {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut samples = Vec::new();
        for i in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let before = emulator.events().len();
            let mut tx = pool.begin().await.expect("begin");
            outbox.track(&mut tx, &event(i)).await.expect("track");
            tx.commit().await.expect("commit");
            let committed = Instant::now();
            while emulator.events().len() == before {
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
            samples.push(committed.elapsed());
        }
        if std::env::var("OUTBOX_SAMPLES").is_ok() {
            println!("samples in order: {samples:?}");
        }
        samples.sort();
        println!(
            "commit to delivery, flush interval {flush:?}: median {:?}, max {:?} (target under {:?})",
            samples[samples.len() / 2],
            samples[samples.len() - 1],
            flush + Duration::from_millis(50)
        );
        relay
            .shutdown(Duration::from_secs(5))
            .await
            .expect("shutdown");
    }

    // 4. Fleet-wide pacing per direct call, at Bento's own limit (100 a
    // minute): 5 calls to warm up, 90 measured, all within one window.
    let mut means = Vec::new();
    for _round in 0..3 {
        for fleet in [false, true] {
            // Each round starts with a fresh window: the slots of the
            // previous round would otherwise still count.
            sqlx::query("UPDATE bento_outbox_budget SET sent = '{}', blocked_until = NULL")
                .execute(&pool)
                .await
                .expect("reset the budget");
            sqlx::query("DELETE FROM bento_outbox_slot")
                .execute(&pool)
                .await
                .expect("reset the held slots");
            let paced = client(&emulator)
                .rate_limits(RateLimits::default())
                .outbox(Outbox::new(pool.clone()).fleet_pacing(fleet))
                .build()
                .expect("client");
            for _ in 0..5 {
                paced.tags().await.expect("warm-up");
            }
            let n = 90;
            let started = Instant::now();
            for _ in 0..n {
                paced.tags().await.expect("tags");
            }
            means.push((fleet, started.elapsed() / n));
            paced
                .shutdown(Duration::from_secs(5))
                .await
                .expect("shutdown");
        }
    }
    let best = |fleet: bool| {
        means
            .iter()
            .filter(|(f, _)| *f == fleet)
            .map(|(_, d)| *d)
            .min()
            .unwrap_or_default()
    };
    let means = [best(false), best(true)];
    println!(
        "direct call: {:?} alone, {:?} with fleet-wide pacing (+{:?} per call)",
        means[0],
        means[1],
        means[1].saturating_sub(means[0])
    );
}
