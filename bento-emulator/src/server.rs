//! The HTTP server: its own thread and runtime, an accept loop, and the
//! per-request pipeline (faults, gate, endpoint, request log).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::watch;

use crate::config::EmulatorBuilder;
use crate::faults::{Fault, FaultAction, FaultQueue};
use crate::gate::{self, Limiter};
use crate::reply::{Reply, bad, not_found};
use crate::shared::Shared;
use crate::state::{RecordedEvent, RequestRecord, SentEmail, State, StoredEvent, SubscriberRecord};

/// A running emulator. Dropping it stops the server.
///
/// ```
/// # async fn run() -> std::io::Result<()> {
/// let emulator = bento_emulator::Emulator::start().await?;
/// // point a client at emulator.base_url() with emulator.publishable_key(),
/// // emulator.secret_key() and emulator.site_uuid(), then inspect:
/// assert!(emulator.events().is_empty());
/// # Ok(()) }
/// ```
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Shell lines that point a Bento client (`Client::from_env`, the `bento`
    /// command, another language's SDK) at this emulator.
    pub fn shell_exports(&self) -> String {
        format!(
            "  export BENTO_BASE_URL={}\n  export BENTO_PUBLISHABLE_KEY={}\n  export BENTO_SECRET_KEY={}\n  export BENTO_SITE_UUID={}\n",
            self.base_url(),
            self.publishable_key(),
            self.secret_key(),
            self.site_uuid()
        )
    }

    /// Starts an emulator with default settings on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder for custom keys, limits, dialect and address.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    pub(crate) fn spawn(config: EmulatorBuilder) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(config.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers)
            .thread_name("bento-emulator")
            .enable_all()
            .build()?;
        let mut state = State::seeded();
        state.event_limit = config.keep_events;
        state.request_limit = config.keep_requests;
        let shared = Arc::new(Shared {
            limiter: Mutex::new(Limiter::new(&config)),
            config,
            state: Mutex::new(state),
            faults: Mutex::new(FaultQueue::default()),
            received: std::sync::atomic::AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("bento-emulator".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => accept_loop(listener, serving, stopped).await,
                        Err(e) => tracing::error!(error = %e, "bento-emulator could not listen"),
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API root to give a client: `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// The publishable key it accepts.
    pub fn publishable_key(&self) -> &str {
        &self.shared.config.publishable_key
    }

    /// The secret key it accepts.
    pub fn secret_key(&self) -> &str {
        &self.shared.config.secret_key
    }

    /// The site UUID it accepts.
    pub fn site_uuid(&self) -> &str {
        &self.shared.config.site_uuid
    }

    /// Scripts a failure for the next matching requests.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults().push(fault);
    }

    /// Removes every scripted failure.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Every event received, in order.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.shared
            .state()
            .events
            .iter()
            .map(StoredEvent::to_record)
            .collect()
    }

    /// Every subscriber, in creation order.
    pub fn subscribers(&self) -> Vec<SubscriberRecord> {
        let state = self.shared.state();
        state.subscribers.iter().map(|s| state.record(s)).collect()
    }

    /// One subscriber by email.
    pub fn subscriber(&self, email: &str) -> Option<SubscriberRecord> {
        let mut state = self.shared.state();
        state.run_due_deletions();
        state
            .find(email)
            .map(|index| state.record(&state.subscribers[index]))
    }

    /// Every transactional email accepted.
    pub fn emails(&self) -> Vec<SentEmail> {
        self.shared.state().emails.clone()
    }

    /// Every broadcast created, as the API lists them.
    pub fn broadcasts(&self) -> Vec<Value> {
        self.shared.state().broadcasts.clone()
    }

    /// The names of live tags.
    pub fn tags(&self) -> Vec<String> {
        let state = self.shared.state();
        state
            .tags
            .iter()
            .filter(|t| t.discarded_at.is_none())
            .map(|t| t.name.clone())
            .collect()
    }

    /// API requests that have arrived, whole, so far, counted before any
    /// injected fault or delay and before the answer: a test that needs a
    /// request in flight waits for this to grow.
    pub fn received(&self) -> u64 {
        self.shared
            .received
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every API request answered (or dropped), in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.state().requests.iter().cloned().collect()
    }

    /// Saves a segment; returns its id. Bento does not document its query
    /// language, so the emulator's is a JSON object whose members must all
    /// hold: `"tags": ["vip"]` (has every tag), `"fields": {"plan": "pro"}`
    /// (each field equal), `"subscribed": true` (or `false`); `{}` selects
    /// everyone. One segment, "Subscribed", is seeded.
    ///
    /// ```
    /// # let emulator = bento_emulator::Emulator::builder().start_blocking().unwrap();
    /// let vips = emulator.add_segment("VIPs", serde_json::json!({ "tags": ["vip"] }));
    /// # assert!(!vips.is_empty());
    /// ```
    pub fn add_segment(&self, name: &str, query: Value) -> String {
        self.shared.state().add_segment(name, query).to_string()
    }

    /// Every data deletion request received, with when each subscriber was
    /// anonymized (those due are carried out first).
    pub fn deletions(&self) -> Vec<crate::newer::DeletionRecord> {
        let mut state = self.shared.state();
        state.run_due_deletions();
        state.deletions.records.clone()
    }

    /// Every chat conversation, with its messages.
    pub fn conversations(&self) -> Vec<crate::newer::Conversation> {
        self.shared.state().chat.conversations.clone()
    }

    /// Adds a response to a form, for `GET /fetch/responses?id=form_id`.
    pub fn add_form_response(&self, form_id: impl Into<String>, data: Value) {
        self.shared
            .state()
            .form_responses
            .push((form_id.into(), data));
    }

    /// Forgets everything received and restores the seeded data.
    pub fn reset(&self) {
        self.shared.state().reset();
        self.shared.faults().clear();
        *self
            .shared
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Limiter::new(&self.shared.config);
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}

impl EmulatorBuilder {
    /// Starts the emulator.
    pub async fn start(self) -> std::io::Result<Emulator> {
        Emulator::spawn(self)
    }

    /// Starts the emulator from synchronous code.
    pub fn start_blocking(self) -> std::io::Result<Emulator> {
        Emulator::spawn(self)
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(shared.config.max_connections));
    let timeout = shared.config.header_timeout;
    loop {
        // At the cap, stop accepting: new clients wait in the listen queue
        // until a connection (slow ones time out) gives its slot back.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
            _ = stopped.changed() => return,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "bento-emulator accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { handle(shared, request).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Returned to hyper to close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let body = match Limited::new(body, shared.config.max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let reply = Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or interrupted",
            );
            return Ok(render(reply));
        }
    };
    if !raw_path.starts_with("/__emulator") {
        shared
            .received
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    if let Some(rest) = raw_path.strip_prefix("/__emulator/ui") {
        return Ok(crate::ui::handle(
            &shared,
            &parts.method,
            &parts.headers,
            rest,
            query.as_deref(),
            &body,
        ));
    }
    if let Some(rest) = raw_path.strip_prefix("/__emulator") {
        return Ok(render(crate::inspect::handle(
            &shared,
            &parts.method,
            rest,
            query.as_deref(),
            &body,
        )));
    }
    let Some(path) = raw_path
        .strip_prefix("/api/v1/")
        .map(|p| p.trim_end_matches('/').to_owned())
    else {
        return Ok(render(not_found(format!(
            "no route for {raw_path}: the API lives under /api/v1/"
        ))));
    };
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut record = RequestRecord {
        method: parts.method.to_string(),
        path: path.clone(),
        status: 0,
        user_agent,
        body_bytes: body.len(),
        items: None,
        at: crate::state::now(),
        latency_ms: 0,
        error: None,
    };

    let mut after = None;
    // Taken in its own statement so the lock is released before any await.
    let injected = shared.faults().take(&path, &body).map(Injected::from);
    match injected {
        Some(Injected::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Injected::Fail {
            answer,
            after_processing: false,
        }) => {
            record.latency_ms = started.elapsed().as_millis() as u64;
            return fail(&shared, record, answer);
        }
        Some(Injected::Fail { answer, .. }) => after = Some(answer),
        None => {}
    }
    let reply = match process(
        &shared,
        &parts.method,
        &parts.headers,
        &path,
        query.as_deref(),
        &body,
    ) {
        Ok(reply) | Err(reply) => reply,
    };
    record.items = reply.items;
    record.status = reply.status.as_u16();
    record.error = error_message(&reply);
    record.latency_ms = started.elapsed().as_millis() as u64;
    if let Some(answer) = after {
        return fail(&shared, record, answer);
    }
    shared.state().log_request(record);
    Ok(render(reply))
}

/// A fault, as the request pipeline applies it.
enum Injected {
    Delay(Duration),
    /// Answer with `answer`, or drop the connection when it is `None`.
    Fail {
        answer: Option<Reply>,
        after_processing: bool,
    },
}

impl From<FaultAction> for Injected {
    fn from(action: FaultAction) -> Self {
        match action {
            FaultAction::Delay { millis } => Injected::Delay(Duration::from_millis(millis)),
            FaultAction::Drop { after_processing } => Injected::Fail {
                answer: None,
                after_processing,
            },
            FaultAction::Status {
                status,
                retry_after,
                body,
                after_processing,
            } => Injected::Fail {
                answer: Some(fault_reply(status, retry_after, body)),
                after_processing,
            },
        }
    }
}

/// Logs the request with the injected outcome and answers (or drops) it.
fn fail(
    shared: &Shared,
    mut record: RequestRecord,
    answer: Option<Reply>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    record.status = answer.as_ref().map_or(0, |reply| reply.status.as_u16());
    record.error = match &answer {
        Some(reply) => error_message(reply),
        None => Some("connection dropped by an injected fault".to_owned()),
    };
    shared.state().log_request(record);
    answer.map(render).ok_or(DropConnection)
}

/// The message of an error answer, for the request log.
fn error_message(reply: &Reply) -> Option<String> {
    if !(reply.status.is_client_error() || reply.status.is_server_error()) {
        return None;
    }
    Some(match &reply.body {
        Value::Object(map) => map
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| reply.body.to_string(), str::to_owned),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

fn fault_reply(status: u16, retry_after: Option<u64>, body: Option<String>) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut reply = match body {
        Some(text) => Reply::new(status, Value::String(text)),
        None => Reply::error(status, format!("injected fault: {status}")),
    };
    reply.retry_after = retry_after;
    reply
}

fn process(
    shared: &Shared,
    method: &Method,
    headers: &http::HeaderMap,
    path: &str,
    query: Option<&str>,
    body: &Bytes,
) -> Result<Reply, Reply> {
    let config = &shared.config;
    gate::user_agent(headers)?;
    gate::basic_auth(headers, config)?;
    let json = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !is_json {
            return Err(bad(
                "a request body must be JSON sent with Content-Type: application/json",
            ));
        }
        if method == Method::POST
            && path == "batch/events"
            && let Some(answer) = crate::api::batch_fast_events(shared, query, body)
        {
            return answer;
        }
        Some(
            serde_json::from_slice::<Value>(body)
                .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?,
        )
    };
    gate::site_uuid(query, json.as_ref(), config)?;
    gate::admit(shared, path)?;
    let mut call = crate::api::Call {
        shared,
        method,
        path,
        query: query.unwrap_or(""),
        body: json,
    };
    crate::api::route(&mut call)
}

fn render(reply: Reply) -> Response<Full<Bytes>> {
    let (content_type, bytes) = match &reply.body {
        Value::String(text) => ("text/plain; charset=utf-8", Bytes::from(text.clone())),
        other => (
            "application/json",
            Bytes::from(serde_json::to_vec(other).unwrap_or_default()),
        ),
    };
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = reply.status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(allow) = reply
        .allow
        .as_deref()
        .and_then(|a| HeaderValue::from_str(a).ok())
    {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    if let Some(seconds) = reply.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
