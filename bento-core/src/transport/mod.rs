//! One API call on the wire: URL and auth, pacing, timeout, retries, and the
//! mapping of every way a request can end onto [`Error`].

mod api;
pub(crate) mod dry_run;
pub(crate) mod retry;
pub(crate) mod telemetry;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, header};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

pub(crate) use self::api::Api;
use self::retry::{Decision, Outcome, Replay, decide, parse_retry_after};
use crate::error::{ApiError, ConfigError, Error, TransportError, server_message, truncate_body};
use crate::rate_limit::EndpointFamily;
use crate::rate_limit::slot::Ended;
use tracing::Instrument;

/// Builds an HTTP client for Bento: no redirects (Bento's API never
/// redirects, and following one would re-send personal data elsewhere), and
/// with rustls, a TLS configuration of its own with the `ring` provider, so the
/// process-wide default provider is never touched: an application is free to
/// install aws-lc-rs, a FIPS provider or none.
pub(crate) fn http_client(
    user_agent: &str,
    connect_timeout: Duration,
) -> Result<reqwest::Client, ConfigError> {
    let builder = reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(50))
        .redirect(reqwest::redirect::Policy::none());
    #[cfg(feature = "rustls")]
    let builder = builder.tls_backend_preconfigured(tls_config()?);
    builder
        .build()
        .map_err(|e| ConfigError::Http(e.to_string()))
}

