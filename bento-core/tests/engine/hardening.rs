//! The client against a misbehaving server: every defect of the hardening
//! issue, each with the behaviour that used to break it, plus a catalogue of
//! hostile answers. For each, direct calls end in a typed error or success
//! (never a panic or a hang) and the delivery engine keeps its invariant:
//! every tracked item is delivered, handed to the failure hook, or reported
//! pending.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bento_core::delivery::Backoff;
use bento_core::{
    Client, ClientBuilder, DeliveryFailure, DeliveryStats, Error, Event, FailureReason, FlushError,
    RateLimit, RateLimits, RetryPolicy, TrackError,
};
use bento_emulator::{Emulator, Fault};
use bento_tests::hostile::{Hostile, Script, Step};

const CHUNKED_200: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";

fn event(n: u64) -> Event {
    Event::new("page.view", format!("user{n}@example.com")).detail("n", n)
}

/// Items the failure hook received, counted as the engine counts them.
#[derive(Default)]
struct Ledger {
    failed: AtomicU64,
    reasons: std::sync::Mutex<Vec<String>>,
}

impl Ledger {
    fn hook(self: &Arc<Self>) -> impl Fn(DeliveryFailure) + Send + Sync + 'static {
        let ledger = Arc::clone(self);
        move |failure| {
            let n = match failure.reason {
                FailureReason::PartlyRefused { refused } => refused,
                _ => failure.items.len() as u64,
            };
            ledger.failed.fetch_add(n, Ordering::SeqCst);
            ledger
                .reasons
                .lock()
                .unwrap()
                .push(failure.reason.to_string());
        }
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }
}

/// Quick timeouts and retries, no pacing: each hostile case takes moments.
fn client_for(base_url: &str, ledger: &Arc<Ledger>) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .publishable_key("pk")
        .secret_key("sk")
        .site_uuid("site")
        .rate_limits(RateLimits::unlimited())
        .timeout(Duration::from_millis(800))
        .connect_timeout(Duration::from_millis(500))
        .flush_interval(Duration::from_millis(10))
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(5)),
        )
        .delivery_backoff(Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(5),
        ))
        .on_delivery_failure(ledger.hook())
}

/// A server that answers the first two requests with `bad`, then properly.
async fn bad_then_good(bad: Script) -> Hostile {
    Hostile::start(move |i, seen| {
        if i < 2 {
            bad.clone()
        } else {
            Script::accepted(seen.items)
        }
    })
    .await
}

/// After a shutdown, every tracked item was delivered or went to the hook.
fn assert_accounted(what: &str, tracked: u64, stats: DeliveryStats, ledger: &Ledger) {
    assert_eq!(stats.pending, 0, "{what}: {stats:?}");
    assert_eq!(stats.sent + stats.failed, tracked, "{what}: {stats:?}");
    assert_eq!(
        ledger.failed(),
        stats.failed,
        "{what}: the hook got every failed item"
    );
}

/// Tracks `n` events, flushes, shuts down, and checks the invariant.
async fn engine_accounts_for_everything(what: &str, client: Client, ledger: &Ledger, n: u64) {
    for i in 0..n {
        client.track(&event(i)).unwrap();
    }
    match client.flush(Duration::from_secs(5)).await {
        Ok(report) => assert_eq!(report.stats.pending, 0, "{what}"),
        Err(FlushError::Timeout { pending, .. }) => assert!(pending <= n, "{what}"),
        Err(other) => panic!("{what}: {other:?}"),
    }
    let _ = client.shutdown(Duration::from_secs(2)).await;
    assert_accounted(what, n, client.stats(), ledger);
}

