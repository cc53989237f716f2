//! A dry run's answers: each batch the client would send is shown, item by
//! item, and answered as Bento answers a batch it took whole, so that the
//! engine, the outbox and every check before the wire behave as they will
//! with an account. Anything that needs the account's own answer (a read,
//! a create) is an error that says so.

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::Value;

use super::{ApiRequest, Attempt};
use crate::error::Error;
use crate::transport::retry::Outcome;

/// Where a dry run's lines go: the app's `tracing` subscriber when it has
/// one (target `bento_core::dry_run`, info level), else standard error, so
/// that `cargo run` shows them with no setup.
pub(crate) fn show(line: std::fmt::Arguments<'_>) {
    if tracing::dispatcher::has_been_set() {
        tracing::info!(target: "bento_core::dry_run", "{line}");
    } else {
        eprintln!("{line}");
    }
}

/// The batch endpoints, which Bento answers with counts alone.
fn is_batch(request: &ApiRequest<'_>) -> bool {
    request.method == Method::POST
        && matches!(
            request.path,
            "batch/events" | "batch/subscribers" | "batch/emails" | "fetch/commands"
        )
}

/// The answer to `request` without sending it.
pub(crate) fn answer(request: &ApiRequest<'_>) -> Attempt {
    let items = request
        .body
        .as_deref()
        .filter(|_| is_batch(request))
        .and_then(|body| serde_json::from_slice::<Value>(body).ok())
        .and_then(|body| match body {
            Value::Object(object) => object.into_iter().find_map(|(_, value)| match value {
                Value::Array(items) => Some(items),
                _ => None,
            }),
            _ => None,
        });
    let Some(items) = items else {
        return Attempt::Failed {
            // Not retryable: no attempt will ever have an answer.
            outcome: Outcome::Status(StatusCode::NOT_IMPLEMENTED),
            error: Error::DryRun {
                endpoint: request.path.to_owned(),
            },
        };
    };
    for item in &items {
        show(format_args!("bento dry run: POST /{} {item}", request.path));
    }
    Attempt::Answered {
        status: StatusCode::OK,
        retry_after: None,
        body: Bytes::from(format!(r#"{{"results":{},"failed":0}}"#, items.len())),
        endpoint: request.path.to_owned(),
        location: None,
        date: None,
    }
}
