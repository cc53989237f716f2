//! The SQLite outbox against a real SQLite file and the emulator over
//! loopback HTTP: the PostgreSQL suite's contract where it applies (commit
//! delivers, rollback never sends, poison becomes a dead letter, one leader
//! at a time with a handover, `kill -9` of the relaying process loses
//! nothing), with leadership by a lease row.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bento_core::{Event, RateLimits};
use bento_emulator::{Emulator, Fault};
use bento_outbox::sqlite::Outbox;
use bento_tests::relay::RelayProcess;
use bento_tests::sqlite::{SqliteFile, pool};
use bento_tests::wait::{eventually, eventually_async};
use sqlx::SqlitePool;

async fn setup(name: &str) -> (SqliteFile, SqlitePool, Emulator, Outbox) {
    let file = SqliteFile::new(name);
    let pool = pool(&file.path()).await.unwrap();
    let outbox = Outbox::new(pool.clone())
        .takeover_interval(Duration::from_millis(100))
        .poll_interval(Duration::from_millis(50))
        .lease(Duration::from_millis(900));
    outbox.migrate().await.unwrap();
    outbox.migrate().await.unwrap();
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    (file, pool, emulator, outbox)
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
    let mut tx = pool.begin().await.unwrap();
    let events: Vec<Event> = (from..from + n).map(event).collect();
    outbox.track_all(&mut tx, &events).await.unwrap();
    tx.commit().await.unwrap();
}

