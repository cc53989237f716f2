//! `/stats/*`. The emulator has no segment engine: every segment counts everyone.

use std::collections::BTreeMap;

use serde_json::json;

use super::Call;
use crate::reply::{Handled, Reply, bad};

fn counts(call: &Call<'_>) -> Reply {
    let state = call.shared.state();
    let subscribed = state
        .subscribers
        .iter()
        .filter(|s| s.unsubscribed_at.is_none())
        .count();
    Reply::ok(json!({
        "user_count": state.subscribers.len(),
        "subscriber_count": subscribed,
        "unsubscriber_count": state.subscribers.len() - subscribed,
    }))
}

pub(super) fn site(call: &Call<'_>) -> Handled {
    Ok(counts(call))
}

pub(super) fn segment(call: &Call<'_>) -> Handled {
    call.param("segment_id")
        .ok_or_else(|| bad("the `segment_id` query parameter is required"))?;
    Ok(counts(call))
}

pub(super) fn report(call: &Call<'_>) -> Handled {
    let id = call
        .param("report_id")
        .ok_or_else(|| bad("the `report_id` query parameter is required"))?;
    let state = call.shared.state();
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    for event in &state.events {
        *by_type.entry(event.event_type.as_str()).or_default() += 1;
    }
    Ok(Reply::ok(json!({
        "data": by_type,
        "chart_style": "count",
        "report_type": "Reports::EventCount",
        "report_name": format!("Events by type ({id})"),
    })))
}
