//! One API call on the wire: URL and auth, pacing, timeout, retries, and the
//! mapping of every way a request can end onto [`Error`].

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, header};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use crate::client::{Api, Client};
use crate::error::{ApiError, ConfigError, Error, server_message, truncate_body};
use crate::rate_limit::EndpointFamily;
use crate::retry::{Decision, Outcome, Replay, decide, parse_retry_after};

/// Builds the shared HTTP client. Installs the `ring` provider for rustls first,
/// because reqwest's `rustls-no-provider` build panics without one.
pub(crate) fn http_client(
    user_agent: &str,
    connect_timeout: Duration,
) -> Result<reqwest::Client, ConfigError> {
    #[cfg(feature = "rustls")]
    {
        // Fails harmlessly when the application already installed a provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(50))
        .build()
        .map_err(|e| ConfigError::Http(e.to_string()))
}

/// A request to one API path, relative to the base URL (`batch/events`).
#[derive(Debug)]
pub(crate) struct ApiRequest<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'a str,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Bytes>,
    pub(crate) replay: Replay,
}

impl<'a> ApiRequest<'a> {
    pub(crate) fn get(path: &'a str) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            replay: Replay::Safe,
        }
    }

    pub(crate) fn post(path: &'a str) -> Self {
        Self {
            method: Method::POST,
            ..Self::get(path)
        }
    }

    pub(crate) fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|source| Error::Decode {
            endpoint: self.path.to_owned(),
            body: "<request body could not be serialized>".into(),
            source,
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// A JSON body that is already encoded.
    pub(crate) fn json_bytes(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    pub(crate) fn at_most_once(mut self) -> Self {
        self.replay = Replay::AtMostOnce;
        self
    }
}

pub(crate) enum Attempt {
    Answered {
        status: http::StatusCode,
        retry_after: Option<Duration>,
        body: Bytes,
        endpoint: String,
    },
    Failed {
        outcome: Outcome,
        error: Error,
    },
}

impl Client {
    /// Sends the request (with pacing and retries) and decodes a 2xx body.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        request: ApiRequest<'_>,
    ) -> Result<T, Error> {
        let path = request.path;
        let body = self.call_raw(request).await?;
        serde_json::from_slice(&body).map_err(|source| Error::Decode {
            endpoint: path.to_owned(),
            body: truncate_body(&body),
            source,
        })
    }

    /// Sends the request (with pacing and retries) and returns a 2xx body as is.
    pub(crate) async fn call_raw(&self, request: ApiRequest<'_>) -> Result<Bytes, Error> {
        let inner = &*self.inner.api;
        let http = &self.inner.http;
        let family = EndpointFamily::of_path(request.path);
        let mut attempts = 0u32;
        loop {
            if let Some(family) = family {
                inner.pacer.acquire(family).await;
            }
            attempts += 1;
            let (outcome, retry_after, error) = match inner
                .attempt(http, &request, inner.timeout)
                .await
                .into_result()
            {
                Ok(body) => return Ok(body),
                Err(failure) => failure,
            };
            if let (Some(family), Some(delay)) = (family, retry_after) {
                // Every caller sharing this client holds back, not just this one.
                inner.pacer.defer(family, delay);
            }
            match decide(
                &inner.retry,
                outcome,
                attempts,
                retry_after,
                request.replay,
                fastrand::f64(),
            ) {
                Decision::GiveUp => {
                    if attempts > 1 {
                        tracing::warn!(endpoint = request.path, attempts, error = %error, "Bento request failed");
                    }
                    return Err(error);
                }
                Decision::Retry(delay) => {
                    tracing::debug!(
                        endpoint = request.path,
                        attempt = attempts,
                        delay_ms = delay.as_millis() as u64,
                        error = %error,
                        "retrying Bento request"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

impl Attempt {
    /// The 2xx body, or what went wrong: the outcome the retry decision
    /// needs, the server's `Retry-After`, and the error to report.
    pub(crate) fn into_result(self) -> Result<Bytes, (Outcome, Option<Duration>, Error)> {
        match self {
            Attempt::Answered { status, body, .. } if status.is_success() => Ok(body),
            Attempt::Answered {
                status,
                retry_after,
                body,
                endpoint,
            } => {
                let error = Error::Api(ApiError {
                    status,
                    endpoint,
                    message: server_message(&body),
                    body: truncate_body(&body),
                    retry_after,
                });
                Err((Outcome::Status(status), retry_after, error))
            }
            Attempt::Failed { outcome, error } => Err((outcome, None, error)),
        }
    }
}

impl Api {
    /// One attempt, no pacing and no retry: those are the caller's.
    pub(crate) async fn attempt(
        &self,
        http: &reqwest::Client,
        request: &ApiRequest<'_>,
        timeout: Duration,
    ) -> Attempt {
        let inner = self;
        let endpoint = request.path;
        let mut url = match inner.base_url.join(endpoint) {
            Ok(url) => url,
            Err(e) => {
                return Attempt::Failed {
                    outcome: Outcome::Status(http::StatusCode::BAD_REQUEST),
                    error: Error::Config(ConfigError::BaseUrl {
                        url: endpoint.to_owned(),
                        reason: e.to_string(),
                    }),
                };
            }
        };
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("site_uuid", &inner.site_uuid);
            for (key, value) in &request.query {
                pairs.append_pair(key, value);
            }
        }
        let mut builder = http
            .request(request.method.clone(), url)
            .basic_auth(
                &inner.publishable_key,
                Some(inner.secret_key.expose_secret()),
            )
            .header(header::ACCEPT, "application/json")
            .timeout(timeout);
        if let Some(body) = &request.body {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let transport_error = |source: reqwest::Error| {
            let outcome = if source.is_timeout() {
                Outcome::Timeout
            } else if source.is_connect() {
                Outcome::Connect
            } else {
                Outcome::Interrupted
            };
            let error = if source.is_timeout() {
                Error::Timeout {
                    endpoint: endpoint.to_owned(),
                    timeout,
                }
            } else {
                Error::Transport {
                    endpoint: endpoint.to_owned(),
                    source: source.without_url(),
                }
            };
            Attempt::Failed { outcome, error }
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return transport_error(e),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        match response.bytes().await {
            Ok(body) => Attempt::Answered {
                status,
                retry_after,
                body,
                endpoint: endpoint.to_owned(),
            },
            Err(e) => transport_error(e),
        }
    }
}
