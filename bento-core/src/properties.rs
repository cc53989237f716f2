//! Property tests for every parser of outside input (`Retry-After`, response
//! bodies, dates, emails) and for the builder's settings: whatever comes in,
//! the answer is a value or a typed error, never a panic.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use crate::convert::Timestamp;
use crate::model::batch::BatchResult;
use crate::transport::retry::{RETRY_AFTER_CEILING, parse_retry_after};
use crate::{Client, Event, RateLimit, RateLimits, RetryPolicy};

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Strings that look like what a server might put in `Retry-After`.
fn retry_after_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        any::<u128>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        (0u64..=u64::MAX).prop_map(|s| {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(s % 253_402_300_799);
            httpdate::fmt_http_date(at)
        }),
    ]
}

/// JSON documents of any shape, a few levels deep.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("results".to_owned()),
                    Just("result".to_owned()),
                    Just("failed".to_owned()),
                    Just("data".to_owned()),
                    Just("attributes".to_owned()),
                    Just("fields".to_owned()),
                    any::<String>(),
                ],
                inner,
                0..6
            )
            .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (0u64..5).prop_map(Duration::from_millis),
        any::<u64>().prop_map(Duration::from_secs),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

proptest! {
    #[test]
    fn retry_after_is_bounded_or_ignored(text in retry_after_text()) {
        if let Some(wait) = parse_retry_after(&text, now()) {
            prop_assert!(wait <= RETRY_AFTER_CEILING);
        }
    }

    #[test]
    fn batch_answers_decode_or_fail_from_any_bytes(
        body in prop::collection::vec(any::<u8>(), 0..256),
        sent in 0usize..2000,
    ) {
        if let Ok(counts) = BatchResult::decode(&body, sent) {
            prop_assert!(counts.results + counts.failed <= sent as u64);
        }
        let _ = crate::error::server_message(&body);
        let _ = crate::error::truncate_body(&body);
    }

    #[test]
    fn batch_answers_decode_or_fail_from_any_json(document in json(), sent in 0usize..2000) {
        let body = serde_json::to_vec(&document).expect("a Value encodes");
        if let Ok(counts) = BatchResult::decode(&body, sent) {
            prop_assert!(counts.results + counts.failed <= sent as u64);
        }
        // Every response model the client decodes: a value or an error.
        let _ = serde_json::from_slice::<crate::wire::de::Data<Option<crate::Subscriber>>>(&body);
        let _ = serde_json::from_slice::<crate::wire::de::Data<Vec<crate::tags::Tag>>>(&body);
        let _ = serde_json::from_slice::<crate::wire::de::Data<Vec<crate::broadcasts::Broadcast>>>(&body);
        let _ = serde_json::from_slice::<crate::broadcasts::BroadcastBatchResult>(&body);
        let _ = serde_json::from_slice::<crate::stats::AudienceStats>(&body);
        let _ = serde_json::from_slice::<crate::commands::CommandResult>(&body);
        let _ = crate::error::server_message(&body);
    }

    #[test]
    fn dates_parse_exactly_or_fail(text in any::<String>()) {
        if let Ok(stamp) = Timestamp::parse(&text) {
            prop_assert_eq!(stamp.as_str(), text.as_str());
        }
    }

    #[test]
    fn well_formed_dates_parse_and_bad_months_are_named(
        year in 0u32..10_000, month in 0u32..=13, day in 1u32..=28,
        hour in 0u32..24, minute in 0u32..60, second in 0u32..60,
    ) {
        let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
        let parsed = Timestamp::parse(&text);
        if (1..=12).contains(&month) {
            prop_assert!(parsed.is_ok(), "{}", text);
        } else {
            let error = parsed.expect_err("no such month");
            prop_assert!(error.reason().contains("month"), "{}: {}", text, error.reason());
        }
    }

    #[test]
    fn email_checks_never_panic(text in any::<String>()) {
        let valid = crate::validate::is_valid_email(&text);
        prop_assert_eq!(crate::validate::email(|| "email".into(), &text).is_ok(), valid);
    }

    #[test]
    fn simple_addresses_are_valid(
        local in "[a-z0-9._%+-]{1,20}".prop_filter("no dots at the ends", |l| !l.starts_with('.') && !l.ends_with('.') && !l.contains("..")),
        domain in "[a-z0-9]{1,10}",
        tld in "[a-z]{2,6}",
    ) {
        let address = format!("{local}@{domain}.{tld}");
        prop_assert!(crate::validate::is_valid_email(&address), "{}", address);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any durations: `build()` is `Ok` or a typed error, and an engine built
    /// with them neither panics nor loses an item.
    #[test]
    fn any_settings_build_or_fail_typed_and_the_engine_never_panics(
        timeout in duration(), connect in duration(), interval in duration(),
        drain in duration(), base in duration(), max in duration(),
        max_after in duration(), window in duration(), flush in (0u64..50).prop_map(Duration::from_millis),
    ) {
        let built = Client::builder()
            // Nothing listens on port 9: every attempt fails at once.
            .base_url("http://127.0.0.1:9/api/v1")
            .publishable_key("pk")
            .secret_key("sk")
            .site_uuid("site")
            .timeout(timeout)
            .connect_timeout(connect)
            .flush_interval(interval)
            .drain_timeout(drain)
            .delivery_backoff(crate::delivery::Backoff::new(base, max)).retry(RetryPolicy::default().max_retry_after(max_after))
            .rate_limits(RateLimits::default().set(crate::EndpointFamily::Batch, RateLimit::new(1, window)))
            .build();
        let client = match built {
            Ok(client) => client,
            Err(error) => {
                prop_assert!(!error.to_string().is_empty());
                return Ok(());
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            for n in 0..3 {
                client.track(&Event::new("x", "a@example.com").detail("n", n)).expect("queued");
            }
            let _ = client.flush(flush).await;
            let _ = client.shutdown(flush).await;
        });
        let stats = client.stats();
        prop_assert_eq!(stats.pending, 0);
        prop_assert_eq!(stats.sent + stats.failed, 3);
    }
}
