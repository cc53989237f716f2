//! A [`lettre`] transport that sends messages as Bento transactional emails
//! (feature `lettre`), the way Bento's Laravel mail transport and Rails
//! delivery method do: an app that builds `lettre::Message`s swaps its SMTP
//! transport for [`BentoTransport`] and changes nothing else.
//!
//! ```no_run
//! use lettre::{AsyncTransport, Message};
//! use bento_core::mailer::BentoTransport;
//!
//! # async fn run(client: bento_core::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let mailer = BentoTransport::new(client);
//! let message = Message::builder()
//!     .from("Acme <hello@acme.test>".parse()?)
//!     .to("ada@example.com".parse()?)
//!     .cc("support@acme.test".parse()?)
//!     .subject("Welcome")
//!     .multipart(lettre::message::MultiPart::alternative_plain_html(
//!         "Welcome, Ada!".to_owned(),
//!         "<p>Welcome, Ada!</p>".to_owned(),
//!     ))?;
//! mailer.send(message).await?;
//! # Ok(()) }
//! ```
//!
//! What is sent: `From`, the one `To`, `Cc`, `Bcc` (from the envelope, as
//! lettre leaves it out of the message), `Subject` and the HTML body. A
//! text-only message is sent as HTML converted from its text; the text
//! alternative of an HTML message is not sent, since Bento's email has one
//! body. What Bento cannot send is a [`MailError::Unsupported`] and nothing
//! is sent: attachments, several bodies, more than one `To`, and headers
//! Bento has no field for (`Reply-To`, `In-Reply-To`, custom `X-` headers...).

use std::future::Future;
use std::pin::Pin;

use lettre::AsyncTransport;
use lettre::address::Envelope;
use mail_parser::{Address, MessageParser};

use crate::{BatchResult, Client, Email, Error};

/// Headers that carry nothing Bento needs beyond what is sent.
const WELL_KNOWN: [&str; 9] = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
];

/// Sends `lettre::Message`s through a [`Client`] as transactional emails.
#[derive(Debug, Clone)]
pub struct BentoTransport {
    client: Client,
}

impl BentoTransport {
    /// A transport sending through `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The raw message could not be parsed as RFC 5322.
    #[error("the message is not a valid RFC 5322 email")]
    Unparsable,
    /// The message has no sender, or no recipient in `To`.
    #[error("the message has no {0}; Bento needs one sender and one `To` recipient")]
    Missing(&'static str),
    /// The message uses something Bento's transactional email cannot send;
    /// nothing was sent.
    #[error("Bento's transactional email cannot send {0}; nothing was sent")]
    Unsupported(String),
    /// The email was refused or could not be sent; see [`Error`].
    #[error(transparent)]
    Api(#[from] Error),
}

impl AsyncTransport for BentoTransport {
    type Ok = BatchResult;
    type Error = MailError;

    // `lettre` declares this trait with `async_trait`; this is the signature
    // that macro produces, written out so no extra dependency is needed.
    fn send_raw<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        envelope: &'life1 Envelope,
        email: &'life2 [u8],
    ) -> Pin<Box<dyn Future<Output = Result<BatchResult, MailError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let email = to_bento(envelope, email)?;
            Ok(self.client.send_email(&email).await?)
        })
    }
}

fn addresses(list: Option<&Address<'_>>) -> Vec<String> {
    list.map(|list| {
        list.iter()
            .filter_map(|addr| addr.address())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// The Bento email for a raw message and its envelope.
pub(crate) fn to_bento(envelope: &Envelope, raw: &[u8]) -> Result<Email, MailError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(MailError::Unparsable)?;
    let unsupported = |what: String| Err(MailError::Unsupported(what));
    for header in message.headers() {
        let name = header.name().to_ascii_lowercase();
        if !WELL_KNOWN.contains(&name.as_str()) && !name.starts_with("content-") {
            return unsupported(format!("the `{}` header", header.name()));
        }
    }
    if message.attachment_count() > 0 {
        return unsupported(format!("attachments ({})", message.attachment_count()));
    }
    if message.html_body_count() > 1 {
        return unsupported(format!(
            "{} separate bodies (one HTML body, optionally with its text alternative)",
            message.html_body_count()
        ));
    }
    let from = addresses(message.from());
    let from = match from.as_slice() {
        [one] => one.clone(),
        [] => envelope
            .from()
            .map(ToString::to_string)
            .ok_or(MailError::Missing("sender"))?,
        _ => return unsupported("more than one `From` address".to_owned()),
    };
    let to = addresses(message.to());
    let to = match to.as_slice() {
        [one] => one.clone(),
        [] => return Err(MailError::Missing("`To` recipient")),
        _ => {
            return unsupported(
                "more than one `To` recipient (Bento sends to one; send one message per \
                 recipient, or use Cc)"
                    .to_owned(),
            );
        }
    };
    let cc = addresses(message.cc());
    // lettre keeps Bcc out of the formatted message: the envelope has them.
    let shown: Vec<&str> = std::iter::once(to.as_str())
        .chain(cc.iter().map(String::as_str))
        .collect();
    let bcc: Vec<String> = envelope
        .to()
        .iter()
        .map(ToString::to_string)
        .filter(|address| {
            !shown
                .iter()
                .any(|shown| shown.eq_ignore_ascii_case(address))
        })
        .chain(addresses(message.bcc()))
        .collect();
    let subject = message.subject().unwrap_or_default().to_owned();
    let html = message.body_html(0).unwrap_or_default().into_owned();
    let mut email = Email::to(to).from(from).subject(subject).html(html);
    for address in cc {
        email = email.cc(address);
    }
    for address in bcc {
        email = email.bcc(address);
    }
    Ok(email)
}
