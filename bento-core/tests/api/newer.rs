//! The operations of Bento's 2026-08-22 spec, against the emulator over
//! loopback HTTP: segments, data deletion, ads stats, Jesse's ruleset, the
//! Transactional Platform's delivery data, and Chat.

use std::time::Duration;

use bento_core::chat::{ConversationQuery, ConversationStatus, NewChatMessage};
use bento_core::deletion::Deletion;
use bento_core::experimental::SignupEmailReview;
use bento_core::stats::{AdsDimension, AdsQuery};
use bento_core::transactional::Window;
use bento_core::{Command, Email, Event};
use serde_json::json;

use crate::common::{client_builder, emulator, setup};

#[tokio::test]
async fn segments_list_get_and_match_what_their_query_selects() {
    let (emulator, client) = setup().await;
    let vips = emulator.add_segment("VIPs", json!({ "tags": ["vip"] }));
    client
        .track_now(&Event::new("account.signup", "ada@example.com"))
        .await
        .unwrap();
    client
        .track_now(&Event::new("account.signup", "bob@example.com"))
        .await
        .unwrap();
    client
        .run_command(Command::AddTag {
            email: "ada@example.com".into(),
            tag: "vip".into(),
        })
        .await
        .unwrap();

    let names: Vec<String> = client
        .segments()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["Subscribed", "VIPs"], "ordered by name");
    let segment = client.segment(&vips).await.unwrap().expect("the segment");
    assert_eq!(segment.query, json!({ "tags": ["vip"] }));
    assert!(client.segment("999").await.unwrap().is_none());
    assert!(
        client
            .segment_matches(&vips, "ada@example.com")
            .await
            .unwrap()
    );
    assert!(
        !client
            .segment_matches(&vips, "bob@example.com")
            .await
            .unwrap()
    );
    assert!(
        !client
            .segment_matches(&vips, "nobody@example.com")
            .await
            .unwrap()
    );
    // The address is checked before anything is sent.
    assert!(client.segment_matches(&vips, "not-an-email").await.is_err());
    let stats = client.segment_stats(&vips).await.unwrap();
    assert_eq!(stats.user_count, 1);
}

#[tokio::test]
async fn a_deletion_anonymizes_later_and_says_when_there_was_nobody() {
    let emulator = emulator()
        .deletion_delay(Duration::from_millis(200))
        .deletion_quota(2)
        .start()
        .await
        .unwrap();
    let client = client_builder(&emulator).build().unwrap();
    client
        .track_now(&Event::new("account.signup", "ada@example.com").field("plan", "pro"))
        .await
        .unwrap();
    assert_eq!(
        client
            .request_data_deletion("ada@example.com")
            .await
            .unwrap(),
        Deletion::Queued
    );
    // Accepted, not yet done: Bento anonymizes asynchronously.
    assert!(
        emulator.deletions()[0].anonymized_at.is_none()
            || emulator.subscriber("ada@example.com").is_none()
    );
    bento_tests::wait::eventually_async(
        "the deletion carried out",
        Duration::from_secs(10),
        || async { emulator.subscriber("ada@example.com").is_none() },
    )
    .await;
    assert!(emulator.deletions()[0].anonymized_at.is_some());
    assert!(
        emulator
            .events()
            .iter()
            .all(|e| e.email != "ada@example.com"),
        "its events lost the address"
    );
    assert_eq!(
        client
            .request_data_deletion("nobody@example.com")
            .await
            .unwrap(),
        Deletion::NotFound
    );
    // The day's quota (2 here, 1,000 at Bento) is spent: 429.
    let error = client
        .request_data_deletion("bob@example.com")
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429), "{error}");
}

#[tokio::test]
async fn ads_stats_break_signups_and_revenue_down_by_utm() {
    let (_emulator, client) = setup().await;
    for (email, source) in [
        ("a@example.com", "youtube"),
        ("b@example.com", "youtube"),
        ("c@example.com", "podcast"),
    ] {
        client
            .track_now(&Event::new("account.signup", email).detail("utm_source", source))
            .await
            .unwrap();
    }
    client
        .track_now(
            &Event::new("$purchase", "a@example.com")
                .detail("utm_source", "youtube")
                .detail("unique", json!({ "key": "ord_1" }))
                .detail("value", json!({ "currency": "USD", "amount": 4900 })),
        )
        .await
        .unwrap();
    let ads = client
        .ads_stats(
            &AdsQuery::new()
                .dimension(AdsDimension::Source)
                .between("last week", "now"),
        )
        .await
        .unwrap();
    assert_eq!(ads.dimension, "source");
    assert_eq!(ads.totals.signups, 3);
    assert_eq!(ads.totals.customers, 1);
    assert_eq!(ads.totals.revenue_cents, 4900);
    let youtube = ads.breakdown.iter().find(|r| r.key == "youtube").unwrap();
    assert_eq!((youtube.signups, youtube.revenue_cents), (2, 4900));
    assert!(ads.extra.contains_key("chartData"), "the rest is kept");
}