/// Defect 1: extreme and malformed `Retry-After` values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_retry_after_value_is_bounded_or_ignored() {
    let values = [
        "1e300",
        "1e20",
        "9223372036854775807",
        "18446744073709551615",
        "-1",
        "NaN",
        "inf",
        "-inf",
        "soon",
        "1.5",
        "0.0001",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "",
    ];
    let mut cases = Vec::new();
    for value in values {
        cases.push(tokio::spawn(async move {
            let server = Hostile::start(move |i, seen| {
                if i % 2 == 0 {
                    Script::status(429, &[("retry-after", value)], r#"{"error":"slow down"}"#)
                } else {
                    Script::accepted(seen.items)
                }
            })
            .await;
            let ledger = Arc::new(Ledger::default());
            let client = client_for(&server.base_url(), &ledger).build().unwrap();
            let direct =
                tokio::time::timeout(Duration::from_secs(5), client.send_events(&[event(0)]))
                    .await
                    .unwrap_or_else(|_| panic!("Retry-After {value:?}: the direct call hung"));
            match direct {
                Ok(_) => {}
                Err(Error::Api(api)) => assert_eq!(api.status.as_u16(), 429),
                Err(Error::RateLimited { .. }) => {}
                Err(other) => panic!("Retry-After {value:?}: {other:?}"),
            }
            for i in 0..3 {
                client.track(&event(i)).unwrap();
            }
            let _ = client.flush(Duration::from_millis(1500)).await;
            // The engine is alive whatever the server said.
            client.track(&event(3)).unwrap();
            let _ = client.shutdown(Duration::from_millis(500)).await;
            assert_accounted(
                &format!("Retry-After {value:?}"),
                4,
                client.stats(),
                &ledger,
            );
        }));
    }
    for case in cases {
        case.await.unwrap();
    }
}

/// Defect 2: after a 429 with a long `Retry-After`, later direct calls of
/// the family fail fast with a typed error instead of waiting an hour; the
/// engine keeps its items pending.
#[tokio::test]
async fn a_long_retry_after_fails_later_calls_fast_and_keeps_engine_items() {
    let server = Hostile::start(|_, _| {
        Script::status(
            429,
            &[("retry-after", "3600")],
            r#"{"error":"rate limited"}"#,
        )
    })
    .await;
    let ledger = Arc::new(Ledger::default());
    let client = client_for(&server.base_url(), &ledger)
        .rate_limits(RateLimits::default())
        .build()
        .unwrap();
    let first = client.tags().await.unwrap_err();
    assert_eq!(first.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(first.retry_after(), Some(Duration::from_secs(3600)));

    let started = Instant::now();
    let second = client.tags().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "failed fast");
    match &second {
        Error::RateLimited { retry_after, .. } => {
            assert!(*retry_after > Duration::from_secs(3500), "{retry_after:?}")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(second.to_string().contains("nothing was sent"), "{second}");
    assert_eq!(
        server.seen().len(),
        1,
        "the second call never left the client"
    );

    // The batch family is held back too: the engine keeps its items pending.
    let batch = client.send_events(&[event(0)]).await.unwrap_err();
    assert_eq!(batch.status().map(|s| s.as_u16()), Some(429));
    for i in 0..3 {
        client.track(&event(i)).unwrap();
    }
    match client.flush(Duration::from_millis(500)).await {
        Err(FlushError::Timeout { pending: 3, .. }) => {}
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(client.stats().pending, 3);
    assert_eq!(
        ledger.failed(),
        0,
        "nothing given up while Bento asks to wait"
    );
    let _ = client.shutdown(Duration::from_millis(100)).await;
    assert_accounted("long Retry-After", 3, client.stats(), &ledger);
}

fn endless_chunked() -> Script {
    let mut chunk = b"4000\r\n".to_vec();
    chunk.extend(std::iter::repeat_n(b' ', 0x4000));
    chunk.extend_from_slice(b"\r\n");
    Script(vec![
        Step::Write(CHUNKED_200.to_vec()),
        Step::Endless {
            chunk,
            limit: 8 << 30,
        },
    ])
}

fn declared_huge(status: u16) -> Script {
    let head = format!("HTTP/1.1 {status} X\r\ncontent-length: 2147483648\r\n\r\n");
    Script(vec![
        Step::Write(head.into_bytes()),
        Step::Endless {
            chunk: vec![b'x'; 1 << 16],
            limit: 2 << 30,
        },
    ])
}

/// Defect 3: bodies are capped, `Content-Length` checked first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_bodies_are_capped() {
    for (what, script) in [
        ("2 GB Content-Length", declared_huge(200)),
        ("endless chunked 200", endless_chunked()),
        (
            "endless close-delimited 200",
            Script(vec![
                Step::Write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec()),
                Step::Endless {
                    chunk: vec![b'{'; 1 << 16],
                    limit: 8 << 30,
                },
            ]),
        ),
    ] {
        let server = Hostile::start(move |_, _| script.clone()).await;
        let ledger = Arc::new(Ledger::default());
        // A garbled 2xx may pass, so the engine would wait it out: with
        // no age allowed, the first one hands the items to the hook.
        let client = client_for(&server.base_url(), &ledger)
            .max_response_bytes(1 << 20)
            .timeout(Duration::from_secs(20))
            .delivery_max_age(Duration::ZERO)
            .build()
            .unwrap();
        match client.tags().await {
            Err(Error::ResponseTooLarge { limit, .. }) => assert_eq!(limit, 1 << 20, "{what}"),
            other => panic!("{what}: {other:?}"),
        }
        engine_accounts_for_everything(what, client, &ledger, 3).await;
        assert!(
            ledger.reasons.lock().unwrap()[0].contains("larger than"),
            "{what}"
        );
    }
    // An error status with a huge body keeps its status; the body is cut.
    let server = Hostile::start(|_, _| declared_huge(503)).await;
    let ledger = Arc::new(Ledger::default());
    let client = client_for(&server.base_url(), &ledger).build().unwrap();
    let error = client.tags().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error:?}");
}

