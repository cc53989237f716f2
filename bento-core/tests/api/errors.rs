//! Every error path, over real HTTP.

use std::time::{Duration, Instant};

use bento_core::{
    Client, Command, Email, EndpointFamily, Error, Event, RateLimit, RateLimits, RetryPolicy,
    StatusCode, SubscriberImport, ValidationError,
};
use bento_emulator::{Family, Fault, Limit};

use crate::common::{client_builder, emulator, requests_to, setup_unchecked};

#[tokio::test]
async fn wrong_secret_key_is_a_401_that_says_what_to_check_and_is_not_retried() {
    let emulator = emulator().start().await.unwrap();
    let client = client_builder(&emulator)
        .secret_key("not-the-key")
        .build()
        .unwrap();
    let error = client
        .track_now(&Event::new("x", "a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(
        message.contains("BENTO_SECRET_KEY") && message.contains("invalid publishable key"),
        "{message}"
    );
    assert_eq!(emulator.requests().len(), 1);
}

#[tokio::test]
async fn wrong_site_uuid_is_a_401() {
    let emulator = emulator().start().await.unwrap();
    let client = client_builder(&emulator)
        .site_uuid("another-site")
        .build()
        .unwrap();
    let error = client.tags().await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(error.as_api().unwrap().message.contains("site_uuid"));
}

#[tokio::test]
async fn blocked_403_explains_the_user_agent_requirement() {
    let (emulator, client) = setup_unchecked().await;
    emulator.inject(Fault::status(403).body("BLOCKED"));
    let error = client.tags().await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    assert!(error.to_string().contains("User-Agent"), "{error}");
    assert!(error.to_string().ends_with("BLOCKED"), "{error}");
}

#[tokio::test]
async fn not_found_is_a_404() {
    let (_emulator, client) = setup_unchecked().await;
    let error = client.email_template("999999").await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    assert!(
        error
            .to_string()
            .contains("email template 999999 not found"),
        "{error}"
    );
}

#[tokio::test]
async fn server_side_validation_errors_name_the_field() {
    // The client validates first, so reach the emulator's 400 with an author it refuses.
    let emulator = emulator()
        .authorized_sender("hello@acme.test")
        .start()
        .await
        .unwrap();
    let client = client_builder(&emulator).build().unwrap();
    let error = client
        .send_email(
            &Email::to("a@example.com")
                .from("mallory@evil.test")
                .subject("S")
                .html("<p>x</p>"),
        )
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
    assert!(
        error
            .to_string()
            .contains("Author not authorized to send on this account"),
        "{error}"
    );
    assert!(emulator.emails().is_empty());
}

#[tokio::test]
async fn invalid_input_fails_before_any_request() {
    let (emulator, client) = setup_unchecked().await;
    let events = vec![
        Event::new("ok", "a@example.com"),
        Event::new("ok", "not-an-email"),
    ];
    match client.send_events(&events).await {
        Err(Error::Invalid(ValidationError::InvalidEmail { field, value })) => {
            assert_eq!(
                (field.as_str(), value.as_str()),
                ("events[1].email", "not-an-email")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        client.send_events::<Event>(&[]).await,
        Err(Error::Invalid(ValidationError::EmptyBatch {
            what: "events"
        }))
    ));
    let comma = SubscriberImport::new("a@example.com").tag("a,b");
    assert!(matches!(
        client.import_subscribers(&[comma]).await,
        Err(Error::Invalid(ValidationError::TagContainsComma { .. }))
    ));
    let bad_command = Command::ChangeEmail {
        email: "a@example.com".into(),
        new_email: "nope".into(),
    };
    assert!(matches!(
        client.run_command(bad_command).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        client.delete_tag("../admin", "admin").await,
        Err(Error::Invalid(_))
    ));
    assert!(
        emulator.requests().is_empty(),
        "nothing may be sent: {:?}",
        emulator.requests()
    );
}

#[tokio::test]
async fn rate_limited_429_is_retried_after_retry_after() {
    let (emulator, client) = setup_unchecked().await;
    emulator.inject(Fault::status(429).retry_after(1).times(2));
    let started = Instant::now();
    client.tags().await.unwrap();
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 429, 200]);
    // Retry-After is a floor: two waits of at least a second each.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_beyond_the_cap_is_returned_to_the_caller() {
    let (emulator, client) = setup_unchecked().await;
    emulator.inject(Fault::status(429).retry_after(3600));
    let error = client.tags().await.unwrap_err();
    assert_eq!(
        error.as_api().unwrap().retry_after,
        Some(Duration::from_secs(3600))
    );
    assert_eq!(emulator.requests().len(), 1);
}

