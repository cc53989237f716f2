//! Workflows: `GET /fetch/workflows`.

use serde::Deserialize;

use crate::client::Client;
use crate::error::Error;
use crate::templates::TemplateSummary;
use crate::transport::ApiRequest;
use crate::wire::de::{self, Data, Resource};

/// Whether a workflow runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
#[non_exhaustive]
pub enum WorkflowStatus {
    /// Running.
    Live,
    /// Not running.
    Draft,
    /// A status this version of the client does not know.
    Other(String),
}

impl From<String> for WorkflowStatus {
    fn from(status: String) -> Self {
        match status.as_str() {
            "live" => Self::Live,
            "draft" => Self::Draft,
            _ => Self::Other(status),
        }
    }
}

/// An automation workflow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Resource<WorkflowAttributes>")]
#[non_exhaustive]
pub struct Workflow {
    /// The workflow's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it runs.
    pub status: Option<WorkflowStatus>,
    /// When it was created.
    pub created_at: Option<String>,
    /// The emails it sends.
    pub email_templates: Vec<TemplateSummary>,
}

#[derive(Debug, Default, Deserialize)]
struct WorkflowAttributes {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<WorkflowStatus>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    email_templates: Vec<TemplateSummary>,
}

impl From<Resource<WorkflowAttributes>> for Workflow {
    fn from(resource: Resource<WorkflowAttributes>) -> Self {
        let a = resource.attributes.unwrap_or_default();
        Self {
            id: resource.id,
            name: a.name.unwrap_or_default(),
            status: a.status,
            created_at: a.created_at,
            email_templates: a.email_templates,
        }
    }
}

impl Client {
    /// One page of workflows (pages start at 1).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// for workflow in client.workflows(1).await? {
    ///     println!("{}", workflow.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn workflows(&self, page: u32) -> Result<Vec<Workflow>, Error> {
        let request = ApiRequest::get("fetch/workflows").query("page", page.max(1).to_string());
        Ok(self.call::<Data<Vec<Workflow>>>(request).await?.data)
    }
}
