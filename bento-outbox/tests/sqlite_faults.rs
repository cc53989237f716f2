//! The SQLite outbox under the faults an operator meets, each against a real
//! SQLite file, real second processes and real signals: a full disk (a
//! tmpfs the test mounts), rows written by hand that the relay cannot read,
//! a leader frozen past its lease, start-up while another process writes,
//! items too large to send, and a handover mid-window.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bento_core::{EndpointFamily, Event, RateLimit, RateLimits};
use bento_emulator::{Emulator, Family, Fault, Limit};
use bento_outbox::OutboxError;
use bento_outbox::sqlite::Outbox;
use bento_tests::relay::RelayProcess;
use bento_tests::sqlite::{SmallDisk, SqliteFile, pool};
use bento_tests::wait::{eventually, eventually_async};
use sqlx::SqlitePool;

const LEASE: Duration = Duration::from_millis(900);

fn outbox(pool: &SqlitePool) -> Outbox {
    Outbox::new(pool.clone())
        .takeover_interval(Duration::from_millis(100))
        .poll_interval(Duration::from_millis(50))
        .lease(LEASE)
}

fn builder(emulator: &Emulator) -> bento_core::ClientBuilder {
    bento_core::Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .rate_limits(RateLimits::unlimited())
        .flush_interval(Duration::from_millis(20))
}

fn event(n: usize) -> Event {
    Event::new("sqlite.test", format!("u{}@example.com", n % 100)).detail("n", n)
}

async fn fill(outbox: &Outbox, pool: &SqlitePool, from: usize, n: usize) {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let events: Vec<Event> = (from..from + n).map(event).collect();
    outbox.track_all(&mut tx, &events).await.unwrap();
    tx.commit().await.unwrap();
}

/// How many times the emulator received each `n`.
fn deliveries(emulator: &Emulator) -> HashMap<u64, usize> {
    let mut seen = HashMap::new();
    for event in emulator.events() {
        if let Some(n) = event.details.get("n").and_then(|n| n.as_u64()) {
            *seen.entry(n).or_insert(0) += 1;
        }
    }
    seen
}

fn refused_429(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count()
}

/// A relaying child process (this test binary re-run by `RelayProcess`).
fn relay(file: &SqliteFile, emulator: &Emulator, extra: &[(&str, String)]) -> RelayProcess {
    let mut env = vec![
        ("RELAY_SQLITE", file.path().display().to_string()),
        ("RELAY_LEASE_MS", LEASE.as_millis().to_string()),
        ("RELAY_TAKEOVER_MS", "100".to_owned()),
    ];
    env.extend(extra.iter().cloned());
    RelayProcess::start(emulator, &env)
}

