//! The outbox relay against a real PostgreSQL and the emulator over loopback
//! HTTP: transactions decide what is sent, dead letters, real `kill -9` of
//! relaying processes, four processes sharing one rate limit, leader
//! failover, a stalled Bento, and fleet-wide pacing of direct calls.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::HashMap;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bento_core::{Client, EndpointFamily, Event, RateLimit, RateLimits, SubscriberImport};
use bento_emulator::{Emulator, Family, Fault, Limit};
use bento_outbox::postgres::Outbox;
use bento_tests::postgres::Postgres;
use bento_tests::relay::RelayProcess;
use bento_tests::wait::{eventually, eventually_async};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// These tests start child processes and count rate-limit windows: they run
/// one at a time, so that two of them never compete for the machine's cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh PostgreSQL with the outbox migrated, and an emulator with no
/// rate limit but `limit`, if given.
async fn setup(limit: Option<(Family, Limit)>) -> (Postgres, PgPool, Emulator, Outbox) {
    let server = Postgres::start();
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&server.url())
        .await
        .unwrap();
    let mut emulator = Emulator::builder().no_rate_limits();
    if let Some((family, limit)) = limit {
        emulator = emulator.rate_limit(family, limit);
    }
    let emulator = emulator.start().await.unwrap();
    let outbox = Outbox::new(pool.clone());
    outbox.migrate().await.unwrap();
    (server, pool, emulator, outbox)
}

fn builder(emulator: &Emulator) -> bento_core::ClientBuilder {
    Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .rate_limits(RateLimits::unlimited())
        .flush_interval(Duration::from_millis(20))
}

fn event(n: usize) -> Event {
    Event::new("order.placed", format!("u{n}@example.com")).detail("n", n as u64)
}

/// Writes `n` events numbered from `from`, committed in chunks.
async fn fill(outbox: &Outbox, pool: &PgPool, from: usize, n: usize) {
    for chunk in (from..from + n).collect::<Vec<_>>().chunks(5000) {
        let events: Vec<Event> = chunk.iter().map(|&i| event(i)).collect();
        let mut tx = pool.begin().await.unwrap();
        outbox.track_all(&mut tx, &events).await.unwrap();
        tx.commit().await.unwrap();
    }
}

