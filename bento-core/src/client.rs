//! The [`Client`] handle.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::config::{ClientBuilder, redact};
use crate::dispatch::Dispatcher;
use crate::error::ConfigError;
use crate::transport::rate_limit::Pacer;
use crate::transport::retry::RetryPolicy;

/// An async client for the Bento API.
///
/// Cheap to clone (an [`Arc`] inside) and `Send + Sync`: build one at start-up
/// and share it. Clones share the connection pool and the rate-limit pacer.
///
/// Each API operation is one method, documented in its module:
/// [`events`](crate::events), [`subscribers`](crate::subscribers),
/// [`commands`](crate::commands), [`emails`](crate::emails), [`tags`](crate::tags),
/// [`fields`](crate::fields), [`broadcasts`](crate::broadcasts), [`stats`](crate::stats),
/// [`experimental`](crate::experimental), [`forms`](crate::forms),
/// [`sequences`](crate::sequences), [`templates`](crate::templates) and
/// [`workflows`](crate::workflows).
///
/// ```no_run
/// # async fn run() -> Result<(), bento_core::Error> {
/// use bento_core::{Client, Event};
///
/// let client = Client::from_env()?;
/// client
///     .track_now(&Event::new("account.signup", "ada@example.com").field("first_name", "Ada"))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The connection pool of direct calls, bound to the caller's runtime.
    pub(crate) http: reqwest::Client,
    pub(crate) api: Arc<Api>,
    /// The background delivery engine, started by the first `track`.
    pub(crate) dispatcher: Dispatcher,
}

/// What any request needs, shared with the dispatcher thread (which has its
/// own connection pool) without keeping the [`Client`] alive.
pub(crate) struct Api {
    pub(crate) base_url: reqwest::Url,
    pub(crate) publishable_key: String,
    pub(crate) secret_key: SecretString,
    pub(crate) site_uuid: String,
    pub(crate) user_agent: String,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) pacer: Pacer,
    pub(crate) events_per_request: usize,
    pub(crate) max_response_bytes: u64,
    /// A budget direct calls share with other processes, when configured.
    pub(crate) budget: Option<Arc<dyn crate::budget::RateBudget>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner.api;
        f.debug_struct("Client")
            .field("base_url", &inner.base_url.as_str())
            .field("publishable_key", &redact(&inner.publishable_key))
            .field("secret_key", &"[redacted]")
            .field("site_uuid", &inner.site_uuid)
            .field("user_agent", &inner.user_agent)
            .field("timeout", &inner.timeout)
            .field("retry", &inner.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for a client with custom settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `BENTO_PUBLISHABLE_KEY`, `BENTO_SECRET_KEY`,
    /// `BENTO_SITE_UUID` and optionally `BENTO_BASE_URL`.
    ///
    /// A missing variable is a [`ConfigError::MissingEnv`] naming it.
    pub fn from_env() -> Result<Self, ConfigError> {
        ClientBuilder::from_env()?.build()
    }

    /// The API root requests go to, ending in `/`.
    pub fn base_url(&self) -> &reqwest::Url {
        &self.inner.api.base_url
    }

    /// The User-Agent sent with every request.
    pub fn user_agent(&self) -> &str {
        &self.inner.api.user_agent
    }

    /// The site UUID sent with every request.
    pub fn site_uuid(&self) -> &str {
        &self.inner.api.site_uuid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn client_is_shareable() {
        assert_send_sync::<Client>();
    }
}
