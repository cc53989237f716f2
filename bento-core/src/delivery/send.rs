//! One batch request, the same for the in-memory queue and the relay: its
//! span, the request bounded by its timeout and by a deadline that may be set
//! or moved while it is in flight (a flush's, a shutdown's), and, once it
//! ended, the verdict on its items recorded on the span and in the metrics.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::Instrument;

use super::item::ItemKind;
use super::metrics;
use super::verdict::{Sent, Verdict, judge, label};
use crate::error::Error;
use crate::transport::retry::{Backoff, Outcome};
use crate::transport::{Api, ApiRequest, Failed, telemetry};

/// The earliest deadline requests in flight must end by (`None`: none).
pub(crate) type Deadline = watch::Receiver<Option<Instant>>;

/// A batch request about to leave.
pub(crate) struct BatchRequest {
    pub(crate) kind: ItemKind,
    pub(crate) items: usize,
    pub(crate) body: bytes::Bytes,
    /// This send's number, from 1.
    pub(crate) attempt: u32,
}

/// The request's span, and the future of its result: a timeout when
/// `deadline` passes first.
pub(crate) fn start(
    api: Arc<Api>,
    http: reqwest::Client,
    batch: BatchRequest,
    timeout: Duration,
    deadline: Deadline,
) -> (tracing::Span, impl Future<Output = Sent> + Send + 'static) {
    let path = batch.kind.path();
    let span = telemetry::batch(
        &api,
        batch.kind.template(),
        batch.items,
        batch.body.len(),
        batch.attempt,
    );
    let send = async move {
        let request = ApiRequest::post(path).json_bytes(batch.body);
        let attempt = api.attempt(&http, &request, timeout);
        until_deadline(attempt, deadline, path, timeout).await
    }
    .instrument(span.clone());
    (span, send)
}

/// How a batch's result is judged: the backoff of retries, and how old its
/// items may grow through failures that may pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Judge {
    pub(crate) backoff: Backoff,
    pub(crate) max_age: Option<Duration>,
}

impl Judge {
    /// The verdict on a batch of `items` of `kind`, sent `attempt` times,
    /// whose oldest item is `age` old, after its request ended with
    /// `result`; and the `Retry-After` every sender of its family must
    /// honour.
    pub(crate) fn verdict(
        &self,
        result: Sent,
        (kind, items, attempt): (ItemKind, usize, u32),
        age: Duration,
        span: &tracing::Span,
    ) -> (Verdict, Option<Duration>) {
        if let Err(failed) = &result {
            span.record("error.type", telemetry::error_type(failed.outcome));
        }
        let expired = self.max_age.is_some_and(|max| age >= max);
        judge(result, kind, items, attempt, &self.backoff, expired)
    }
}

/// Records what became of a batch (`outcome`: the verdict's label, or what
/// overrode it) on its span and in the metrics.
pub(crate) fn record(
    span: &tracing::Span,
    kind: ItemKind,
    outcome: &'static str,
    started: Instant,
) {
    span.record("bento.batch.outcome", outcome);
    metrics::batch(kind, outcome, started.elapsed());
}

/// The label of a verdict, for [`record`].
pub(crate) fn outcome(verdict: &Verdict) -> &'static str {
    label(verdict)
}

/// The attempt's result, or a timeout when the watched deadline passes first
/// (it may be set or moved earlier while the request is in flight).
async fn until_deadline(
    attempt: impl Future<Output = crate::transport::Attempt>,
    mut deadline: Deadline,
    endpoint: &str,
    timeout: Duration,
) -> Sent {
    tokio::pin!(attempt);
    let mut watching = true;
    loop {
        let current = *deadline.borrow_and_update();
        tokio::select! {
            result = &mut attempt => return result.into_result(),
            () = sleep_until(current) => {
                return Err(Failed {
                    outcome: Outcome::Timeout,
                    retry_after: None,
                    error: Error::Timeout { endpoint: endpoint.to_owned(), timeout },
                });
            }
            changed = deadline.changed(), if watching => watching = changed.is_ok(),
        }
    }
}

/// Sleeps until `wake`; for ever when `None`.
pub(crate) async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
