//! The background delivery engine against the emulator over loopback HTTP:
//! nothing lost under faults, overload handed back exactly, shutdown within
//! its deadline, and `track` from every kind of caller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bento_core::delivery::Backoff;
use bento_core::{
    BentoEvent, ClientBuilder, Command, DeliveryFailure, EndpointFamily, Event, FailureReason,
    FlushError, ItemKind, RateLimit, RateLimits, SubscriberImport, TrackError,
};
use bento_emulator::{Emulator, Family, Fault, Limit};

#[derive(BentoEvent)]
#[bento(event = "page.view")]
struct PageView {
    email: String,
    n: u64,
}

fn view(n: u64) -> PageView {
    PageView {
        email: format!("user{}@example.com", n % 500),
        n,
    }
}

fn builder(emulator: &Emulator) -> ClientBuilder {
    bento_tests::client_for(emulator).delivery_backoff(Backoff::new(
        Duration::from_millis(10),
        Duration::from_millis(200),
    ))
}

async fn emulator() -> Emulator {
    Emulator::builder().no_rate_limits().start().await.unwrap()
}

/// How many times the emulator received each `n`.
fn received(emulator: &Emulator) -> HashMap<u64, usize> {
    let mut seen = HashMap::new();
    for event in emulator.events() {
        let n = event.details["n"].as_u64().unwrap();
        *seen.entry(n).or_insert(0) += 1;
    }
    seen
}

fn collect_failures() -> (
    Arc<Mutex<Vec<DeliveryFailure>>>,
    impl Fn(DeliveryFailure) + Send + Sync,
) {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failures);
    (failures, move |failure| sink.lock().unwrap().push(failure))
}

#[tokio::test]
async fn tracked_events_are_batched_and_delivered() {
    let emulator = emulator().await;
    // A long interval: batches close because they are full, or at the flush.
    let client = builder(&emulator)
        .flush_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    for n in 0..2500 {
        client.track(&view(n)).unwrap();
    }
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.stats.sent, 2500);
    assert_eq!(report.stats.pending, 0);
    let seen = received(&emulator);
    assert_eq!(seen.len(), 2500);
    assert!(seen.values().all(|&count| count == 1));
    let requests = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "batch/events")
        .count();
    assert_eq!(requests, 3, "2500 events take 3 requests");
}

/// 100,000 events through 30% 5xx, bursts of 429 with Retry-After, dropped
/// connections (some after the server processed the batch) and 5 s stalls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_survives_a_hostile_server() {
    const EVENTS: u64 = 100_000;
    let emulator = emulator().await;
    let (failures, hook) = collect_failures();
    let client = builder(&emulator)
        .queue_capacity(EVENTS as usize)
        .max_in_flight(4)
        .timeout(Duration::from_secs(10))
        .on_delivery_failure(hook)
        .build()
        .unwrap();
    let on = "/batch/events";
    emulator.inject(Fault::delay(Duration::from_secs(5)).on(on).times(2));
    emulator.inject(Fault::status(429).retry_after(1).on(on).times(3));
    emulator.inject(Fault::drop_connection().on(on).times(2));
    emulator.inject(Fault::drop_connection().after_processing().on(on).times(2));
    emulator.inject(Fault::status(503).on(on).ratio(0.3));

    let started = Instant::now();
    for n in 0..EVENTS {
        client.track(&view(n)).unwrap();
    }
    let report = client.flush(Duration::from_secs(120)).await.unwrap();
    let elapsed = started.elapsed();

    let seen = received(&emulator);
    let duplicates: usize = seen.values().map(|&count| count - 1).sum();
    println!(
        "delivered {} events in {elapsed:?}; {} resends, {duplicates} duplicates at the server",
        seen.len(),
        report.stats.retried
    );
    assert_eq!(seen.len() as u64, EVENTS, "every event arrived");
    assert_eq!(report.stats.sent, EVENTS);
    assert_eq!((report.stats.failed, report.stats.pending), (0, 0));
    assert!(failures.lock().unwrap().is_empty());
    // Duplicates only come from batches the server processed and then failed.
    assert!(duplicates as u64 <= report.stats.retried);
    assert!(duplicates <= 2 * 1000, "{duplicates} duplicates");
}

