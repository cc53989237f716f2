//! Form responses: `GET /fetch/responses`.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::Error;
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::{self, Data, Resource};

/// One submission of a Bento form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Resource<ResponseAttributes>")]
#[non_exhaustive]
pub struct FormResponse {
    /// The response's id.
    pub id: String,
    /// What was submitted and where from.
    pub data: FormSubmission,
}

/// The content of a [`FormResponse`]; members Bento did not send are empty.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct FormSubmission {
    /// When it was submitted.
    #[serde(default)]
    pub date: Option<String>,
    /// The submitted fields.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub fields: Map<String, Value>,
    /// Extra details.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub details: Map<String, Value>,
    /// Who submitted it.
    #[serde(default)]
    pub identity: Option<FormIdentity>,
    /// The submitter's IP.
    #[serde(default)]
    pub ip: Option<String>,
    /// Browser information.
    #[serde(default)]
    pub browser: Option<Value>,
    /// Location information.
    #[serde(default)]
    pub location: Option<Value>,
    /// The page it was submitted on.
    #[serde(default)]
    pub page: Option<Value>,
    /// The site.
    #[serde(default)]
    pub site: Option<Value>,
    /// The event type recorded.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The visit.
    #[serde(default)]
    pub visit: Option<Value>,
    /// The visitor.
    #[serde(default)]
    pub visitor: Option<Value>,
}

/// The submitter of a [`FormResponse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FormIdentity {
    /// Their email.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ResponseAttributes {
    #[serde(default)]
    data: Option<FormSubmission>,
}

impl From<Resource<ResponseAttributes>> for FormResponse {
    fn from(resource: Resource<ResponseAttributes>) -> Self {
        Self {
            id: resource.id,
            data: resource.attributes.and_then(|a| a.data).unwrap_or_default(),
        }
    }
}

impl Client {
    /// The responses to a form.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// for response in client.form_responses("contact").await? {
    ///     println!("{:?}", response.data);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn form_responses(&self, form_id: &str) -> Result<Vec<FormResponse>, Error> {
        validate::non_empty(|| "form id".to_owned(), form_id)?;
        let answer: Data<Option<Vec<FormResponse>>> = self
            .call(ApiRequest::get("fetch/responses").query("id", form_id))
            .await?;
        Ok(answer.data.unwrap_or_default())
    }
}
