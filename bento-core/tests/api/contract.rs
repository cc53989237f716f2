//! The contract check (`bento_tests::contract`): every request the client
//! sends and every answer the emulator gives, judged against Bento's
//! published OpenAPI spec (`openapi-2026-08-22.yaml`; the older
//! `openapi.yaml` for the older forms). Every test of this binary that uses
//! `common::setup()` goes through it; here, one client reaches all 43
//! operations of the spec, and the check is shown to refuse what breaks it.

use bento_core::broadcasts::NewBroadcast;
use bento_core::chat::{ConversationQuery, ConversationStatus, NewChatMessage};
use bento_core::experimental::{BlacklistTarget, EmailCheck};
use bento_core::sequences::{DelayInterval, NewSequenceEmail};
use bento_core::stats::AdsQuery;
use bento_core::subscribers::{DateRange, SubscriberSearch};
use bento_core::templates::EmailTemplateUpdate;
use bento_core::transactional::Window;
use bento_core::{Command, Email, Event, NewSubscriber, SubscriberImport};
use bento_tests::contract::{ContractProxy, Exchange, Spec};
use serde_json::json;

use crate::common::{client_builder, emulator};

#[test]
fn the_spec_lists_43_operations_and_the_check_refuses_what_breaks_it() {
    let spec = Spec::get();
    assert_eq!(spec.operations(), 43);
    let exchange = |method: &str, path: &str, request: serde_json::Value| Exchange {
        method: method.into(),
        path: path.into(),
        query: Some("site_uuid=s".into()),
        request: if request.is_null() {
            Default::default()
        } else {
            request.to_string().into()
        },
        status: 200,
        answer: Default::default(),
    };
    let good = exchange(
        "POST",
        "batch/events",
        json!({"events": [{"type": "$signup", "email": "a@b.c"}]}),
    );
    spec.check_request(&good).unwrap();
    for (why, bad) in [
        (
            "no events",
            exchange("POST", "batch/events", json!({"events": []})),
        ),
        (
            "an event without type",
            exchange(
                "POST",
                "batch/events",
                json!({"events": [{"email": "a@b.c"}]}),
            ),
        ),
        (
            "a value without currency",
            exchange(
                "POST",
                "batch/events",
                json!({"events": [{"type": "t", "email": "a@b.c", "details": {"value": {"amount": 1}}}]}),
            ),
        ),
        (
            "no body",
            exchange("POST", "batch/events", serde_json::Value::Null),
        ),
        (
            "no such path",
            exchange("GET", "fetch/nothing", json!(null)),
        ),
    ] {
        assert!(spec.check_request(&bad).is_err(), "{why} passed");
    }
    let mut no_site = good.clone();
    no_site.query = None;
    assert!(
        spec.check_request(&no_site).is_err(),
        "site_uuid is required"
    );

    let answer = |status: u16, body: serde_json::Value| Exchange {
        status,
        answer: body.to_string().into(),
        ..exchange("GET", "fetch/tags", json!(null))
    };
    spec.check_answer(&answer(
        200,
        json!({"data": [{"id": "1", "type": "tags", "attributes": {"name": "vip"}}]}),
    ))
    .unwrap();
    assert!(
        spec.check_answer(&answer(200, json!({"data": "tags"})))
            .is_err()
    );
    assert!(
        spec.check_answer(&answer(201, json!({}))).is_err(),
        "an undocumented success"
    );
    spec.check_answer(&answer(503, json!({"error": "down"})))
        .unwrap();
    assert!(
        spec.check_answer(&answer(503, json!({"message": "down"})))
            .is_err(),
        "a generic error is {{\"error\"}}"
    );
}

