//! The lettre transport against the emulator: a `lettre::Message` arrives as
//! one Bento transactional email with every part Bento can carry; what it
//! cannot carry is a typed error and nothing is sent.
#![allow(clippy::unwrap_used)]

use bento_core::mailer::{BentoTransport, MailError};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncTransport, Message};

fn mailbox(text: &str) -> Mailbox {
    text.parse().unwrap()
}

fn base() -> lettre::message::MessageBuilder {
    Message::builder()
        .from(mailbox("Acme <hello@acme.test>"))
        .to(mailbox("Ada Lovelace <ada@example.com>"))
        .subject("Welcome, Ada")
}

#[tokio::test]
async fn a_lettre_message_arrives_as_a_bento_email() {
    let (emulator, client) = bento_tests::emulator_and_client().await;
    let mailer = BentoTransport::new(client);

    let message = base()
        .cc(mailbox("support@acme.test"))
        .bcc(mailbox("audit@acme.test"))
        .multipart(MultiPart::alternative_plain_html(
            "Welcome aboard".to_owned(),
            "<p>Welcome <b>aboard</b></p>".to_owned(),
        ))
        .unwrap();
    let result = mailer.send(message).await.unwrap();
    assert_eq!(result.results, 1);

    let text_only = base()
        .header(ContentType::TEXT_PLAIN)
        .body("Line one\nLine <two>".to_owned())
        .unwrap();
    mailer.send(text_only).await.unwrap();

    let sent = emulator.emails();
    assert_eq!(sent.len(), 2);
    let rich = &sent[0];
    assert_eq!(rich.to, "ada@example.com");
    assert_eq!(rich.from, "hello@acme.test");
    assert_eq!(rich.subject, "Welcome, Ada");
    assert_eq!(rich.html_body, "<p>Welcome <b>aboard</b></p>");
    assert_eq!(rich.cc.as_deref(), Some("support@acme.test"));
    assert_eq!(rich.bcc.as_deref(), Some("audit@acme.test"));
    assert!(rich.transactional);
    let plain = &sent[1];
    assert!(plain.html_body.contains("Line one"), "{}", plain.html_body);
    assert!(
        plain.html_body.contains("&lt;two"),
        "text is escaped: {}",
        plain.html_body
    );
}

#[tokio::test]
async fn what_bento_cannot_send_is_a_typed_error_and_nothing_is_sent() {
    let (emulator, client) = bento_tests::emulator_and_client().await;
    let mailer = BentoTransport::new(client);

    let with_attachment = base()
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::html("<p>Invoice attached</p>".to_owned()))
                .singlepart(
                    Attachment::new("invoice.pdf".to_owned())
                        .body(b"%PDF-1.4".to_vec(), "application/pdf".parse().unwrap()),
                ),
        )
        .unwrap();
    let two_recipients = base()
        .to(mailbox("bob@example.com"))
        .body("hi".to_owned())
        .unwrap();
    let reply_to = base()
        .reply_to(mailbox("replies@acme.test"))
        .body("hi".to_owned())
        .unwrap();
    for (what, message) in [
        ("attachments", with_attachment),
        ("more than one `To`", two_recipients),
        ("`Reply-To`", reply_to),
    ] {
        match mailer.send(message).await {
            Err(MailError::Unsupported(reason)) => {
                assert!(reason.contains(what), "{what}: {reason}")
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(emulator.emails().is_empty(), "nothing was sent");
    let envelope =
        lettre::address::Envelope::new(None, vec!["a@example.com".parse().unwrap()]).unwrap();
    let garbage = mailer.send_raw(&envelope, b"\xff\xfe not an email").await;
    assert!(
        matches!(
            garbage,
            Err(MailError::Missing(_) | MailError::Unparsable | MailError::Unsupported(_))
        ),
        "{garbage:?}"
    );
    assert!(emulator.emails().is_empty(), "nothing was sent");
}
