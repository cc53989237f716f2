//! Statistics: `/stats/*` (30 requests per hour by default; never call these
//! from client-side code).

use serde::Deserialize;
use serde_json::Value;

use crate::client::Client;
use crate::error::Error;
use crate::transport::ApiRequest;
use crate::validate;

/// Audience counts of a site or a segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AudienceStats {
    /// Every known person.
    #[serde(default)]
    pub user_count: u64,
    /// People currently subscribed.
    #[serde(default)]
    pub subscriber_count: u64,
    /// People who unsubscribed.
    #[serde(default)]
    pub unsubscriber_count: u64,
}

/// A saved report's data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The report's data, shaped by its type.
    #[serde(default)]
    pub data: Value,
    /// How the dashboard charts it.
    #[serde(default)]
    pub chart_style: Option<String>,
    /// The kind of report.
    #[serde(default)]
    pub report_type: Option<String>,
    /// Its name.
    #[serde(default)]
    pub report_name: Option<String>,
}

/// How `GET /stats/ads` breaks signups and revenue down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdsDimension {
    /// `utm_source` (Bento's default).
    #[default]
    Source,
    /// `utm_campaign`.
    Campaign,
    /// `utm_medium`.
    Medium,
    /// `utm_content`.
    Content,
    /// The ad.
    Ad,
}

/// Which revenue `GET /stats/ads` counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevenueMode {
    /// Every purchase (Bento's default).
    #[default]
    All,
    /// Each customer's first purchase.
    First,
    /// Subscriptions only.
    Subscriptions,
}

/// The query of [`Client::ads_stats`]: every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdsQuery {
    /// The breakdown.
    pub dimension: Option<AdsDimension>,
    /// Only this value of the dimension (`youtube`).
    pub value: Option<String>,
    /// The window's start: a date, a time, or words Bento reads (`3 days ago`).
    pub start_date: Option<String>,
    /// The window's end (default now).
    pub end_date: Option<String>,
    /// Which revenue counts.
    pub revenue_mode: Option<RevenueMode>,
}

impl AdsQuery {
    /// Bento's defaults: by source, every revenue, its default window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Breaks down by `dimension`.
    pub fn dimension(mut self, dimension: AdsDimension) -> Self {
        self.dimension = Some(dimension);
        self
    }

    /// Only this value of the dimension.
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// The window, in dates, times or Bento's words (`"last week"`, `"now"`).
    pub fn between(mut self, start: impl Into<String>, end: impl Into<String>) -> Self {
        self.start_date = Some(start.into());
        self.end_date = Some(end.into());
        self
    }

    /// Which revenue counts.
    pub fn revenue_mode(mut self, mode: RevenueMode) -> Self {
        self.revenue_mode = Some(mode);
        self
    }
}

/// Signups, customers and revenue attributed to ads and UTM parameters
/// (`GET /stats/ads`). The fields the spec pins are typed; everything else
/// Bento sends (attribution settings, chart data, per-currency revenue) is
/// kept in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct AdsStats {
    /// The breakdown's dimension (`source`).
    #[serde(default)]
    pub dimension: String,
    /// The totals of the window.
    #[serde(default)]
    pub totals: AdsTotals,
    /// One row per value of the dimension.
    #[serde(default)]
    pub breakdown: Vec<AdsRow>,
    /// Everything else of the answer, as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// The totals of [`AdsStats`]; money in cents.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct AdsTotals {
    /// Signups.
    #[serde(default)]
    pub signups: u64,
    /// Customers.
    #[serde(default)]
    pub customers: u64,
    /// Revenue, in cents.
    #[serde(default, rename = "revenueCents")]
    pub revenue_cents: i64,
    /// Everything else of the totals (currency, per-currency revenue...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// One row of [`AdsStats::breakdown`]; money in cents.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct AdsRow {
    /// The dimension's value (`youtube`).
    #[serde(default)]
    pub key: String,
    /// How the dashboard shows it.
    #[serde(default)]
    pub label: String,
    /// Signups.
    #[serde(default)]
    pub signups: u64,
    /// Customers.
    #[serde(default)]
    pub customers: u64,
    /// Revenue, in cents.
    #[serde(default, rename = "revenueCents")]
    pub revenue_cents: i64,
    /// Everything else of the row.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl Client {
    /// Signups, customers and revenue by ad or UTM parameter
    /// (`GET /stats/ads`; server-side only, paced with the other stats).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::stats::{AdsDimension, AdsQuery};
    /// let ads = client
    ///     .ads_stats(&AdsQuery::new().dimension(AdsDimension::Campaign).between("last week", "now"))
    ///     .await?;
    /// for row in &ads.breakdown {
    ///     println!("{}: {} signups, {} cents", row.label, row.signups, row.revenue_cents);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ads_stats(&self, query: &AdsQuery) -> Result<AdsStats, Error> {
        let mut request = ApiRequest::get("stats/ads");
        if let Some(dimension) = query.dimension {
            let name = match dimension {
                AdsDimension::Source => "source",
                AdsDimension::Campaign => "campaign",
                AdsDimension::Medium => "medium",
                AdsDimension::Content => "content",
                AdsDimension::Ad => "ad",
            };
            request = request.query("dimension", name);
        }
        for (key, value) in [
            ("value", &query.value),
            ("start_date", &query.start_date),
            ("end_date", &query.end_date),
        ] {
            if let Some(value) = value {
                validate::non_empty(|| key.to_owned(), value)?;
                request = request.query(key, value.clone());
            }
        }
        if let Some(mode) = query.revenue_mode {
            let name = match mode {
                RevenueMode::All => "all_revenue",
                RevenueMode::First => "first_revenue",
                RevenueMode::Subscriptions => "subscriptions",
            };
            request = request.query("revenue_mode", name);
        }
        self.call(request).await
    }

    /// Counts for the whole site.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let stats = client.site_stats().await?;
    /// println!("{} subscribers", stats.user_count);
    /// # Ok(()) }
    /// ```
    pub async fn site_stats(&self) -> Result<AudienceStats, Error> {
        self.call(ApiRequest::get("stats/site")).await
    }

    /// Counts for one segment.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let stats = client.segment_stats("7").await?;
    /// println!("{} in the segment", stats.user_count);
    /// # Ok(()) }
    /// ```
    pub async fn segment_stats(&self, segment_id: &str) -> Result<AudienceStats, Error> {
        validate::non_empty(|| "segment_id".to_owned(), segment_id)?;
        self.call(ApiRequest::get("stats/segment").query("segment_id", segment_id))
            .await
    }

    /// The data of a saved report.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let report = client.report_stats("3").await?;
    /// println!("{report:?}");
    /// # Ok(()) }
    /// ```
    pub async fn report_stats(&self, report_id: &str) -> Result<Report, Error> {
        validate::non_empty(|| "report_id".to_owned(), report_id)?;
        self.call(ApiRequest::get("stats/report").query("report_id", report_id))
            .await
    }
}
