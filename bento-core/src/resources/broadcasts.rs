//! Broadcasts: `GET /fetch/broadcasts` and `POST /batch/broadcasts`.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, ValidationError};
use crate::resources::batch::in_chunks;
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::{self, Data, Resource};

/// The most broadcasts Bento accepts in one request.
/// 15 in the 2026-08-22 spec (older sources said 100): the client cuts at
/// 15, which both accept.
pub const MAX_BROADCASTS_PER_REQUEST: usize = 15;

/// Broadcasts per page of `GET /fetch/broadcasts`.
pub const BROADCASTS_PER_PAGE: usize = 10;

/// Which broadcasts `GET /fetch/broadcasts` lists: Bento answers only the
/// `Sent` ones unless asked for another status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BroadcastStatus {
    /// Sent (Bento's default).
    Sent,
    /// Drafts (where broadcasts created through the API start).
    Draft,
    /// Sending now.
    Sending,
    /// Approved and waiting for their `send_at`.
    Scheduled,
    /// Paused.
    Paused,
    /// Canceled.
    Canceled,
}

impl BroadcastStatus {
    /// Every status, for a list of every broadcast.
    pub const ALL: [BroadcastStatus; 6] = [
        Self::Sent,
        Self::Draft,
        Self::Sending,
        Self::Scheduled,
        Self::Paused,
        Self::Canceled,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Draft => "draft",
            Self::Sending => "sending",
            Self::Scheduled => "scheduled",
            Self::Paused => "paused",
            Self::Canceled => "canceled",
        }
    }
}

/// A broadcast as Bento lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Resource<BroadcastAttributes>")]
#[non_exhaustive]
pub struct Broadcast {
    /// The broadcast's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The public share URL.
    pub share_url: Option<String>,
    /// Subject, recipient placeholder and HTML.
    pub template: Option<BroadcastTemplate>,
    /// When it was created.
    pub created_at: Option<String>,
    /// When the final batch went out.
    pub sent_final_batch_at: Option<String>,
    /// When it is scheduled.
    pub send_at: Option<String>,
    /// The open rate, once known (older answers).
    pub open_rate: Option<f64>,
    /// Its numbers (recipients, opens, clicks...), as Bento sends them.
    pub stats: Option<serde_json::Value>,
}

/// The content of a [`Broadcast`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BroadcastTemplate {
    /// The subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// The recipient placeholder.
    #[serde(default)]
    pub to: Option<String>,
    /// The HTML.
    #[serde(default)]
    pub html: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct BroadcastAttributes {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    share_url: Option<String>,
    #[serde(default)]
    template: Option<BroadcastTemplate>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    sent_final_batch_at: Option<String>,
    #[serde(default)]
    send_at: Option<String>,
    #[serde(default)]
    stats: Option<BroadcastStats>,
}

#[derive(Debug, Default, Deserialize)]
struct BroadcastStats {
    #[serde(default)]
    open_rate: Option<f64>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl From<Resource<BroadcastAttributes>> for Broadcast {
    fn from(resource: Resource<BroadcastAttributes>) -> Self {
        let a = resource.attributes.unwrap_or_default();
        Self {
            id: resource.id,
            name: a.name.unwrap_or_default(),
            share_url: a.share_url,
            template: a.template,
            created_at: a.created_at,
            sent_final_batch_at: a.sent_final_batch_at,
            send_at: a.send_at,
            open_rate: a.stats.as_ref().and_then(|s| s.open_rate),
            stats: a.stats.map(|s| {
                let mut all = s.rest;
                if let Some(rate) = s.open_rate {
                    all.insert("open_rate".into(), serde_json::Value::from(rate));
                }
                serde_json::Value::Object(all)
            }),
        }
    }
}

/// The template style of a new broadcast.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BroadcastStyle {
    /// Bento's basic CSS around your content.
    #[default]
    Plain,
    /// Your HTML as is.
    Raw,
    /// A copy of one of your layouts ([`NewBroadcast::layout`] names it).
    Layout,
    /// HTML (Bento's newer SDKs send it; older sources know only `plain`
    /// and `raw`).
    Html,
    /// Markdown (as `Html`).
    Markdown,
}

/// The steps of [`NewBroadcast::named`]`(..).subject(..).content(..).from(..)`,
/// each with one method: the parts of a broadcast go in by name, in order.
pub mod steps {
    use super::{BroadcastStyle, NewBroadcast};

