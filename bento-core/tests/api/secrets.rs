//! The secret key appears in no `Debug` output, error or User-Agent.

use std::time::Duration;

use bento_core::broadcasts::NewBroadcast;
use bento_core::{
    Client, ClientBuilder, Command, Email, Event, NewSubscriber, RateLimits, RetryPolicy,
    SubscriberImport,
};
use bento_emulator::Fault;

use crate::common::{SECRET, client_builder, setup};

#[tokio::test]
async fn no_public_value_prints_the_secret_key() {
    let (emulator, client) = setup().await;
    let mut printed: Vec<String> = vec![
        format!("{client:?}"),
        format!("{:?}", client_builder(&emulator)),
        format!("{:#?}", ClientBuilder::new().secret_key(SECRET)),
        format!("{:?}", RetryPolicy::default()),
        format!("{:?}", RateLimits::default()),
        format!("{:?}", Event::new("x", "a@example.com")),
        format!("{:?}", SubscriberImport::new("a@example.com")),
        format!("{:?}", NewSubscriber::new("a@example.com")),
        format!(
            "{:?}",
            Command::Subscribe {
                email: "a@example.com".into()
            }
        ),
        format!(
            "{:?}",
            Email::to("a@example.com")
                .from("b@example.com")
                .subject("s")
                .html("h")
        ),
        format!(
            "{:?}",
            NewBroadcast::named("n")
                .subject("s")
                .content("c")
                .from("b@example.com")
        ),
        client.user_agent().to_owned(),
    ];
    // errors of every kind, Display and Debug
    let wrong = client_builder(&emulator)
        .secret_key(format!("{SECRET}-wrong"))
        .build()
        .unwrap();
    let errors = vec![
        wrong.tags().await.unwrap_err(),
        {
            emulator.inject(Fault::drop_connection().times(10));
            client_builder(&emulator)
                .retry(RetryPolicy::never())
                .build()
                .unwrap()
                .tags()
                .await
                .unwrap_err()
        },
        {
            emulator.clear_faults();
            emulator.inject(Fault::delay(Duration::from_secs(1)));
            let slow = client_builder(&emulator)
                .timeout(Duration::from_millis(50))
                .retry(RetryPolicy::never())
                .build()
                .unwrap();
            slow.tags().await.unwrap_err()
        },
        client.send_events::<Event>(&[]).await.unwrap_err(),
        Client::builder()
            .publishable_key("pk")
            .secret_key(SECRET)
            .site_uuid("s")
            .base_url("nope")
            .build()
            .unwrap_err()
            .into(),
    ];
    for error in &errors {
        printed.push(format!("{error}"));
        printed.push(format!("{error:?}"));
    }
    printed.push(format!("{:?}", client.tags().await.unwrap()));
    for text in &printed {
        assert!(!text.contains(SECRET), "secret leaked in: {text}");
    }
    // and the User-Agent carries neither key nor site UUID
    for request in emulator.requests() {
        let ua = request.user_agent.unwrap_or_default();
        assert!(
            !ua.contains(SECRET)
                && !ua.contains(emulator.site_uuid())
                && !ua.contains(emulator.publishable_key()),
            "{ua}"
        );
    }
}
