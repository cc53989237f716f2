//! `/stats/*`. A segment's counts are its members' (see `Emulator::add_segment`);
//! an id the emulator does not know counts everyone.

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
    let id = call
        .param("segment_id")
        .ok_or_else(|| bad("the `segment_id` query parameter is required"))?;
    let state = call.shared.state();
    let Some(segment) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.segments.iter().find(|s| s.id == id))
    else {
        drop(state);
        return Ok(counts(call));
    };
    let members = state.segment_members(segment);
    let subscribed = members
        .iter()
        .filter(|index| state.subscribers[**index].unsubscribed_at.is_none())
        .count();
    Ok(Reply::ok(json!({
        "user_count": members.len(),
        "subscriber_count": subscribed,
        "unsubscriber_count": members.len() - subscribed,
    })))
}

/// `GET /stats/ads`: signups (subscribers who sent `account.signup` or
/// `$signup`), customers (who sent `$purchase`) and revenue (the cents of
/// their purchases' `value.amount`), broken down by the dimension's UTM
/// detail (`utm_source`...) of those events, `(none)` without one.
pub(super) fn ads(call: &Call<'_>) -> Handled {
    let dimension = call
        .param("dimension")
        .unwrap_or_else(|| "source".to_owned());
    if !["source", "campaign", "medium", "content", "ad"].contains(&dimension.as_str()) {
        return Err(bad(format!(
            "`dimension` must be source, campaign, medium, content or ad; not `{dimension}`"
        )));
    }
    for key in ["start_date", "end_date"] {
        if let Some(value) = call.param(key)
            && value.trim().is_empty()
        {
            return Err(bad(format!("`{key}` is not a date")));
        }
    }
    let only = call.param("value");
    let key = format!("utm_{dimension}");
    let state = call.shared.state();
    let mut rows: BTreeMap<String, (u64, u64, i64)> = BTreeMap::new();
    for event in &state.events {
        let signup = matches!(event.event_type.as_str(), "account.signup" | "$signup");
        let purchase = event.event_type == "$purchase";
        if !signup && !purchase {
            continue;
        }
        let details = crate::state::StoredEvent::object(event.details.as_deref());
        let label = details
            .get(&key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("(none)")
            .to_owned();
        if only.as_ref().is_some_and(|only| *only != label) {
            continue;
        }
        let row = rows.entry(label).or_default();
        if signup {
            row.0 += 1;
        } else {
            row.1 += 1;
            row.2 += details
                .get("value")
                .and_then(|v| v.get("amount"))
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0);
        }
    }
    let (signups, customers, revenue) = rows
        .values()
        .fold((0, 0, 0), |t, r| (t.0 + r.0, t.1 + r.1, t.2 + r.2));
    let breakdown: Vec<serde_json::Value> = rows
        .iter()
        .map(|(label, (signups, customers, revenue))| {
            json!({
                "key": label, "label": label, "signups": signups, "customers": customers,
                "revenueCents": revenue, "revenueCurrency": "USD",
            })
        })
        .collect();
    Ok(Reply::ok(json!({
        "dimension": dimension,
        "dimensionLabel": dimension[..1].to_ascii_uppercase() + &dimension[1..],
        "totals": { "signups": signups, "customers": customers, "revenueCents": revenue, "revenueCurrency": "USD" },
        "breakdown": breakdown,
        "chartData": [],
        "revenueTruncated": false,
    })))
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
