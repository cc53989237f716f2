//! The Transactional Platform's delivery data: `GET /delivery/report` (the
//! site's transactional sends over a window) and `GET /delivery/events`
//! (what happened to the emails sent to one recipient). Both need the
//! Transactional Platform on the site: without it Bento answers 403, which
//! is [`Error::Api`](crate::Error::Api) with that status. No source pins
//! the payloads' fields, so they are kept as JSON.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::{Error, ValidationError};
use crate::transport::ApiRequest;
use crate::validate;

/// A delivery report (`GET /delivery/report`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct TransactionalReport {
    /// The report of the window.
    #[serde(default)]
    pub data: Value,
    /// Its metadata (the window, say).
    #[serde(default)]
    pub meta: Value,
    /// Everything else of the answer, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One recipient's delivery events (`GET /delivery/events`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DeliveryEvents {
    /// The events, as sent (newest first, as Bento lists them).
    #[serde(default, deserialize_with = "crate::wire::de::null_as_default")]
    pub events: Vec<Value>,
    /// Their metadata.
    #[serde(default)]
    pub meta: Value,
    /// Everything else of the answer, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The window of a delivery query: Bento's default (the last 24 hours for
/// the report, 30 days for events) when `None`. ISO 8601 times give exact
/// bounds; a date alone means that calendar day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Window {
    /// The start.
    pub start: Option<String>,
    /// The end.
    pub end: Option<String>,
}

impl Window {
    /// From `start` to `end`.
    pub fn between(start: impl Into<String>, end: impl Into<String>) -> Self {
        Self {
            start: Some(start.into()),
            end: Some(end.into()),
        }
    }
}

/// The most events one `GET /delivery/events` returns.
pub const MAX_DELIVERY_EVENTS: u32 = 100;

fn windowed<'a>(mut request: ApiRequest<'a>, window: &Window) -> Result<ApiRequest<'a>, Error> {
    for (key, value) in [("start_date", &window.start), ("end_date", &window.end)] {
        if let Some(value) = value {
            validate::non_empty(|| key.to_owned(), value)?;
            request = request.query(key, value.clone());
        }
    }
    Ok(request)
}

impl Client {
    /// The site's transactional delivery report over `window`
    /// (`GET /delivery/report`).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::transactional::Window;
    /// let report = client
    ///     .delivery_report(&Window::between("2026-12-01T00:00:00Z", "2026-12-06T00:00:00Z"))
    ///     .await?;
    /// println!("{}", report.data);
    /// # Ok(()) }
    /// ```
    pub async fn delivery_report(&self, window: &Window) -> Result<TransactionalReport, Error> {
        self.call(windowed(ApiRequest::get("delivery/report"), window)?)
            .await
    }

    /// What happened to the transactional emails sent to `email` over
    /// `window`, at most `limit` events (1 to 100, Bento's cap and default)
    /// (`GET /delivery/events`). For more, narrow the window: Bento has no
    /// cursor.
    pub async fn delivery_events(
        &self,
        email: &str,
        window: &Window,
        limit: Option<u32>,
    ) -> Result<DeliveryEvents, Error> {
        validate::email(|| "email".to_owned(), email)?;
        let mut request =
            windowed(ApiRequest::get("delivery/events"), window)?.query("email", email);
        if let Some(limit) = limit {
            if !(1..=MAX_DELIVERY_EVENTS).contains(&limit) {
                return Err(ValidationError::Arguments(format!(
                    "delivery events limit {limit} is outside 1..={MAX_DELIVERY_EVENTS}"
                ))
                .into());
            }
            request = request.query("limit", limit.to_string());
        }
        self.call(request).await
    }
}