#[tokio::test]
async fn real_rate_limit_without_pacing_gets_429_then_recovers() {
    let emulator = emulator()
        .rate_limit(Family::Fetch, Limit::new(2, Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    let client = client_builder(&emulator).build().unwrap();
    for _ in 0..3 {
        client.tags().await.unwrap();
    }
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3);
}

#[tokio::test]
async fn client_pacing_stays_under_the_limit_with_zero_429s() {
    let window = Duration::from_millis(500);
    let emulator = emulator()
        .rate_limit(Family::Batch, Limit::new(2, window))
        .start()
        .await
        .unwrap();
    let client = client_builder(&emulator)
        .rate_limits(RateLimits::unlimited().set(EndpointFamily::Batch, RateLimit::new(2, window)))
        .build()
        .unwrap();
    // concurrent callers share one pacer
    let calls = (0..6).map(|i| {
        let client = client.clone();
        async move {
            client
                .track_now(&Event::new("x", format!("u{i}@example.com")))
                .await
        }
    });
    for result in futures_join(calls).await {
        result.unwrap();
    }
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200; 6]);
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let (emulator, client) = setup_unchecked().await;
    emulator.inject(Fault::status(503).times(2));
    emulator.inject(Fault::status(502));
    client
        .track_now(&Event::new("x", "a@example.com"))
        .await
        .unwrap();
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 503, 502, 200]);
    assert_eq!(emulator.events().len(), 1);
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let (emulator, client) = setup_unchecked().await;
    emulator.inject(Fault::drop_connection());
    client.tags().await.unwrap();
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![0, 200]);
}

#[tokio::test]
async fn retries_exhausted_returns_the_last_error() {
    let (emulator, _) = setup_unchecked().await;
    let client = client_builder(&emulator)
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    emulator.inject(Fault::status(500).times(10));
    let error = client.tags().await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert!(error.is_retryable());
    assert_eq!(emulator.requests().len(), 3);
}

#[tokio::test]
async fn timeouts_are_typed() {
    let (emulator, _) = setup_unchecked().await;
    let client = client_builder(&emulator)
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    emulator.inject(Fault::delay(Duration::from_secs(2)));
    match client.tags().await {
        Err(Error::Timeout { endpoint, timeout }) => {
            assert_eq!(
                (endpoint.as_str(), timeout),
                ("fetch/tags", Duration::from_millis(200))
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn emails_are_not_resent_after_an_ambiguous_failure() {
    let (emulator, client) = setup_unchecked().await;
    let email = Email::to("a@example.com")
        .from("hello@acme.test")
        .subject("S")
        .html("<p>x</p>");
    emulator.inject(Fault::status(500).after_processing());
    let error = client.send_email(&email).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(
        requests_to(&emulator, "batch/emails").len(),
        1,
        "a 500 may mean it was sent: no replay"
    );
    assert_eq!(emulator.emails().len(), 1);

    // a 429 says it was not taken on, so it is safe to retry
    emulator.inject(Fault::status(429).retry_after(0));
    client.send_email(&email).await.unwrap();
    assert_eq!(requests_to(&emulator, "batch/emails").len(), 3);

    // opting in replays ambiguous failures too
    let opted = client_builder(&emulator)
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(1))
                .retry_ambiguous_email_sends(true),
        )
        .build()
        .unwrap();
    emulator.inject(Fault::status(500));
    opted.send_email(&email).await.unwrap();
    assert_eq!(requests_to(&emulator, "batch/emails").len(), 5);
}

#[tokio::test]
async fn a_failure_mid_batch_reports_how_many_were_accepted() {
    let (emulator, client) = setup_unchecked().await;
    // the first request passes (a no-op delay fault), the second is refused
    emulator.inject(Fault::delay(Duration::ZERO));
    emulator.inject(Fault::status(400).body(r#"{"error": "bad batch"}"#));
    let events: Vec<Event> = (0..2500)
        .map(|i| Event::new("x", format!("u{i}@example.com")))
        .collect();
    match client.send_events(&events).await {
        Err(Error::PartialBatch {
            accepted,
            total,
            source,
        }) => {
            assert_eq!((accepted, total), (1000, 2500));
            assert_eq!(source.status(), Some(StatusCode::BAD_REQUEST));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(emulator.events().len(), 1000);
}

#[tokio::test]
async fn undecodable_success_is_a_decode_error_with_the_body() {
    let (emulator, client) = setup_unchecked().await;
    emulator.inject(Fault::status(200).body("<html>maintenance</html>"));
    match client.tags().await {
        Err(Error::Decode { endpoint, body, .. }) => {
            assert_eq!(endpoint, "fetch/tags");
            assert!(body.contains("maintenance"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_server_is_a_connect_error() {
    let client = Client::builder()
        .base_url("http://127.0.0.1:9/api/v1")
        .publishable_key("pk")
        .secret_key("sk")
        .site_uuid("site")
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let error = client.tags().await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("nothing was sent"), "{error}");
}
