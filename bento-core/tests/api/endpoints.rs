//! Every client operation at least once, with its answer decoded.

use bento_core::broadcasts::NewBroadcast;
use bento_core::experimental::BlacklistTarget;
use bento_core::experimental::EmailCheck;
use bento_core::sequences::DelayInterval;
use bento_core::sequences::NewSequenceEmail;
use bento_core::subscribers::DateRange;
use bento_core::subscribers::SubscriberSearch;
use bento_core::templates::EmailTemplateUpdate;
use bento_core::workflows::WorkflowStatus;
use bento_core::{Command, Email, Event, NewSubscriber, SubscriberImport};
use bento_emulator::Dialect;
use serde_json::json;

use crate::common::{batch_sizes, client_builder, emulator, setup};

#[tokio::test]
async fn events_create_subscribers_write_fields_and_keep_details() {
    let (emulator, client) = setup().await;
    let purchase = Event::new("$purchase", "ada@example.com")
        .field("first_name", "Ada")
        .detail("unique", json!({"key": "order_1"}))
        .detail("value", json!({"currency": "USD", "amount": 8000}))
        .date("2024-05-01T12:00:00Z");
    let result = client
        .send_events(&[purchase, Event::new("account.signup", "bob@example.com")])
        .await
        .unwrap();
    assert_eq!((result.results, result.failed), (2, 0));
    client
        .track_now(&Event::new("$tag", "bob@example.com").detail("tag", "vip"))
        .await
        .unwrap();

    let events = emulator.events();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].event_type, "$purchase");
    assert_eq!(
        events[0].details["value"],
        json!({"currency": "USD", "amount": 8000})
    );
    assert_eq!(events[0].date.as_deref(), Some("2024-05-01T12:00:00Z"));
    let ada = client
        .find_subscriber("ada@example.com")
        .await
        .unwrap()
        .expect("created by the event");
    assert_eq!(ada.fields["first_name"], "Ada");
    assert_eq!(
        emulator.subscriber("bob@example.com").unwrap().tags,
        vec!["vip"]
    );
    // the User-Agent names the SDK and the app, nothing else
    let ua = emulator.requests()[0].user_agent.clone().unwrap();
    assert_eq!(
        ua,
        format!("bento-rust/{} (bento-tests/1.0)", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn large_event_batches_are_split_at_the_api_limit() {
    let (emulator, client) = setup().await;
    let events: Vec<Event> = (0..2500)
        .map(|i| Event::new("page.view", format!("user{i}@example.com")))
        .collect();
    let result = client.send_events(&events).await.unwrap();
    assert_eq!(result.results, 2500);
    let sizes: Vec<_> = batch_sizes(&emulator, "batch/events");
    assert_eq!(sizes, vec![Some(1000), Some(1000), Some(500)]);

    let small = client_builder(&emulator)
        .events_per_request(100)
        .build()
        .unwrap();
    small.send_events(&events[..250]).await.unwrap();
    let sizes: Vec<_> = batch_sizes(&emulator, "batch/events")
        .into_iter()
        .skip(3)
        .collect();
    assert_eq!(sizes, vec![Some(100), Some(100), Some(50)]);
}

#[tokio::test]
async fn subscribers_import_find_create_and_search() {
    let (emulator, client) = setup().await;
    let records = vec![
        SubscriberImport::new("ada@example.com")
            .first_name("Ada")
            .last_name("Lovelace")
            .tags(["lead", "mql"])
            .field("plan", "pro"),
        SubscriberImport::new("bob@example.com").tag("lead"),
    ];
    assert_eq!(
        client.import_subscribers(&records).await.unwrap().results,
        2
    );
    client
        .import_subscribers(&[SubscriberImport::new("ada@example.com").remove_tag("lead")])
        .await
        .unwrap();

    let ada = client
        .find_subscriber("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.fields["last_name"], "Lovelace");
    assert_eq!(ada.fields["plan"], "pro");
    let tags = client.tags().await.unwrap();
    let names: Vec<&str> = ada
        .tag_ids
        .iter()
        .map(|id| tags.iter().find(|t| &t.id == id).unwrap().name.as_str())
        .collect();
    assert_eq!(names, vec!["mql"]);
    let by_uuid = client
        .find_subscriber_by_uuid(&ada.uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_uuid.email, "ada@example.com");
    assert!(
        client
            .find_subscriber("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let carol = client
        .create_subscriber(
            NewSubscriber::new("carol@example.com")
                .first_name("Carol")
                .tag("beta"),
        )
        .await
        .unwrap();
    assert_eq!(carol.fields["first_name"], "Carol");
    assert_eq!(
        emulator.subscriber("carol@example.com").unwrap().tags,
        vec!["beta"]
    );
    let dave = client.create_subscriber("dave@example.com").await.unwrap();
    assert!(dave.fields.is_empty());

    let page = client
        .search_subscribers(
            &SubscriberSearch::page(1).created(DateRange::after("2000-01-01T00:00:00Z")),
        )
        .await
        .unwrap();
    assert_eq!(page.data.len(), 4);
    assert!(page.data.iter().all(|s| s.navigation_url.is_some()));
    let none = client
        .search_subscribers(
            &SubscriberSearch::page(1).created(DateRange::before("2000-01-01T00:00:00Z")),
        )
        .await
        .unwrap();
    assert!(none.data.is_empty());
}

#[tokio::test]
async fn large_imports_are_split_at_1000() {
    let (emulator, client) = setup().await;
    let records: Vec<_> = (0..1500)
        .map(|i| SubscriberImport::new(format!("s{i}@example.com")))
        .collect();
    assert_eq!(
        client.import_subscribers(&records).await.unwrap().results,
        1500
    );
    let sizes: Vec<_> = batch_sizes(&emulator, "batch/subscribers");
    assert_eq!(sizes, vec![Some(1000), Some(500)]);
    assert_eq!(emulator.subscribers().len(), 1500);
}

#[tokio::test]
async fn all_eight_commands_change_the_subscriber() {
    let (emulator, client) = setup().await;
    let email = || "ada@example.com".to_owned();
    let result = client
        .run_commands(&[
            Command::AddTag {
                email: email(),
                tag: "customer".into(),
            },
            Command::AddTagViaEvent {
                email: email(),
                tag: "onboarded".into(),
            },
            Command::AddTag {
                email: email(),
                tag: "trial".into(),
            },
            Command::RemoveTag {
                email: email(),
                tag: "trial".into(),
            },
            Command::AddField {
                email: email(),
                key: "plan".into(),
                value: json!("pro"),
            },
            Command::AddField {
                email: email(),
                key: "seats".into(),
                value: json!(5),
            },
            Command::RemoveField {
                email: email(),
                key: "seats".into(),
            },
            Command::Unsubscribe { email: email() },
        ])
        .await
        .unwrap();
    assert_eq!((result.results, result.failed), (Some(8), Some(0)));
    let ada = emulator.subscriber("ada@example.com").unwrap();
    assert_eq!(ada.tags, vec!["customer", "onboarded"]);
    assert_eq!(ada.fields.get("plan"), Some(&json!("pro")));
    assert!(!ada.fields.contains_key("seats"));
    assert!(!ada.subscribed);
    // add_tag_via_event records an event (it triggers automations); add_tag does not
    assert_eq!(
        emulator
            .events()
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        vec!["$tag"]
    );

    client
        .run_command(Command::Subscribe { email: email() })
        .await
        .unwrap();
    assert!(emulator.subscriber("ada@example.com").unwrap().subscribed);
    client
        .run_command(Command::ChangeEmail {
            email: email(),
            new_email: "ada@new.example".into(),
        })
        .await
        .unwrap();
    assert!(emulator.subscriber("ada@example.com").is_none());
    assert_eq!(
        emulator.subscriber("ada@new.example").unwrap().tags,
        vec!["customer", "onboarded"]
    );
}

#[tokio::test]
async fn transactional_emails_with_cc_and_bcc_split_at_60() {
    let (emulator, client) = setup().await;
    let reset = Email::to("ada@example.com")
        .from("hello@acme.test")
        .subject("Reset")
        .html("<p>{{ link }}</p>")
        .personalization("link", "https://acme.test/r")
        .cc("support@acme.test")
        .bcc("audit@acme.test")
        .bcc("log@acme.test");
    assert_eq!(client.send_email(&reset).await.unwrap().results, 1);
    let sent = &emulator.emails()[0];
    assert_eq!(sent.cc.as_deref(), Some("support@acme.test"));
    assert_eq!(sent.bcc.as_deref(), Some("audit@acme.test,log@acme.test"));
    assert_eq!(sent.personalizations["link"], "https://acme.test/r");
    assert!(sent.transactional);

    let many: Vec<_> = (0..130)
        .map(|i| {
            Email::to(format!("u{i}@example.com"))
                .from("hello@acme.test")
                .subject("Hi")
                .html("<p>hi</p>")
        })
        .collect();
    assert_eq!(client.send_emails(&many).await.unwrap().results, 130);
    let sizes: Vec<_> = batch_sizes(&emulator, "batch/emails")
        .into_iter()
        .skip(1)
        .collect();
    assert_eq!(sizes, vec![Some(60), Some(60), Some(10)]);
}

#[tokio::test]
async fn tags_and_fields() {
    let (_emulator, client) = setup().await;
    let tag = client.create_tag("vip").await.unwrap();
    assert_eq!(tag.name, "vip");
    assert!(client.tags().await.unwrap().iter().any(|t| t.id == tag.id));
    let message = client.delete_tag(&tag.id, &tag.name).await.unwrap();
    assert!(message.contains("deleted"), "{message}");
    assert!(client.tags().await.unwrap().iter().all(|t| t.id != tag.id));
    // Bento's delete toggles: the same call again restores the tag.
    let message = client.delete_tag(&tag.id, &tag.name).await.unwrap();
    assert!(message.contains("restored"), "{message}");
    assert!(client.tags().await.unwrap().iter().any(|t| t.id == tag.id));

    let field = client.create_field("loyalty_points").await.unwrap();
    assert_eq!(field.key, "loyalty_points");
    assert!(
        client
            .fields()
            .await
            .unwrap()
            .iter()
            .any(|f| f.key == "loyalty_points")
    );
}

#[tokio::test]
async fn broadcasts_are_created_in_requests_of_15_and_listed_by_status_and_page() {
    use bento_core::broadcasts::BroadcastStatus;
    let (emulator, client) = setup().await;
    let mut broadcasts: Vec<_> = (0..32)
        .map(|i| {
            NewBroadcast::named(format!("B{i}"))
                .subject("Subject")
                .content("<p>c</p>")
                .from("news@acme.test")
                .include_tag("customer")
        })
        .collect();
    // Approved for a time: scheduled, not a draft.
    broadcasts[31] = broadcasts[31].clone().schedule("2030-01-01T09:00:00Z");
    let result = client.create_broadcasts(&broadcasts).await.unwrap();
    assert_eq!(result.results, 32);
    assert_eq!(result.broadcasts.len(), 32);
    let sizes: Vec<_> = batch_sizes(&emulator, "batch/broadcasts");
    assert_eq!(sizes, vec![Some(15), Some(15), Some(2)]);
    // Bento lists sent broadcasts unless asked: none here.
    assert!(
        client
            .broadcasts_with(BroadcastStatus::Sent)
            .all()
            .await
            .unwrap()
            .is_empty()
    );
    let drafts = client
        .broadcasts_with(BroadcastStatus::Draft)
        .all()
        .await
        .unwrap();
    assert_eq!(drafts.len(), 31, "four pages of ten, read to the end");
    let scheduled = client
        .broadcasts_with(BroadcastStatus::Scheduled)
        .all()
        .await
        .unwrap();
    assert_eq!(scheduled.len(), 1);
    let listed = client.broadcasts().await.unwrap();
    assert_eq!(listed.len(), 32, "every status, every page");
    assert_eq!(
        listed[0].template.as_ref().unwrap().subject.as_deref(),
        Some("Subject")
    );
    // Checked before sending: Bento's bounds and an approved time that is a time.
    let bad = NewBroadcast::named("X")
        .subject("S")
        .content("c")
        .from("news@acme.test")
        .batch_size_per_hour(5);
    assert!(client.create_broadcasts(&[bad]).await.is_err());
    let bad = NewBroadcast::named("X")
        .subject("S")
        .content("c")
        .from("news@acme.test")
        .schedule("tomorrow");
    assert!(client.create_broadcasts(&[bad]).await.is_err());
}

#[tokio::test]
async fn stats() {
    let (_emulator, client) = setup().await;
    client
        .send_events(&[
            Event::new("a", "a@example.com"),
            Event::new("$unsubscribe", "b@example.com"),
        ])
        .await
        .unwrap();
    let site = client.site_stats().await.unwrap();
    assert_eq!(
        (
            site.user_count,
            site.subscriber_count,
            site.unsubscriber_count
        ),
        (2, 1, 1)
    );
    assert_eq!(client.segment_stats("seg_1").await.unwrap().user_count, 2);
    let report = client.report_stats("rep_1").await.unwrap();
    assert_eq!(report.data["a"], 1);
    assert!(report.report_name.is_some());
}

#[tokio::test]
async fn experimental_endpoints() {
    let (_emulator, client) = setup().await;
    assert!(
        client
            .validate_email(
                EmailCheck::new("ada@example.com")
                    .name("Ada Lovelace")
                    .ip("1.2.3.4")
            )
            .await
            .unwrap()
            .valid
    );
    assert!(
        !client
            .validate_email("ada@nowhere.invalid")
            .await
            .unwrap()
            .valid
    );
    let listed = client
        .blacklist_status(BlacklistTarget::Domain("spammy.example".into()))
        .await
        .unwrap();
    assert!(listed.is_listed());
    let clean = client
        .blacklist_status(BlacklistTarget::Ip("1.2.3.4".into()))
        .await
        .unwrap();
    assert!(!clean.is_listed());
    let moderated = client
        .moderate_content("visit https://x.test <script>")
        .await
        .unwrap();
    assert!(!moderated.valid);
    assert_eq!(moderated.reasons.len(), 2);
    let gender = client.guess_gender("Ada Lovelace").await.unwrap();
    assert_eq!(gender.gender.as_deref(), Some("female"));
    // Bento disabled the lookup: `{}` for every address, which is `None`.
    assert!(client.geolocate("8.8.8.8").await.unwrap().is_none());
}

#[tokio::test]
async fn forms_sequences_templates_and_workflows() {
    let (emulator, client) = setup().await;
    let responses = client.form_responses("contact").await.unwrap();
    assert_eq!(
        responses[0]
            .data
            .identity
            .as_ref()
            .unwrap()
            .email
            .as_deref(),
        Some("grace@example.com")
    );
    emulator.add_form_response(
        "contact",
        json!({"fields": {"name": "Ada"}, "identity": {"email": "ada@example.com"}}),
    );
    assert_eq!(client.form_responses("contact").await.unwrap().len(), 2);
    assert!(client.form_responses("other").await.unwrap().is_empty());

    let sequences = client.sequences(1).await.unwrap();
    let onboarding = &sequences[0];
    assert_eq!(onboarding.email_templates.len(), 2);
    let created = client
        .create_sequence_email(
            &onboarding.id,
            &NewSequenceEmail::new("Day 3", "<p>d3</p>").delay(3, DelayInterval::Days),
        )
        .await
        .unwrap();
    assert_eq!(created.subject.as_deref(), Some("Day 3"));
    assert_eq!(
        client.sequences(1).await.unwrap()[0].email_templates.len(),
        3
    );

    let template = client.email_template(&created.id).await.unwrap();
    assert_eq!(template.html.as_deref(), Some("<p>d3</p>"));
    let updated = client
        .update_email_template(
            &created.id,
            &EmailTemplateUpdate::default().subject("Day three"),
        )
        .await
        .unwrap();
    assert_eq!(updated.subject.as_deref(), Some("Day three"));
    assert_eq!(updated.html.as_deref(), Some("<p>d3</p>"));

    let workflows = client.workflows(1).await.unwrap();
    assert_eq!(workflows[0].status, Some(WorkflowStatus::Live));
    assert_eq!(workflows[1].status, Some(WorkflowStatus::Draft));
    assert!(client.workflows(2).await.unwrap().is_empty());
}

#[tokio::test]
async fn spec_dialect_shapes_decode_too() {
    let emulator = emulator().dialect(Dialect::Spec).start().await.unwrap();
    let client = client_builder(&emulator).build().unwrap();
    // {"result": n}
    assert_eq!(
        client
            .import_subscribers(&[SubscriberImport::new("ada@example.com")])
            .await
            .unwrap()
            .results,
        1
    );
    // commands answered with the subscriber, "fields": null
    let result = client
        .run_command(Command::AddTag {
            email: "ada@example.com".into(),
            tag: "t".into(),
        })
        .await
        .unwrap();
    let subscriber = result.subscriber.expect("spec answers with the subscriber");
    assert!(subscriber.fields.is_empty());
    assert_eq!(subscriber.tag_ids.len(), 1);
    // {"data": null}
    assert!(
        client
            .find_subscriber("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // creates answered as lists
    assert_eq!(client.create_tag("vip").await.unwrap().name, "vip");
    assert_eq!(client.create_field("plan").await.unwrap().key, "plan");
    // {"results": n} without failed or details
    let b = client
        .create_broadcasts(&[NewBroadcast::named("N")
            .subject("S")
            .content("<p>c</p>")
            .from("f@acme.test")])
        .await
        .unwrap();
    assert_eq!((b.results, b.failed, b.broadcasts.len()), (1, 0, 0));
}