/// How many times each event number reached the emulator.
fn deliveries(emulator: &Emulator) -> HashMap<u64, usize> {
    let mut seen = HashMap::new();
    for event in emulator.events() {
        if let Some(n) = event.details.get("n").and_then(|n| n.as_u64()) {
            *seen.entry(n).or_default() += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_delivers_rollback_never_sends_and_poison_becomes_a_dead_letter() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (_server, pool, emulator, outbox) = setup(None).await;
    let hooked = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&hooked);
    let client = builder(&emulator)
        .outbox(outbox.clone())
        .on_delivery_failure(move |failure| {
            let reason = failure.reason.to_string();
            sink.lock()
                .unwrap()
                .push((failure.stored_ids().to_vec(), reason));
        })
        .build()
        .unwrap();

    // Rolled back: never sent, even once the relay has looked.
    let mut tx = pool.begin().await.unwrap();
    outbox
        .track(&mut tx, &Event::new("account.signup", "rolled@example.com"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    // Committed: delivered, and its row removed.
    let mut tx = pool.begin().await.unwrap();
    outbox
        .track(&mut tx, &Event::new("account.signup", "ada@example.com"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    eventually("the committed event", Duration::from_secs(10), || {
        emulator.events().len() == 1
    })
    .await;
    assert_eq!(emulator.events()[0].email, "ada@example.com");
    eventually("the row's removal", Duration::from_secs(5), || {
        outbox.relay_stats().sent == 1
    })
    .await;
    assert_eq!(outbox.pending().await.unwrap(), 0);

    // A poison event among nine good ones: Bento refuses any batch holding it.
    emulator.inject(
        Fault::status(400)
            .on("batch/events")
            .ratio(1.0)
            .body_contains("poison")
            .body(r#"{"error":"invalid event"}"#),
    );
    let mut events: Vec<Event> = (0..9).map(event).collect();
    events.insert(4, Event::new("poison", "bad@example.com"));
    let mut tx = pool.begin().await.unwrap();
    outbox.track_all(&mut tx, &events).await.unwrap();
    tx.commit().await.unwrap();
    eventually("the nine good events", Duration::from_secs(10), || {
        emulator.events().len() == 10
    })
    .await;
    // The counters move after the rows are settled: wait on them, not on
    // the emulator, which has the events a moment before.
    eventually(
        "the dead letter and the nine settled",
        Duration::from_secs(5),
        || {
            let stats = outbox.relay_stats();
            stats.failed == 1 && stats.sent == 10
        },
    )
    .await;
    let dead = outbox.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].json.contains("poison"), "{dead:?}");
    assert!(dead[0].reason.contains("400"), "{dead:?}");
    assert!(dead[0].attempts >= 1);
    assert_eq!(outbox.pending().await.unwrap(), 0);
    let (failed_at_set, reason): (bool, String) = sqlx::query_as(
        "SELECT failed_at IS NOT NULL, reason FROM bento_outbox WHERE dead AND id = $1",
    )
    .bind(dead[0].id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(failed_at_set, "plain SQL sees when and why: {reason}");
    {
        let hooked = hooked.lock().unwrap();
        assert_eq!(hooked.len(), 1, "{hooked:?}");
        assert_eq!(hooked[0].0, vec![dead[0].id], "the hook names the row");
        assert!(hooked[0].1.contains("400"), "{hooked:?}");
    }
    assert!(
        !emulator
            .events()
            .iter()
            .any(|e| e.email == "rolled@example.com"),
        "the rolled-back event was never sent"
    );

    // Retried once Bento takes it; purge has nothing left to remove.
    emulator.clear_faults();
    assert_eq!(outbox.retry_dead_letters(&[dead[0].id]).await.unwrap(), 1);
    eventually("the retried dead letter", Duration::from_secs(10), || {
        emulator.events().iter().any(|e| e.event_type == "poison")
    })
    .await;
    assert_eq!(outbox.purge_all_dead_letters().await.unwrap(), 0);

    // Subscriber records go to the import endpoint, in the same way.
    let mut tx = pool.begin().await.unwrap();
    outbox
        .import(
            &mut tx,
            &[
                SubscriberImport::new("imported@example.com").tag("lead"),
                SubscriberImport::new("also@example.com"),
            ],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    eventually("the imported subscribers", Duration::from_secs(10), || {
        emulator.subscriber("imported@example.com").is_some()
            && emulator.subscriber("also@example.com").is_some()
    })
    .await;

    // A dead letter purged by id is gone for good.
    emulator.inject(Fault::status(422).on("batch/events").ratio(1.0));
    fill(&outbox, &pool, 100, 1).await;
    eventually("a second dead letter", Duration::from_secs(10), || {
        outbox.relay_stats().failed == 2
    })
    .await;
    let dead = outbox.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(outbox.purge_dead_letters(&[dead[0].id]).await.unwrap(), 1);
    assert!(outbox.dead_letters(10).await.unwrap().is_empty());
    emulator.clear_faults();

    client.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(!outbox.relay_stats().leader, "shutdown ends leadership");
}

/// A relaying child process on the test's PostgreSQL.
struct Relay;

impl Relay {
    fn start(server: &Postgres, emulator: &Emulator, env: &[(&str, String)]) -> RelayProcess {
        let mut env = env.to_vec();
        env.push(("DATABASE_URL", server.url()));
        RelayProcess::start(emulator, &env)
    }
}

/// The process's resident memory, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_delivery_loses_nothing_and_duplicates_at_most_one_batch_per_kill() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const TOTAL: usize = 20_000;
    let (server, pool, emulator, outbox) = setup(None).await;
    // A slow Bento, so each process dies with a batch in flight or just sent.
    emulator.inject(
        Fault::delay(Duration::from_millis(40))
            .on("batch/events")
            .ratio(1.0),
    );
    fill(&outbox, &pool, 0, TOTAL).await;
    assert_eq!(outbox.pending().await.unwrap(), TOTAL as u64);

    let mut counted = 0;
    let kills = 2;
    for round in 0..kills {
        let mut relay = Relay::start(&server, &emulator, &[]);
        let target = (round + 1) * TOTAL / 3;
        eventually("partial delivery", Duration::from_secs(60), || {
            emulator.events().len() >= target
        })
        .await;
        relay.kill9();
        counted += relay.stat("possible_duplicates");
    }
    let last = Relay::start(&server, &emulator, &[]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_share_the_rate_limit_without_a_single_429() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // The account allows 10 batch requests per 2 s; each process's client
    // paces itself to the same, and only the leader sends.
    const REQUESTS: u32 = 10;
    const WINDOW: Duration = Duration::from_secs(2);
    const PER_REQUEST: usize = 1000;
    const WINDOWS: u32 = 4;
    let (server, pool, emulator, outbox) =
        setup(Some((Family::Batch, Limit::new(REQUESTS, WINDOW)))).await;
    // More than the windows measured can carry, so the relay is always busy.
    let total = (REQUESTS * (WINDOWS + 2)) as usize * PER_REQUEST;
    fill(&outbox, &pool, 0, total).await;
    let env = [
        ("RELAY_REQUESTS", REQUESTS.to_string()),
        ("RELAY_WINDOW_MS", WINDOW.as_millis().to_string()),
    ];
    let relays: Vec<RelayProcess> = (0..4)
        .map(|_| Relay::start(&server, &emulator, &env))
        .collect();
    eventually("every event", Duration::from_secs(60), || {
        deliveries(&emulator).len() == total
    })
    .await;
    let leaders = relays.iter().filter(|r| r.leader()).count();
    let mut counted = 0;
    let mut takeovers = 0;
    for relay in relays {
        let stats = relay.terminate();
        counted += stats["possible_duplicates"];
        takeovers += stats["takeovers"];
    }
    eprintln!("takeovers: {takeovers}");

    let requests: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "batch/events")
        .collect();
    let refused = requests.iter().filter(|r| r.status == 429).count();
    assert_eq!(refused, 0, "no 429 from the shared limit");
    assert_eq!(leaders, 1, "exactly one process relayed at the end");
    // The ceiling: REQUESTS full batches per window. Count what was sent
    // in the first WINDOWS windows from the first request.
    let t0 = time_of(&requests[0].at).expect("RFC 3339 time");
    let in_span: usize = requests
        .iter()
        .filter(|r| time_of(&r.at).expect("RFC 3339 time") - t0 < WINDOW * WINDOWS)
        .map(|r| r.items.unwrap_or(0))
        .sum();
    let ceiling = (REQUESTS * WINDOWS) as usize * PER_REQUEST;
    let offsets: Vec<u128> = requests
        .iter()
        .map(|r| (time_of(&r.at).unwrap() - t0).as_millis())
        .collect();
    eprintln!("request times (ms from the first): {offsets:?}");
    eprintln!("delivered {in_span} of a ceiling of {ceiling} in {WINDOWS} windows");
    // A slot counts from its request's answer, so each window's first
    // request leaves a little later than the one a window before it: the
    // latency of one answer per window boundary, which on a loaded machine
    // can push one request per boundary out of the span (a CI run under two
    // busy loops measured 39 of 40). Fewer than that means slots are held
    // longer than the protocol says; the figure itself is a benchmark's
    // (docs/BENCHMARKS.md), not this test's.
    let floor = ((REQUESTS * WINDOWS - (WINDOWS - 1)) as usize) * PER_REQUEST;
    assert!(
        in_span >= floor,
        "{in_span} delivered of a ceiling of {ceiling} (at least {floor} expected)"
    );
    let seen = deliveries(&emulator);
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= counted as usize,
        "every event exactly once or counted ({duplicates} duplicates, {counted} counted)"
    );
}

/// Seconds since the epoch of an RFC 3339 UTC time such as
/// `2026-11-25T14:20:43.123456Z`, as a duration.
fn time_of(at: &str) -> Option<Duration> {
    let (date, time) = at.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':');
    let (h, min) = (
        t.next()?.parse::<u64>().ok()?,
        t.next()?.parse::<u64>().ok()?,
    );
    let sec: f64 = t.next()?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe - 719_468) as u64;
    Some(Duration::from_secs(days * 86_400 + h * 3600 + min * 60) + Duration::from_secs_f64(sec))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_within_the_takeover_interval() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const TAKEOVER: Duration = Duration::from_millis(200);
    let (server, pool, emulator, outbox) = setup(None).await;
    let env = [("RELAY_TAKEOVER_MS", TAKEOVER.as_millis().to_string())];
    let mut relays: Vec<RelayProcess> = (0..2)
        .map(|_| Relay::start(&server, &emulator, &env))
        .collect();
    eventually("a leader", Duration::from_secs(10), || {
        relays.iter().any(RelayProcess::leader)
    })
    .await;
    let index = relays.iter().position(RelayProcess::leader).unwrap();
    let mut old = relays.remove(index);
    let standby = relays.pop().unwrap();
    assert!(!standby.leader());
    let recorded: String = sqlx::query_scalar("SELECT leader FROM bento_outbox_relay")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        recorded.contains(&format!("pid {} ", old.pid())),
        "{recorded}"
    );

    old.kill9();
    let killed = Instant::now();
    eventually("the takeover", Duration::from_secs(10), || standby.leader()).await;
    let took = killed.elapsed();
    eprintln!("takeover after {took:?} (takeover interval {TAKEOVER:?})");
    // The documented bound is the takeover interval once the session ended
    // (at once for a killed process); the slack covers the processes'
    // scheduling and the 50 ms between the child's status lines.
    assert!(
        took <= TAKEOVER + Duration::from_millis(1500),
        "takeover took {took:?}"
    );
    fill(&outbox, &pool, 0, 10).await;
    eventually(
        "delivery by the new leader",
        Duration::from_secs(10),
        || emulator.events().len() == 10,
    )
    .await;
    drop(standby.terminate());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_bento_grows_the_table_not_the_memory() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (server, pool, emulator, outbox) = setup(None).await;
    // Bento accepts connections and never answers.
    emulator.inject(
        Fault::delay(Duration::from_secs(3600))
            .on("batch/events")
            .ratio(1.0),
    );
    let relay = Relay::start(&server, &emulator, &[]);
    fill(&outbox, &pool, 0, 5_000).await;
    eventually("the relay to lead", Duration::from_secs(10), || {
        relay.leader()
    })
    .await;
    // The relay holds its batch in a request Bento does not answer.
    eventually("the batch in flight", Duration::from_secs(10), || {
        emulator.received() >= 1
    })
    .await;
    let before = rss_kib(relay.pid());
    fill(&outbox, &pool, 5_000, 95_000).await;
    // A second of a growing table (not a wait for anything): a relay that
    // read the backlog into memory would show it now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(relay.pid());
    let pending = outbox.pending().await.unwrap();
    eprintln!("relay RSS {before} KiB with 5,000 rows waiting, {after} KiB with {pending}");
    assert_eq!(pending, 100_000, "the table holds everything");
    assert!(
        after < before + 4 * 1024,
        "the relay's memory grew from {before} KiB to {after} KiB"
    );
    assert!(emulator.events().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_pacing_keeps_four_instances_under_one_limit() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const REQUESTS: u32 = 8;
    const WINDOW: Duration = Duration::from_secs(1);
    let (_server, _pool, emulator, outbox) =
        setup(Some((Family::Fetch, Limit::new(REQUESTS, WINDOW)))).await;
    let outbox = outbox.fleet_pacing(true);
    // Four instances, each pacing itself to the account's whole limit: alone,
    // together they would send four times too much.
    let limits =
        RateLimits::unlimited().set(EndpointFamily::Fetch, RateLimit::new(REQUESTS, WINDOW));
    let clients: Vec<Client> = (0..4)
        .map(|_| {
            builder(&emulator)
                .rate_limits(limits.clone())
                .outbox(outbox.clone())
                .build()
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let calls = clients.iter().flat_map(|client| {
        (0..6).map(move |_| {
            let client = client.clone();
            async move { client.tags().await.map(|_| ()) }
        })
    });
    let results = futures_join(calls.collect()).await;
    let took = started.elapsed();
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let fetches = emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("fetch/"))
        .count();
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    eprintln!("24 calls from four instances took {took:?}");
    assert_eq!(fetches, 24);
    assert_eq!(refused, 0, "the fleet stayed under one limit");
    // 24 calls at 8 per window need at least two full windows after the first.
    assert!(took >= WINDOW * 2, "paced together: {took:?}");
    for client in clients {
        client.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_memory_queue_and_the_relay_share_one_limit() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const REQUESTS: u32 = 4;
    const WINDOW: Duration = Duration::from_secs(1);
    let (_server, pool, emulator, outbox) =
        setup(Some((Family::Batch, Limit::new(REQUESTS, WINDOW)))).await;
    let client = builder(&emulator)
        .rate_limits(
            RateLimits::unlimited().set(EndpointFamily::Batch, RateLimit::new(REQUESTS, WINDOW)),
        )
        .events_per_request(10)
        .outbox(outbox.clone())
        .build()
        .unwrap();
    // Six batches from memory and six from the table, each side alone
    // allowed the whole limit: together they must still keep to it.
    for n in 0..60 {
        client.track(&event(n)).unwrap();
    }
    fill(&outbox, &pool, 1000, 60).await;
    // Wait on what is asserted: the counters, which move after the
    // emulator has the events (once each side has settled its batch).
    eventually("both sides counted 60", Duration::from_secs(30), || {
        outbox.relay_stats().sent == 60 && client.stats().sent == 60
    })
    .await;
    assert_eq!(deliveries(&emulator).len(), 120);
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(refused, 0, "one budget for the queue and the relay");
    assert_eq!(outbox.relay_stats().sent, 60);
    assert_eq!(client.stats().sent, 60);
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Four relays whose batches reach Bento up to two windows after their
/// fleet slot was granted (a proxy holds them): held slots keep every
/// window Bento sees at the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_keep_the_limit_however_late_their_requests_arrive() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const REQUESTS: u32 = 5;
    const WINDOW: Duration = Duration::from_secs(1);
    let (server, pool, emulator, outbox) =
        setup(Some((Family::Batch, Limit::new(REQUESTS, WINDOW)))).await;
    let proxy = bento_tests::late::LateProxy::start(emulator.addr(), WINDOW * 2, 3).await;
    let total = 20 * 1000;
    fill(&outbox, &pool, 0, total).await;
    let env = [
        ("RELAY_REQUESTS", REQUESTS.to_string()),
        ("RELAY_WINDOW_MS", WINDOW.as_millis().to_string()),
        ("BENTO_BASE_URL", proxy.url_for(&emulator.base_url())),
    ];
    let relays: Vec<RelayProcess> = (0..4)
        .map(|_| Relay::start(&server, &emulator, &env))
        .collect();
    eventually("every event", Duration::from_secs(120), || {
        deliveries(&emulator).len() == total
    })
    .await;
    for relay in relays {
        relay.terminate();
    }
    assert!(proxy.delayed() >= 20, "the batches went through the proxy");
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(refused, 0, "no window Bento saw held more than {REQUESTS}");
}

/// With fleet pacing on and PostgreSQL frozen, paced calls fall back to
/// this process's pacer at once instead of waiting out the pool; when it
/// thaws, the budget knows what was sent meanwhile: no 429 throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_neither_stalls_fleet_pacing_nor_breaks_the_limit() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const REQUESTS: u32 = 5;
    const WINDOW: Duration = Duration::from_secs(1);
    let (server, _pool, emulator, outbox) =
        setup(Some((Family::Fetch, Limit::new(REQUESTS, WINDOW)))).await;
    let outbox = outbox
        .fleet_pacing(true)
        .timeout(Duration::from_millis(300));
    let client = builder(&emulator)
        .rate_limits(
            RateLimits::unlimited().set(EndpointFamily::Fetch, RateLimit::new(REQUESTS, WINDOW)),
        )
        .outbox(outbox.clone())
        .build()
        .unwrap();
    for _ in 0..5 {
        client.tags().await.unwrap();
    }
    server.freeze();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let call = Instant::now();
        client.tags().await.unwrap();
        slowest = slowest.max(call.elapsed());
    }
    let frozen_for = started.elapsed();
    server.thaw();
    for _ in 0..10 {
        client.tags().await.unwrap();
    }
    eprintln!("10 calls with the database frozen took {frozen_for:?}, the slowest {slowest:?}");
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(refused, 0, "the limit held before, during and after");
    // Ten calls at five a second take two windows; waiting for the pool
    // at every call would have taken ten times the 300 ms timeout.
    assert!(
        frozen_for < Duration::from_millis(300) * 10,
        "fell back at once: {frozen_for:?}"
    );
    // The outbox's own calls give up after its timeout.
    server.freeze();
    let started = Instant::now();
    let pending = outbox.pending().await;
    server.thaw();
    assert!(
        matches!(pending, Err(bento_outbox::OutboxError::Timeout { .. })),
        "{pending:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// With the outbox's default 10 s timeout and PostgreSQL frozen from the
/// start, neither the first fleet-paced direct call nor the first batch of
/// the in-memory queue waits that timeout out: a budget call gives up after
/// at most a second and the process paces itself meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_the_first_paced_calls_do_not_wait_the_outbox_timeout() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (server, _pool, emulator, outbox) = setup(None).await;
    let outbox = outbox.fleet_pacing(true);
    let client = builder(&emulator)
        .rate_limits(RateLimits::default())
        .outbox(outbox)
        .build()
        .unwrap();
    server.freeze();
    let started = Instant::now();
    client.tags().await.unwrap();
    let direct = started.elapsed();
    let started = Instant::now();
    client.track(&event(1)).unwrap();
    let report = client.flush(Duration::from_secs(20)).await;
    let batch = started.elapsed();
    server.thaw();
    eprintln!(
        "with PostgreSQL frozen: the first direct call took {direct:?}, the first batch {batch:?}"
    );
    assert_eq!(report.unwrap().stats.sent, 1);
    assert!(
        direct < Duration::from_secs(5),
        "the first direct call waited {direct:?}"
    );
    assert!(
        batch < Duration::from_secs(5),
        "the first batch waited {batch:?}"
    );
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Bento unreachable for longer than the whole retry budget (ten attempts
/// at this policy take well under a second): the rows wait in the table,
/// none becomes a dead letter, and all are delivered once Bento is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_the_retry_budget_dead_letters_nothing() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (_server, pool, emulator, outbox) = setup(None).await;
    // A port nothing listens on yet: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let down = format!("http://127.0.0.1:{port}/api/v1/");
    let client = builder(&emulator)
        .base_url(&down)
        .delivery_backoff(bento_core::delivery::Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(20),
        ))
        .outbox(outbox.clone())
        .build()
        .unwrap();
    fill(&outbox, &pool, 0, 100).await;
    let mut tracked = 0;
    // Thirty times the attempts the policy would allow a direct call.
    eventually("300 retries", Duration::from_secs(30), || {
        outbox.relay_stats().retried >= 300
    })
    .await;
    for n in 100..110 {
        client.track(&event(n)).unwrap();
        tracked += 1;
    }
    assert_eq!(outbox.relay_stats().failed, 0);
    assert!(outbox.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(outbox.pending().await.unwrap(), 100);
    // Bento comes back on that port.
    let back = Emulator::builder()
        .no_rate_limits()
        .keys(emulator.publishable_key(), emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .port(port)
        .start()
        .await
        .unwrap();
    eventually(
        "all rows and tracked events",
        Duration::from_secs(30),
        || deliveries(&back).len() == 100 + tracked,
    )
    .await;
    // Rows are deleted after Bento's answer, so a moment after the emulator
    // has them: wait for that, bounded, rather than read it once.
    eventually_async(
        "the delivered rows settled",
        Duration::from_secs(30),
        || async { outbox.pending().await.unwrap() == 0 && outbox.relay_stats().sent >= 100 },
    )
    .await;
    assert_eq!(outbox.relay_stats().sent, 100);
    assert_eq!(outbox.relay_stats().failed, 0);
    assert_eq!(client.stats().failed, 0);
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

async fn futures_join<F, T>(futures: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[test]
#[ignore = "the relaying child process RelayProcess starts; not a test on its own"]
fn relay_child_process() {
    bento_tests::relay::child::main()
}
