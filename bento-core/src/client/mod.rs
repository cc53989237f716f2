//! The [`Client`] handle.

use std::fmt;
use std::sync::Arc;

mod delivery;
mod erasure;
pub use erasure::{EraseError, Erasure};
mod plan;

use crate::config::{ClientBuilder, redact};
use crate::delivery::Dispatcher;
use crate::error::{ConfigError, Error};
use crate::transport::{Api, ApiRequest};

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
    /// The tracking plan items are checked against, when there is one.
    pub(crate) plan: Option<Arc<bento_plan::Plan>>,
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
    /// Sends the request (with pacing and retries) and decodes a 2xx body.
    pub(crate) async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: ApiRequest<'_>,
    ) -> Result<T, Error> {
        self.inner.api.call(&self.inner.http, request).await
    }

    /// Sends the request (with pacing and retries) and returns a 2xx body as is.
    pub(crate) async fn call_raw(&self, request: ApiRequest<'_>) -> Result<bytes::Bytes, Error> {
        self.inner.api.call_raw(&self.inner.http, request).await
    }

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
    pub fn base_url(&self) -> &str {
        self.inner.api.base_url.as_str()
    }

    /// The User-Agent sent with every request.
    pub fn user_agent(&self) -> &str {
        &self.inner.api.user_agent
    }

    /// The site UUID sent with every request.
    pub fn site_uuid(&self) -> &str {
        &self.inner.api.site_uuid
    }

    /// Whether this client sends nothing
    /// ([`ClientBuilder::dry_run`](crate::ClientBuilder::dry_run)).
    pub fn is_dry_run(&self) -> bool {
        self.inner.api.dry_run
    }
}

impl crate::DeliveryFailure {
    /// The client whose engine gave up, while any handle on it is alive: to
    /// requeue items with [`Client::enqueue`](crate::Client::enqueue).
    ///
    /// Use this instead of capturing a `Client` in the hook: a hook that owns
    /// a `Client` keeps it alive, so dropping your last handle would never
    /// drain the queue. Do not keep the returned client past the hook call.
    ///
    /// ```
    /// let builder = bento_core::Client::builder().on_delivery_failure(|failure| {
    ///     if let bento_core::FailureReason::Api(error) = &failure.reason {
    ///         if error.is_retryable() {
    ///             if let Some(client) = failure.client() {
    ///                 for item in failure.items.iter().cloned() {
    ///                     let _ = client.enqueue(item); // handed back again if the queue is full
    ///                 }
    ///             }
    ///         }
    ///     }
    /// });
    /// # let _ = builder;
    /// ```
    pub fn client(&self) -> Option<Client> {
        let owner = self.client.upgrade()?;
        let inner = owner.downcast::<Inner>().ok()?;
        Some(Client { inner })
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
