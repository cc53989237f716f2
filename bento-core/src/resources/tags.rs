//! Tags: `/fetch/tags`.

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Error;
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::{Data, OneOrMany, Resource};

/// A tag of your account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "Resource<TagAttributes>")]
#[non_exhaustive]
pub struct Tag {
    /// The tag's id (what [`Subscriber::tag_ids`](crate::Subscriber::tag_ids) lists).
    pub id: String,
    /// The tag's name.
    pub name: String,
    /// When it was created.
    pub created_at: Option<String>,
    /// When it was discarded, if it was.
    pub discarded_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TagAttributes {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    discarded_at: Option<String>,
}

impl From<Resource<TagAttributes>> for Tag {
    fn from(resource: Resource<TagAttributes>) -> Self {
        let attributes = resource.attributes.unwrap_or_default();
        Self {
            id: resource.id,
            name: attributes.name.unwrap_or_default(),
            created_at: attributes.created_at,
            discarded_at: attributes.discarded_at,
        }
    }
}

#[derive(Serialize)]
struct CreateBody<'a> {
    tag: NameOnly<'a>,
}

#[derive(Serialize)]
struct NameOnly<'a> {
    name: &'a str,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    message: Option<String>,
}

pub(crate) fn created<T>(endpoint: &str, answer: Data<OneOrMany<T>>) -> Result<T, Error> {
    answer.data.into_first().ok_or_else(|| Error::Decode {
        endpoint: endpoint.to_owned(),
        body: "{\"data\": []}".into(),
        source: serde::de::Error::custom("Bento returned an empty list for a create"),
    })
}

impl Client {
    /// Every tag of the account.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// for tag in client.tags().await? {
    ///     println!("{} {}", tag.id, tag.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn tags(&self) -> Result<Vec<Tag>, Error> {
        Ok(self
            .call::<Data<Vec<Tag>>>(ApiRequest::get("fetch/tags"))
            .await?
            .data)
    }

    /// Creates a tag.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let tag = client.create_tag("vip").await?;
    /// println!("{}", tag.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_tag(&self, name: &str) -> Result<Tag, Error> {
        validate::tag(|| "tag.name".to_owned(), name)?;
        let request = ApiRequest::post("fetch/tags").json(&CreateBody {
            tag: NameOnly { name },
        })?;
        created("fetch/tags", self.call(request).await?)
    }

    /// Deletes a tag; returns Bento's confirmation message. Bento finds the
    /// tag by its name (the id is only the path's), and the call toggles:
    /// deleting a deleted tag restores it.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let tags = client.tags().await?;
    /// if let Some(vip) = tags.iter().find(|t| t.name == "vip") {
    ///     client.delete_tag(&vip.id, &vip.name).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn delete_tag(&self, id: &str, name: &str) -> Result<String, Error> {
        validate::path_id("tag id", id)?;
        validate::tag(|| "tag.name".to_owned(), name)?;
        let path = format!("fetch/tags/{id}");
        let request = ApiRequest::get(&path)
            .template("fetch/tags/{id}")
            .with_method(http::Method::DELETE)
            .json(&CreateBody {
                tag: NameOnly { name },
            })?;
        let answer = self.call_raw(request).await?;
        let message = serde_json::from_slice::<Message>(&answer)
            .ok()
            .and_then(|m| m.message);
        Ok(message.unwrap_or_default())
    }
}