    /// A broadcast with its name; next, [`subject`](Self::subject).
    #[derive(Debug, Clone)]
    #[must_use = "a broadcast needs a subject, content and a sender"]
    pub struct Named {
        pub(super) name: String,
    }

    /// A broadcast with its name and subject; next, [`content`](Self::content).
    #[derive(Debug, Clone)]
    #[must_use = "a broadcast needs content and a sender"]
    pub struct WithSubject {
        name: String,
        subject: String,
    }

    /// A broadcast with all but its sender; next, [`from`](Self::from).
    #[derive(Debug, Clone)]
    #[must_use = "a broadcast needs a sender"]
    pub struct WithContent {
        name: String,
        subject: String,
        content: String,
    }

    impl Named {
        /// The subject line.
        pub fn subject(self, subject: impl Into<String>) -> WithSubject {
            WithSubject {
                name: self.name,
                subject: subject.into(),
            }
        }
    }

    impl WithSubject {
        /// The HTML content, which may use Liquid personalizations.
        pub fn content(self, content: impl Into<String>) -> WithContent {
            WithContent {
                name: self.name,
                subject: self.subject,
                content: content.into(),
            }
        }
    }

    impl WithContent {
        /// The sender's address: an authorized author of your Bento account.
        pub fn from(self, from_email: impl Into<String>) -> NewBroadcast {
            NewBroadcast {
                name: self.name,
                subject: self.subject,
                content: self.content,
                style: BroadcastStyle::Plain,
                from_email: from_email.into(),
                from_name: None,
                inclusive_tags: Vec::new(),
                exclusive_tags: Vec::new(),
                segment_id: None,
                batch_size_per_hour: None,
                layout_id: None,
                send_at: None,
            }
        }
    }
}

/// A broadcast to create with [`Client::create_broadcasts`].
///
/// ```
/// use bento_core::broadcasts::NewBroadcast;
/// let launch = NewBroadcast::named("Launch")
///     .subject("We're live!")
///     .content("<p>Hello {{ visitor.first_name }}</p>")
///     .from("news@acme.test")
///     .from_name("Acme")
///     .include_tag("customer")
///     .exclude_tag("churned")
///     .batch_size_per_hour(1000);
/// # let _ = launch;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewBroadcast {
    name: String,
    subject: String,
    content: String,
    style: BroadcastStyle,
    from_email: String,
    from_name: Option<String>,
    inclusive_tags: Vec<String>,
    exclusive_tags: Vec<String>,
    segment_id: Option<String>,
    batch_size_per_hour: Option<u32>,
    layout_id: Option<String>,
    /// When set, the broadcast is approved to go out then.
    send_at: Option<String>,
}

/// The bounds Bento puts on `batch_size_per_hour`.
pub const BATCH_SIZE_PER_HOUR: std::ops::RangeInclusive<u32> = 10..=250_000;

impl NewBroadcast {
    /// Copies your layout `layout_id` around the content
    /// ([`BroadcastStyle::Layout`]).
    pub fn layout(mut self, layout_id: impl Into<String>) -> Self {
        self.style = BroadcastStyle::Layout;
        self.layout_id = Some(layout_id.into());
        self
    }

    /// Approves the broadcast to go out at `send_at` (an RFC 3339 time,
    /// `2026-12-24T09:00:00Z`). Without it, a broadcast created through the
    /// API is a draft to review in Bento.
    pub fn schedule(mut self, send_at: impl Into<String>) -> Self {
        self.send_at = Some(send_at.into());
        self
    }

    /// Starts a broadcast named `name`; the subject, content and sender
    /// follow in that order, by name, so no two can be swapped:
    /// `NewBroadcast::named(..).subject(..).content(..).from(..)`.
    pub fn named(name: impl Into<String>) -> steps::Named {
        steps::Named { name: name.into() }
    }

    /// The template style (default [`BroadcastStyle::Plain`]).
    pub fn style(mut self, style: BroadcastStyle) -> Self {
        self.style = style;
        self
    }

    /// The sender's display name.
    pub fn from_name(mut self, name: impl Into<String>) -> Self {
        self.from_name = Some(name.into());
        self
    }