/// Defect 4: legal but extreme settings neither panic nor hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_settings_never_panic_the_engine() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let ledger = Arc::new(Ledger::default());
    let patient = RetryPolicy::default()
        .base_delay(Duration::MAX)
        .max_delay(Duration::MAX)
        .max_retry_after(Duration::MAX);
    let client = bento_tests::client_for(&emulator)
        .flush_interval(Duration::MAX)
        .drain_timeout(Duration::MAX)
        .timeout(Duration::MAX)
        .delivery_backoff(Backoff::new(Duration::MAX, Duration::MAX))
        .retry(patient)
        .on_delivery_failure(ledger.hook())
        .build()
        .unwrap();
    for i in 0..5 {
        client.track(&event(i)).unwrap();
    }
    let report = client.flush(Duration::MAX).await.unwrap();
    assert_eq!(report.stats.sent, 5);

    // A retry delay of `MAX` after a 503: the batch waits "forever", pending.
    emulator.inject(Fault::status(503).times(1));
    client.track(&event(5)).unwrap();
    match client.flush(Duration::from_millis(300)).await {
        Err(FlushError::Timeout { pending: 1, .. }) => {}
        other => panic!("unexpected {other:?}"),
    }
    client.track(&event(6)).unwrap();
    // Dropping the last handle with `drain_timeout(MAX)` must not overflow:
    // shut down with a real deadline first, then drop.
    let _ = client.shutdown(Duration::from_millis(200)).await;
    assert_accounted("retry MAX", 7, client.stats(), &ledger);
    drop(client);

    // A rate-limit window of `MAX`: the second request would wait forever.
    let limits = RateLimits::unlimited()
        .set(
            bento_core::EndpointFamily::Fetch,
            RateLimit::new(1, Duration::MAX),
        )
        .set(
            bento_core::EndpointFamily::Batch,
            RateLimit::new(1, Duration::MAX),
        );
    let ledger = Arc::new(Ledger::default());
    let client = bento_tests::client_for(&emulator)
        .rate_limits(limits)
        .on_delivery_failure(ledger.hook())
        .build()
        .unwrap();
    client.tags().await.unwrap();
    assert!(matches!(
        client.tags().await,
        Err(Error::RateLimited { .. })
    ));
    client.track(&event(0)).unwrap();
    client.track(&event(1)).unwrap();
    let _ = client.flush(Duration::from_millis(300)).await;
    let _ = client.shutdown(Duration::from_millis(100)).await;
    assert_accounted("window MAX", 2, client.stats(), &ledger);

    // drain_timeout(MAX) on drop, with the queue drained quickly.
    let client = bento_tests::client_for(&emulator)
        .drain_timeout(Duration::MAX)
        .build()
        .unwrap();
    client.track(&event(9)).unwrap();
    drop(client);
}

