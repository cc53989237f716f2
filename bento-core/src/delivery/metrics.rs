//! The delivery engine's metrics, through the `metrics` facade (feature
//! `metrics`): whatever exporter the application installed (Prometheus,
//! OpenTelemetry, StatsD) picks them up. Without the feature every function
//! here is empty and compiles away.
//!
//! The names are documented in [`crate::delivery`].
//!
//! `queued` is counted on the delivery thread as items arrive, so `track`
//! itself touches no metric.

use std::time::Duration;

use super::item::ItemKind;

pub(crate) const QUEUED: &str = "bento_delivery_items_queued_total";
pub(crate) const SENT: &str = "bento_delivery_items_sent_total";
pub(crate) const RETRIED: &str = "bento_delivery_items_retried_total";
pub(crate) const FAILED: &str = "bento_delivery_items_failed_total";
pub(crate) const DROPPED: &str = "bento_delivery_items_dropped_total";
pub(crate) const REFUSED: &str = "bento_delivery_items_refused_total";
pub(crate) const ERASED: &str = "bento_delivery_items_erased_total";
pub(crate) const PENDING: &str = "bento_delivery_items_pending";
pub(crate) const IN_FLIGHT: &str = "bento_delivery_requests_in_flight";
pub(crate) const BATCH_DURATION: &str = "bento_delivery_batch_duration_seconds";

/// Describes every metric once, so exporters show units and help texts.
pub(crate) fn describe() {
    #[cfg(feature = "metrics")]
    {
        use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        describe_counter!(QUEUED, Unit::Count, "Items accepted by track/enqueue");
        describe_counter!(SENT, Unit::Count, "Items Bento accepted");
        describe_counter!(
            RETRIED,
            Unit::Count,
            "Items sent again after a failed attempt"
        );
        describe_counter!(FAILED, Unit::Count, "Items handed to the failure hook");
        describe_counter!(
            DROPPED,
            Unit::Count,
            "Items refused by track and handed back"
        );
        describe_counter!(
            REFUSED,
            Unit::Count,
            "Items refused by track as the program's mistake (logged and hooked)"
        );
        describe_counter!(
            ERASED,
            Unit::Count,
            "Items about an erased person removed before they were sent"
        );
        describe_gauge!(PENDING, Unit::Count, "Items held by the delivery engine");
        describe_gauge!(IN_FLIGHT, Unit::Count, "Batch requests in flight");
        describe_histogram!(BATCH_DURATION, Unit::Seconds, "Time of one batch request");
    }
}

pub(crate) fn count(name: &'static str, n: usize) {
    #[cfg(feature = "metrics")]
    if n > 0 {
        metrics::counter!(name).increment(n as u64);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (name, n);
}

pub(crate) fn level(name: &'static str, value: usize) {
    #[cfg(feature = "metrics")]
    metrics::gauge!(name).set(value as f64);
    #[cfg(not(feature = "metrics"))]
    let _ = (name, value);
}

pub(crate) fn batch(kind: ItemKind, outcome: &'static str, took: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(BATCH_DURATION, "kind" => kind.body_key(), "outcome" => outcome)
        .record(took.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = (BATCH_DURATION, kind, outcome, took);
}