    /// Sends only to subscribers with at least one of the included tags.
    pub fn include_tag(mut self, tag: impl Into<String>) -> Self {
        self.inclusive_tags.push(tag.into());
        self
    }

    /// Never sends to subscribers with this tag.
    pub fn exclude_tag(mut self, tag: impl Into<String>) -> Self {
        self.exclusive_tags.push(tag.into());
        self
    }

    /// Targets a segment.
    pub fn segment(mut self, segment_id: impl Into<String>) -> Self {
        self.segment_id = Some(segment_id.into());
        self
    }

    /// Throttles sending to this many emails per hour.
    pub fn batch_size_per_hour(mut self, n: u32) -> Self {
        self.batch_size_per_hour = Some(n);
        self
    }

    fn validate(&self, index: usize) -> Result<(), ValidationError> {
        validate::non_empty(|| format!("broadcasts[{index}].name"), &self.name)?;
        validate::non_empty(|| format!("broadcasts[{index}].subject"), &self.subject)?;
        validate::non_empty(|| format!("broadcasts[{index}].content"), &self.content)?;
        validate::email(
            || format!("broadcasts[{index}].from.email"),
            &self.from_email,
        )?;
        validate::join_tags(
            &format!("broadcasts[{index}].inclusive_tags"),
            &self.inclusive_tags,
        )?;
        validate::join_tags(
            &format!("broadcasts[{index}].exclusive_tags"),
            &self.exclusive_tags,
        )?;
        if let Some(n) = self.batch_size_per_hour
            && !BATCH_SIZE_PER_HOUR.contains(&n)
        {
            return Err(ValidationError::Arguments(format!(
                "broadcasts[{index}].batch_size_per_hour must be between 10 and 250000, not {n}"
            )));
        }
        if self.style == BroadcastStyle::Layout {
            validate::non_empty(
                || format!("broadcasts[{index}].layout_id"),
                self.layout_id.as_deref().unwrap_or_default(),
            )?;
        }
        if let Some(send_at) = &self.send_at {
            crate::convert::Timestamp::parse(send_at).map_err(|source| {
                ValidationError::InvalidDate {
                    field: format!("broadcasts[{index}].send_at"),
                    source,
                }
            })?;
        }
        Ok(())
    }
}

impl Serialize for NewBroadcast {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct From<'a> {
            email: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            name: Option<&'a str>,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("subject", &self.subject)?;
        map.serialize_entry("content", &self.content)?;
        map.serialize_entry("type", &self.style)?;
        map.serialize_entry(
            "from",
            &From {
                email: &self.from_email,
                name: self.from_name.as_deref(),
            },
        )?;
        if !self.inclusive_tags.is_empty() {
            map.serialize_entry("inclusive_tags", &self.inclusive_tags.join(","))?;
        }
        if !self.exclusive_tags.is_empty() {
            map.serialize_entry("exclusive_tags", &self.exclusive_tags.join(","))?;
        }
        if let Some(segment) = &self.segment_id {
            map.serialize_entry("segment_id", segment)?;
        }
        if let Some(n) = self.batch_size_per_hour {
            map.serialize_entry("batch_size_per_hour", &n)?;
        }
        if let Some(layout) = &self.layout_id {
            map.serialize_entry("layout_id", layout)?;
        }
        if let Some(send_at) = &self.send_at {
            map.serialize_entry("send_at", send_at)?;
            map.serialize_entry("approved", &true)?;
        }
        map.end()
    }
}

/// What `/batch/broadcasts` answered, summed over the requests of a split call.
///
/// Decodes the spec's `{"results": n}` as well as the richer answer newer SDKs
/// read. Failure indexes refer to the slice given to the call.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct BroadcastBatchResult {
    /// Broadcasts created.
    #[serde(alias = "result")]
    pub results: u64,
    /// Broadcasts refused.
    #[serde(default)]
    pub failed: u64,
    /// What was created, when Bento says.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub broadcasts: Vec<CreatedBroadcast>,
    /// What was refused and why, when Bento says.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub failures: Vec<BroadcastFailure>,
}

/// One created broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CreatedBroadcast {
    /// Its id.
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// The id of its email template.
    #[serde(default)]
    pub template_id: Option<serde_json::Value>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Where to see it in the dashboard.
    #[serde(default)]
    pub dashboard_url: Option<String>,
}