/// Defect 5: a shutdown's deadline counts from the call, not from when the
/// engine last slept.
#[tokio::test]
async fn shutdown_deadline_counts_from_the_call() {
    let server = Hostile::start(|i, seen| {
        let accepted = Script::accepted(seen.items);
        if i == 0 {
            accepted.after(Duration::from_secs(3))
        } else {
            accepted
        }
    })
    .await;
    let ledger = Arc::new(Ledger::default());
    let client = client_for(&server.base_url(), &ledger)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for i in 0..10 {
        client.track(&event(i)).unwrap();
    }
    // Time passes before the call (the scenario, not a wait for anything):
    // a deadline counted from when the engine last slept would be 2 s short.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let called = Instant::now();
    let report = client.shutdown(Duration::from_millis(2500)).await.unwrap();
    let waited = called.elapsed();
    assert_eq!(report.stats.sent, 10);
    assert_eq!(ledger.failed(), 0);
    assert!(
        report.waited <= waited + Duration::from_millis(50),
        "{report:?} vs {waited:?}"
    );
    assert!(report.waited >= Duration::from_millis(500), "{report:?}");
}

/// Defect 6: a 2xx is delivery only when its body is Bento's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_decodable_answer_counts_as_delivered() {
    let bodies: Vec<(&str, Script)> = vec![
        (
            "html",
            Script::status(200, &[("content-type", "text/html")], "<html>ok</html>"),
        ),
        ("empty", Script::status(200, &[], "")),
        (
            "204",
            Script::raw(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_vec()),
        ),
        (
            "other JSON",
            Script::status(200, &[], r#"{"not":"expected"}"#),
        ),
        (
            "wrong types",
            Script::status(200, &[], r#"{"results":"3"}"#),
        ),
        ("an array", Script::status(200, &[], "[1,2]")),
        (
            "invalid UTF-8",
            Script::status(200, &[], vec![0xff, 0xfe, b'{']),
        ),
    ];
    for (what, garbled) in bodies {
        let server = bad_then_good(garbled).await;
        let ledger = Arc::new(Ledger::default());
        let client = client_for(&server.base_url(), &ledger).build().unwrap();
        match client.send_events(&[event(0)]).await {
            Err(Error::Decode { .. }) => {}
            other => panic!("{what}: {other:?}"),
        }
        for i in 0..3 {
            client.track(&event(i)).unwrap();
        }
        let report = client.flush(Duration::from_secs(5)).await.unwrap();
        assert_eq!(report.stats.sent, 3, "{what}");
        assert!(report.stats.possible_duplicates >= 3, "{what}: {report:?}");
        let _ = client.shutdown(Duration::from_secs(1)).await;
        assert_accounted(what, 3, client.stats(), &ledger);
    }

    // Counts from the server are bounded by what was sent.
    let server = Hostile::start(|_, _| {
        Script::status(200, &[], r#"{"results":3,"failed":18446744073709551615}"#)
    })
    .await;
    let ledger = Arc::new(Ledger::default());
    let client = client_for(&server.base_url(), &ledger).build().unwrap();
    let counts = client
        .send_events(&[event(0), event(1), event(2)])
        .await
        .unwrap();
    assert_eq!((counts.results, counts.failed), (3, 0));
    engine_accounts_for_everything("huge failed count", client, &ledger, 3).await;
}

/// Defect 15: items a 2xx counts as failed reach the hook.
#[tokio::test]
async fn items_bento_counts_as_failed_reach_the_hook() {
    let server = Hostile::start(|_, seen| {
        Script::status(
            200,
            &[],
            format!(r#"{{"results":{},"failed":1}}"#, seen.items - 1),
        )
    })
    .await;
    let ledger = Arc::new(Ledger::default());
    let client = client_for(&server.base_url(), &ledger).build().unwrap();
    for i in 0..3 {
        client.track(&event(i)).unwrap();
    }
    let report = client.flush(Duration::from_secs(5)).await.unwrap();
    assert_eq!((report.stats.sent, report.stats.failed), (2, 1));
    assert_eq!(ledger.failed(), 1);
    assert!(ledger.reasons.lock().unwrap()[0].contains("counted 1 of its items as failed"));
    let _ = client.shutdown(Duration::from_secs(1)).await;
    assert_accounted("partly refused", 3, client.stats(), &ledger);
}

/// Defect 7: redirects are not followed, and say where they pointed.
#[tokio::test]
async fn redirects_are_refused_not_followed() {
    for status in [301u16, 302, 303, 307, 308] {
        let server = Hostile::start(move |_, _| {
            Script::status(
                status,
                &[("location", "http://elsewhere.example/steal?email=a")],
                "",
            )
        })
        .await;
        let ledger = Arc::new(Ledger::default());
        let client = client_for(&server.base_url(), &ledger).build().unwrap();
        match client.send_events(&[event(0)]).await {
            Err(Error::Redirected {
                status: got,
                location,
                ..
            }) => {
                assert_eq!(got.as_u16(), status);
                assert_eq!(location.as_deref(), Some("elsewhere.example"));
            }
            other => panic!("{status}: {other:?}"),
        }
        assert_eq!(server.seen().len(), 1, "{status}: nothing was re-sent");
        engine_accounts_for_everything(&format!("redirect {status}"), client, &ledger, 2).await;
        assert_eq!(ledger.failed(), 2, "{status}");
        assert!(ledger.reasons.lock().unwrap()[0].contains("not followed"));
    }
}

/// Defect 11: a connect timeout is a connect failure (nothing sent), retried
/// even for transactional email.
#[tokio::test]
async fn a_connect_timeout_is_not_an_answer_timeout() {
    // A listener whose accept queue is full: further connections hang in
    // SYN-SENT until the connect timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let address = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(stream)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(address),
        )
        .await
        {
            fillers.push(stream);
        }
    }
    let ledger = Arc::new(Ledger::default());
    let client = client_for(&format!("http://{address}/api/v1"), &ledger)
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(10))
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let email = bento_core::Email::to("ada@example.com")
        .from("hello@acme.test")
        .subject("Hi")
        .html("<p>Hi</p>");
    let started = Instant::now();
    let error = client.send_email(&email).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(!error.to_string().contains("did not answer"), "{error}");
    // Three attempts of 300 ms each: a never-sent email is retried.
    assert!(
        started.elapsed() >= Duration::from_millis(850),
        "{:?}",
        started.elapsed()
    );
    drop(fillers);
}

