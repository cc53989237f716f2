//! Tracing spans, following OpenTelemetry's HTTP client conventions: one
//! span per API operation (`bento.request`, retries included) and one per
//! delivery batch request (`bento.batch`).
//!
//! Spans carry the method, the URL *template* (`/fetch/tags/{id}`), the
//! server's host and port, the status and the attempt; never an email
//! address, a key, the site UUID, a query string or a body.

use tracing::Span;
use tracing::field::Empty;

use crate::transport::Api;
use crate::transport::retry::Outcome;

/// The span of one API operation, retries included.
pub(crate) fn operation(api: &Api, method: &http::Method, template: &str) -> Span {
    tracing::info_span!(
        "bento.request",
        otel.kind = "client",
        http.request.method = %method,
        url.template = %template,
        server.address = api.base_url.host_str().unwrap_or_default(),
        server.port = api.base_url.port_or_known_default().unwrap_or_default(),
        http.response.status_code = Empty,
        http.request.resend_count = Empty,
        error.type = Empty,
    )
}

/// The span of one delivery batch request, at debug level: a busy service
/// sends many, and an app whose `tracing` goes to `log` would print two info
/// lines for each (its start and its end). Direct calls keep info spans.
pub(crate) fn batch(
    api: &Api,
    template: &'static str,
    items: usize,
    bytes: usize,
    attempt: u32,
) -> Span {
    tracing::debug_span!(
        "bento.batch",
        otel.kind = "client",
        http.request.method = "POST",
        url.template = template,
        server.address = api.base_url.host_str().unwrap_or_default(),
        server.port = api.base_url.port_or_known_default().unwrap_or_default(),
        bento.batch.items = items,
        bento.batch.bytes = bytes,
        bento.batch.attempt = attempt,
        http.response.status_code = Empty,
        error.type = Empty,
        bento.batch.outcome = Empty,
    )
}

/// Records an answer's status on the current span (the operation's or the batch's).
pub(crate) fn status(status: http::StatusCode) {
    Span::current().record("http.response.status_code", status.as_u16());
}

/// `error.type` for an attempt that did not succeed.
pub(crate) fn error_type(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Status(status) => status.canonical_reason().unwrap_or("http_error"),
        Outcome::Connect => "connect",
        Outcome::Timeout => "timeout",
        Outcome::Interrupted => "interrupted",
        Outcome::Garbled => "undecodable_response",
    }
}
