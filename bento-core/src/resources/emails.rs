//! Transactional emails: `POST /batch/emails`.
//!
//! Sends are never replayed after an ambiguous failure unless the
//! [`RetryPolicy`](crate::RetryPolicy) opts in, because a replay may deliver
//! the email twice.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::{Error, ValidationError};
use crate::model::batch::BatchResult;
use crate::resources::batch::in_chunks;
use crate::transport::ApiRequest;
use crate::validate;

/// The steps of [`Email::to`]`(..).from(..).subject(..).html(..)`, each
/// with one method: the parts of an email go in by name, in order.
pub mod steps {
    use super::Email;

    /// An email with its recipient; next, [`from`](Self::from).
    #[derive(Debug, Clone)]
    #[must_use = "an email needs a sender, a subject and a body"]
    pub struct WithTo {
        pub(super) to: String,
    }

    /// An email with its recipient and sender; next, [`subject`](Self::subject).
    #[derive(Debug, Clone)]
    #[must_use = "an email needs a subject and a body"]
    pub struct WithFrom {
        to: String,
        from: String,
    }

    /// An email with all but its body; next, [`html`](Self::html).
    #[derive(Debug, Clone)]
    #[must_use = "an email needs a body"]
    pub struct WithSubject {
        to: String,
        from: String,
        subject: String,
    }

    impl WithTo {
        /// The sender: an authorized author of your Bento account.
        pub fn from(self, from: impl Into<String>) -> WithFrom {
            WithFrom {
                to: self.to,
                from: from.into(),
            }
        }
    }

    impl WithFrom {
        /// The subject line.
        pub fn subject(self, subject: impl Into<String>) -> WithSubject {
            WithSubject {
                to: self.to,
                from: self.from,
                subject: subject.into(),
            }
        }
    }

    impl WithSubject {
        /// The HTML body, which may use Liquid personalizations.
        pub fn html(self, body: impl Into<String>) -> Email {
            Email {
                to: self.to,
                from: self.from,
                subject: self.subject,
                html_body: body.into(),
                transactional: true,
                personalizations: serde_json::Map::new(),
                cc: Vec::new(),
                bcc: Vec::new(),
            }
        }
    }
}

/// The most emails Bento accepts in one request.
pub const MAX_EMAILS_PER_REQUEST: usize = 60;

/// One transactional email.
///
/// ```
/// use bento_core::Email;
/// let email = Email::to("ada@example.com")
///     .from("hello@acme.test")
///     .subject("Reset your password")
///     .html("<p>{{ link }}</p>")
///     .personalization("link", "https://acme.test/reset?t=abc")
///     .cc("support@acme.test");
/// # let _ = email;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    to: String,
    from: String,
    subject: String,
    html_body: String,
    transactional: bool,
    personalizations: Map<String, Value>,
    cc: Vec<String>,
    bcc: Vec<String>,
}

impl Email {
    /// Starts a transactional email to `to`; the sender, subject and body
    /// follow in that order, by name, so no two can be swapped:
    /// `Email::to(..).from(..).subject(..).html(..)`.
    pub fn to(to: impl Into<String>) -> steps::WithTo {
        steps::WithTo { to: to.into() }
    }

    /// Marks the email as marketing (`transactional: false`): it then honours unsubscribes.
    pub fn marketing(mut self) -> Self {
        self.transactional = false;
        self
    }

    /// A value for a `{{ key }}` placeholder.
    pub fn personalization(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.personalizations.insert(key.into(), value.into());
        self
    }

    /// Adds a carbon-copy recipient.
    pub fn cc(mut self, address: impl Into<String>) -> Self {
        self.cc.push(address.into());
        self
    }

    /// Adds a blind carbon-copy recipient.
    pub fn bcc(mut self, address: impl Into<String>) -> Self {
        self.bcc.push(address.into());
        self
    }

    fn validate(&self, index: usize) -> Result<(), ValidationError> {
        validate::email(|| format!("emails[{index}].to"), &self.to)?;
        validate::email(|| format!("emails[{index}].from"), &self.from)?;
        validate::non_empty(|| format!("emails[{index}].subject"), &self.subject)?;
        validate::non_empty(|| format!("emails[{index}].html_body"), &self.html_body)?;
        for (name, list) in [("cc", &self.cc), ("bcc", &self.bcc)] {
            for address in list {
                validate::email(|| format!("emails[{index}].{name}"), address)?;
            }
        }
        Ok(())
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("to", &self.to)?;
        map.serialize_entry("from", &self.from)?;
        map.serialize_entry("subject", &self.subject)?;
        map.serialize_entry("html_body", &self.html_body)?;
        map.serialize_entry("transactional", &self.transactional)?;
        if !self.personalizations.is_empty() {
            map.serialize_entry("personalizations", &self.personalizations)?;
        }
        if !self.cc.is_empty() {
            map.serialize_entry("cc", &self.cc.join(","))?;
        }
        if !self.bcc.is_empty() {
            map.serialize_entry("bcc", &self.bcc.join(","))?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct EmailsBody<'a> {
    emails: &'a [Email],
}

impl Client {
    /// Sends transactional emails, in requests of up to 60.
    ///
    /// A failure after some requests succeeded is [`Error::PartialBatch`]:
    /// the emails before `accepted` were sent; do not send them again.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::Email;
    ///
    /// let receipts: Vec<Email> = ["ada@example.com", "bob@example.com"]
    ///     .into_iter()
    ///     .map(|to| Email::to(to).from("shop@acme.test").subject("Receipt").html("<p>Thanks!</p>"))
    ///     .collect();
    /// client.send_emails(&receipts).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_emails(&self, emails: &[Email]) -> Result<BatchResult, Error> {
        validate::non_empty_batch("emails", emails)?;
        for (index, email) in emails.iter().enumerate() {
            email.validate(index)?;
        }
        let chunks = in_chunks(emails, MAX_EMAILS_PER_REQUEST, |_, chunk| async move {
            let request = ApiRequest::post("batch/emails")
                .json(&EmailsBody { emails: chunk })?
                .at_most_once();
            self.call_batch(request, chunk.len()).await
        })
        .await?;
        Ok(chunks.into_iter().sum())
    }

    /// Sends one transactional email.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::Email;
    ///
    /// client
    ///     .send_email(&Email::to("ada@example.com").from("shop@acme.test").subject("Receipt").html("<p>Thanks!</p>"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_email(&self, email: &Email) -> Result<BatchResult, Error> {
        self.send_emails(std::slice::from_ref(email)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shape_joins_cc_and_bcc() {
        let email = Email::to("a@b.co")
            .from("f@b.co")
            .subject("S")
            .html("<p>x</p>")
            .cc("c1@b.co")
            .cc("c2@b.co")
            .bcc("z@b.co");
        assert_eq!(
            serde_json::to_value(&email).unwrap(),
            json!({"to": "a@b.co", "from": "f@b.co", "subject": "S", "html_body": "<p>x</p>",
                   "transactional": true, "cc": "c1@b.co,c2@b.co", "bcc": "z@b.co"})
        );
    }

    #[test]
    fn validation() {
        assert!(
            Email::to("a@b.co")
                .from("f@b.co")
                .subject("")
                .html("x")
                .validate(0)
                .is_err()
        );
        assert!(
            Email::to("a@b.co")
                .from("f@b.co")
                .subject("s")
                .html("x")
                .cc("bad")
                .validate(0)
                .is_err()
        );
        assert!(
            Email::to("a@b.co")
                .from("nope")
                .subject("s")
                .html("x")
                .validate(0)
                .is_err()
        );
    }
}
