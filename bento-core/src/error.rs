//! Errors returned by the client.
//!
//! Every error says what went wrong *and* what to do about it, because the
//! person reading it is usually an application developer looking at a log
//! line, not someone who knows Bento's API by heart.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::convert::DateError;

/// The error type of every [`Client`](crate::Client) call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be configured; see [`ConfigError`].
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The input was rejected before any request was sent; see [`ValidationError`].
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Bento answered with an error status; see [`ApiError`].
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No connection could be made (DNS, refused, connect timeout, TLS
    /// handshake): the request was certainly not sent, so it is safe to retry.
    #[error(
        "could not connect to Bento for {endpoint}: {source}; nothing was sent, so retrying is \
         safe (check the network, or BENTO_BASE_URL)"
    )]
    Connect {
        /// The API path, such as `batch/events`.
        endpoint: String,
        /// What the HTTP stack said.
        #[source]
        source: TransportError,
    },
    /// The connection broke after the request was sent: Bento may or may not
    /// have processed it.
    #[error("lost the connection to Bento during {endpoint}: {source}")]
    Transport {
        /// The API path, such as `batch/events`.
        endpoint: String,
        /// What the HTTP stack said.
        #[source]
        source: TransportError,
    },
    /// Bento did not answer within the request timeout.
    #[error(
        "Bento did not answer {endpoint} within {timeout:?}; retry later or raise \
         ClientBuilder::timeout"
    )]
    Timeout {
        /// The API path, such as `batch/events`.
        endpoint: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// Bento answered 2xx with a body this client could not decode.
    #[error("unexpected response body from {endpoint}: {source}; body was: {body}")]
    Decode {
        /// The API path, such as `fetch/tags`.
        endpoint: String,
        /// The body, truncated to a readable length.
        body: String,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
    /// Bento answered with a redirect. Bento's API never redirects, and
    /// following one would send personal data (and the keys) elsewhere, so it
    /// is not followed.
    #[error(
        "Bento answered {endpoint} with a redirect ({status}) to {}; it was not followed. \
         Check the base URL (it must be the API root, such as https://app.bentonow.com/api/v1)",
        location.as_deref().unwrap_or("no location")
    )]
    Redirected {
        /// The API path, such as `fetch/tags`.
        endpoint: String,
        /// The 3xx status.
        status: StatusCode,
        /// The host the redirect pointed to (never its path or query).
        location: Option<String>,
    },
    /// A dry-run client ([`ClientBuilder::dry_run`](crate::ClientBuilder::dry_run))
    /// sends nothing, and only the batch endpoints (events, subscribers,
    /// commands, emails) have an answer without an account.
    #[error(
        "dry run: {endpoint} was not sent to Bento, since it needs an account's answer; set \
         BENTO_PUBLISHABLE_KEY, BENTO_SECRET_KEY and BENTO_SITE_UUID (or point BENTO_BASE_URL at \
         `bento emulator`)"
    )]
    DryRun {
        /// The API path, such as `fetch/tags`.
        endpoint: String,
    },
    /// The answer's body is larger than
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes);
    /// reading stopped at the limit.
    #[error(
        "Bento's answer to {endpoint} is larger than {limit} bytes and was not read; raise \
         ClientBuilder::max_response_bytes if this endpoint really returns that much"
    )]
    ResponseTooLarge {
        /// The API path, such as `fetch/subscribers`.
        endpoint: String,
        /// The limit in force.
        limit: u64,
    },
    /// The client is holding this endpoint family back (Bento answered 429
    /// with a `Retry-After`, or the client's own pacing is full) for longer
    /// than [`RetryPolicy::max_retry_after`](crate::RetryPolicy::max_retry_after):
    /// nothing was sent.
    #[error(
        "Bento's rate limit holds {family:?} requests back for another {}s, longer than this \
         call waits; nothing was sent: retry {endpoint} after that",
        retry_after.as_secs_f64().ceil()
    )]
    RateLimited {
        /// The API path, such as `fetch/subscribers`.
        endpoint: String,
        /// The endpoint family that is held back.
        family: crate::EndpointFamily,
        /// How long until a request of this family may be sent.
        retry_after: Duration,
    },
    /// The items are about a person erased with
    /// [`Client::erase`](crate::Client::erase) less than the tombstone's
    /// time ago; nothing was sent (a direct call would re-create them in
    /// Bento). Counted and told to the failure hook without the items, as
    /// [`TrackError::Erased`](crate::TrackError::Erased) is.
    #[error(
        "{items} item(s) about an erased subscriber refused; nothing was sent: the person asked \
         to be forgotten (Client::erase); lift it with Client::lift_erasure if they signed up \
         again with consent"
    )]
    Erased {
        /// How many of the call's items are about an erased person.
        items: usize,
    },
    /// A batch larger than one request was split, and one of its requests failed.
    ///
    /// The first `accepted` items were delivered; resend from that index.
    #[error(
        "{accepted} of {total} items were accepted before a request failed; resend the items \
         from index {accepted} on: {source}"
    )]
    PartialBatch {
        /// How many leading items Bento accepted before the failure.
        accepted: usize,
        /// How many items the call was given.
        total: usize,
        /// The error of the request that failed.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Whether the same call may succeed if made again later.
    ///
    /// True for 408, 429 and 5xx answers, timeouts and connection failures;
    /// false for bad input, bad credentials and undecodable answers.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_retryable(),
            Error::Connect { .. }
            | Error::Transport { .. }
            | Error::Timeout { .. }
            | Error::RateLimited { .. } => true,
            Error::PartialBatch { source, .. } => source.is_retryable(),
            Error::Config(_)
            | Error::Invalid(_)
            | Error::Erased { .. }
            | Error::Decode { .. }
            | Error::Redirected { .. }
            | Error::DryRun { .. }
            | Error::ResponseTooLarge { .. } => false,
        }
    }

    /// The HTTP status Bento answered with, if it answered at all.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Redirected { status, .. } => Some(*status),
            Error::PartialBatch { source, .. } => source.status(),
            _ => None,
        }
    }

    /// How long to wait before trying again, when Bento (or the client's
    /// pacing) said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(api) => api.retry_after,
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            Error::PartialBatch { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// The API error, if Bento answered with an error status.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::PartialBatch { source, .. } => source.as_api(),
            _ => None,
        }
    }
}