/// WAL mode on a full disk: SQLite rolls transactions back by itself, which
/// sqlx 0.8 does not notice (docs/upstream/sqlx-sqlite-transaction-depth.md).
/// With the pool the README sets up, every commit that returned `Ok` is
/// delivered, no failed one is, the application's own rows agree, and
/// neither the relay nor any connection stays wedged once there is room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_committed_event_and_wedges_nothing() {
    let disk = match SmallDisk::mount(32 * 1024 * 1024) {
        Ok(disk) => disk,
        Err(reason) => {
            eprintln!("SKIPPED a_full_disk_loses_no_committed_event_and_wedges_nothing: {reason}");
            return;
        }
    };
    let path = disk.dir().join("app.db");
    let pool = pool(&path).await.unwrap();
    let outbox = outbox(&pool);
    outbox.migrate().await.unwrap();
    sqlx::query("CREATE TABLE app_rows (n INTEGER PRIMARY KEY, pad TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = builder(&emulator).outbox(outbox.clone()).build().unwrap();

    let pad = "p".repeat(3000);
    let mut committed = BTreeSet::new();
    let (mut failed, mut lost_transactions) = (0, 0);
    for n in 0..900usize {
        match n {
            100 | 500 => {
                disk.fill();
            }
            300 | 700 => disk.free(),
            _ => {}
        }
        let Ok(mut tx) = pool.begin().await else {
            failed += 1;
            continue;
        };
        let app = sqlx::query("INSERT INTO app_rows (n, pad) VALUES (?1, ?2)")
            .bind(n as i64)
            .bind(&pad)
            .execute(&mut *tx)
            .await;
        let tracked = outbox.track(&mut tx, &event(n)).await;
        if let Err(OutboxError::TransactionLost) = &tracked {
            lost_transactions += 1;
        }
        if app.is_err() || tracked.is_err() {
            failed += 1;
            let _ = tx.rollback().await;
            continue;
        }
        match tx.commit().await {
            Ok(()) => {
                committed.insert(n as u64);
            }
            Err(_) => failed += 1,
        }
    }
    disk.free();
    eprintln!(
        "{} committed, {failed} failed ({lost_transactions} refused as rolled back by SQLite)",
        committed.len()
    );
    assert!(failed > 0, "the disk was full at times");
    assert!(committed.len() > 300, "and had room at others");

    // Every committed event arrives; nothing of a failed transaction does.
    eventually(
        "every committed event delivered",
        Duration::from_secs(60),
        || {
            let seen = deliveries(&emulator);
            committed.iter().all(|n| seen.contains_key(n))
        },
    )
    .await;
    eventually_async("the table drained", Duration::from_secs(30), || async {
        outbox.pending().await.is_ok_and(|pending| pending == 0)
    })
    .await;
    let seen = deliveries(&emulator);
    let delivered: BTreeSet<u64> = seen.keys().copied().collect();
    assert_eq!(delivered, committed, "delivered exactly what was committed");
    // The application's rows tell the same story: no commit was a no-op.
    let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM app_rows ORDER BY n")
        .fetch_all(&pool)
        .await
        .unwrap();
    let rows: BTreeSet<u64> = rows.into_iter().map(|n| n as u64).collect();
    assert_eq!(rows, committed, "the app's own rows match its commits");
    // Another process can write: no connection holds the write lock.
    let other = pool_on(&path).await;
    sqlx::query("INSERT INTO app_rows (n, pad) VALUES (-1, 'x')")
        .execute(&other)
        .await
        .unwrap();
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    let counted = outbox.relay_stats().possible_duplicates;
    assert!(
        counted as usize >= duplicates,
        "every duplicate was counted ({counted} counted, {duplicates} seen)"
    );
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A transaction SQLite ended under sqlx's feet (here a `ROLLBACK` sent as
/// plain SQL, as SQLite does by itself after `SQLITE_FULL`): the outbox
/// refuses to write into it, and the pool the README sets up closes the
/// connection when it is released, so the next transaction is a real one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_sqlite_ended_is_refused_and_its_connection_closed() {
    let file = SqliteFile::new("lost");
    let pool = bento_outbox::sqlite::pool_options()
        .max_connections(1)
        .connect_with(bento_tests::sqlite::options(&file.path()).unwrap())
        .await
        .unwrap();
    let outbox = outbox(&pool);
    outbox.migrate().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
    let refused = outbox.track(&mut tx, &event(1)).await;
    assert!(
        matches!(refused, Err(OutboxError::TransactionLost)),
        "{refused:?}"
    );
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("roll it back and retry"), "{message}");
    // sqlx's own rollback now fails: it still counted the transaction.
    assert!(tx.rollback().await.is_err());
    // The only connection was closed on release: the next one is sound,
    // and its commit is real.
    let mut tx = pool.begin().await.unwrap();
    outbox.track(&mut tx, &event(2)).await.unwrap();
    tx.commit().await.unwrap();
    let other = pool_on(&file.path()).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM bento_outbox")
        .fetch_one(&other)
        .await
        .unwrap();
    assert_eq!(stored, 1, "the second transaction committed for real");
}

/// A connection that does not wait for locks.
async fn pool_on_without_waiting(path: &std::path::Path) -> SqlitePool {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            bento_tests::sqlite::options(path)
                .unwrap()
                .busy_timeout(Duration::ZERO),
        )
        .await
        .unwrap()
}

/// Whether no process holds the file's write lock now.
async fn write_lock_is_free(pool: &SqlitePool) -> bool {
    match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => {
            tx.rollback().await.unwrap();
            true
        }
        Err(_) => false,
    }
}

async fn pool_on(path: &std::path::Path) -> SqlitePool {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(bento_tests::sqlite::options(path).unwrap())
        .await
        .unwrap()
}