#[tokio::test]
async fn jesses_ruleset_gives_reasons() {
    let (_emulator, client) = setup().await;
    let ok = client.review_signup_email("ada@example.com").await.unwrap();
    assert!(ok.valid && ok.reasons.is_empty());
    let free = client
        .review_signup_email(SignupEmailReview::new("ada@gmail.com").block_free_providers(true))
        .await
        .unwrap();
    assert!(!free.valid);
    assert_eq!(free.reasons, ["Email provider is free"]);
    let role = client
        .review_signup_email(SignupEmailReview::new("admin@example.com").wiggleroom(true))
        .await
        .unwrap();
    assert!(role.valid, "wiggleroom relaxes the role rule");
}

#[tokio::test]
async fn delivery_data_comes_from_the_emails_sent_and_needs_the_platform() {
    let (_emulator, client) = setup().await;
    for subject in ["Welcome", "Receipt"] {
        client
            .send_email(
                &Email::to("ada@example.com")
                    .from("hello@acme.test")
                    .subject(subject)
                    .html("<p>Hi</p>"),
            )
            .await
            .unwrap();
    }
    let report = client.delivery_report(&Window::default()).await.unwrap();
    assert_eq!(report.data["sent"], 2);
    let events = client
        .delivery_events("ada@example.com", &Window::default(), Some(1))
        .await
        .unwrap();
    assert_eq!(events.events.len(), 1, "at most `limit`");
    assert_eq!(events.events[0]["subject"], "Receipt", "newest first");
    assert!(
        client
            .delivery_events("ada@example.com", &Window::default(), Some(101))
            .await
            .is_err(),
        "the limit is checked before sending"
    );
    let bad = client
        .delivery_report(&Window::between("2026-12-06", "2026-12-01"))
        .await
        .unwrap_err();
    assert_eq!(bad.status().map(|s| s.as_u16()), Some(400), "{bad}");

    let gated = emulator()
        .transactional_platform(false)
        .start()
        .await
        .unwrap();
    let client = client_builder(&gated).build().unwrap();
    let error = client
        .delivery_report(&Window::default())
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(403));
    assert!(
        error.to_string().contains("Transactional Platform"),
        "{error}"
    );
}

