//! `/__emulator/*`: a JSON API (no auth) to see what the emulator received and
//! to script faults from any language.
//!
//! | request | answer |
//! |---|---|
//! | `GET /__emulator/events` | every event received |
//! | `GET /__emulator/subscribers` (`?email=` for one) | subscribers with fields and tag names |
//! | `GET /__emulator/emails` | transactional emails accepted |
//! | `GET /__emulator/broadcasts` | broadcasts created |
//! | `GET /__emulator/tags` | live tag names |
//! | `GET /__emulator/requests` | every API request with its status |
//! | `GET /__emulator/config` | base URL, keys and site UUID to configure a client |
//! | `POST /__emulator/faults` | body: a [`Fault`](crate::Fault) as JSON |
//! | `DELETE /__emulator/faults` | clears faults |
//! | `POST /__emulator/reset` | forgets everything received |

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::faults::Fault;
use crate::query::query_param;
use crate::reply::{Reply, bad, not_found};
use crate::shared::Shared;
use crate::state::StoredEvent;

pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &Bytes,
) -> Reply {
    let path = path.trim_matches('/');
    let state = || shared.state();
    let list = |value: Result<Value, serde_json::Error>| Reply::ok(value.unwrap_or_default());
    match (method.as_str(), path) {
        ("GET", "events") => list(serde_json::to_value(
            state()
                .events
                .iter()
                .map(StoredEvent::to_record)
                .collect::<Vec<_>>(),
        )),
        ("GET", "subscribers") => {
            let state = state();
            match query.and_then(|q| query_param(q, "email")) {
                Some(email) => match state.find(&email) {
                    Some(index) => list(serde_json::to_value(
                        state.record(&state.subscribers[index]),
                    )),
                    None => not_found(format!("no subscriber {email}")),
                },
                None => {
                    let records: Vec<_> =
                        state.subscribers.iter().map(|s| state.record(s)).collect();
                    list(serde_json::to_value(records))
                }
            }
        }
        ("GET", "emails") => list(serde_json::to_value(&state().emails)),
        ("GET", "broadcasts") => Reply::ok(Value::Array(state().broadcasts.clone())),
        ("GET", "tags") => {
            let state = state();
            let names: Vec<&str> = state
                .tags
                .iter()
                .filter(|t| t.discarded_at.is_none())
                .map(|t| t.name.as_str())
                .collect();
            Reply::ok(json!(names))
        }
        ("GET", "requests") => list(serde_json::to_value(&state().requests)),
        ("GET", "config") => Reply::ok(json!({
            "publishable_key": shared.config.publishable_key,
            "secret_key": shared.config.secret_key,
            "site_uuid": shared.config.site_uuid,
        })),
        ("POST", "faults") => match serde_json::from_slice::<Fault>(body)
            .map_err(|e| e.to_string())
            .and_then(|fault| fault.check().map(|()| fault))
        {
            Ok(fault) => {
                shared
                    .faults
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(fault);
                Reply::new(StatusCode::CREATED, json!({ "ok": true }))
            }
            Err(e) => bad(format!(
                "not a fault: {e}; expected e.g. {{\"action\": {{\"kind\": \"status\", \"status\": 503}}, \"times\": 2}}"
            )),
        },
        ("DELETE", "faults") => {
            shared
                .faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            Reply::ok(json!({ "ok": true }))
        }
        ("POST", "reset") => {
            shared.state().reset();
            Reply::ok(json!({ "ok": true }))
        }
        _ => not_found(format!("no emulator endpoint {method} /__emulator/{path}")),
    }
}
