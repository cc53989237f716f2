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
    let state = call.shared.state();
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
