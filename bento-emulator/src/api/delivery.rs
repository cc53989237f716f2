//! `/delivery/*`, the Transactional Platform's delivery data, computed from
//! the transactional emails the emulator accepted: every one counts as
//! delivered when it was accepted. 403 without the platform
//! (`EmulatorBuilder::transactional_platform(false)`).

use serde_json::{Value, json};

use super::Call;
use crate::reply::{Handled, Reply, bad, is_date_time, is_email};
use crate::state::SentEmail;
use crate::time::rfc3339;

fn platform(call: &Call<'_>) -> Result<(), Reply> {
    if call.shared.config.transactional_platform {
        Ok(())
    } else {
        Err(Reply::error(
            http::StatusCode::FORBIDDEN,
            "Transactional Platform is required.",
        ))
    }
}

/// A bound: an RFC 3339 time, or a date (that whole day).
fn bound(call: &Call<'_>, keys: [&str; 2], end: bool) -> Result<Option<String>, Reply> {
    let Some(value) = keys.iter().find_map(|key| call.param(key)) else {
        return Ok(None);
    };
    if is_date_time(&value) {
        return Ok(Some(value));
    }
    let date_only = value.len() == 10 && is_date_time(&format!("{value}T00:00:00Z"));
    if date_only {
        let time = if end { "T23:59:59Z" } else { "T00:00:00Z" };
        return Ok(Some(format!("{value}{time}")));
    }
    Err(bad(format!(
        "`{}` is not a date or an RFC 3339 time",
        value
    )))
}

/// The window `[start, end]`, defaulting to the last `days` days.
fn window(call: &Call<'_>, days: u64) -> Result<(String, String), Reply> {
    let now = std::time::SystemTime::now();
    let start = bound(call, ["start_date", "from"], false)?
        .unwrap_or_else(|| rfc3339(now - std::time::Duration::from_secs(days * 86_400)));
    let end = bound(call, ["end_date", "to"], true)?.unwrap_or_else(|| rfc3339(now));
    if start > end {
        return Err(bad("start_date is after end_date"));
    }
    Ok((start, end))
}

fn within<'a>(emails: &'a [SentEmail], (start, end): &(String, String)) -> Vec<&'a SentEmail> {
    emails
        .iter()
        .filter(|e| e.transactional && e.sent_at >= *start && e.sent_at <= *end)
        .collect()
}

pub(super) fn report(call: &Call<'_>) -> Handled {
    platform(call)?;
    let window = window(call, 1)?;
    let state = call.shared.state();
    let sent = within(&state.emails, &window);
    Ok(Reply::ok(json!({
        "data": {
            "sent": sent.len(), "delivered": sent.len(), "bounced": 0,
            "complained": 0, "opened": 0, "clicked": 0,
        },
        "meta": { "start_date": window.0, "end_date": window.1 },
    })))
}

pub(super) fn events(call: &Call<'_>) -> Handled {
    platform(call)?;
    let email = call
        .param("email")
        .ok_or_else(|| bad("the `email` query parameter is required"))?;
    if !is_email(&email) {
        return Err(bad(format!("`{email}` is not a valid email address")));
    }
    let limit = match call.param("limit") {
        None => 100,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => return Err(bad("`limit` must be a number from 1 to 100")),
        },
    };
    let window = window(call, 30)?;
    let state = call.shared.state();
    let mut events: Vec<Value> = within(&state.emails, &window)
        .into_iter()
        .filter(|e| e.to.eq_ignore_ascii_case(&email))
        .map(|e| {
            json!({
                "event": "delivered", "email": e.to, "subject": e.subject,
                "from": e.from, "timestamp": e.sent_at,
            })
        })
        .collect();
    events.reverse();
    events.truncate(limit);
    Ok(Reply::ok(json!({
        "events": events,
        "meta": { "email": email, "count": events.len(), "start_date": window.0, "end_date": window.1 },
    })))
}
