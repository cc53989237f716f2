//! Derived events and subscriber records, sent over loopback HTTP to the
//! emulator, which is then asked what the subscriber's profile became.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use bento_core::{BentoEvent, BentoSubscriber, Error, Event, ValidationError};
use bento_tests::emulator_and_client;
use serde::Serialize;
use serde_json::json;

#[derive(Serialize)]
struct Money {
    currency: &'static str,
    amount: u64,
}

#[derive(Serialize)]
struct Item<'a> {
    product_sku: &'a str,
    product_name: &'a str,
    quantity: u32,
}

#[derive(BentoEvent)]
#[bento(event = "$purchase")]
struct Purchase<'a> {
    email: &'a str,
    #[bento(field)]
    first_name: &'a str,
    #[bento(field)]
    lifetime_orders: Option<u32>,
    #[bento(unique)]
    order_id: String,
    value: Money,
    cart: Vec<Item<'a>>,
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    email: String,
    #[bento(field)]
    plan: &'static str,
    #[bento(field, flatten)]
    profile: BTreeMap<String, serde_json::Value>,
}

#[tokio::test]
async fn derived_events_reach_bento_with_the_documented_shape() {
    let (emulator, client) = emulator_and_client().await;
    let purchase = Purchase {
        email: "ada@example.com",
        first_name: "Ada",
        lifetime_orders: Some(3),
        order_id: "ord_42".into(),
        value: Money {
            currency: "USD",
            amount: 8000,
        },
        cart: vec![
            Item {
                product_sku: "A1",
                product_name: "Mug",
                quantity: 2,
            },
            Item {
                product_sku: "B2",
                product_name: "Tea",
                quantity: 1,
            },
            Item {
                product_sku: "C3",
                product_name: "Spoon",
                quantity: 4,
            },
        ],
    };
    client.track_now(&purchase).await.unwrap();

    let events = emulator.events();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, "$purchase");
    assert_eq!(event.details["unique"], json!({"key": "ord_42"}));
    assert_eq!(
        event.details["value"],
        json!({"currency": "USD", "amount": 8000})
    );
    assert_eq!(event.details["cart"][2]["product_name"], "Spoon");

    let ada = client
        .find_subscriber("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.fields["first_name"], "Ada");
    assert_eq!(ada.fields["lifetime_orders"], 3);
}

#[tokio::test]
async fn batches_of_derived_events_are_split_at_the_api_limit() {
    let (emulator, client) = emulator_and_client().await;
    let signups: Vec<Signup> = (0..2100)
        .map(|i| Signup {
            email: format!("user{i}@example.com"),
            plan: if i % 2 == 0 { "free" } else { "pro" },
            profile: BTreeMap::from([("cohort".to_owned(), json!(i / 1000))]),
        })
        .collect();
    let result = client.send_events(&signups).await.unwrap();
    assert_eq!(result.results, 2100);
    let sizes: Vec<Option<usize>> = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "batch/events")
        .map(|r| r.items)
        .collect();
    assert_eq!(sizes, vec![Some(1000), Some(1000), Some(100)]);

    let last = emulator.subscriber("user2099@example.com").unwrap();
    assert_eq!(last.fields["plan"], "pro");
    assert_eq!(last.fields["cohort"], 2);
}

#[tokio::test]
async fn references_and_run_time_events_mix_with_derived_ones() {
    let (emulator, client) = emulator_and_client().await;
    let signup = Signup {
        email: "bob@example.com".into(),
        plan: "free",
        profile: BTreeMap::new(),
    };
    client.send_events(&[&signup, &signup]).await.unwrap();
    client
        .track_now(&Event::new("$tag", "bob@example.com").detail("tag", "vip"))
        .await
        .unwrap();
    assert_eq!(emulator.events().len(), 3);
    assert!(
        emulator
            .subscriber("bob@example.com")
            .unwrap()
            .tags
            .contains(&"vip".to_owned())
    );
}

#[derive(BentoSubscriber)]
struct Member<'a> {
    email: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    tags: Vec<&'a str>,
    #[bento(remove_tags)]
    drop: Vec<&'a str>,
    company: &'a str,
    #[bento(rename = "seats")]
    seat_count: u32,
}

