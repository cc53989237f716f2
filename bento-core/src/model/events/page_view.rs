//! Bento's page-view event, as a framework layer's `track_page_views` sends it.

use serde::ser::SerializeMap;

use super::BentoEvent;

/// A page view: Bento's `$view` event, which Bento.js sends "with the URL
/// they visited", here with the path and query of a page the server rendered.
///
/// ```
/// use bento_core::events::PageView;
/// use serde_json::json;
///
/// let view = PageView::new("ada@example.com", "/pricing", Some("plan=pro"));
/// let encoded = bento_core::Encoded::event(&view).unwrap();
/// assert_eq!(
///     serde_json::from_slice::<serde_json::Value>(encoded.json()).unwrap(),
///     json!({
///         "type": "$view",
///         "email": "ada@example.com",
///         "details": { "path": "/pricing", "query": "plan=pro" }
///     })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageView<'a> {
    email: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> PageView<'a> {
    /// The event type, `$view`.
    pub const EVENT_TYPE: &'static str = "$view";

    /// `email` saw the page at `path` (such as `/pricing`), with the query
    /// string `query` (without its `?`; an empty one counts as none).
    pub fn new(email: &'a str, path: &'a str, query: Option<&'a str>) -> Self {
        Self {
            email,
            path,
            query: query.filter(|query| !query.is_empty()),
        }
    }
}

impl BentoEvent for PageView<'_> {
    fn event_type(&self) -> &str {
        Self::EVENT_TYPE
    }

    fn email(&self) -> &str {
        self.email
    }

    fn serialize_details<M: SerializeMap>(&self, details: &mut M) -> Result<(), M::Error> {
        details.serialize_entry("path", self.path)?;
        if let Some(query) = self.query {
            details.serialize_entry("query", query)?;
        }
        Ok(())
    }
}