/// One refused broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BroadcastFailure {
    /// Its index in the call's input.
    pub index: usize,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Why it was refused.
    #[serde(default)]
    pub error: String,
}

#[derive(Serialize)]
struct BroadcastsBody<'a> {
    broadcasts: &'a [NewBroadcast],
}

impl Client {
    /// Every broadcast of the account, of every status, every page: Bento
    /// lists one status (sent, by default) ten at a time, so this asks for
    /// each. See [`broadcasts_with`](Self::broadcasts_with) for one status.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let all = client.broadcasts().await?;
    /// println!("{} broadcasts", all.len());
    /// # Ok(()) }
    /// ```
    pub async fn broadcasts(&self) -> Result<Vec<Broadcast>, Error> {
        let mut all = Vec::new();
        for status in BroadcastStatus::ALL {
            all.extend(self.broadcasts_with(status).all().await?);
        }
        Ok(all)
    }

    /// The broadcasts of one status, page by page (ten per page).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::broadcasts::BroadcastStatus;
    /// let drafts = client.broadcasts_with(BroadcastStatus::Draft).all().await?;
    /// # let _ = drafts; Ok(()) }
    /// ```
    pub fn broadcasts_with(&self, status: BroadcastStatus) -> crate::Pages<Broadcast> {
        let client = self.clone();
        crate::resources::pages::Pages::new(move |page| {
            let client = client.clone();
            Box::pin(async move {
                let request = ApiRequest::get("fetch/broadcasts")
                    .query("status", status.as_str())
                    .query("page", page.to_string());
                let items = client.call::<Data<Vec<Broadcast>>>(request).await?.data;
                let more = items.len() >= BROADCASTS_PER_PAGE;
                Ok(crate::resources::pages::Page { items, more })
            })
        })
    }

    /// Creates broadcasts, in requests of up to 15 (the 2026-08-22 spec's
    /// bound). Per-item refusals come back in [`BroadcastBatchResult::failures`].
    pub async fn create_broadcasts(
        &self,
        broadcasts: &[NewBroadcast],
    ) -> Result<BroadcastBatchResult, Error> {
        validate::non_empty_batch("broadcasts", broadcasts)?;
        for (index, broadcast) in broadcasts.iter().enumerate() {
            broadcast.validate(index)?;
        }
        let parts = in_chunks(
            broadcasts,
            MAX_BROADCASTS_PER_REQUEST,
            |offset, chunk| async move {
                let request = ApiRequest::post("batch/broadcasts")
                    .json(&BroadcastsBody { broadcasts: chunk })?;
                let mut part: BroadcastBatchResult = self.call(request).await?;
                let sent = chunk.len() as u64;
                part.results = part.results.min(sent);
                part.failed = part.failed.min(sent - part.results);
                for failure in &mut part.failures {
                    failure.index += offset;
                }
                Ok(part)
            },
        )
        .await?;
        Ok(parts
            .into_iter()
            .fold(BroadcastBatchResult::default(), |mut total, part| {
                total.results = total.results.saturating_add(part.results);
                total.failed = total.failed.saturating_add(part.failed);
                total.broadcasts.extend(part.broadcasts);
                total.failures.extend(part.failures);
                total
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shape() {
        let b = NewBroadcast::named("N")
            .subject("S")
            .content("<p>c</p>")
            .from("f@b.co")
            .from_name("F")
            .include_tag("a")
            .include_tag("b")
            .segment("seg");
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            json!({"name": "N", "subject": "S", "content": "<p>c</p>", "type": "plain",
                   "from": {"email": "f@b.co", "name": "F"}, "inclusive_tags": "a,b", "segment_id": "seg"})
        );
    }

    #[test]
    fn decodes_both_answers() {
        let spec: BroadcastBatchResult = serde_json::from_str(r#"{"results": 5}"#).unwrap();
        assert_eq!(spec.results, 5);
        let rich: BroadcastBatchResult = serde_json::from_value(json!({
            "results": 1, "failed": 1,
            "broadcasts": [{"id": 7, "template_id": 9, "name": "N", "dashboard_url": "u"}],
            "failures": [{"index": 1, "name": "M", "error": "bad"}]
        }))
        .unwrap();
        assert_eq!(rich.broadcasts[0].id, "7");
        assert_eq!(rich.failures[0].index, 1);
    }
}
