//! Email templates: `/fetch/emails/templates/:id`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, ValidationError};
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::{self, Data, Resource};

/// An email template (of a sequence, workflow or broadcast).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Resource<TemplateAttributes>")]
#[non_exhaustive]
pub struct EmailTemplate {
    /// The template's id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The subject line.
    pub subject: Option<String>,
    /// The HTML.
    pub html: Option<String>,
    /// When it was created.
    pub created_at: Option<String>,
    /// Sending statistics, as Bento reports them.
    pub stats: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct TemplateAttributes {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    stats: Option<Value>,
}

impl From<Resource<TemplateAttributes>> for EmailTemplate {
    fn from(resource: Resource<TemplateAttributes>) -> Self {
        let a = resource.attributes.unwrap_or_default();
        Self {
            id: resource.id,
            name: a.name,
            subject: a.subject,
            html: a.html,
            created_at: a.created_at,
            stats: a.stats,
        }
    }
}

/// A template as listed inside a sequence or workflow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct TemplateSummary {
    /// The template's id.
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// The subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// Sending statistics.
    #[serde(default)]
    pub stats: Option<Value>,
}

/// Changes for [`Client::update_email_template`]; members left `None` are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EmailTemplateUpdate {
    /// A new subject line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// New HTML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

impl EmailTemplateUpdate {
    /// Changes the subject line.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Changes the HTML.
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }
}

#[derive(Serialize)]
pub(crate) struct TemplateBody<'a, T> {
    pub(crate) email_template: &'a T,
}

impl Client {
    /// One email template.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let template = client.email_template("12").await?;
    /// println!("{:?}", template.subject);
    /// # Ok(()) }
    /// ```
    pub async fn email_template(&self, id: &str) -> Result<EmailTemplate, Error> {
        validate::path_id("template id", id)?;
        let path = format!("fetch/emails/templates/{id}");
        Ok(self
            .call::<Data<EmailTemplate>>(
                ApiRequest::get(&path).template("fetch/emails/templates/{id}"),
            )
            .await?
            .data)
    }

    /// Changes an email template's subject and/or HTML.
    pub async fn update_email_template(
        &self,
        id: &str,
        update: &EmailTemplateUpdate,
    ) -> Result<EmailTemplate, Error> {
        validate::path_id("template id", id)?;
        if update.subject.is_none() && update.html.is_none() {
            return Err(ValidationError::Arguments(
                "the template update changes nothing: set subject and/or html".into(),
            )
            .into());
        }
        let path = format!("fetch/emails/templates/{id}");
        let request = ApiRequest::post(&path)
            .template("fetch/emails/templates/{id}")
            .with_method(http::Method::PATCH)
            .json(&TemplateBody {
                email_template: update,
            })?;
        Ok(self.call::<Data<EmailTemplate>>(request).await?.data)
    }
}