/// Rows written by hand (the sqlite3 CLI's `readfile()` makes BLOBs) among
/// 999 good ones: each bad row becomes a dead letter with its id and the
/// reason, handed to the hook; every good row is delivered; every row is
/// either pending or a dead letter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_the_relay_cannot_read_become_dead_letters_and_the_rest_flows() {
    let file = SqliteFile::new("malformed");
    let pool = pool(&file.path()).await.unwrap();
    let outbox = outbox(&pool);
    outbox.migrate().await.unwrap();
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let good = r#"{"type":"ok","email":"a@example.com"}"#;
    let bad: &[(&str, &str)] = &[
        (
            "INSERT INTO bento_outbox (kind, body) VALUES (1, CAST(?1 AS BLOB))",
            "its body is a blob, not text",
        ),
        (
            "INSERT INTO bento_outbox (kind, body) VALUES (1, CAST(X'7B22FF227D' AS TEXT))",
            "its body is not UTF-8",
        ),
        (
            "INSERT INTO bento_outbox (kind, body) VALUES ('event', ?1)",
            "its kind is a text, not an integer",
        ),
        (
            "INSERT INTO bento_outbox (kind, body) VALUES (CAST('1' AS BLOB), ?1)",
            "its kind is a blob, not an integer",
        ),
        (
            "INSERT INTO bento_outbox (kind, body) VALUES (9, ?1)",
            "its kind 9 is none the SDK knows",
        ),
        (
            "INSERT INTO bento_outbox (kind, body) VALUES (1, ?1 || ?1)",
            "its body is not one JSON object",
        ),
        (
            "INSERT INTO bento_outbox (kind, body) VALUES (1, '[1,2]')",
            "its body is not a JSON object",
        ),
    ];
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let mut bad_ids = Vec::new();
    for n in 0..999usize {
        outbox.track(&mut tx, &event(n)).await.unwrap();
        if n % 140 == 70 {
            let (sql, _) = bad[bad_ids.len()];
            let done = sqlx::query(sql).bind(good).execute(&mut *tx).await.unwrap();
            bad_ids.push(done.last_insert_rowid());
        }
    }
    // A row marked dead by hand with a value the SDK never writes.
    sqlx::query("INSERT INTO bento_outbox (kind, body, dead) VALUES (1, ?1, 2)")
        .bind(good)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(bad_ids.len(), bad.len());
    assert_eq!(outbox.pending().await.unwrap(), 999 + bad.len() as u64);
    assert_eq!(
        outbox.dead_letters(100).await.unwrap().len(),
        1,
        "dead = 2 is a dead letter"
    );

    let hooked = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&hooked);
    let client = builder(&emulator)
        .outbox(outbox.clone())
        .on_delivery_failure(move |failure| {
            assert!(failure.items.is_empty());
            let reason = failure.reason.to_string();
            sink.lock()
                .unwrap()
                .push((failure.stored_ids().to_vec(), reason));
        })
        .build()
        .unwrap();
    eventually("every good row delivered", Duration::from_secs(30), || {
        deliveries(&emulator).len() == 999
    })
    .await;
    eventually_async("the table drained", Duration::from_secs(10), || async {
        outbox.pending().await.is_ok_and(|pending| pending == 0)
    })
    .await;
    let dead = outbox.dead_letters(100).await.unwrap();
    assert_eq!(dead.len(), bad.len() + 1);
    let hooked = hooked.lock().unwrap().clone();
    for (id, (_, expected)) in bad_ids.iter().zip(bad) {
        let letter = dead.iter().find(|d| d.id == *id).unwrap();
        assert!(
            letter.reason.contains(expected),
            "row {id}: {}",
            letter.reason
        );
        let (_, reason) = hooked
            .iter()
            .find(|(ids, _)| ids.contains(id))
            .unwrap_or_else(|| panic!("row {id} was handed to the hook: {hooked:?}"));
        assert!(reason.contains(expected), "{reason}");
    }
    assert!(
        dead.iter().any(|d| d.kind.is_none()),
        "unknown kinds are listed too"
    );
    assert_eq!(
        deliveries(&emulator).values().sum::<usize>(),
        999,
        "once each"
    );
    assert_eq!(outbox.relay_stats().failed, bad.len() as u64);
    // An operator can retry and purge them all.
    assert_eq!(
        outbox.purge_all_dead_letters().await.unwrap(),
        bad.len() as u64 + 1
    );
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A leader stopped (SIGSTOP) past its lease while Bento is slow, so that
/// it freezes with a request in flight: a standby takes over, and when the
/// frozen one resumes it sends nothing more. Every duplicate is counted,
/// and Bento never answers 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_frozen_past_its_lease_sends_nothing_after_it() {
    const TOTAL: usize = 4_000;
    let file = SqliteFile::new("frozen");
    let pool = pool(&file.path()).await.unwrap();
    let outbox = outbox(&pool);
    outbox.migrate().await.unwrap();
    let (requests, window) = (8u32, Duration::from_millis(1000));
    let emulator = Emulator::builder()
        .no_rate_limits()
        .rate_limit(Family::Batch, Limit::new(requests, window))
        .start()
        .await
        .unwrap();
    emulator.inject(
        Fault::delay(Duration::from_millis(60))
            .on("batch/events")
            .ratio(1.0),
    );
    fill(&outbox, &pool, 0, TOTAL).await;
    let pacing = [
        ("RELAY_REQUESTS", requests.to_string()),
        ("RELAY_WINDOW_MS", window.as_millis().to_string()),
    ];
    let first = relay(&file, &emulator, &pacing);
    eventually("a leader", Duration::from_secs(10), || first.leader()).await;
    let second = relay(&file, &emulator, &pacing);
    eventually("some delivery", Duration::from_secs(30), || {
        emulator.events().len() >= 500
    })
    .await;
    // Frozen outside a write transaction: one frozen while holding SQLite's
    // write lock stops every writer of the file, the standby and the
    // application alike, until it resumes (SQLite's locks are the process's),
    // which is not what this test is about.
    let probe = pool_on_without_waiting(&file.path()).await;
    let mut attempts = 0;
    loop {
        first.freeze();
        if write_lock_is_free(&probe).await {
            break;
        }
        first.thaw();
        attempts += 1;
        assert!(
            attempts < 50,
            "the leader held the write lock at every freeze"
        );
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    let frozen = Instant::now();
    eventually("the standby's takeover", Duration::from_secs(10), || {
        second.leader()
    })
    .await;
    // Frozen for well past the lease, the standby delivering meanwhile.
    let thaw_at = frozen + LEASE * 4;
    eventually("the standby at work", Duration::from_secs(20), || {
        Instant::now() >= thaw_at
    })
    .await;
    first.thaw();
    eventually("every row delivered", Duration::from_secs(120), || {
        deliveries(&emulator).len() == TOTAL
    })
    .await;
    eventually_async("the table drained", Duration::from_secs(10), || async {
        outbox.pending().await.is_ok_and(|pending| pending == 0)
    })
    .await;
    let a = first.terminate();
    let b = second.terminate();
    let seen = deliveries(&emulator);
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    let counted = (a["possible_duplicates"] + b["possible_duplicates"]) as usize;
    eprintln!("after a freeze: {duplicates} duplicates, {counted} counted as possible");
    assert!(
        counted >= duplicates,
        "every duplicate was counted ({counted} counted, {duplicates} seen)"
    );
    assert!(b["takeovers"] >= 1);
    assert_eq!(
        refused_429(&emulator),
        0,
        "no 429: the frozen leader sent nothing late"
    );
}