#[tokio::test]
async fn a_full_queue_hands_every_refused_event_back() {
    let emulator = emulator().await;
    emulator.inject(Fault::delay(Duration::from_secs(1)).times(1));
    let client = builder(&emulator).queue_capacity(10).build().unwrap();
    let mut refused = Vec::new();
    for n in 0..1000 {
        match client.track(&view(n)) {
            Ok(()) => {}
            Err(TrackError::QueueFull { items, capacity }) => {
                assert_eq!(capacity, 10);
                assert_eq!(items.len(), 1);
                let json: serde_json::Value = serde_json::from_slice(items[0].json()).unwrap();
                assert_eq!(
                    json["details"]["n"], n,
                    "the refused event itself comes back"
                );
                refused.extend(items);
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    let stats = client.stats();
    assert_eq!(refused.len(), 990);
    assert_eq!((stats.queued, stats.dropped, stats.pending), (10, 990, 10));

    // A handed-back event can be queued again once there is room (after the
    // stalled first batch is delivered).
    let first = refused.remove(0);
    client.enqueue_wait(first).await.unwrap();
    let report = client.flush(Duration::from_secs(40)).await.unwrap();
    assert_eq!(report.stats.sent, 11);
    assert_eq!(report.stats.queued, 11);
}

/// A status that says a retry cannot succeed (501 Not Implemented) gives
/// the batch up at once, as it fails a direct call, instead of retrying it
/// for as long as the queue lives.
#[tokio::test]
async fn a_501_is_given_up_at_once_as_for_direct_calls() {
    let emulator = emulator().await;
    emulator.inject(Fault::status(501).on("batch/events").times(1));
    let (failures, hook) = collect_failures();
    let client = builder(&emulator)
        .on_delivery_failure(hook)
        .build()
        .unwrap();
    client.track(&view(1)).unwrap();
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!((report.stats.sent, report.stats.failed), (0, 1));
    assert_eq!(report.stats.retried, 0, "not retried");
    let failures = failures.lock().unwrap();
    match &failures[0].reason {
        FailureReason::Api(error) => assert_eq!(error.status().map(|s| s.as_u16()), Some(501)),
        other => panic!("{other:?}"),
    }
}

/// Waiting for room is not dropping: `track_wait` and `enqueue_wait` on a
/// full queue count nothing as dropped, and a `track` that falls back to
/// `enqueue_wait` counts only what `track` really handed back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_room_is_never_counted_as_dropped() {
    let emulator = emulator().await;
    emulator.inject(
        Fault::delay(Duration::from_millis(20))
            .on("batch/events")
            .ratio(1.0),
    );
    let client = builder(&emulator)
        .queue_capacity(50)
        .flush_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let waiters: Vec<_> = (0..4u64)
        .map(|task| {
            let client = client.clone();
            tokio::spawn(async move {
                for n in 0..500 {
                    client.track_wait(&view(task * 10_000 + n)).await.unwrap();
                }
            })
        })
        .collect();
    let mut handed_back = 0;
    for n in 0..500 {
        if let Err(TrackError::QueueFull { items, .. }) = client.track(&view(50_000 + n)) {
            handed_back += items.len() as u64;
            for item in items {
                client.enqueue_wait(item).await.unwrap();
            }
        }
    }
    for waiter in waiters {
        waiter.await.unwrap();
    }
    let report = client.flush(Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.stats.sent, 2_500, "every event delivered");
    assert!(handed_back > 0, "the queue was full at times");
    assert_eq!(
        report.stats.dropped, handed_back,
        "dropped counts what track handed back, nothing the waits did"
    );
    assert_eq!(received(&emulator).len(), 2_500);
}

#[tokio::test]
async fn shutdown_delivers_everything_queued() {
    let emulator = emulator().await;
    let client = builder(&emulator)
        .flush_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    for n in 0..5000 {
        client.track(&view(n)).unwrap();
    }
    let report = client.shutdown(Duration::from_secs(20)).await.unwrap();
    assert_eq!(report.stats.sent, 5000);
    assert_eq!(received(&emulator).len(), 5000);
    // Closed afterwards, and the event is handed back.
    match client.track(&view(1)) {
        Err(TrackError::Closed { items }) => assert_eq!(items.len(), 1),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(client.shutdown(Duration::from_secs(1)).await.is_ok());
}

#[tokio::test]
async fn shutdown_past_its_deadline_reports_exactly_what_is_pending() {
    let emulator = emulator().await;
    emulator.inject(Fault::delay(Duration::from_secs(30)).times(u64::MAX));
    let (failures, hook) = collect_failures();
    let client = builder(&emulator)
        .on_delivery_failure(hook)
        .build()
        .unwrap();
    for n in 0..3000 {
        client.track(&view(n)).unwrap();
    }
    let started = Instant::now();
    let result = client.shutdown(Duration::from_millis(500)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    match result {
        Err(FlushError::Timeout { pending, .. }) => assert_eq!(pending, 3000),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let handed: usize = failures.lock().unwrap().iter().map(|f| f.items.len()).sum();
    assert_eq!(handed, 3000, "every undelivered event reached the hook");
    assert!(
        failures
            .lock()
            .unwrap()
            .iter()
            .all(|f| matches!(f.reason, FailureReason::ShutdownDeadline))
    );
    let stats = client.stats();
    assert_eq!((stats.failed, stats.pending, stats.sent), (3000, 0, 0));
}

#[tokio::test]
async fn a_refused_event_is_isolated_and_the_rest_delivered() {
    let emulator = emulator().await;
    emulator.inject(
        Fault::status(400)
            .body("events[?].email refused")
            .body_contains("poison@example.com")
            .times(u64::MAX),
    );
    let (failures, hook) = collect_failures();
    let client = builder(&emulator)
        .on_delivery_failure(hook)
        .build()
        .unwrap();
    for n in 0..999 {
        client.track(&view(n)).unwrap();
    }
    client
        .track(&PageView {
            email: "poison@example.com".into(),
            n: 999,
        })
        .unwrap();
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!((report.stats.sent, report.stats.failed), (999, 1));
    assert_eq!(received(&emulator).len(), 999);
    let failures = failures.lock().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].items.len(), 1);
    assert!(String::from_utf8_lossy(failures[0].items[0].json()).contains("poison"));
    assert!(matches!(failures[0].reason, FailureReason::Api(_)));
}

/// The retry rule: a failure that may pass is waited out however many
/// attempts it takes (an outage far longer than ten attempts' backoff loses
/// nothing); only the maximum age, when set, gives up on it.
#[tokio::test]
async fn an_outage_longer_than_the_retry_budget_loses_nothing() {
    let emulator = emulator().await;
    // 503 without Retry-After, then dropped connections: 30 failures, three
    // times the attempts a policy of 10 would allow.
    emulator.inject(Fault::status(503).times(15));
    emulator.inject(Fault::drop_connection().times(15));
    let (failures, hook) = collect_failures();
    let client = builder(&emulator)
        .delivery_backoff(Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(5),
        ))
        .on_delivery_failure(hook)
        .build()
        .unwrap();
    client.track(&Event::new("x", "a@example.com")).unwrap();
    let report = client.flush(Duration::from_secs(20)).await.unwrap();
    assert_eq!((report.stats.sent, report.stats.failed), (1, 0));
    assert!(report.stats.retried >= 30, "{:?}", report.stats);
    assert!(failures.lock().unwrap().is_empty());
    assert_eq!(emulator.events().len(), 1);
}

#[tokio::test]
async fn items_past_the_maximum_age_go_to_the_hook() {
    let emulator = emulator().await;
    emulator.inject(Fault::status(503).times(u64::MAX));
    let (failures, hook) = collect_failures();
    let client = builder(&emulator)
        .delivery_backoff(Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(250),
        ))
        .delivery_max_age(Duration::from_millis(200))
        .on_delivery_failure(hook)
        .build()
        .unwrap();
    client.track(&Event::new("x", "a@example.com")).unwrap();
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!((report.stats.sent, report.stats.failed), (0, 1));
    let failures = failures.lock().unwrap();
    assert_eq!(failures[0].items[0].kind(), ItemKind::Event);
    match &failures[0].reason {
        FailureReason::Expired { age, last } => {
            assert!(*age >= Duration::from_millis(200), "{age:?}");
            assert_eq!(last.status().map(|s| s.as_u16()), Some(503));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let emulator = emulator().await;
    emulator.inject(Fault::status(429).retry_after(1).times(1));
    let client = builder(&emulator).build().unwrap();
    let started = Instant::now();
    client.track(&view(1)).unwrap();
    client.flush(Duration::from_secs(10)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(received(&emulator).len(), 1);
}

#[tokio::test]
async fn subscribers_can_be_imported_in_the_background() {
    let emulator = emulator().await;
    let client = builder(&emulator)
        .flush_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    let records: Vec<SubscriberImport> = (0..1500)
        .map(|i| SubscriberImport::new(format!("s{i}@example.com")).tag("bulk"))
        .collect();
    client.enqueue_subscribers(&records).unwrap();
    client.track(&view(1)).unwrap();
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.stats.sent, 1501);
    assert_eq!(
        emulator.subscriber("s1499@example.com").unwrap().tags,
        vec!["bulk"]
    );
    let mut imports: Vec<Option<usize>> = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "batch/subscribers")
        .map(|r| r.items)
        .collect();
    // Two requests may be in flight at once, so they can finish in either order.
    imports.sort();
    assert_eq!(imports, vec![Some(500), Some(1000)]);
}

#[tokio::test(flavor = "current_thread")]
async fn track_inside_a_current_thread_runtime() {
    let emulator = emulator().await;
    let client = builder(&emulator).build().unwrap();
    for n in 0..300 {
        client.track(&view(n)).unwrap();
    }
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.stats.sent, 300);
}

#[test]
fn track_from_sync_code_and_drop_drains_the_queue() {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    let client = builder(&emulator)
        .flush_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    for n in 0..700 {
        client.track(&view(n)).unwrap();
    }
    // No runtime anywhere: dropping the last handle delivers within drain_timeout.
    drop(client);
    assert_eq!(received(&emulator).len(), 700);
}

#[test]
fn track_from_many_threads_at_once() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 5000;
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    let client = builder(&emulator).queue_capacity(2000).build().unwrap();
    let refusals: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let client = client.clone();
                scope.spawn(move || {
                    let mut refusals = 0;
                    for i in 0..PER_THREAD {
                        let mut item =
                            bento_core::Encoded::event(&view(t * PER_THREAD + i)).unwrap();
                        loop {
                            match client.enqueue(item) {
                                Ok(()) => break,
                                Err(TrackError::QueueFull { mut items, .. }) => {
                                    refusals += 1;
                                    item = items.remove(0);
                                    std::thread::sleep(Duration::from_micros(200));
                                }
                                Err(other) => panic!("{other}"),
                            }
                        }
                    }
                    refusals
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime
        .block_on(client.flush(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(report.stats.sent, THREADS * PER_THREAD);
    assert_eq!(report.stats.queued, THREADS * PER_THREAD);
    assert_eq!(report.stats.dropped, refusals, "every refusal was counted");
    let seen = received(&emulator);
    assert_eq!(seen.len() as u64, THREADS * PER_THREAD);
    assert!(seen.values().all(|&count| count == 1));
}

#[tokio::test]
async fn invalid_and_oversized_events_are_refused_at_track() {
    let emulator = emulator().await;
    let client = builder(&emulator).max_batch_bytes(2048).build().unwrap();
    assert!(matches!(
        client.track(&Event::new("x", "not-an-email")),
        Err(TrackError::Invalid(_))
    ));
    let huge = Event::new("x", "a@example.com").detail("blob", "y".repeat(4096));
    assert!(matches!(
        client.track(&huge),
        Err(TrackError::TooLarge { limit: 2048, .. })
    ));
    assert_eq!(client.stats().queued, 0);
}

fn tag(n: usize, tag: &str) -> Command {
    Command::AddTag {
        email: format!("c{n}@example.com"),
        tag: tag.into(),
    }
}

/// How many commands each `/fetch/commands` request carried, smallest first.
fn command_requests(emulator: &Emulator) -> Vec<Option<usize>> {
    let mut sizes: Vec<Option<usize>> = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "fetch/commands" && r.status == 200)
        .map(|r| r.items)
        .collect();
    sizes.sort();
    sizes
}

#[tokio::test]
async fn queued_commands_are_batched_to_fetch_commands_and_applied() {
    let emulator = emulator().await;
    let client = builder(&emulator)
        .flush_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    for n in 0..240 {
        client.enqueue_command(tag(n, "vip")).unwrap();
    }
    client
        .enqueue_commands(&[
            Command::Subscribe {
                email: "c0@example.com".into(),
            },
            Command::AddField {
                email: "c1@example.com".into(),
                key: "plan".into(),
                value: serde_json::json!("pro"),
            },
        ])
        .unwrap();
    client.track(&view(1)).unwrap();
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!((report.stats.sent, report.stats.failed), (243, 0));
    assert_eq!(
        command_requests(&emulator),
        vec![Some(42), Some(100), Some(100)]
    );
    assert_eq!(
        emulator.subscriber("c239@example.com").unwrap().tags,
        vec!["vip"]
    );
    assert_eq!(
        emulator.subscriber("c1@example.com").unwrap().fields["plan"],
        "pro"
    );
    assert_eq!(received(&emulator).len(), 1, "the event went its own way");
}

#[tokio::test]
async fn a_refused_command_is_isolated_and_the_rest_applied() {
    let emulator = emulator().await;
    emulator.inject(
        Fault::status(400)
            .on("fetch/commands")
            .body("command[?] refused")
            .body_contains("poison@example.com")
            .times(u64::MAX),
    );
    // An outage first: commands wait it out like events.
    emulator.inject(Fault::status(503).on("fetch/commands").times(3));
    let (failures, hook) = collect_failures();
    let client = builder(&emulator)
        .on_delivery_failure(hook)
        .build()
        .unwrap();
    for n in 0..30 {
        client.enqueue_command(tag(n, "beta")).unwrap();
    }
    client
        .enqueue_command(Command::Unsubscribe {
            email: "poison@example.com".into(),
        })
        .unwrap();
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!((report.stats.sent, report.stats.failed), (30, 1));
    assert!(report.stats.retried >= 3, "{:?}", report.stats);
    assert_eq!(
        emulator.subscriber("c29@example.com").unwrap().tags,
        vec!["beta"]
    );
    let failures = failures.lock().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].items.len(), 1);
    assert_eq!(failures[0].items[0].kind(), ItemKind::Command);
    assert!(String::from_utf8_lossy(failures[0].items[0].json()).contains("poison"));
    assert!(matches!(failures[0].reason, FailureReason::Api(_)));
}

#[tokio::test]
async fn queued_commands_keep_the_fetch_limit_and_share_it_with_direct_calls() {
    const WINDOW: Duration = Duration::from_millis(300);
    let emulator = Emulator::builder()
        .no_rate_limits()
        .rate_limit(Family::Fetch, Limit::new(2, WINDOW))
        .start()
        .await
        .unwrap();
    let client = builder(&emulator)
        .rate_limits(RateLimits::unlimited().set(EndpointFamily::Fetch, RateLimit::new(2, WINDOW)))
        .flush_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    // Six requests' worth of commands, trickled so that each leaves alone,
    // and direct reads of the same family meanwhile.
    for n in 0..6 {
        client.enqueue_command(tag(n, "paced")).unwrap();
        client.tags().await.unwrap();
    }
    let report = client.flush(Duration::from_secs(20)).await.unwrap();
    assert_eq!((report.stats.sent, report.stats.failed), (6, 0));
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(refused, 0, "no window saw more than two /fetch requests");
}

#[tokio::test]
async fn an_invalid_command_is_refused_at_enqueue() {
    let emulator = emulator().await;
    let client = builder(&emulator).build().unwrap();
    let error = client
        .enqueue_command(Command::AddTag {
            email: "not-an-email".into(),
            tag: "x".into(),
        })
        .unwrap_err();
    assert!(error.to_string().contains("command.email"), "{error}");
    let error = client
        .enqueue_commands(&[tag(1, "ok"), tag(2, "a,b")])
        .unwrap_err();
    assert!(error.to_string().contains("command[1].query"), "{error}");
    assert_eq!(client.stats().queued, 0, "all or none");
}