fn deliveries(emulator: &Emulator) -> HashMap<u64, usize> {
    let mut seen = HashMap::new();
    for event in emulator.events() {
        if let Some(n) = event.details.get("n").and_then(|n| n.as_u64()) {
            *seen.entry(n).or_insert(0) += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_delivers_rollback_never_sends_and_poison_becomes_a_dead_letter() {
    let (_file, pool, emulator, outbox) = setup("commit").await;
    let hooked = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&hooked);
    let client = builder(&emulator)
        .outbox(outbox.clone())
        .on_delivery_failure(move |failure| {
            sink.lock().unwrap().push(failure.stored_ids().to_vec());
        })
        .build()
        .unwrap();

    let mut tx = pool.begin().await.unwrap();
    outbox
        .track(&mut tx, &Event::new("account.signup", "rolled@example.com"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    outbox
        .track(&mut tx, &Event::new("account.signup", "ada@example.com"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    eventually(
        "the committed event's row removed",
        Duration::from_secs(10),
        || outbox.relay_stats().sent == 1,
    )
    .await;
    let events = emulator.events();
    assert_eq!(events.len(), 1, "the rolled-back event was never sent");
    assert_eq!(events[0].email, "ada@example.com");
    assert_eq!(outbox.pending().await.unwrap(), 0);

    emulator.inject(
        Fault::status(400)
            .on("batch/events")
            .ratio(1.0)
            .body_contains("poison"),
    );
    let mut tx = pool.begin().await.unwrap();
    for n in 0..9 {
        outbox.track(&mut tx, &event(n)).await.unwrap();
    }
    outbox
        .track(&mut tx, &Event::new("x", "poison@example.com"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    eventually("the poison's dead letter", Duration::from_secs(10), || {
        outbox.relay_stats().failed == 1 && outbox.relay_stats().sent == 10
    })
    .await;
    let dead = outbox.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].json.contains("poison"));
    assert_eq!(hooked.lock().unwrap().clone(), vec![vec![dead[0].id]]);
    assert_eq!(outbox.pending().await.unwrap(), 0);

    emulator.clear_faults();
    assert_eq!(outbox.retry_dead_letters(&[dead[0].id]).await.unwrap(), 1);
    eventually("the retried dead letter", Duration::from_secs(10), || {
        outbox.relay_stats().sent == 11
    })
    .await;
    assert!(outbox.dead_letters(10).await.unwrap().is_empty());
    client.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(!outbox.relay_stats().leader, "shutdown ends leadership");
}

/// Two clients on one file, as two processes of one machine would be: one
/// relays at a time, and when it shuts down the other takes the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_at_a_time_and_a_handover_at_shutdown() {
    let (file, pool, emulator, first) = setup("leader").await;
    let second_pool = bento_tests::sqlite::pool(&file.path()).await.unwrap();
    let second = Outbox::new(second_pool)
        .takeover_interval(Duration::from_millis(100))
        .poll_interval(Duration::from_millis(50))
        .lease(Duration::from_millis(900));
    let a = builder(&emulator).outbox(first.clone()).build().unwrap();
    let b = builder(&emulator).outbox(second.clone()).build().unwrap();
    fill(&first, &pool, 0, 300).await;
    eventually("the first 300", Duration::from_secs(20), || {
        deliveries(&emulator).len() == 300
    })
    .await;
    let leaders = [first.relay_stats().leader, second.relay_stats().leader];
    assert_eq!(leaders.iter().filter(|l| **l).count(), 1, "{leaders:?}");
    let (leader, standby, stopping) = if leaders[0] {
        (&first, &second, &a)
    } else {
        (&second, &first, &b)
    };
    stopping.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(!leader.relay_stats().leader);
    fill(&first, &pool, 300, 200).await;
    eventually(
        "the next 200, by the standby",
        Duration::from_secs(20),
        || deliveries(&emulator).len() == 500,
    )
    .await;
    assert!(standby.relay_stats().leader, "the standby took the lease");
    let seen = deliveries(&emulator);
    assert!(seen.values().all(|n| *n == 1), "each event once");
    a.shutdown(Duration::from_secs(5)).await.unwrap();
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A relaying child process (this test binary re-run by `RelayProcess`, with `RELAY_SQLITE`).
struct Relay;

impl Relay {
    fn start(file: &SqliteFile, emulator: &Emulator) -> RelayProcess {
        let env = [
            ("RELAY_SQLITE", file.path().display().to_string()),
            ("RELAY_LEASE_MS", "900".to_owned()),
            ("RELAY_TAKEOVER_MS", "100".to_owned()),
        ];
        RelayProcess::start(emulator, &env)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_relaying_process_loses_nothing() {
    const TOTAL: usize = 6_000;
    let (file, pool, emulator, outbox) = setup("kill").await;
    // A slow Bento, so each process dies with a batch in flight or just sent.
    emulator.inject(
        Fault::delay(Duration::from_millis(40))
            .on("batch/events")
            .ratio(1.0),
    );
    fill(&outbox, &pool, 0, TOTAL).await;
    let mut counted = 0;
    let kills = 2;
    for round in 0..kills {
        let mut relay = Relay::start(&file, &emulator);
        let target = (round + 1) * TOTAL / 3;
        eventually("partial delivery", Duration::from_secs(60), || {
            emulator.events().len() >= target
        })
        .await;
        relay.kill9();
        counted += relay.stat("possible_duplicates");
    }
    // The killed leader's lease runs out; the next process takes it.
    let last = Relay::start(&file, &emulator);
    eventually("every row delivered", Duration::from_secs(60), || {
        deliveries(&emulator).len() == TOTAL
    })
    .await;
    eventually_async("the table drained", Duration::from_secs(10), || async {
        outbox.pending().await.unwrap() == 0
    })
    .await;
    let stats = last.terminate();
    counted += stats["possible_duplicates"];
    assert!(stats["takeovers"] >= 1);
    let seen = deliveries(&emulator);
    assert_eq!(seen.len(), TOTAL, "0 lost");
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!("duplicates after {kills} kills: {duplicates}; counted as possible: {counted}");
    assert!(
        duplicates <= kills * 1000,
        "{duplicates} duplicates: more than one batch per kill"
    );
    assert!(
        counted as usize >= duplicates,
        "every duplicate was counted ({counted} counted, {duplicates} seen)"
    );
}

/// SQLite has no password, but a pool can carry secrets: a SQLCipher `key`
/// pragma, and the client beside it has its keys. None may show in `Debug`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_output_never_shows_a_key() {
    let file = SqliteFile::new("debug");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file.path())
        .create_if_missing(true)
        .pragma("key", "SECRET-PRAGMA");
    let pool = sqlx::sqlite::SqlitePoolOptions::new().connect_lazy_with(options);
    let outbox = Outbox::new(pool);
    let builder = bento_core::Client::builder()
        .base_url("http://127.0.0.1:1")
        .publishable_key("SECRET-PK")
        .secret_key("SECRET-SK")
        .site_uuid("site")
        .outbox(outbox.clone());
    let client = builder.clone().build().unwrap();
    for shown in [
        format!("{outbox:?}"),
        format!("{builder:?}"),
        format!("{client:?}"),
    ] {
        assert!(
            shown.contains("Outbox") || shown.contains("Client"),
            "{shown}"
        );
        assert!(!shown.contains("SECRET"), "{shown}");
    }
    client.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// With a plan, nothing off it reaches the table, as with the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_off_the_tracking_plan_are_refused_and_nothing_is_written() {
    let (_file, pool, _emulator, outbox) = setup("plan").await;
    let plan = bento_core::plan::Plan::parse(
        "[fields]\nseats = \"number\"\n\n[events.\"sqlite.test\"]\ndetails = { n = \"number\" }\n",
    )
    .unwrap();
    let outbox = outbox.plan(plan);
    let mut tx = pool.begin().await.unwrap();
    let typo = Event::new("sqlite.tset", "a@example.com").detail("n", 1);
    let error = outbox.track(&mut tx, &typo).await.unwrap_err().to_string();
    assert!(error.contains("did you mean `sqlite.test`"), "{error}");
    let error = outbox
        .track_all(&mut tx, &[event(1), event(2).detail("m", 3)])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("events[1] is off the tracking plan"),
        "{error}"
    );
    let record = bento_core::SubscriberImport::new("a@example.com").field("seat", 2);
    let error = outbox
        .import(&mut tx, &[record])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("did you mean `seats`"), "{error}");
    outbox.track(&mut tx, &event(3)).await.unwrap();
    // The user's bad email is theirs to see; the plan's refusals are the
    // program's mistakes, logged and counted.
    let bad = Event::new("sqlite.test", "not-an-email").detail("n", 4);
    assert!(matches!(
        outbox.track(&mut tx, &bad).await,
        Err(bento_outbox::OutboxError::Invalid(_))
    ));
    tx.commit().await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 1, "only the planned event");
    assert_eq!(
        outbox.relay_stats().refused,
        3,
        "the three refusals off the plan"
    );
}

#[test]
#[ignore = "the relaying child process RelayProcess starts; not a test on its own"]
fn relay_child_process() {
    bento_tests::relay::child::main()
}
