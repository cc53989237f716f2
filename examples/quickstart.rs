//! Quickstart: every common Bento call, end to end.
//!
//! With no `BENTO_*` variables set, it starts the emulator in-process and talks
//! to it; with `BENTO_PUBLISHABLE_KEY`, `BENTO_SECRET_KEY` and `BENTO_SITE_UUID`
//! set, it talks to your real Bento account.
//!
//!     cargo run --example quickstart

use bento_core::{BentoEvent, Client, Command, Email, Event, SubscriberImport};
use bento_emulator::Emulator;
use serde_json::json;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup<'a> {
    email: &'a str,
    #[bento(field)]
    first_name: &'a str,
    plan: &'a str,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let has_credentials = std::env::var_os(bento_core::env::SECRET_KEY).is_some();
    let emulator = if has_credentials {
        None
    } else {
        Some(Emulator::start().await?)
    };
    let client = match &emulator {
        None => Client::from_env()?,
        Some(emulator) => {
            println!(
                "No BENTO_* variables set: using the in-process emulator at {}\n",
                emulator.base_url()
            );
            Client::builder()
                .base_url(emulator.base_url())
                .publishable_key(emulator.publishable_key())
                .secret_key(emulator.secret_key())
                .site_uuid(emulator.site_uuid())
                .app_name("bento-quickstart")
                .build()?
        }
    };
    let from = std::env::var("BENTO_FROM_EMAIL").unwrap_or_else(|_| "hello@example.com".into());

    let ada = client.create_subscriber("ada@example.com").await?;
    println!("created subscriber {} ({})", ada.email, ada.uuid);

    let imported = client
        .import_subscribers(&[
            SubscriberImport::new("grace@example.com")
                .first_name("Grace")
                .tags(["lead", "newsletter"]),
            SubscriberImport::new("alan@example.com")
                .first_name("Alan")
                .field("plan", "free"),
        ])
        .await?;
    println!("imported {} subscribers", imported.results);

    // An event described by a struct, checked at compile time...
    client
        .track_now(&Signup {
            email: "ada@example.com",
            first_name: "Ada",
            plan: "pro",
        })
        .await?;
    // ...and one built at run time.
    let tracked = client
        .send_events(&[
            Event::new("$purchase", "ada@example.com")
                .detail("unique", json!({ "key": "order_1001" }))
                .detail("value", json!({ "currency": "USD", "amount": 4900 }))
                .detail("cart", json!({ "items": [{ "product_sku": "PRO-1", "product_name": "Pro plan", "quantity": 1 }] })),
        ])
        .await?;
    println!("tracked {} events", tracked.results + 1);

    client
        .run_commands(&[
            Command::AddTag {
                email: "ada@example.com".into(),
                tag: "customer".into(),
            },
            Command::AddField {
                email: "ada@example.com".into(),
                key: "company".into(),
                value: json!("Analytical Engines"),
            },
        ])
        .await?;
    println!("ran 2 commands");

    let sent = client
        .send_email(
            &Email::to("ada@example.com")
                .from(from)
                .subject("Welcome to Acme")
                .html("<p>Hi {{ name }}, welcome!</p>")
                .personalization("name", "Ada"),
        )
        .await?;
    println!("sent {} transactional email", sent.results);

    if let Some(ada) = client.find_subscriber("ada@example.com").await? {
        println!(
            "\nada@example.com now has fields {}",
            serde_json::Value::Object(ada.fields)
        );
    }

    if let Some(emulator) = &emulator {
        println!("\nWhat the emulator received:");
        for event in emulator.events() {
            println!("  event  {:<16} {}", event.event_type, event.email);
        }
        for subscriber in emulator.subscribers() {
            println!(
                "  person {:<20} tags {:?} fields {}",
                subscriber.email,
                subscriber.tags,
                serde_json::Value::Object(subscriber.fields)
            );
        }
        for email in emulator.emails() {
            println!(
                "  email  to {} from {}: {}",
                email.to, email.from, email.subject
            );
        }
        println!("  {} API requests in all", emulator.requests().len());
    }
    Ok(())
}
