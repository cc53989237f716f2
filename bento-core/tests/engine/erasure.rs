//! Erasure in the in-memory engine, over real HTTP: while Bento answers 503
//! and the person's items wait in the retry queue, `erase` removes them,
//! waits for what is in flight, and only then asks Bento to delete the
//! person; after it returns, no request that reaches Bento carries the
//! address (a recording proxy sees every body), later items about them are
//! refused, and everyone else's items are delivered exactly once.

use std::time::Duration;

use bento_core::delivery::Backoff;
use bento_core::{Event, TrackError};
use bento_emulator::{Emulator, Fault};
use bento_tests::contract::ContractProxy;
use bento_tests::wait::eventually;

const ERASED: &str = "erased.person@example.com";

fn others(emulator: &Emulator) -> Vec<u64> {
    let mut seen: Vec<u64> = emulator
        .events()
        .iter()
        .filter(|e| e.email != ERASED)
        .filter_map(|e| e.details.get("n").and_then(serde_json::Value::as_u64))
        .collect();
    seen.sort_unstable();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_erase_returns_no_request_carries_the_person_and_others_are_delivered() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    // The first two batches are answered 503 with Retry-After: their items
    // wait in the retry queue when the erasure comes.
    emulator.inject(
        Fault::status(503)
            .on("/batch/events")
            .retry_after(5)
            .times(2),
    );
    // Records and commands wait behind a 503 too.
    for path in ["/batch/subscribers", "/fetch/commands"] {
        emulator.inject(Fault::status(503).on(path).retry_after(5).times(1));
    }
    let proxy = ContractProxy::observe(&emulator.base_url()).await;
    let client = bento_tests::client_for(&emulator)
        .base_url(proxy.base_url())
        .events_per_request(5)
        .flush_interval(Duration::from_millis(5))
        .delivery_backoff(Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(100),
        ))
        .build()
        .unwrap();
    let event = |n: u64, email: &str| Event::new("order.placed", email).detail("n", n);
    for n in 0..20u64 {
        let email = if n % 2 == 0 {
            ERASED.to_owned()
        } else {
            format!("other{n}@example.com")
        };
        client.track(&event(n, &email)).unwrap();
        if n < 4 {
            client
                .enqueue_subscriber(&bento_core::SubscriberImport::new(email.clone()))
                .unwrap();
            client
                .enqueue_command(bento_core::Command::AddTag {
                    email,
                    tag: "vip".into(),
                })
                .unwrap();
        }
    }
    bento_tests::erasure::refused(&emulator, 503, 4).await;

    let erasure = client.erase(ERASED).await.unwrap();
    let seen_before = proxy.exchanges().len();
    assert!(
        erasure.removed + erasure.in_flight >= 1,
        "the person's items waited in the retry queue or were in flight: {erasure:?}"
    );
    assert_eq!(
        erasure.deletion,
        Some(bento_core::deletion::Deletion::Queued)
    );

    // Later items about the person are refused; everyone else's go on.
    let refused = client.track(&event(100, ERASED)).unwrap_err();
    assert!(matches!(refused, TrackError::Erased { .. }), "{refused}");
    assert!(
        !refused.to_string().contains(ERASED),
        "no address in the error"
    );
    // Direct calls too: they would re-create the person in Bento.
    let direct = [
        client.track_now(&event(101, ERASED)).await.unwrap_err(),
        client
            .import_subscribers(&[bento_core::SubscriberImport::new(ERASED)])
            .await
            .unwrap_err(),
        client
            .run_command(bento_core::Command::AddTag {
                email: ERASED.into(),
                tag: "vip".into(),
            })
            .await
            .unwrap_err(),
        client.create_subscriber(ERASED).await.unwrap_err(),
    ];
    for error in &direct {
        assert!(
            matches!(error, bento_core::Error::Erased { items: 1 }),
            "{error:?}"
        );
    }
    for n in 20..30u64 {
        client
            .track(&event(n, &format!("other{n}@example.com")))
            .unwrap();
    }
    let report = client.flush(Duration::from_secs(30)).await.unwrap();
    assert_eq!(report.stats.pending, 0);

    // Nothing about the person reached Bento after `erase` returned, but
    // the deletion request itself.
    let after: Vec<_> = proxy.exchanges().split_off(seen_before);
    bento_tests::erasure::none_carries(&after, ERASED);
    // Everyone else: each item exactly once.
    let expected: Vec<u64> = (0..30).filter(|n| n % 2 == 1 || *n >= 20).collect();
    assert_eq!(others(&emulator), expected);
    let stats = client.stats();
    // Erased: what waited, and what was in flight and came back failed (a
    // retry leaves it out); what was in flight and delivered is not.
    assert!(
        (erasure.removed..=erasure.removed + erasure.in_flight).contains(&stats.erased),
        "{stats:?} {erasure:?}"
    );
    assert_eq!(
        stats.refused, 5,
        "track and the four direct calls: {stats:?}"
    );
    assert_eq!(stats.failed, 0, "{stats:?}");

    // Consent again: the tombstone is lifted.
    assert!(client.lift_erasure(ERASED).await.unwrap());
    client.track(&event(200, ERASED)).unwrap();
}

/// A request carrying the person is in flight when `erase` is called: the
/// erasure waits for it (it may reach Bento: it left before the call), and
/// Bento is asked to delete the person only after its answer came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_waits_for_the_request_in_flight_before_asking_bento() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    emulator.inject(
        Fault::delay(Duration::from_secs(2))
            .on("/batch/events")
            .times(1),
    );
    let proxy = ContractProxy::observe(&emulator.base_url()).await;
    let client = bento_tests::client_for(&emulator)
        .base_url(proxy.base_url())
        .flush_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    for (n, email) in [ERASED, "a@example.com", ERASED, "b@example.com"]
        .into_iter()
        .enumerate()
    {
        client
            .track(&Event::new("order.placed", email).detail("n", n as u64))
            .unwrap();
    }
    eventually("the batch in flight", Duration::from_secs(20), || {
        emulator.received() >= 1
    })
    .await;
    let erasure = client.erase(ERASED).await.unwrap();
    assert_eq!(
        (erasure.removed, erasure.in_flight),
        (0, 2),
        "both items were in the request in flight"
    );
    // Its answer came before the deletion request left.
    let order: Vec<String> = proxy.exchanges().iter().map(|e| e.path.clone()).collect();
    assert_eq!(order, ["batch/events", "data_deletion_requests"]);
    assert_eq!(others(&emulator).len(), 2);
}
