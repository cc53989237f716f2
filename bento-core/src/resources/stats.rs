//! Statistics: `/stats/*` (60 requests per hour by default; never call these
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

impl Client {
    /// Counts for the whole site.
    pub async fn site_stats(&self) -> Result<AudienceStats, Error> {
        self.call(ApiRequest::get("stats/site")).await
    }

    /// Counts for one segment.
    pub async fn segment_stats(&self, segment_id: &str) -> Result<AudienceStats, Error> {
        validate::non_empty(|| "segment_id".to_owned(), segment_id)?;
        self.call(ApiRequest::get("stats/segment").query("segment_id", segment_id))
            .await
    }

    /// The data of a saved report.
    pub async fn report_stats(&self, report_id: &str) -> Result<Report, Error> {
        validate::non_empty(|| "report_id".to_owned(), report_id)?;
        self.call(ApiRequest::get("stats/report").query("report_id", report_id))
            .await
    }
}