/// Bento answered with a non-success status.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The API path, such as `batch/events`.
    pub endpoint: String,
    /// The server's message: the `error` member of a JSON body, else the
    /// body text. It may name an address (personal data); the error's
    /// `Display` masks addresses in it.
    pub message: String,
    /// The raw body, truncated to a readable length.
    pub body: String,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Whether the same request may succeed later (408, 429, 500, 502, 503, 504).
    pub fn is_retryable(&self) -> bool {
        crate::transport::retry::is_retryable_status(self.status)
    }
}

impl std::error::Error for ApiError {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (status, endpoint) = (self.status, &self.endpoint);
        match status.as_u16() {
            401 => write!(
                f,
                "Bento rejected the credentials for {endpoint} (401 Unauthorized): check the \
                 publishable key, secret key and site UUID (BENTO_PUBLISHABLE_KEY, \
                 BENTO_SECRET_KEY, BENTO_SITE_UUID) in your dashboard under Settings > API Keys"
            )?,
            403 => write!(
                f,
                "Bento blocked the request to {endpoint} (403 Forbidden): requests need a \
                 User-Agent header and an account in good standing; contact Bento support if \
                 this persists"
            )?,
            404 => write!(
                f,
                "Bento found nothing at {endpoint} (404 Not Found): check the id or path"
            )?,
            429 => {
                write!(f, "Bento rate-limited {endpoint} (429 Too Many Requests)")?;
                if let Some(after) = self.retry_after {
                    write!(f, "; retry after {}s", after.as_secs_f64().ceil())?;
                }
                write!(
                    f,
                    "; send fewer, larger batches or lower the client's rate limits"
                )?
            }
            400 | 422 => write!(
                f,
                "Bento rejected the request to {endpoint} as invalid ({status})"
            )?,
            500..=599 => write!(
                f,
                "Bento failed on {endpoint} with a server error ({status}); retry later"
            )?,
            _ => write!(f, "Bento answered {endpoint} with {status}")?,
        }
        if !self.message.is_empty() {
            // Bento may echo the address it refused: not in a message.
            write!(
                f,
                ". Server said: {}",
                crate::privacy::mask_addresses(&self.message)
            )?;
        }
        Ok(())
    }
}

