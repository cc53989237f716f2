//! Sequences: `GET /fetch/sequences` and their email templates.

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Error;
use crate::templates::{EmailTemplate, TemplateBody, TemplateSummary};
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::{self, Data, Resource};

/// A sequence (drip campaign).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Resource<SequenceAttributes>")]
#[non_exhaustive]
pub struct Sequence {
    /// The sequence's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: Option<String>,
    /// Its emails, in order.
    pub email_templates: Vec<TemplateSummary>,
}

#[derive(Debug, Default, Deserialize)]
struct SequenceAttributes {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    email_templates: Vec<TemplateSummary>,
}

impl From<Resource<SequenceAttributes>> for Sequence {
    fn from(resource: Resource<SequenceAttributes>) -> Self {
        let a = resource.attributes.unwrap_or_default();
        Self {
            id: resource.id,
            name: a.name.unwrap_or_default(),
            created_at: a.created_at,
            email_templates: a.email_templates,
        }
    }
}

/// The unit of a sequence email's delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum DelayInterval {
    Minutes,
    Hours,
    Days,
    Months,
}

/// An email to add to a sequence with [`Client::create_sequence_email`].
///
/// ```
/// use bento_core::sequences::DelayInterval;
/// use bento_core::sequences::NewSequenceEmail;
/// let email = NewSequenceEmail::new("Welcome, day 2", "<p>Tips</p>").delay(2, DelayInterval::Days);
/// # let _ = email;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSequenceEmail {
    subject: String,
    html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    inbox_snippet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_interval: Option<DelayInterval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_interval_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    editor_choice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bcc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
}

impl NewSequenceEmail {
    /// An email with a subject and HTML.
    pub fn new(subject: impl Into<String>, html: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            html: html.into(),
            inbox_snippet: None,
            delay_interval: None,
            delay_interval_count: None,
            editor_choice: None,
            cc: None,
            bcc: None,
            to: None,
        }
    }

    /// The preview text shown in inboxes.
    pub fn inbox_snippet(mut self, snippet: impl Into<String>) -> Self {
        self.inbox_snippet = Some(snippet.into());
        self
    }

    /// How long after the previous step it is sent.
    pub fn delay(mut self, count: u32, interval: DelayInterval) -> Self {
        self.delay_interval = Some(interval);
        self.delay_interval_count = Some(count);
        self
    }

    /// The editor to open it in (such as `html` or `plain`).
    pub fn editor_choice(mut self, editor: impl Into<String>) -> Self {
        self.editor_choice = Some(editor.into());
        self
    }

    /// Carbon-copy recipients, comma-separated.
    pub fn cc(mut self, cc: impl Into<String>) -> Self {
        self.cc = Some(cc.into());
        self
    }

    /// Blind carbon-copy recipients, comma-separated.
    pub fn bcc(mut self, bcc: impl Into<String>) -> Self {
        self.bcc = Some(bcc.into());
        self
    }

    /// A recipient override.
    pub fn to(mut self, to: impl Into<String>) -> Self {
        self.to = Some(to.into());
        self
    }
}

impl Client {
    /// One page of sequences (pages start at 1).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// for sequence in client.sequences(1).await? {
    ///     println!("{} ({} emails)", sequence.name, sequence.email_templates.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sequences(&self, page: u32) -> Result<Vec<Sequence>, Error> {
        let request = ApiRequest::get("fetch/sequences").query("page", page.max(1).to_string());
        Ok(self.call::<Data<Vec<Sequence>>>(request).await?.data)
    }

    /// Adds an email template to a sequence.
    pub async fn create_sequence_email(
        &self,
        sequence_id: &str,
        email: &NewSequenceEmail,
    ) -> Result<EmailTemplate, Error> {
        validate::path_id("sequence id", sequence_id)?;
        validate::non_empty(|| "email_template.subject".to_owned(), &email.subject)?;
        validate::non_empty(|| "email_template.html".to_owned(), &email.html)?;
        let path = format!("fetch/sequences/{sequence_id}/emails/templates");
        let request = ApiRequest::post(&path)
            .template("fetch/sequences/{id}/emails/templates")
            .json(&TemplateBody {
                email_template: email,
            })?;
        Ok(self.call::<Data<EmailTemplate>>(request).await?.data)
    }
}
