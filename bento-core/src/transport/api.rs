//! The request context: what every request needs (base URL, keys, pacer,
//! retry policy), below the transport and the engine that use it and the
//! client handle that holds it.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::retry::RetryPolicy;
use crate::rate_limit::Pacer;

/// What any request needs, shared with the dispatcher thread (which has its
/// own connection pool) without keeping the client alive.
pub(crate) struct Api {
    pub(crate) base_url: reqwest::Url,
    pub(crate) publishable_key: String,
    pub(crate) secret_key: SecretString,
    pub(crate) site_uuid: String,
    pub(crate) user_agent: String,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) pacer: Arc<Pacer>,
    pub(crate) events_per_request: usize,
    pub(crate) max_response_bytes: u64,
    /// Nothing is sent: batches are shown and answered locally
    /// ([`dry_run`](super::dry_run)).
    pub(crate) dry_run: bool,
    /// A budget direct calls share with other processes, when configured.
    pub(crate) budget: Option<Arc<dyn crate::rate_limit::budget::RateBudget>>,
}