/// The client could not be built from the given configuration.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting was not given to the builder.
    #[error("missing {setting}: call ClientBuilder::{setting}(...) before build()")]
    Missing {
        /// The builder method that sets it.
        setting: &'static str,
    },
    /// A required environment variable is unset or empty.
    #[error(
        "environment variable {var} is not set; find the value in your Bento dashboard under \
         Settings > API Keys"
    )]
    MissingEnv {
        /// The variable's name.
        var: &'static str,
    },
    /// An environment variable is set but not valid Unicode.
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: &'static str,
    },
    /// The base URL is not an absolute http(s) URL.
    #[error("invalid base URL `{url}`: {reason}; expected e.g. https://app.bentonow.com/api/v1")]
    BaseUrl {
        /// The URL as given, with any user info and query replaced by
        /// `[redacted]`: they may hold keys.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting has a value the client cannot use.
    #[error("invalid {setting}: {reason}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (for example, no TLS backend).
    #[error("could not build the HTTP client: {0}")]
    Http(String),
    /// No `BENTO_*` variable is set, in a release build: a service that lost
    /// its keys stops at start-up rather than drop every event. (A debug
    /// build runs dry instead.)
    #[error(
        "no BENTO_* variables are set: set BENTO_PUBLISHABLE_KEY, BENTO_SECRET_KEY and \
         BENTO_SITE_UUID (Bento dashboard, Settings > API Keys), or BENTO_DRY_RUN=1 to send \
         nothing on purpose"
    )]
    NoEnv,
}

fn join_violations(violations: &[bento_plan::Violation]) -> String {
    let shown: Vec<String> = violations.iter().map(ToString::to_string).collect();
    shown.join("; ")
}

/// Input rejected before any request was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// An email address is not syntactically valid. The message says what
    /// is wrong with it but never shows it (an address, even a mistyped
    /// one, is personal data, and messages reach logs); `value` has it.
    #[error(
        "{field} is not a valid email address ({}); expected something like person@example.com",
        crate::privacy::what_is_wrong(.value)
    )]
    InvalidEmail {
        /// Where the address was found, such as `events[3].email`.
        field: String,
        /// The address as given (personal data: keep it out of logs).
        value: String,
    },
    /// A batch call was given no items.
    #[error("{what} is empty: pass at least one item")]
    EmptyBatch {
        /// What was empty, such as `events`.
        what: &'static str,
    },
    /// A required value is empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The offending field, such as `events[0].type`.
        field: String,
    },
    /// A tag name contains a comma, which Bento uses to separate tags.
    #[error(
        "tag `{tag}` in {field} contains a comma; Bento separates tags with commas, so pass \
         each tag separately"
    )]
    TagContainsComma {
        /// Where the tag was found.
        field: String,
        /// The tag as given.
        tag: String,
    },
    /// Two arguments that exclude each other were both given, or neither was.
    #[error("{0}")]
    Arguments(String),
    /// An event date is not an RFC 3339 timestamp.
    #[error("{field}: {source}")]
    InvalidDate {
        /// Where the date was found, such as `events[3].date`.
        field: String,
        /// What is wrong with it.
        #[source]
        source: DateError,
    },
    /// A key of a flattened map is empty or already written by another field.
    #[error("{field} has the key `{key}`, which {reason}")]
    InvalidKey {
        /// The flattened field, such as `events[3].extra`.
        field: String,
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A number is NaN or infinite, which JSON cannot carry (it would arrive
    /// as `null`).
    #[error(
        "{field} is {value}, which JSON cannot represent; send a finite number or leave it out"
    )]
    NonFiniteNumber {
        /// Where the number was found, such as `events[3].details.price`.
        field: String,
        /// `NaN`, `inf` or `-inf`.
        value: String,
    },
    /// A key of `fields` or `details` breaks Bento's key rule: lowercase
    /// ASCII letters, digits and underscores (`first_name`), the rule the
    /// derive checks at compile time.
    #[error(
        "{field} has the key `{key}`, which is not lowercase and underscored as Bento keys are: \
         write `{suggestion}`; if your account's fields are already named so, send the key as \
         written with `.verbatim_keys()` on the builder (`#[bento(verbatim)]` in the derive)"
    )]
    KeyCase {
        /// Where the key was found, such as `events[3].fields`.
        field: String,
        /// The key as given.
        key: String,
        /// The key in Bento's spelling.
        suggestion: String,
    },
    /// The item is off the tracking plan given to
    /// [`ClientBuilder::plan`](crate::ClientBuilder::plan): an event type,
    /// field or detail the plan does not declare, a missing detail it
    /// requires, or a value of the wrong kind. Nothing was queued or sent.
    #[error("{item} is off the tracking plan: {}", join_violations(violations))]
    OffPlan {
        /// Which item: `event`, `subscribers[2]`.
        item: String,
        /// Every way it is off the plan.
        violations: Vec<bento_plan::Violation>,
    },
    /// An item's own `Serialize` implementation failed.
    #[error("{field} could not be serialized: {message}")]
    Unserializable {
        /// The item, such as `events[3]`.
        field: String,
        /// The serializer's message.
        message: String,
    },
}

