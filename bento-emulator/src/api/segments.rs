//! `/fetch/segments`: saved segments, and whether an email matches one. The
//! emulator's query language is its own (Bento's is not documented): see
//! `Emulator::add_segment`.

use serde_json::{Value, json};

use super::{Call, numeric_id};
use crate::reply::{Handled, Reply, is_email, not_found};

pub(super) fn list(call: &Call<'_>) -> Handled {
    let state = call.shared.state();
    let mut segments: Vec<&crate::newer::SegmentDef> = state.segments.iter().collect();
    segments.sort_by(|a, b| a.name.cmp(&b.name));
    let data: Vec<Value> = segments.iter().map(|s| s.json()).collect();
    Ok(Reply::ok(json!({ "data": data })))
}

pub(super) fn get(call: &Call<'_>, id: &str) -> Handled {
    let id = numeric_id("segment", id)?;
    let state = call.shared.state();
    let segment = state
        .segments
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| not_found("Segment not found"))?;
    Ok(Reply::ok(json!({ "data": segment.json() })))
}

pub(super) fn matches(call: &Call<'_>, id: &str) -> Handled {
    let id = numeric_id("segment", id)?;
    let email = call
        .body
        .as_ref()
        .and_then(|body| body.get("email"))
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if !is_email(&email) {
        return Err(Reply::error(
            http::StatusCode::UNPROCESSABLE_ENTITY,
            if email.is_empty() {
                "email is required".to_owned()
            } else {
                format!("`{email}` is not a valid email address")
            },
        ));
    }
    let mut state = call.shared.state();
    if !state.segments.iter().any(|s| s.id == id) {
        return Err(not_found("Segment not found"));
    }
    admit_match(&mut state, id)?;
    let segment = state
        .segments
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| not_found("Segment not found"))?;
    let matched = state
        .find(&email)
        .is_some_and(|index| state.segment_members(segment).contains(&index));
    Ok(Reply::ok(json!({
        "data": { "segment_id": id.to_string(), "email": email, "match": matched }
    })))
}

/// The match endpoint's own limit: 120 requests a minute per segment
/// (the 2026-08-22 spec), on top of the `/fetch` family's.
pub(crate) const MATCHES_PER_MINUTE: usize = 120;

fn admit_match(state: &mut crate::state::State, segment: u64) -> Result<(), Reply> {
    let now = std::time::Instant::now();
    let minute = std::time::Duration::from_secs(60);
    let times = state.segment_matches.entry(segment).or_default();
    while times
        .front()
        .is_some_and(|&t| now.duration_since(t) >= minute)
    {
        times.pop_front();
    }
    if times.len() >= MATCHES_PER_MINUTE {
        let wait = minute.saturating_sub(now.duration_since(times[0]));
        let mut reply = Reply::error(
            http::StatusCode::TOO_MANY_REQUESTS,
            format!("too many match requests for this segment ({MATCHES_PER_MINUTE} a minute)"),
        );
        reply.retry_after = Some(wait.as_secs().max(1));
        return Err(reply);
    }
    times.push_back(now);
    Ok(())
}