#[tokio::test]
async fn the_client_reaches_every_operation_of_the_spec_within_it() {
    let emulator = emulator().start().await.unwrap();
    let proxy = ContractProxy::start(&emulator.base_url()).await;
    let client = client_builder(&emulator)
        .base_url(proxy.base_url())
        .build()
        .unwrap();
    let vips = emulator.add_segment("VIPs", json!({ "tags": ["vip"] }));

    // batch
    client
        .track_now(&Event::new("$signup", "ada@example.com"))
        .await
        .unwrap();
    client
        .import_subscribers(&[SubscriberImport::new("bob@example.com").tag("lead")])
        .await
        .unwrap();
    client
        .send_email(
            &Email::to("ada@example.com")
                .from("hello@acme.test")
                .subject("Hi")
                .html("<p>hi</p>"),
        )
        .await
        .unwrap();
    client
        .create_broadcasts(&[NewBroadcast::named("News")
            .subject("S")
            .content("<p>c</p>")
            .from("news@acme.test")])
        .await
        .unwrap();
    // fetch
    client.broadcasts().await.unwrap();
    client.fields().await.unwrap();
    client.create_field("plan").await.unwrap();
    client
        .search_subscribers(
            &SubscriberSearch::page(1).created(DateRange::after("2000-01-01T00:00:00Z")),
        )
        .await
        .unwrap();
    let ada = client
        .find_subscriber("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    client.find_subscriber_by_uuid(&ada.uuid).await.unwrap();
    client
        .create_subscriber(NewSubscriber::new("carol@example.com").first_name("Carol"))
        .await
        .unwrap();
    client.tags().await.unwrap();
    let tag = client.create_tag("vip").await.unwrap();
    client
        .run_command(Command::AddTag {
            email: "ada@example.com".into(),
            tag: "vip".into(),
        })
        .await
        .unwrap();
    client.delete_tag(&tag.id, "vip").await.unwrap();
    client.segments().await.unwrap();
    client.segment(&vips).await.unwrap();
    client
        .segment_matches(&vips, "ada@example.com")
        .await
        .unwrap();
    let sequence = client.sequences(1).await.unwrap().remove(0);
    let template = client
        .create_sequence_email(
            &sequence.id,
            &NewSequenceEmail::new("Day 3", "<p>d3</p>").delay(3, DelayInterval::Days),
        )
        .await
        .unwrap();
    client.email_template(&template.id).await.unwrap();
    client
        .update_email_template(&template.id, &EmailTemplateUpdate::default().subject("3"))
        .await
        .unwrap();
    client.workflows(1).await.unwrap();
    // data deletion
    client
        .request_data_deletion("carol@example.com")
        .await
        .unwrap();
    // stats
    client.site_stats().await.unwrap();
    client.segment_stats("seg_1").await.unwrap();
    client.report_stats("rep_1").await.unwrap();
    client.ads_stats(&AdsQuery::new()).await.unwrap();
    // experimental
    client
        .blacklist_status(BlacklistTarget::Domain("example.com".into()))
        .await
        .unwrap();
    client
        .validate_email(EmailCheck::new("ada@example.com").name("Ada"))
        .await
        .unwrap();
    client.moderate_content("hello").await.unwrap();
    client.guess_gender("Ada Lovelace").await.unwrap();
    client.geolocate("8.8.8.8").await.unwrap();
    client.review_signup_email("ada@example.com").await.unwrap();
    // delivery
    client.delivery_report(&Window::default()).await.unwrap();
    client
        .delivery_events("ada@example.com", &Window::default(), Some(10))
        .await
        .unwrap();
    // chat
    let inbox = client.chat_inboxes().await.unwrap().remove(0);
    let sent = client
        .send_chat_message(&NewChatMessage::new(
            &inbox.id,
            "ada@example.com",
            "Hi Ada!",
        ))
        .await
        .unwrap();
    let id = sent.conversation.id;
    client.reply(&id, "Anything else?").await.unwrap();
    client.add_note(&id, "VIP").await.unwrap();
    client
        .set_conversation_status(&id, ConversationStatus::Resolved)
        .await
        .unwrap();
    client.conversation(&id).await.unwrap();
    client.conversations_of("ada@example.com").await.unwrap();
    client
        .conversations(ConversationQuery::new())
        .all()
        .await
        .unwrap();

    assert!(proxy.violations().is_empty(), "{:#?}", proxy.violations());
    let reached = proxy.operations_seen();
    assert_eq!(
        reached.len(),
        Spec::get().operations(),
        "every operation of the spec, each within it: {reached:#?}"
    );
}
