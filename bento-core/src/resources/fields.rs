//! Custom fields: `/fetch/fields`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::error::Error;
use crate::tags::created;
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::{Data, Resource};

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Resource<FieldAttributes>")]
#[non_exhaustive]
pub struct Field {
    /// The field's id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The key used in events and imports.
    pub key: String,
    /// Whitelisting information, as Bento sends it (often `null`).
    pub whitelisted: Option<Value>,
    /// When it was created.
    pub created_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct FieldAttributes {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    whitelisted: Option<Value>,
    #[serde(default)]
    created_at: Option<String>,
}

impl From<Resource<FieldAttributes>> for Field {
    fn from(resource: Resource<FieldAttributes>) -> Self {
        let attributes = resource.attributes.unwrap_or_default();
        Self {
            id: resource.id,
            name: attributes.name.unwrap_or_default(),
            key: attributes.key.unwrap_or_default(),
            whitelisted: attributes.whitelisted.filter(|v| !v.is_null()),
            created_at: attributes.created_at,
        }
    }
}

#[derive(Serialize)]
struct CreateBody<'a> {
    field: KeyOnly<'a>,
}

#[derive(Serialize)]
struct KeyOnly<'a> {
    key: &'a str,
}

impl Client {
    /// Every custom field of the account.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// for field in client.fields().await? {
    ///     println!("{}", field.key);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn fields(&self) -> Result<Vec<Field>, Error> {
        Ok(self
            .call::<Data<Vec<Field>>>(ApiRequest::get("fetch/fields"))
            .await?
            .data)
    }

    /// Creates a custom field.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let field = client.create_field("plan").await?;
    /// println!("{}", field.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_field(&self, key: &str) -> Result<Field, Error> {
        validate::non_empty(|| "field.key".to_owned(), key)?;
        self.check_new_field(key)?;
        let request = ApiRequest::post("fetch/fields").json(&CreateBody {
            field: KeyOnly { key },
        })?;
        created("fetch/fields", self.call(request).await?)
    }
}