#[tokio::test]
async fn derived_subscribers_are_imported_with_fields_and_tags() {
    let (emulator, client) = emulator_and_client().await;
    let members = [
        Member {
            email: "cy@example.com",
            first_name: Some("Cy"),
            last_name: None,
            tags: vec!["lead", "mql"],
            drop: vec![],
            company: "Acme",
            seat_count: 5,
        },
        Member {
            email: "di@example.com",
            first_name: None,
            last_name: Some("Diaz"),
            tags: vec![],
            drop: vec![],
            company: "Initech",
            seat_count: 1,
        },
    ];
    let result = client.import_subscribers(&members).await.unwrap();
    assert_eq!(result.results, 2);

    let cy = emulator.subscriber("cy@example.com").unwrap();
    assert_eq!(cy.fields["first_name"], "Cy");
    assert_eq!(cy.fields["company"], "Acme");
    assert_eq!(cy.fields["seats"], 5);
    let mut tags = cy.tags.clone();
    tags.sort();
    assert_eq!(tags, vec!["lead", "mql"]);

    // A second import removes a tag and leaves the rest alone.
    let update = Member {
        email: "cy@example.com",
        first_name: None,
        last_name: None,
        tags: vec![],
        drop: vec!["lead"],
        company: "Acme",
        seat_count: 6,
    };
    client.import_subscribers(&[update]).await.unwrap();
    let cy = client
        .find_subscriber("cy@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cy.fields["seats"], 6);
    assert_eq!(cy.fields["first_name"], "Cy");
    assert_eq!(
        emulator.subscriber("cy@example.com").unwrap().tags,
        vec!["mql"]
    );

    let di = emulator.subscriber("di@example.com").unwrap();
    assert_eq!(di.fields["last_name"], "Diaz");
    assert!(di.tags.is_empty());
}

#[tokio::test]
async fn an_invalid_derived_record_sends_nothing() {
    let (emulator, client) = emulator_and_client().await;
    let members = [
        Member {
            email: "ok@example.com",
            first_name: None,
            last_name: None,
            tags: vec![],
            drop: vec![],
            company: "Acme",
            seat_count: 1,
        },
        Member {
            email: "ok2@example.com",
            first_name: None,
            last_name: None,
            tags: vec!["vip,gold"],
            drop: vec![],
            company: "Acme",
            seat_count: 1,
        },
    ];
    match client.import_subscribers(&members).await {
        Err(Error::Invalid(ValidationError::TagContainsComma { field, tag })) => {
            assert_eq!(field, "subscribers[1].tags");
            assert_eq!(tag, "vip,gold");
        }
        other => panic!("expected TagContainsComma, got {other:?}"),
    }
    assert!(emulator.requests().is_empty());
}

/// One key rule (issue 19): the derive and the builder refuse `firstName`
/// alike, and both have the same way out for accounts named so already.
#[derive(BentoEvent)]
#[bento(event = "legacy.signup")]
struct LegacySignup<'a> {
    email: &'a str,
    #[bento(field, rename = "firstName", verbatim)]
    first_name: &'a str,
    #[bento(field, flatten)]
    extra: BTreeMap<String, String>,
    #[bento(verbatim, flatten)]
    legacy_details: BTreeMap<String, String>,
}

#[tokio::test]
async fn one_key_rule_for_the_derive_and_the_builder() {
    let (emulator, client) = emulator_and_client().await;
    let camel = |key: &str| BTreeMap::from([(key.to_owned(), "x".to_owned())]);
    // The builder refuses what the derive refuses, with the same fix.
    let error = client
        .track(&Event::new("legacy.signup", "ada@example.com").field("firstName", "Ada"))
        .unwrap_err();
    assert!(error.to_string().contains("write `first_name`"), "{error}");
    assert!(error.to_string().contains("event.fields"), "{error}");
    let error = client
        .track(&Event::new("legacy.signup", "ada@example.com").detail("orderId", 1))
        .unwrap_err();
    assert!(error.to_string().contains("event.details"), "{error}");
    // A flattened map's keys are held to it at run time, unless verbatim.
    let error = client
        .track(&LegacySignup {
            email: "ada@example.com",
            first_name: "Ada",
            extra: camel("planTier"),
            legacy_details: BTreeMap::new(),
        })
        .unwrap_err();
    assert!(
        matches!(&error, bento_core::TrackError::Bug(ValidationError::KeyCase { key, suggestion, .. })
            if key == "planTier" && suggestion == "plan_tier"),
        "{error}"
    );
    client
        .track(&LegacySignup {
            email: "ada@example.com",
            first_name: "Ada",
            extra: camel("plan_tier"),
            legacy_details: camel("utmSource"),
        })
        .unwrap();
    client
        .track(
            &Event::new("legacy.signup", "bob@example.com")
                .field("firstName", "Bob")
                .verbatim_keys(),
        )
        .unwrap();
    client
        .flush(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        emulator.subscriber("ada@example.com").unwrap().fields["firstName"],
        "Ada"
    );
    assert_eq!(
        emulator.subscriber("bob@example.com").unwrap().fields["firstName"],
        "Bob"
    );
    let events = emulator.events();
    assert_eq!(events.len(), 2);
    let ada = events
        .iter()
        .find(|e| e.email == "ada@example.com")
        .unwrap();
    assert_eq!(ada.details["utmSource"], "x");
}