impl ValidationError {
    /// Whether this is about the data a user gave (an address that is not
    /// an email, an empty value, a date that does not parse, a tag with a
    /// comma): show it to them, as a 422 say. Every other problem is the
    /// program's (off the tracking plan, a key breaking Bento's rule, a
    /// value that cannot become JSON, a failing `Serialize`, misused
    /// arguments): never the user's to fix, so it is logged, counted and
    /// handed to the failure hook where it happens (see
    /// [`TrackError::Bug`](crate::TrackError::Bug)).
    pub fn is_user_input(&self) -> bool {
        matches!(
            self,
            Self::InvalidEmail { .. }
                | Self::Empty { .. }
                | Self::InvalidDate { .. }
                | Self::TagContainsComma { .. }
        )
    }

    /// Places a field path relative to one item under that item's path, so
    /// `tags` reported by a record becomes `subscribers[3].tags`.
    pub fn within(mut self, item: &str) -> Self {
        match &mut self {
            Self::InvalidEmail { field, .. }
            | Self::Empty { field }
            | Self::TagContainsComma { field, .. }
            | Self::InvalidDate { field, .. }
            | Self::InvalidKey { field, .. }
            | Self::KeyCase { field, .. }
            | Self::NonFiniteNumber { field, .. }
            | Self::Unserializable { field, .. } => {
                *field = if field.is_empty() {
                    item.to_owned()
                } else {
                    format!("{item}.{field}")
                };
            }
            Self::EmptyBatch { .. } => {}
            Self::OffPlan { item: what, .. } => *what = item.to_owned(),
            Self::Arguments(message) => *message = format!("{item}: {message}"),
        }
        self
    }
}

/// What the HTTP stack said about a request that failed below HTTP (name
/// resolution, a refused or broken connection, TLS), with its own chain of
/// sources. Opaque on purpose: the HTTP client the SDK uses is not part of
/// its API, so its next major version is not this crate's.
pub struct TransportError(Box<dyn std::error::Error + Send + Sync>);

