//! Segments: `/fetch/segments`, the saved audiences of a site, and whether
//! one email belongs to one of them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::error::Error;
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::Data;

/// A saved segment of the site.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "SegmentWire")]
#[non_exhaustive]
pub struct Segment {
    /// The segment's id (a string; some answers send a number).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description, when it has one.
    pub description: Option<String>,
    /// The saved query that selects its members, as Bento sends it (no
    /// source pins its shape, so it is kept as JSON).
    pub query: Value,
    /// When it was created.
    pub created_at: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
}

/// The newer spec nests the fields under `attributes` (JSON:API); the
/// segments page lists them flat: both are read.
#[derive(Deserialize)]
struct SegmentWire {
    #[serde(deserialize_with = "crate::wire::de::id")]
    id: String,
    #[serde(default)]
    attributes: Option<SegmentFields>,
    #[serde(flatten)]
    flat: SegmentFields,
}

#[derive(Default, Deserialize)]
struct SegmentFields {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    visitor_event_query: Option<Value>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<SegmentWire> for Segment {
    fn from(wire: SegmentWire) -> Self {
        let SegmentWire {
            id,
            attributes,
            flat,
        } = wire;
        let nested = attributes.unwrap_or_default();
        Self {
            id,
            name: nested.name.or(flat.name).unwrap_or_default(),
            description: nested.description.or(flat.description),
            query: nested
                .visitor_event_query
                .or(flat.visitor_event_query)
                .unwrap_or(Value::Null),
            created_at: nested.created_at.or(flat.created_at),
            updated_at: nested.updated_at.or(flat.updated_at),
        }
    }
}

#[derive(Serialize)]
struct MatchBody<'a> {
    email: &'a str,
}

#[derive(Deserialize)]
struct MatchAnswer {
    #[serde(rename = "match")]
    matches: bool,
}

impl Client {
    /// Every saved segment of the site, ordered by name (`GET /fetch/segments`).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// for segment in client.segments().await? {
    ///     println!("{} {}", segment.id, segment.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn segments(&self) -> Result<Vec<Segment>, Error> {
        Ok(self
            .call::<Data<Vec<Segment>>>(ApiRequest::get("fetch/segments"))
            .await?
            .data)
    }

    /// One segment with its saved query; `Ok(None)` when Bento answers 404
    /// (discarded, or another site's).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// if let Some(segment) = client.segment("7").await? {
    ///     println!("{}", segment.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn segment(&self, id: &str) -> Result<Option<Segment>, Error> {
        validate::path_id("segment id", id)?;
        let path = format!("fetch/segments/{id}");
        let request = ApiRequest::get(&path).template("fetch/segments/{id}");
        match self.call::<Data<Segment>>(request).await {
            Ok(found) => Ok(Some(found.data)),
            Err(error) if error.status() == Some(http::StatusCode::NOT_FOUND) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Whether `email` belongs to the segment now
    /// (`POST /fetch/segments/{id}/match`; Bento allows 120 of these per
    /// minute per segment, and answers 422 for an address it refuses).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// if client.segment_matches("42", "ada@example.com").await? {
    ///     println!("Ada is in the segment");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn segment_matches(&self, id: &str, email: &str) -> Result<bool, Error> {
        validate::path_id("segment id", id)?;
        validate::email(|| "email".to_owned(), email)?;
        let path = format!("fetch/segments/{id}/match");
        let request = ApiRequest::post(&path)
            .template("fetch/segments/{id}/match")
            .json(&MatchBody { email })?;
        Ok(self.call::<Data<MatchAnswer>>(request).await?.data.matches)
    }
}
