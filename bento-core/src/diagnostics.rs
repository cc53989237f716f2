//! Checking a configuration against Bento: [`Client::ping`].

use std::time::{Duration, Instant, SystemTime};

use crate::client::Client;
use crate::error::Error;
use crate::rate_limit::EndpointFamily;
use crate::transport::{ApiRequest, Attempt};

/// What one authenticated round trip to Bento showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ping {
    /// The round trip's time.
    pub latency: Duration,
    /// The server's clock, from its `Date` header, when it sent one.
    pub server_time: Option<SystemTime>,
}

impl Client {
    /// Makes one authenticated request (`GET /fetch/tags`), paced but never
    /// retried, to check that Bento is reachable and accepts the keys and
    /// site UUID; returns the latency and the server's clock. Tools such as
    /// `bento doctor` use it.
    ///
    /// Errors are the usual ones: [`Error::Connect`] when the host cannot be
    /// reached, a 401 [`Error::Api`] for wrong keys or site UUID.
    pub async fn ping(&self) -> Result<Ping, Error> {
        let api = &*self.inner.api;
        let request = ApiRequest::get("fetch/tags");
        if let Err(wait) = api
            .pacer
            .acquire(EndpointFamily::Fetch, api.retry.max_retry_after)
            .await
        {
            return Err(Error::RateLimited {
                endpoint: request.path.to_owned(),
                family: EndpointFamily::Fetch,
                retry_after: wait,
            });
        }
        let started = Instant::now();
        let attempt = api.attempt(&self.inner.http, &request, api.timeout).await;
        let latency = started.elapsed();
        let server_time = match &attempt {
            Attempt::Answered { date, .. } => *date,
            Attempt::Failed { .. } => None,
        };
        attempt
            .into_result()
            .map(|_| Ping {
                latency,
                server_time,
            })
            .map_err(|failed| failed.error)
    }
}
