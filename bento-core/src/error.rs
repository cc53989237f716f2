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
    /// The request never got an answer: DNS, connect, TLS or a dropped connection.
    #[error("could not reach Bento for {endpoint}: {source}")]
    Transport {
        /// The API path, such as `batch/events`.
        endpoint: String,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
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
            Error::Transport { .. } | Error::Timeout { .. } => true,
            Error::PartialBatch { source, .. } => source.is_retryable(),
            Error::Config(_) | Error::Invalid(_) | Error::Decode { .. } => false,
        }
    }

    /// The HTTP status Bento answered with, if it answered at all.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::PartialBatch { source, .. } => source.status(),
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
    /// The server's message: the `error` member of a JSON body, else the body text.
    pub message: String,
    /// The raw body, truncated to a readable length.
    pub body: String,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Whether the same request may succeed later (408, 429, 500, 502, 503, 504).
    pub fn is_retryable(&self) -> bool {
        crate::retry::is_retryable_status(self.status)
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
            write!(f, ". Server said: {}", self.message)?;
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
        /// The URL as given.
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
}

/// Input rejected before any request was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// An email address is not syntactically valid.
    #[error(
        "{field} `{value}` is not a valid email address; expected something like person@example.com"
    )]
    InvalidEmail {
        /// Where the address was found, such as `events[3].email`.
        field: String,
        /// The address as given.
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
    /// Places a field path relative to one item under that item's path, so
    /// `tags` reported by a record becomes `subscribers[3].tags`.
    pub(crate) fn within(mut self, item: &str) -> Self {
        match &mut self {
            Self::InvalidEmail { field, .. }
            | Self::Empty { field }
            | Self::TagContainsComma { field, .. }
            | Self::InvalidDate { field, .. }
            | Self::InvalidKey { field, .. }
            | Self::Unserializable { field, .. } => {
                *field = if field.is_empty() {
                    item.to_owned()
                } else {
                    format!("{item}.{field}")
                };
            }
            Self::EmptyBatch { .. } => {}
            Self::Arguments(message) => *message = format!("{item}: {message}"),
        }
        self
    }
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
