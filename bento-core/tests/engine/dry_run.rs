//! A dry run sends nothing and loses nothing: batches are answered as Bento
//! answers them, every check before the wire still runs, and calls that need
//! an account's answer say so.

use std::time::Duration;

use bento_core::{Client, Command, Error, Event, TrackError};

#[derive(Debug, bento_core::BentoSubscriber)]
struct Member {
    email: String,
    first_name: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_delivers_every_batch_without_an_account_and_refuses_reads() {
    let client = Client::builder().dry_run().build().unwrap();
    assert!(client.is_dry_run());
    for n in 0..5 {
        client
            .track(&Event::new(
                "account.signup",
                format!("user{n}@example.com"),
            ))
            .unwrap();
    }
    client
        .enqueue_subscriber(&Member {
            email: "ada@example.com".into(),
            first_name: "Ada",
        })
        .unwrap();
    client
        .enqueue_command(Command::AddTag {
            email: "ada@example.com".into(),
            tag: "vip".into(),
        })
        .unwrap();
    // The checks before the wire are those of a real client.
    assert!(matches!(
        client.track(&Event::new("account.signup", "not-an-email")),
        Err(TrackError::Invalid(_))
    ));
    let report = client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.stats.sent, 7, "{:?}", report.stats);
    assert_eq!(report.stats.pending, 0);
    assert_eq!(report.stats.failed, 0);

    // A direct batch is answered too; a read is not, and says why.
    let sent = client
        .send_events(&[Event::new("account.login", "ada@example.com")])
        .await
        .unwrap();
    assert_eq!(sent.results, 1);
    match client.tags().await {
        Err(Error::DryRun { endpoint }) => assert_eq!(endpoint, "fetch/tags"),
        other => panic!("expected a dry-run error, got {other:?}"),
    }
    let error = client.find_subscriber("ada@example.com").await.unwrap_err();
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("BENTO_SECRET_KEY"), "{error}");
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}
