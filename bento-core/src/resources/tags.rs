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
    pub async fn tags(&self) -> Result<Vec<Tag>, Error> {
        Ok(self
            .call::<Data<Vec<Tag>>>(ApiRequest::get("fetch/tags"))
            .await?
            .data)
    }

    /// Creates a tag.
    pub async fn create_tag(&self, name: &str) -> Result<Tag, Error> {
        validate::tag(|| "tag.name".to_owned(), name)?;
        let request = ApiRequest::post("fetch/tags").json(&CreateBody {
            tag: NameOnly { name },
        })?;
        created("fetch/tags", self.call(request).await?)
    }

    /// Deletes a tag by id; returns Bento's confirmation message.
    pub async fn delete_tag(&self, id: &str) -> Result<String, Error> {
        validate::path_id("tag id", id)?;
        let path = format!("fetch/tags/{id}");
        let request = ApiRequest::get(&path)
            .template("fetch/tags/{id}")
            .with_method(http::Method::DELETE);
        let answer = self.call_raw(request).await?;
        let message = serde_json::from_slice::<Message>(&answer)
            .ok()
            .and_then(|m| m.message);
        Ok(message.unwrap_or_default())
    }
}
