//! What a batch request's result means for its items, decided in one place
//! for the in-memory engine and the outbox relay: delivered, partly refused,
//! split to find a bad item, deferred at Bento's request, retried, or given up.

use std::time::Duration;

use bytes::Bytes;

use super::item::ItemKind;
use crate::error::{Error, truncate_body};
use crate::model::batch::BatchResult;
use crate::transport::Failed;
use crate::transport::retry::{Backoff, Outcome, is_ambiguous, is_transient};

/// A batch request's result: Bento's answer body, or what went wrong.
pub(crate) type Sent = Result<Bytes, Failed>;

pub(crate) enum Verdict {
    /// Bento took the batch and counted `refused` of its items as failed
    /// (it does not say which).
    Accepted { refused: usize },
    /// Bento refused the batch as invalid: halve it until the bad item is alone.
    Bisect,
    /// Bento asked to wait (429/503 with `Retry-After`): pacing, not a
    /// failure, so it spends no attempt and has no cap.
    Defer(Duration),
    /// Send again after `delay`; `ambiguous` when Bento may have recorded
    /// the items already, so the resend may duplicate them.
    Retry {
        delay: Duration,
        ambiguous: bool,
        error: Error,
    },
    /// Final: Bento refused the items; they go to the failure hook.
    GiveUp(Error),
    /// Final: the failure may pass, but the items are older than the
    /// maximum age; they go to the failure hook.
    Expired(Error),
}

/// The verdict, and the `Retry-After` every sender of the family must honour.
///
/// The rule, the same for the in-memory queue and the outbox: a failure
/// that may pass (nothing reached Bento, a timeout, a dropped connection, a
/// garbled 2xx, 408, 429, 500, 502, 503, 504) is retried with the capped [`Backoff`]
/// for as long as it lasts, however many attempts that takes; only Bento's
/// refusal of the items (any other 4xx, on the bad item alone after
/// bisection) gives up, and so does a failure of items already `expired`
/// (older than the maximum age).
pub(crate) fn judge(
    result: Sent,
    kind: ItemKind,
    items: usize,
    attempts: u32,
    backoff: &Backoff,
    expired: bool,
) -> (Verdict, Option<Duration>) {
    // Delivered means a 2xx whose body is Bento's answer; any other 2xx
    // (HTML from a proxy, an empty body, other JSON) says nothing about
    // whether Bento recorded the items, so it is retried like a timeout.
    let result = result.and_then(|body| {
        decode(kind, &body, items).map_err(|source| {
            let error = Error::Decode {
                endpoint: kind.path().to_owned(),
                body: truncate_body(&body),
                source,
            };
            Failed {
                outcome: Outcome::Garbled,
                retry_after: None,
                error,
            }
        })
    });
    let Failed {
        outcome,
        retry_after,
        error,
    } = match result {
        Ok(counts) => {
            let refused = (counts.failed as usize).min(items);
            return (Verdict::Accepted { refused }, None);
        }
        // Nothing of the person is left to delete: done.
        Err(Failed {
            error: Error::Api(api),
            ..
        }) if kind == ItemKind::Deletion
            && api.status == http::StatusCode::NOT_FOUND
            && api.message == "visitor_not_found" =>
        {
            return (Verdict::Accepted { refused: 0 }, None);
        }
        Err(failure) => failure,
    };
    let status = match outcome {
        Outcome::Status(status) => Some(status.as_u16()),
        _ => None,
    };
    let verdict = if matches!(status, Some(400 | 413 | 422)) && items > 1 {
        Verdict::Bisect
    } else if let (Some(429 | 503), Some(delay)) = (status, retry_after) {
        Verdict::Defer(delay)
    } else if !is_transient(outcome) {
        Verdict::GiveUp(error)
    } else if expired {
        Verdict::Expired(error)
    } else {
        Verdict::Retry {
            delay: backoff.after(attempts, retry_after, fastrand::f64()),
            ambiguous: is_ambiguous(outcome),
            error,
        }
    };
    (verdict, retry_after)
}

/// Bento's answer to a batch of `items`: counts, or, for commands, the
/// spec's form (the subscriber they changed), which says all were applied.
fn decode(kind: ItemKind, body: &[u8], items: usize) -> Result<BatchResult, serde_json::Error> {
    if kind == ItemKind::Deletion {
        // Bento's answer to a deletion request is JSON whose shape no source
        // pins: any JSON says it was taken.
        serde_json::from_slice::<serde::de::IgnoredAny>(body)?;
        return Ok(BatchResult {
            results: items as u64,
            failed: 0,
        });
    }
    if kind != ItemKind::Command {
        return BatchResult::decode(body, items);
    }
    let answer = crate::model::commands::CommandResult::decode(body)?;
    let applied = items as u64;
    let results = answer.results.unwrap_or(applied).min(applied);
    Ok(BatchResult {
        results,
        failed: answer.failed.unwrap_or(0).min(applied - results),
    })
}

/// The outcome label of spans and metrics.
pub(crate) fn label(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Accepted { refused: 0 } => "delivered",
        Verdict::Accepted { .. } => "partly_refused",
        Verdict::Bisect => "bisected",
        Verdict::Defer(_) => "deferred",
        Verdict::Retry { .. } => "retry",
        Verdict::GiveUp(_) => "failed",
        Verdict::Expired(_) => "expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn refused(status: u16, message: &str) -> Sent {
        let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::IM_A_TEAPOT);
        Err(Failed {
            outcome: Outcome::Status(status),
            retry_after: None,
            error: Error::Api(ApiError {
                status,
                endpoint: "data_deletion_requests".to_owned(),
                message: message.to_owned(),
                body: String::new(),
                retry_after: None,
            }),
        })
    }

    fn verdict(result: Sent, kind: ItemKind) -> &'static str {
        let backoff = Backoff::default();
        label(&judge(result, kind, 1, 1, &backoff, false).0)
    }

    #[test]
    fn a_deletion_of_nobody_is_done_and_any_json_answer_takes_it() {
        assert_eq!(
            verdict(refused(404, "visitor_not_found"), ItemKind::Deletion),
            "delivered"
        );
        assert_eq!(
            verdict(refused(404, "Not Found"), ItemKind::Deletion),
            "failed"
        );
        assert_eq!(
            verdict(refused(404, "visitor_not_found"), ItemKind::Event),
            "failed"
        );
        assert_eq!(verdict(refused(503, "down"), ItemKind::Deletion), "retry");
        let answer = Ok(Bytes::from_static(br#"{"data":{"queued":true}}"#));
        assert_eq!(verdict(answer, ItemKind::Deletion), "delivered");
        let html = Ok(Bytes::from_static(b"<html>proxy</html>"));
        assert_eq!(verdict(html, ItemKind::Deletion), "retry");
    }
}