/// Defect 13: concurrent shutdowns all see the one drain's real outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_shutdowns_see_the_same_outcome() {
    for round in 0..5 {
        let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
        emulator.inject(Fault::delay(Duration::from_millis(300)).times(1));
        let client = bento_tests::client_for(&emulator).build().unwrap();
        for i in 0..1000 {
            client.track(&event(i)).unwrap();
        }
        let (a, b) = tokio::join!(
            client.shutdown(Duration::from_secs(10)),
            client.shutdown(Duration::from_secs(10))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.stats.sent, 1000, "round {round}");
        assert_eq!(b.stats.sent, 1000, "round {round}: {b:?}");
        assert_eq!(b.stats.pending, 0, "round {round}");
        // And a later call too.
        let c = client.shutdown(Duration::from_secs(1)).await.unwrap();
        assert_eq!(c.stats.sent, 1000);
    }
}

/// Defect 14: a hook that requeues through `failure.client()` does not keep
/// the client alive; dropping the last handle drains everything.
#[test]
fn a_requeueing_hook_does_not_keep_the_client_alive() {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    emulator.inject(Fault::status(503).times(1));
    let requeued = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requeued);
    let client = bento_tests::client_for(&emulator)
        .delivery_max_age(Duration::ZERO)
        .on_delivery_failure(move |failure| {
            if let Some(client) = failure.client() {
                for item in failure.items {
                    client.enqueue(item).unwrap();
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
        .build()
        .unwrap();
    for i in 0..100 {
        client.track(&event(i)).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The flush sees the 503; the hook requeues the batch.
    let _ = runtime.block_on(client.flush(Duration::from_secs(5)));
    assert_eq!(
        requeued.load(Ordering::SeqCst),
        100,
        "the 503 batch was requeued"
    );
    drop(runtime);
    // No runtime here: dropping the last handle waits for the drain.
    drop(client);
    assert_eq!(
        emulator.events().len(),
        100,
        "dropping the last handle drained"
    );
}

/// Defect 16: dropping the last client on a current-thread runtime does not
/// stall the runtime; the drain goes on in the background.
#[test]
fn dropping_on_a_current_thread_runtime_does_not_stall_it() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
        emulator.inject(Fault::delay(Duration::from_millis(1500)).times(1));
        let client = bento_tests::client_for(&emulator)
            .drain_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        for i in 0..10 {
            client.track(&event(i)).unwrap();
        }
        // The request is in flight: it reached the emulator, which holds it.
        bento_tests::wait::eventually("the request in flight", Duration::from_secs(10), || {
            emulator.received() >= 1
        })
        .await;
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ticks);
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let started = Instant::now();
        drop(client);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        // The drain goes on in the background (the emulator holds the first
        // request 1.5 s) while this runtime keeps ticking.
        bento_tests::wait::eventually("the background drain", Duration::from_secs(20), || {
            emulator.events().len() == 10
        })
        .await;
        ticker.abort();
        assert!(
            ticks.load(Ordering::SeqCst) > 20,
            "the runtime kept running while the drain went on"
        );
    });
}