impl TransportError {
    pub(crate) fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A URL fit for messages and `Debug`: user info (`user:password@`) and the
/// query replaced by `[redacted]`, since either may carry a key. Works on
/// text that does not parse as a URL too.
pub(crate) fn redact_url(raw: &str) -> String {
    let (before_fragment, fragment) = match raw.find('#') {
        Some(at) => raw.split_at(at),
        None => (raw, ""),
    };
    let (mut rest, query) = match before_fragment.find('?') {
        Some(at) => (&before_fragment[..at], Some(())),
        None => (before_fragment, None),
    };
    let mut out = String::with_capacity(raw.len());
    if let Some(at) = rest.find("://") {
        out.push_str(&rest[..at + 3]);
        rest = &rest[at + 3..];
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str("[redacted]@");
            out.push_str(&authority[at + 1..]);
        }
        None => out.push_str(authority),
    }
    out.push_str(path);
    if query.is_some() {
        out.push_str("?[redacted]");
    }
    if !fragment.is_empty() {
        out.push_str("#[redacted]");
    }
    out
}

pub(crate) fn truncate_body(body: &[u8]) -> String {
    const LIMIT: usize = 2048;
    let text = String::from_utf8_lossy(body);
    if text.len() <= LIMIT {
        return text.into_owned();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], body.len())
}

/// The human part of an error body: `{"error": "..."}`, `{"message": "..."}`, or the text.
pub(crate) fn server_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Shape {
        error: Option<serde_json::Value>,
        message: Option<serde_json::Value>,
        errors: Option<serde_json::Value>,
    }
    if let Ok(shape) = serde_json::from_slice::<Shape>(body) {
        let picked = shape.error.or(shape.message).or(shape.errors);
        match picked {
            Some(serde_json::Value::String(s)) => return s,
            Some(other) => return other.to_string(),
            None => {}
        }
    }
    truncate_body(body).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, message: &str) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).expect("valid status"),
            endpoint: "batch/events".into(),
            message: message.into(),
            body: String::new(),
            retry_after: Some(Duration::from_secs(7)),
        }
    }

    #[test]
    fn messages_tell_the_user_what_to_do() {
        let unauthorized = api(401, "Unauthorized").to_string();
        assert!(unauthorized.contains("BENTO_SECRET_KEY"), "{unauthorized}");
        assert!(api(403, "BLOCKED").to_string().contains("User-Agent"));
        assert!(api(429, "").to_string().contains("retry after 7s"));
        assert!(api(503, "down").to_string().ends_with("Server said: down"));
    }

    #[test]
    fn an_address_bento_echoes_is_masked_in_the_message_and_kept_in_the_field() {
        let error = ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            endpoint: "batch/events".to_owned(),
            message: "events[0].email `ada@example.com` is not valid".to_owned(),
            body: String::new(),
            retry_after: None,
        };
        let shown = error.to_string();
        assert!(
            shown.contains("events[0].email `<email>` is not valid"),
            "{shown}"
        );
        assert!(!shown.contains("ada@example.com"), "{shown}");
        assert!(error.message.contains("ada@example.com"));
    }

    #[test]
    fn server_message_prefers_json_error_member() {
        assert_eq!(server_message(br#"{"error":"bad email"}"#), "bad email");
        assert_eq!(server_message(br#"{"message":"gone"}"#), "gone");
        assert_eq!(server_message(b"BLOCKED\n"), "BLOCKED");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let long = "é".repeat(3000);
        let cut = truncate_body(long.as_bytes());
        assert!(cut.contains("bytes in all"));
    }

    #[test]
    fn urls_are_redacted_for_messages() {
        assert_eq!(
            redact_url("https://pk:SECRET@app.bentonow.com/api/v1?key=SECRET#x"),
            "https://[redacted]@app.bentonow.com/api/v1?[redacted]#[redacted]"
        );
        assert_eq!(redact_url("https://h/api"), "https://h/api");
        assert_eq!(redact_url("pk:SECRET@h/x?y"), "[redacted]@h/x?[redacted]");
        assert!(!redact_url("ftp://user:SECRET@@host?SECRET").contains("SECRET"));
    }

    #[test]
    fn retryability() {
        assert!(Error::Api(api(503, "")).is_retryable());
        assert!(!Error::Api(api(400, "")).is_retryable());
        let partial = Error::PartialBatch {
            accepted: 1000,
            total: 1500,
            source: Box::new(Error::Api(api(429, ""))),
        };
        assert!(partial.is_retryable());
        assert_eq!(partial.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    }
}
