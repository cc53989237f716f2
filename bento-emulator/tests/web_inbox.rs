//! The emulator's web UI in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/test.sh`): what the app sent is
//! there, live, and hostile content never runs. Screenshots of each page go
//! to `target/ui-screenshots/`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bento_core::{Email, Event, SubscriberImport};
use bento_tests::browser::Browser;
use serde_json::json;

const XSS: &str = "window.__xss = (window.__xss || 0) + 1";

/// Whether any probe ran in the page (or set the marker through the frame).
async fn exploited(browser: &Browser) -> bool {
    let value = browser.eval("return window.__xss || 0;", json!([])).await;
    value.as_u64().unwrap_or(0) > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_shows_what_the_app_sent_live_and_runs_nothing_it_sent() {
    let (emulator, client) = bento_tests::emulator_and_client().await;
    let ui = format!("http://{}/__emulator/ui", emulator.addr());

    // What an app sends, hostile content included.
    client
        .send_email(
            &Email::to("ada@example.com")
                .from("hello@acme.test")
                .subject("Welcome aboard, Ada")
                .html(format!(
                    "<h1 id=\"greeting\">Hello Ada</h1><script>{XSS}; parent.{XSS}</script>\
                     <img src=x onerror=\"parent.{XSS}\">"
                )),
        )
        .await
        .unwrap();
    client
        .send_email(
            &Email::to("eve@example.com")
                .from("hello@acme.test")
                .subject(format!("<img src=x onerror=\"{XSS}\">"))
                .html("<p>hi</p>"),
        )
        .await
        .unwrap();
    client
        .send_events(&[
            Event::new("account.signup", "ada@example.com").field("plan", "pro"),
            Event::new(format!("<script>{XSS}</script>"), "eve@example.com")
                .field("nickname", format!("<img src=x onerror=\"{XSS}\">"))
                .detail("note", format!("</td><script>{XSS}</script>")),
        ])
        .await
        .unwrap();
    client
        .import_subscribers(&[
            SubscriberImport::new("eve@example.com").tag(format!("<b onmouseover=\"{XSS}\">x</b>"))
        ])
        .await
        .unwrap();

    client
        .run_command(bento_core::Command::AddTag {
            email: "ada@example.com".into(),
            tag: "vip".into(),
        })
        .await
        .unwrap();

    let browser = Browser::start().await;

    // Emails: the subject is listed; the detail shows the body in the frame.
    browser.open(&format!("{ui}/emails")).await;
    let listed = browser
        .wait_for(
            "return document.body.innerText.includes('Welcome aboard, Ada');",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(listed, json!(true), "the subject is in the inbox");
    browser.screenshot("emails").await;
    let clicked = browser
        .eval(
            "var link = Array.from(document.querySelectorAll('a')).find(a => a.innerText.includes('Welcome aboard'));\
             link.click(); return true;",
            json!([]),
        )
        .await;
    assert_eq!(clicked, json!(true));
    browser
        .wait_for(
            "return !!document.querySelector('iframe.email');",
            Duration::from_secs(5),
        )
        .await;
    let sandbox = browser
        .eval(
            "return document.querySelector('iframe.email').getAttribute('sandbox');",
            json!([]),
        )
        .await;
    assert_eq!(sandbox, json!(""), "no script rights for email HTML");
    browser.switch_to_frame("iframe.email").await;
    let greeting = browser
        .wait_for(
            "var h = document.getElementById('greeting'); return h && h.innerText;",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(
        greeting,
        json!("Hello Ada"),
        "the body renders in the frame"
    );
    let ran_in_frame = browser.eval("return window.__xss || 0;", json!([])).await;
    assert_eq!(ran_in_frame, json!(0), "the email's script did not run");
    browser.switch_to_parent().await;
    // An absence cannot be waited for: give a hostile timer (the email sets
    // 100 ms ones) three times its delay to fire, then look.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!exploited(&browser).await, "nothing reached the UI's page");
    browser.screenshot("email-detail").await;

    // Events: hostile type, field and detail are text; a new event appears live.
    browser.open(&format!("{ui}/events")).await;
    browser
        .wait_for(
            "return document.body.innerText.includes('account.signup');",
            Duration::from_secs(5),
        )
        .await;
    let shown_as_text = browser
        .eval(
            "return document.body.innerText.includes('<script>');",
            json!([]),
        )
        .await;
    assert_eq!(
        shown_as_text,
        json!(true),
        "the hostile type is shown, as text"
    );
    client
        .track_now(&Event::new("live.after.load", "grace@example.com"))
        .await
        .unwrap();
    let live = browser
        .wait_for(
            "return document.body.innerText.includes('live.after.load');",
            Duration::from_secs(2),
        )
        .await;
    assert_eq!(
        live,
        json!(true),
        "an event tracked after the page loaded appears within 2 s"
    );
    assert!(!exploited(&browser).await);
    browser.screenshot("events").await;

    // Subscribers: the hostile tag is text; one subscriber's timeline.
    browser.open(&format!("{ui}/subscribers")).await;
    browser
        .wait_for(
            "return document.body.innerText.includes('eve@example.com');",
            Duration::from_secs(5),
        )
        .await;
    let hovered = browser
        .eval(
            "document.querySelectorAll('.tag').forEach(t => t.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})));\
             return document.querySelectorAll('b').length;",
            json!([]),
        )
        .await;
    assert_eq!(hovered, json!(0), "the tag's markup was not parsed");
    browser.screenshot("subscribers").await;
    browser
        .open(&format!("{ui}/subscriber?email=ada@example.com"))
        .await;
    let timeline = browser
        .wait_for(
            "var t = document.body.innerText; return t.includes('event account.signup') && t.includes('command add_tag vip') && t.includes('Welcome aboard');",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(
        timeline,
        json!(true),
        "events, commands and emails on one timeline"
    );
    browser.screenshot("subscriber").await;
    assert!(!exploited(&browser).await, "no probe ran on any page");

    // Chat: a conversation the app opened, its reply and private note, the
    // hostile message as text.
    let inbox = client.chat_inboxes().await.unwrap().remove(0);
    let sent = client
        .send_chat_message(&bento_core::chat::NewChatMessage::new(
            &inbox.id,
            "ada@example.com",
            format!("<img src=x onerror=\"{XSS}\">Hi Ada"),
        ))
        .await
        .unwrap();
    let conversation = sent.conversation.id;
    client.reply(&conversation, "Anything else?").await.unwrap();
    client
        .add_note(&conversation, "VIP customer")
        .await
        .unwrap();
    browser.open(&format!("{ui}/chat")).await;
    let listed = browser
        .wait_for(
            "var t = document.body.innerText; return t.includes('ada@example.com') && t.includes('VIP customer');",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(listed, json!(true), "the conversation and its last message");
    browser.open(&format!("{ui}/chat/{conversation}")).await;
    let thread = browser
        .wait_for(
            "var notes = document.querySelectorAll('.message.note').length;\
             var t = document.body.innerText;\
             return notes === 1 && t.includes('Anything else?') && t.includes('onerror');",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(
        thread,
        json!(true),
        "messages in order, the note marked, hostile markup shown as text"
    );
    assert!(!exploited(&browser).await, "the chat message ran nothing");
    browser.screenshot("chat").await;

    // Deletions: what an erasure asked of Bento, and that it was carried out.
    client.erase("eve@example.com").await.unwrap();
    browser.open(&format!("{ui}/deletions")).await;
    let deleted = browser
        .wait_for(
            "var rows = Array.from(document.querySelectorAll('tbody tr')).map(r => r.innerText);\
             return rows.some(r => r.includes('eve@example.com') && !r.includes('pending'));",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(deleted, json!(true), "the erasure's deletion, carried out");
    assert!(!exploited(&browser).await);
    browser.screenshot("deletions").await;

    // Requests: a request with wrong keys shows with its 401 message.
    let wrong = bento_tests::client_for(&emulator)
        .secret_key("wrong-secret")
        .build()
        .unwrap();
    assert!(wrong.tags().await.is_err());
    browser.open(&format!("{ui}/requests")).await;
    let unauthorized = browser
        .wait_for(
            "var rows = Array.from(document.querySelectorAll('tr')).map(r => r.innerText);\
             return rows.find(r => r.includes('401') && r.includes('Unauthorized')) || '';",
            Duration::from_secs(5),
        )
        .await;
    let row = unauthorized.as_str().unwrap_or_default();
    assert!(row.contains("fetch/tags"), "{row}");
    assert!(
        !row.contains("wrong-secret"),
        "Authorization is never shown: {row}"
    );
    browser.screenshot("requests").await;

    // Faults: add one from the page, see it listed, then reset everything.
    browser.open(&format!("{ui}/faults")).await;
    browser
        .eval(
            "document.querySelector('input[name=path]').value = '/batch/events';\
             document.querySelector('input[name=times]').value = '3';\
             document.querySelector('form[action$=\"/faults\"]').submit(); return true;",
            json!([]),
        )
        .await;
    let listed = browser
        .wait_for(
            "return document.body.innerText.includes('answer 503') && document.body.innerText.includes('/batch/events');",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(listed, json!(true), "the fault is listed");
    browser.screenshot("faults").await;
    let _ = client
        .send_events(&[Event::new("x", "a@example.com")])
        .await;
    let injected = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "batch/events" && r.status == 503)
        .count();
    assert!(injected >= 1, "the fault added in the page applied");
    browser.quit().await;
}

#[tokio::test]
async fn ui_pages_stay_fast_with_a_hundred_thousand_events() {
    let emulator = bento_emulator::Emulator::builder()
        .no_rate_limits()
        .start()
        .await
        .unwrap();
    let client = bento_tests::client_for(&emulator).build().unwrap();
    let events: Vec<Event> = (0..100_000)
        .map(|n| Event::new("page.view", format!("user{}@example.com", n % 1000)).detail("n", n))
        .collect();
    client.send_events(&events).await.unwrap();
    bento_tests::install_tls();
    let http = reqwest::Client::new();
    for (page, total) in [
        ("events", Some("100000 in all")),
        ("events?page=2000", Some("100000 in all")),
        (
            "events?type=page.view&email=user7%40example.com",
            Some("100 in all"),
        ),
        ("subscribers", Some("1000 in all")),
        ("requests", None),
    ] {
        let response = http
            .get(format!("http://{}/__emulator/ui/{page}", emulator.addr()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{page}");
        let html = response.text().await.unwrap();
        // One page of rows, however many are stored.
        assert!(html.matches("<tr>").count() <= 51, "{page}: paginated");
        if let Some(total) = total {
            assert!(html.contains(total), "{page}: {total}");
        }
    }
}