/// Defect 12 through a derived event: NaN is refused, naming the key.
#[test]
fn non_finite_details_are_refused_by_track() {
    #[derive(bento_core::BentoEvent)]
    #[bento(event = "$purchase")]
    struct Purchase {
        email: &'static str,
        amount: f64,
    }
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    let client = bento_tests::client_for(&emulator).build().unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        match client.track(&Purchase {
            email: "ada@example.com",
            amount: bad,
        }) {
            Err(TrackError::Bug(bento_core::ValidationError::NonFiniteNumber {
                field, ..
            })) => assert_eq!(field, "event.details.amount"),
            other => panic!("unexpected {other:?}"),
        }
        match client.track(&Event::new("x", "ada@example.com").detail("price", bad)) {
            Err(TrackError::Bug(bento_core::ValidationError::NonFiniteNumber {
                field, ..
            })) => assert_eq!(field, "event.details.price"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(client.stats().queued, 0);
}

/// The catalogue: every misbehaviour below, for the first two requests of a
/// server that then answers properly. Direct calls end typed; the engine
/// accounts for every item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_accounts_for_every_item_whatever_the_server_does() {
    let huge_header = format!(
        "HTTP/1.1 200 OK\r\nx-huge: {}\r\ncontent-length: 2\r\n\r\n{{}}",
        "a".repeat(1 << 20)
    );
    let catalogue: Vec<(&str, Script)> = vec![
        ("slow headers", Script::accepted(1).after(Duration::from_secs(2))),
        (
            "slow body",
            Script(vec![
                Step::Write(b"HTTP/1.1 200 OK\r\ncontent-length: 30\r\n\r\n{\"res".to_vec()),
                Step::Sleep(Duration::from_secs(2)),
            ]),
        ),
        (
            "truncated body",
            Script::raw(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"results\"".to_vec()),
        ),
        ("invalid UTF-8 400", Script::status(400, &[], vec![0xc3, 0x28, 0xff])),
        ("reset before answering", Script(vec![Step::Reset])),
        (
            "reset mid-body",
            Script(vec![
                Step::Write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"res".to_vec()),
                Step::Reset,
            ]),
        ),
        ("closed without a word", Script(vec![])),
        (
            "102 then the answer",
            Script::raw(
                b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 25\r\n\r\n{\"results\":1,\"failed\":0}".to_vec(),
            ),
        ),
        ("status 299", Script::status(299, &[], r#"{"results":1}"#)),
        ("status 599", Script::status(599, &[], "odd")),
        ("status 999", Script::status(999, &[], "odder")),
        ("status 1000", Script::raw(b"HTTP/1.1 1000 X\r\ncontent-length: 0\r\n\r\n".to_vec())),
        ("status 0", Script::raw(b"HTTP/1.1 000 X\r\ncontent-length: 0\r\n\r\n".to_vec())),
        ("a 1 MB header", Script::raw(huge_header.into_bytes())),
        ("not HTTP", Script::raw(b"hello there\r\n\r\n".to_vec())),
        ("HTTP/0.9 body", Script::raw(br#"{"results":1}"#.to_vec())),
        ("429 without Retry-After", Script::status(429, &[], "")),
        (
            "a 2xx with a lying length",
            Script::raw(b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n{}".to_vec()),
        ),
        (
            "bad chunk framing",
            Script::raw(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".to_vec()),
        ),
    ];
    let mut cases = Vec::new();
    for (what, script) in catalogue {
        cases.push(tokio::spawn(async move {
            let server = bad_then_good(script).await;
            let ledger = Arc::new(Ledger::default());
            let client = client_for(&server.base_url(), &ledger).build().unwrap();
            // Any typed outcome will do; a panic or a hang fails the test.
            let direct =
                tokio::time::timeout(Duration::from_secs(10), client.send_events(&[event(0)]))
                    .await;
            assert!(direct.is_ok(), "{what}: the direct call hung");
            engine_accounts_for_everything(what, client, &ledger, 5).await;
        }));
    }
    for case in cases {
        case.await.unwrap();
    }
}