/// rustls with the `ring` provider and the platform's certificate verifier
/// (the same verifier reqwest uses by default).
#[cfg(feature = "rustls")]
fn tls_config() -> Result<rustls::ClientConfig, ConfigError> {
    use std::sync::Arc;
    // rustls 0.23.48 deprecates ring's provider for lacking post-quantum key
    // exchange (aws-lc-rs has it, but needs a C toolchain and cmake to
    // build). ring stays the default for a build that works anywhere; an
    // application that wants post-quantum TLS picks `native-tls` or its own
    // stack (the crate docs' feature table says so).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
        .map_err(|e| ConfigError::Http(format!("TLS certificate verifier: {e}")))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Http(format!("TLS protocol versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = if cfg!(feature = "http2") {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// How much of an error answer (4xx, 5xx, 3xx) is read: enough for any
/// message, and the status alone already says what happened.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// A request to one API path, relative to the base URL (`batch/events`).
#[derive(Debug)]
pub(crate) struct ApiRequest<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'a str,
    /// The path with ids replaced (`fetch/tags/{id}`), for spans; `None`
    /// when the path has none.
    pub(crate) template: Option<&'static str>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Bytes>,
    pub(crate) replay: Replay,
}

impl<'a> ApiRequest<'a> {
    pub(crate) fn get(path: &'a str) -> Self {
        Self {
            method: Method::GET,
            path,
            template: None,
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

    /// The path's template, when it holds an id: `fetch/tags/{id}`.
    pub(crate) fn template(mut self, template: &'static str) -> Self {
        self.template = Some(template);
        self
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

/// A request that brought back no 2xx body: how it ended (what the retry
/// rule judges), the server's `Retry-After`, and the error to report.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) outcome: Outcome,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) error: Error,
}

impl Failed {
    /// Whether the request may have reached the server: anything but a
    /// connection that could not be made. A rate-limit slot of a request
    /// that never left is given back.
    pub(crate) fn reached_server(&self) -> bool {
        self.outcome != Outcome::Connect
    }
}

/// How a request ended, for its rate-limit slot.
pub(crate) fn slot_ended<T>(result: &Result<T, Failed>) -> Ended {
    match result {
        Ok(_) => Ended::Answered,
        Err(failed) if !failed.reached_server() => Ended::NotSent,
        Err(Failed {
            outcome: Outcome::Status(http::StatusCode::TOO_MANY_REQUESTS),
            ..
        }) => Ended::RateLimited,
        Err(_) => Ended::Answered,
    }
}

pub(crate) enum Attempt {
    Answered {
        status: http::StatusCode,
        retry_after: Option<Duration>,
        body: Bytes,
        endpoint: String,
        /// For a redirect: the host it pointed to.
        location: Option<String>,
        /// The server's clock (`Date`), for diagnostics.
        date: Option<SystemTime>,
    },
    Failed {
        outcome: Outcome,
        error: Error,
    },
}

impl Api {
    /// Sends the request (with pacing and retries) and decodes a 2xx body.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        request: ApiRequest<'_>,
    ) -> Result<T, Error> {
        let path = request.path;
        let body = self.call_raw(http, request).await?;
        serde_json::from_slice(&body).map_err(|source| Error::Decode {
            endpoint: path.to_owned(),
            body: truncate_body(&body),
            source,
        })
    }

    /// Sends the request (with pacing and retries) and returns a 2xx body as is.
    pub(crate) async fn call_raw(
        &self,
        http: &reqwest::Client,
        request: ApiRequest<'_>,
    ) -> Result<Bytes, Error> {
        let template = format!("/{}", request.template.unwrap_or(request.path));
        let span = telemetry::operation(self, &request.method, &template);
        self.call_paced(http, request).instrument(span).await
    }

    async fn call_paced(
        &self,
        http: &reqwest::Client,
        request: ApiRequest<'_>,
    ) -> Result<Bytes, Error> {
        let inner = self;
        let family = EndpointFamily::of_path(request.path);
        let mut attempts = 0u32;
        loop {
            let slot = match family {
                Some(family) => {
                    let budget = inner.budget.as_deref();
                    match inner
                        .pacer
                        .slot(family, budget, inner.retry.max_retry_after)
                        .await
                    {
                        Ok(slot) => Some(slot),
                        Err(wait) => {
                            tracing::Span::current().record("error.type", "rate_limited");
                            return Err(Error::RateLimited {
                                endpoint: request.path.to_owned(),
                                family,
                                retry_after: wait,
                            });
                        }
                    }
                }
                None => None,
            };
            attempts += 1;
            if attempts > 1 {
                tracing::Span::current().record("http.request.resend_count", attempts - 1);
            }
            let result = inner
                .attempt(http, &request, inner.timeout)
                .await
                .into_result();
            // The request ended: its slot counts for a window from now.
            if let Some(slot) = slot {
                slot.end(slot_ended(&result));
            }
            let Failed {
                outcome,
                retry_after,
                error,
            } = match result {
                Ok(body) => return Ok(body),
                Err(failed) => failed,
            };
            if let (Some(family), Some(delay)) = (family, retry_after) {
                // Every caller sharing this client holds back, not just this one.
                inner
                    .pacer
                    .defer_everywhere(family, delay, inner.budget.as_deref())
                    .await;
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
                    tracing::Span::current().record("error.type", telemetry::error_type(outcome));
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
    pub(crate) fn into_result(self) -> Result<Bytes, Failed> {
        match self {
            Attempt::Answered { status, body, .. } if status.is_success() => Ok(body),
            Attempt::Answered {
                status,
                endpoint,
                location,
                ..
            } if status.is_redirection() => {
                let error = Error::Redirected {
                    endpoint,
                    status,
                    location,
                };
                Err(Failed {
                    outcome: Outcome::Status(status),
                    retry_after: None,
                    error,
                })
            }
            Attempt::Answered {
                status,
                retry_after,
                body,
                endpoint,
                ..
            } => {
                let error = Error::Api(ApiError {
                    status,
                    endpoint,
                    message: server_message(&body),
                    body: truncate_body(&body),
                    retry_after,
                });
                Err(Failed {
                    outcome: Outcome::Status(status),
                    retry_after,
                    error,
                })
            }
            Attempt::Failed { outcome, error } => Err(Failed {
                outcome,
                retry_after: None,
                error,
            }),
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
        if inner.dry_run {
            return dry_run::answer(request);
        }
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
            // A connect timeout is both `is_connect` and `is_timeout`: nothing
            // was sent, so it is a connect failure, safe to retry.
            let (outcome, error) = if source.is_connect() {
                let error = Error::Connect {
                    endpoint: endpoint.to_owned(),
                    source: TransportError::new(source.without_url()),
                };
                (Outcome::Connect, error)
            } else if source.is_timeout() {
                let error = Error::Timeout {
                    endpoint: endpoint.to_owned(),
                    timeout,
                };
                (Outcome::Timeout, error)
            } else {
                let error = Error::Transport {
                    endpoint: endpoint.to_owned(),
                    source: TransportError::new(source.without_url()),
                };
                (Outcome::Interrupted, error)
            };
            Attempt::Failed { outcome, error }
        };
        let mut response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return transport_error(e),
        };
        let status = response.status();
        telemetry::status(status);
        let headers = response.headers();
        let retry_after = headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let date = headers
            .get(header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        let location = status
            .is_redirection()
            .then(|| headers.get(header::LOCATION).map(location_host))
            .flatten();
        let limit = if status.is_success() {
            inner.max_response_bytes
        } else {
            ERROR_BODY_LIMIT
        };
        let body = match read_capped(&mut response, limit).await {
            Err(e) => return transport_error(e),
            // A 2xx cut short is no answer; an error status says enough alone.
            Ok(Capped::Truncated(_)) if status.is_success() => {
                return Attempt::Failed {
                    outcome: Outcome::Garbled,
                    error: Error::ResponseTooLarge {
                        endpoint: endpoint.to_owned(),
                        limit,
                    },
                };
            }
            Ok(Capped::Whole(body) | Capped::Truncated(body)) => body,
        };
        Attempt::Answered {
            status,
            retry_after,
            body,
            endpoint: endpoint.to_owned(),
            location,
            date,
        }
    }
}

enum Capped {
    Whole(Bytes),
    /// The first `limit` bytes (or none, when `Content-Length` said more).
    Truncated(Bytes),
}

/// Reads a body up to `limit` bytes: `Content-Length` is checked before
/// anything is read, and reading stops at the limit, so an endless or huge
/// body costs at most `limit` bytes of memory.
async fn read_capped(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Capped, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Ok(Capped::Truncated(Bytes::new()));
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(body.len() as u64);
        if chunk.len() as u64 > room {
            body.extend_from_slice(&chunk[..room as usize]);
            return Ok(Capped::Truncated(body.freeze()));
        }
        if body.is_empty() && response.content_length() == Some(chunk.len() as u64) {
            // The whole body in one chunk: no copy.
            return Ok(Capped::Whole(chunk));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Capped::Whole(body.freeze()))
}

/// The host a redirect points to, for the error message: never the path or
/// query, which could hold personal data.
fn location_host(value: &http::HeaderValue) -> String {
    let text = String::from_utf8_lossy(value.as_bytes());
    match reqwest::Url::parse(&text) {
        Ok(url) => url.host_str().unwrap_or("an unknown host").to_owned(),
        Err(_) => "a path on the same host".to_owned(),
    }
}