#[tokio::test]
async fn chat_conversations_persist_and_page() {
    let (emulator, client) = setup().await;
    let inboxes = client.chat_inboxes().await.unwrap();
    assert_eq!(inboxes.len(), 2);
    let email_inbox = inboxes
        .iter()
        .find(|i| i.channel_type.as_deref() == Some("Channel::Email"))
        .unwrap();
    let sent = client
        .send_chat_message(
            &NewChatMessage::new(&email_inbox.id, "ada@example.com", "Hi Ada!")
                .contact_name("Ada")
                .subject("Welcome"),
        )
        .await
        .unwrap();
    let id = sent.conversation.id.clone();
    assert_eq!(sent.conversation.status, ConversationStatus::Open);
    assert_eq!(sent.contact.name, "Ada");
    client.reply(&id, "Anything else?").await.unwrap();
    let note = client.add_note(&id, "VIP customer").await.unwrap();
    assert!(note.message.private);
    let conversation = client.conversation(&id).await.unwrap().unwrap();
    let texts: Vec<&str> = conversation
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(texts, ["Hi Ada!", "Anything else?", "VIP customer"]);
    assert!(client.conversation("999").await.unwrap().is_none());
    let (contact, theirs) = client
        .conversations_of("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (contact.email.as_str(), theirs.len()),
        ("ada@example.com", 1)
    );
    assert!(
        client
            .conversations_of("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let status = client
        .set_conversation_status(&id, ConversationStatus::Resolved)
        .await
        .unwrap();
    assert_eq!(status.status, ConversationStatus::Resolved);
    assert_eq!(emulator.conversations()[0].status, "resolved");

    // 30 open conversations: two pages of 25 and 5, read to the end.
    for n in 0..30 {
        client
            .send_chat_message(&NewChatMessage::new(
                &email_inbox.id,
                format!("u{n}@example.com"),
                "Hello",
            ))
            .await
            .unwrap();
    }
    let open = client
        .conversations(ConversationQuery::new().status(ConversationStatus::Open))
        .all()
        .await
        .unwrap();
    assert_eq!(open.len(), 30);
    let every = client
        .conversations(ConversationQuery::new().any_status())
        .all()
        .await
        .unwrap();
    assert_eq!(every.len(), 31);
    let searched = client
        .conversations(
            ConversationQuery::new()
                .any_status()
                .search("anything else"),
        )
        .all()
        .await
        .unwrap();
    assert_eq!(searched.len(), 1);
}

#[tokio::test]
async fn search_filters_by_tag_and_segment_and_reads_every_page() {
    use bento_core::SubscriberImport;
    use bento_core::subscribers::SubscriberSearch;

    let (emulator, client) = setup().await;
    let records: Vec<_> = (0..150)
        .map(|n| {
            let record = SubscriberImport::new(format!("s{n}@example.com"));
            if n % 3 == 0 {
                record.tag("vip")
            } else {
                record
            }
        })
        .collect();
    client.import_subscribers(&records).await.unwrap();
    let vips = emulator.add_segment("VIPs", json!({ "tags": ["vip"] }));

    // Every page: 150 subscribers are two pages of 100 and 50.
    let everyone = client
        .search_all(SubscriberSearch::default())
        .all()
        .await
        .unwrap();
    assert_eq!(everyone.len(), 150);
    let pages: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "fetch/search")
        .map(|r| r.path)
        .collect();
    assert_eq!(pages.len(), 2, "one request a page");
    // The newer spec's filters: by tag name, and by segment.
    let tagged = client
        .search_all(SubscriberSearch::default().tag("vip"))
        .all()
        .await
        .unwrap();
    assert_eq!(tagged.len(), 50);
    assert!(tagged.iter().all(|s| !s.tag_ids.is_empty()));
    let vip_id = client
        .tags()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "vip")
        .unwrap()
        .id;
    let by_id = client
        .search_subscribers(&SubscriberSearch::page(1).tag_id(&vip_id))
        .await
        .unwrap();
    assert_eq!(by_id.data.len(), 50);
    let members = client
        .search_subscribers(&SubscriberSearch::page(1).segment(&vips))
        .await
        .unwrap();
    assert_eq!(members.data.len(), 50);
    let error = client
        .search_subscribers(&SubscriberSearch::page(1).segment("999"))
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400), "{error}");
}

#[tokio::test]
async fn a_segment_answers_120_matches_a_minute() {
    use bento_core::RetryPolicy;

    let emulator = emulator().start().await.unwrap();
    // A 429 whose Retry-After is past a second fails at once instead of waiting.
    let client = client_builder(&emulator)
        .retry(RetryPolicy::default().max_retry_after(Duration::from_secs(1)))
        .build()
        .unwrap();
    let vips = emulator.add_segment("VIPs", json!({ "tags": ["vip"] }));
    let others = emulator.add_segment("Others", json!({ "tags": ["other"] }));
    for _ in 0..120 {
        client
            .segment_matches(&vips, "ada@example.com")
            .await
            .unwrap();
    }
    let error = client
        .segment_matches(&vips, "ada@example.com")
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429), "{error}");
    assert!(error.to_string().contains("segment"), "{error}");
    // The limit is the segment's own.
    assert!(
        !client
            .segment_matches(&others, "ada@example.com")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn imports_can_become_visible_later_as_live_bentos_do() {
    use bento_core::SubscriberImport;

    const DELAY: Duration = Duration::from_secs(3);
    let emulator = emulator().import_delay(DELAY).start().await.unwrap();
    let client = client_builder(&emulator).build().unwrap();
    let accepted = std::time::Instant::now();
    let result = client
        .import_subscribers(&[SubscriberImport::new("ada@example.com").tag("vip")])
        .await
        .unwrap();
    assert_eq!(result.results, 1, "accepted at once");
    assert!(
        client
            .find_subscriber("ada@example.com")
            .await
            .unwrap()
            .is_none(),
        "not visible yet"
    );
    bento_tests::wait::eventually_async("the import becomes visible", DELAY * 5, || {
        let client = client.clone();
        async move {
            client
                .find_subscriber("ada@example.com")
                .await
                .ok()
                .flatten()
                .is_some()
        }
    })
    .await;
    assert!(accepted.elapsed() >= DELAY, "not before the delay");
    assert!(emulator.subscriber("ada@example.com").is_some());
}
