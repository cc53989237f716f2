//! `POST /data_deletion_requests`: 202 at once, the subscriber anonymized
//! after the configured delay, 404 `visitor_not_found` for an unknown email,
//! 429 `rate_limit_exceeded` past the day's quota (1,000).

use serde_json::{Value, json};

use super::Call;
use crate::reply::{Handled, Reply, bad};

pub(super) fn request(call: &Call<'_>) -> Handled {
    let body = call.body.as_ref();
    // The spec's `{"data_deletion_request": {"email"}}`, or a bare `{"email"}`.
    let email = body
        .and_then(|b| b.get("data_deletion_request"))
        .and_then(|r| r.get("email"))
        .or_else(|| body.and_then(|b| b.get("email")))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| bad("data_deletion_request.email is required"))?
        .to_owned();
    let config = &call.shared.config;
    let mut state = call.shared.state();
    if !state.take_deletion_quota(config.deletion_quota) {
        return Err(Reply::error(
            http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
        ));
    }
    if state.find(&email).is_none() {
        return Err(Reply::error(
            http::StatusCode::NOT_FOUND,
            "visitor_not_found",
        ));
    }
    state.request_deletion(&email, config.deletion_delay);
    Ok(Reply::new(
        http::StatusCode::ACCEPTED,
        json!({ "status": "queued_for_anonymization" }),
    ))
}