/// Leadership handed over mid-window (the leader shuts down while pacing at
/// the limit): the successor knows what its predecessor sent from the
/// budget in the file, and Bento never answers 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_keeps_the_rate_limit() {
    const TOTAL: usize = 3_000;
    let file = SqliteFile::new("handover");
    let pool = pool(&file.path()).await.unwrap();
    let first = outbox(&pool);
    first.migrate().await.unwrap();
    let second = outbox(&bento_tests::sqlite::pool(&file.path()).await.unwrap());
    let (requests, window) = (5u32, Duration::from_millis(1000));
    let emulator = Emulator::builder()
        .no_rate_limits()
        .rate_limit(Family::Batch, Limit::new(requests, window))
        .start()
        .await
        .unwrap();
    let limits =
        RateLimits::unlimited().set(EndpointFamily::Batch, RateLimit::new(requests, window));
    let build = |outbox: &Outbox| {
        builder(&emulator)
            .rate_limits(limits.clone())
            .events_per_request(100)
            .outbox(outbox.clone())
            .build()
            .unwrap()
    };
    let a = build(&first);
    eventually("the first leads", Duration::from_secs(10), || {
        first.relay_stats().leader
    })
    .await;
    let b = build(&second);
    fill(&first, &pool, 0, TOTAL).await;
    // The leader paces at the limit: hand over in the middle of a window.
    eventually("the first at its limit", Duration::from_secs(20), || {
        emulator.events().len() >= 1_000
    })
    .await;
    a.shutdown(Duration::from_secs(5)).await.unwrap();
    eventually("the rest, by the second", Duration::from_secs(60), || {
        deliveries(&emulator).len() == TOTAL
    })
    .await;
    assert!(second.relay_stats().takeovers >= 1);
    assert_eq!(refused_429(&emulator), 0, "no 429 across the handover");
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// An instance restarted while another process writes: every `migrate()`
/// succeeds (it waits for the write lock within the busy timeout instead of
/// failing at once), and so does every read-then-write transaction begun
/// with `BEGIN IMMEDIATE` while a relay drains the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_the_apps_writes_succeed_while_others_write() {
    let file = SqliteFile::new("busy");
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let writer = RelayProcess::start(
        &emulator,
        &[
            ("RELAY_SQLITE", file.path().display().to_string()),
            ("RELAY_MODE", "writer".to_owned()),
        ],
    );
    eventually("the writer writing", Duration::from_secs(20), || {
        writer.stat("writes") > 10
    })
    .await;
    let mut migrations = Vec::new();
    for _ in 0..40 {
        let pool = pool(&file.path()).await.unwrap();
        migrations.push(tokio::spawn(async move {
            let result = Outbox::new(pool.clone()).migrate().await;
            pool.close().await;
            result
        }));
    }
    let mut failures = Vec::new();
    for migration in migrations {
        if let Err(error) = migration.await.unwrap() {
            failures.push(error.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 40 failed: {failures:?}",
        failures.len()
    );

    // The application's read-then-write transactions beside a relay.
    let pool = pool(&file.path()).await.unwrap();
    let outbox = outbox(&pool);
    let client = builder(&emulator).outbox(outbox.clone()).build().unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS counters (id INTEGER PRIMARY KEY, value INTEGER)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT OR IGNORE INTO counters VALUES (1, 0)")
        .execute(&pool)
        .await
        .unwrap();
    let mut failed = 0;
    for n in 0..300 {
        let attempt = async {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            let value: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("UPDATE counters SET value = ?1 WHERE id = 1")
                .bind(value + 1)
                .execute(&mut *tx)
                .await?;
            outbox
                .track(&mut tx, &event(n))
                .await
                .map_err(|e| match e {
                    OutboxError::Database(e) => e,
                    other => panic!("{other}"),
                })?;
            tx.commit().await
        };
        if attempt.await.is_err() {
            failed += 1;
        }
    }
    assert_eq!(
        failed, 0,
        "read-then-write transactions failed beside the relay"
    );
    let value: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(value, 300);
    eventually("the relay delivered them", Duration::from_secs(30), || {
        deliveries(&emulator).len() == 300
    })
    .await;
    drop(writer.terminate());
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// An item over the request budget is refused when it is written, as
/// `Client::track` refuses it; and rows far larger than usual (200 KB
/// each) do not grow the relay's memory with the backlog: it holds what one
/// claim's bytes allow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_items_are_refused_and_large_rows_keep_the_relay_small() {
    let file = SqliteFile::new("large");
    let pool = pool(&file.path()).await.unwrap();
    let outbox = outbox(&pool);
    outbox.migrate().await.unwrap();
    let emulator = Emulator::builder()
        .no_rate_limits()
        .max_body_bytes(64 * 1024 * 1024)
        .start()
        .await
        .unwrap();
    let client = builder(&emulator).build().unwrap();
    for mib in [5, 20] {
        let huge = Event::new("big", "a@example.com").detail("blob", "x".repeat(mib << 20));
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        match outbox.track(&mut tx, &huge).await {
            Err(OutboxError::TooLarge { size, limit, .. }) => {
                assert!(size > mib << 20);
                assert_eq!(limit, bento_core::delivery::DEFAULT_MAX_BATCH_BYTES);
            }
            other => panic!("{mib} MiB: {other:?}"),
        }
        assert!(client.track(&huge).is_err(), "the client refuses it too");
        tx.commit().await.unwrap();
    }
    assert_eq!(outbox.pending().await.unwrap(), 0);

    // 600 rows of 200 KB: 120 MB of backlog.
    let blob = "y".repeat(200 * 1024);
    for chunk in 0..6 {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let events: Vec<Event> = (0..100)
            .map(|n| event(chunk * 100 + n).detail("blob", blob.as_str()))
            .collect();
        outbox.track_all(&mut tx, &events).await.unwrap();
        tx.commit().await.unwrap();
    }
    emulator.inject(
        Fault::delay(Duration::from_millis(50))
            .on("batch/events")
            .ratio(1.0),
    );
    let child = relay(&file, &emulator, &[]);
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while deliveries(&emulator).len() < 600 {
        assert!(
            Instant::now() < deadline,
            "timed out delivering the large rows"
        );
        peak = peak.max(child.rss_kib());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(child.terminate());
    eprintln!(
        "the relay's peak memory with 120 MB of 200 KB rows: {} MiB",
        peak / 1024
    );
    assert!(peak > 0);
    assert!(
        peak < 100 * 1024,
        "the relay held {} MiB: more than a claim's bytes",
        peak / 1024
    );
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[test]
#[ignore = "the relaying child process RelayProcess starts; not a test on its own"]
fn relay_child_process() {
    bento_tests::relay::child::main()
}
