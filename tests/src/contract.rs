//! The contract check: every request a client sends and every answer the
//! emulator gives, judged against Bento's published OpenAPI specs
//! (`../shared/bento-api/openapi-2026-08-22.yaml`, and the older
//! `openapi.yaml` for the older forms it still documents).
//!
//! [`ContractProxy`] sits between a client and an emulator on loopback. It
//! forwards each exchange and checks it on the way: a request the spec does
//! not allow is answered 400 `{"error": "contract: ..."}` without reaching
//! the emulator, and an answer that breaks the spec is replaced by the same,
//! so the test that caused it fails where it happened; every violation is
//! also kept ([`ContractProxy::violations`]) and printed.
//!
//! A request or answer passes when either spec allows it (the sources
//! disagree, and the SDK accepts both forms). Answers with a status the
//! operation does not list are Bento's generic errors: a JSON body must then
//! be `{"error": string}`. Operations in neither spec are listed in
//! [`UNSPECIFIED`] with where they are documented.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Operations no OpenAPI spec describes, and where they are documented.
pub const UNSPECIFIED: &[(&str, &str, &str)] = &[(
    "GET",
    "fetch/responses",
    "form responses: docs/developer-api-cheatsheet.md",
)];

/// One of Bento's specs, its schemas in JSON Schema terms.
#[derive(Debug)]
struct Document {
    name: &'static str,
    spec: Value,
    /// Compiled schemas, by their JSON pointer in the spec.
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// Bento's specs, newest first.
#[derive(Debug)]
pub struct Spec {
    documents: Vec<Document>,
}

/// An exchange the proxy saw.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET`, `POST`...
    pub method: String,
    /// The path after `/api/v1/`.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The request body.
    pub request: Bytes,
    /// The status answered.
    pub status: u16,
    /// The answer's body.
    pub answer: Bytes,
}

/// The directory of Bento's API contract: `BENTO_API_CONTRACT`, or
/// `../shared/bento-api` beside the workspace (where CI puts it).
pub fn contract_dir() -> PathBuf {
    std::env::var_os("BENTO_API_CONTRACT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bento-api"),
        PathBuf::from,
    )
}

impl Spec {
    /// The specs, read once per process.
    pub fn get() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| {
            let dir = contract_dir();
            let load = |name: &'static str| {
                let path = dir.join(name);
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                    panic!(
                        "Bento's API contract is not at {}: {e}. Check the workspace out beside \
                         `../shared`, or set BENTO_API_CONTRACT to the folder of the OpenAPI specs",
                        path.display()
                    )
                });
                let yaml: Value = serde_norway::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                Document {
                    name,
                    spec: to_json_schema(yaml),
                    compiled: Mutex::default(),
                }
            };
            Spec {
                documents: vec![load("openapi-2026-08-22.yaml"), load("openapi.yaml")],
            }
        })
    }

    /// How many operations the newest spec lists.
    pub fn operations(&self) -> usize {
        self.documents[0].spec["paths"]
            .as_object()
            .map_or(0, |paths| {
                paths
                    .values()
                    .filter_map(Value::as_object)
                    .map(|ops| {
                        ops.keys()
                            .filter(|m| {
                                ["get", "post", "put", "patch", "delete"].contains(&m.as_str())
                            })
                            .count()
                    })
                    .sum()
            })
    }

    /// Whether the request of `exchange` is one some spec allows.
    pub fn check_request(&self, exchange: &Exchange) -> Result<(), String> {
        self.either(exchange, Document::check_request)
    }

    /// Whether the answer of `exchange` is one some spec allows.
    pub fn check_answer(&self, exchange: &Exchange) -> Result<(), String> {
        self.either(exchange, Document::check_answer)
    }

    fn either(
        &self,
        exchange: &Exchange,
        check: impl Fn(&Document, &str, &Exchange) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut why = Vec::new();
        for document in &self.documents {
            let Some(pointer) = document.operation(&exchange.method, &exchange.path) else {
                continue;
            };
            match check(document, &pointer, exchange) {
                Ok(()) => return Ok(()),
                Err(error) => why.push(format!("{}: {error}", document.name)),
            }
        }
        if why.is_empty() {
            if UNSPECIFIED
                .iter()
                .any(|&(m, p, _)| m == exchange.method && p == exchange.path)
            {
                return Ok(());
            }
            return Err(format!(
                "{} /api/v1/{} is in no spec",
                exchange.method, exchange.path
            ));
        }
        Err(why.join("; "))
    }
}

impl Document {
    /// The JSON pointer of the operation for `method` on `path` (after
    /// `/api/v1/`), matching `{param}` segments.
    fn operation(&self, method: &str, path: &str) -> Option<String> {
        let paths = self.spec["paths"].as_object()?;
        let wanted: Vec<&str> = path.split('/').collect();
        let method = method.to_ascii_lowercase();
        let mut found = None;
        for (template, item) in paths {
            let Some(template_path) = template.strip_prefix("/api/v1/") else {
                continue;
            };
            let segments: Vec<&str> = template_path.split('/').collect();
            if segments.len() != wanted.len() || item.get(&method).is_none() {
                continue;
            }
            let mut literal = 0;
            let matches = segments.iter().zip(&wanted).all(|(t, w)| {
                if t.starts_with('{') {
                    !w.is_empty()
                } else {
                    literal += 1;
                    t == w
                }
            });
            // The most literal template wins (`by_email` over `{id}`).
            if matches && found.as_ref().is_none_or(|&(_, l)| literal > l) {
                found = Some((template.clone(), literal));
            }
        }
        found.map(|(template, _)| {
            format!(
                "/paths/{}/{method}",
                template.replace('~', "~0").replace('/', "~1")
            )
        })
    }

    fn check_request(&self, pointer: &str, exchange: &Exchange) -> Result<(), String> {
        let operation = &self.spec.pointer(pointer).expect("the operation");
        let query = parse_query(exchange.query.as_deref());
        let body: Option<Value> = if exchange.request.is_empty() {
            None
        } else {
            Some(
                serde_json::from_slice(&exchange.request)
                    .map_err(|e| format!("the request body is not JSON: {e}"))?,
            )
        };
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] != "query" {
                continue;
            }
            let name = parameter["name"].as_str().unwrap_or_default();
            let in_body = body.as_ref().and_then(|b| b.get(name)).is_some();
            match query.get(name) {
                None if parameter["required"] == true && !in_body => {
                    return Err(format!("the required query parameter `{name}` is missing"));
                }
                Some(value) => {
                    let schema = &parameter["schema"];
                    if let Some(allowed) = schema["enum"].as_array()
                        && !allowed.iter().any(|a| a.as_str() == Some(value))
                    {
                        return Err(format!(
                            "query parameter `{name}={value}` is not one of {allowed:?}"
                        ));
                    }
                    if schema["type"] == "integer" && value.parse::<i64>().is_err() {
                        return Err(format!(
                            "query parameter `{name}={value}` is not an integer"
                        ));
                    }
                }
                None => {}
            }
        }
        let request_body = &operation["requestBody"];
        match (&body, request_body.is_object()) {
            (None, true) if request_body["required"] == true => {
                Err("the operation requires a JSON body".into())
            }
            (Some(body), true) => {
                let schema = format!("{pointer}/requestBody/content/application~1json/schema");
                if self.spec.pointer(&schema).is_none() {
                    return Ok(());
                }
                self.validate(&schema, body)
                    .map_err(|e| format!("request body: {e}"))
            }
            _ => Ok(()),
        }
    }

    fn check_answer(&self, pointer: &str, exchange: &Exchange) -> Result<(), String> {
        let operation = &self.spec.pointer(pointer).expect("the operation");
        let status = exchange.status.to_string();
        let body: Option<Value> = serde_json::from_slice(&exchange.answer).ok();
        if operation["responses"].get(&status).is_none() {
            if (200..300).contains(&exchange.status) {
                return Err(format!("status {status} is not documented"));
            }
            // Bento's generic errors (401, 403, 404, 429, 5xx): `{"error"}`,
            // or Cloudflare's "BLOCKED" for a 403.
            return match &body {
                Some(Value::Object(map)) if map.get("error").is_some_and(Value::is_string) => {
                    Ok(())
                }
                Some(Value::String(_)) if exchange.status == 403 => Ok(()),
                None if exchange.answer.is_empty() => Ok(()),
                _ => Err(format!(
                    "the undocumented error {status} is not {{\"error\": string}}"
                )),
            };
        }
        let schema = format!("{pointer}/responses/{status}/content/application~1json/schema");
        if self.spec.pointer(&schema).is_none() {
            return Ok(());
        }
        let body = body.ok_or_else(|| format!("the {status} answer is not JSON"))?;
        self.validate(&schema, &body)
            .map_err(|e| format!("{status} answer: {e}"))
    }

    /// Validates `value` against the schema at `pointer`, whose `$ref`s
    /// point into this document.
    fn validate(&self, pointer: &str, value: &Value) -> Result<(), String> {
        let validator = {
            let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
            match compiled.get(pointer) {
                Some(validator) => Arc::clone(validator),
                None => {
                    let mut root = self.spec.pointer(pointer).cloned().unwrap_or(Value::Null);
                    if let Value::Object(map) = &mut root {
                        map.insert("components".into(), self.spec["components"].clone());
                    }
                    let validator = jsonschema::draft4::options()
                        .should_validate_formats(true)
                        .build(&root)
                        .map_err(|e| format!("the spec's schema at {pointer}: {e}"))?;
                    let validator = Arc::new(validator);
                    compiled.insert(pointer.to_owned(), Arc::clone(&validator));
                    validator
                }
            }
        };
        let errors: Vec<String> = validator
            .iter_errors(value)
            .take(3)
            .map(|e| format!("{} (at {})", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// OpenAPI 3.0's schema forms in JSON Schema terms: `nullable: true` allows
/// `null`.
fn to_json_schema(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut map: serde_json::Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (k, to_json_schema(v)))
                .collect();
            if map.remove("nullable") == Some(Value::Bool(true)) {
                json!({ "anyOf": [Value::Object(map), { "type": "null" }] })
            } else {
                Value::Object(map)
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(to_json_schema).collect()),
        other => other,
    }
}

fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// A proxy that checks every exchange against the [`Spec`]; it stops when
/// dropped.
#[derive(Debug)]
pub struct ContractProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    /// The upstream's base URL (the emulator's `/api/v1/`).
    upstream: reqwest::Url,
    /// Whether a violation is answered 400 (else only recorded).
    enforce: bool,
    http: reqwest::Client,
    exchanges: Mutex<Vec<Exchange>>,
    violations: Mutex<Vec<String>>,
}

impl ContractProxy {
    /// Forwards to `upstream` (an emulator's base URL), answering 400 to
    /// an exchange that breaks the spec.
    pub async fn start(upstream: &str) -> Self {
        Self::serve(upstream, true).await
    }

    /// Forwards to `upstream` and records what breaks the spec without
    /// changing any answer: for clients that are not ours (the official
    /// SDKs), whose requests are theirs to answer for.
    pub async fn observe(upstream: &str) -> Self {
        Self::serve(upstream, false).await
    }

    async fn serve(upstream: &str, enforce: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the contract proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        crate::install_tls();
        let shared = Arc::new(Shared {
            upstream: reqwest::Url::parse(upstream).expect("the upstream's base URL"),
            enforce,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("the proxy's HTTP client"),
            exchanges: Mutex::default(),
            violations: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// The base URL to give a client: the upstream's, on the proxy.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.upstream.path())
    }

    /// Every exchange so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.shared.exchanges).clone()
    }

    /// Every violation so far.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }

    /// The operations of the newest spec the exchanges so far reached, as
    /// `METHOD /api/v1/template`.
    pub fn operations_seen(&self) -> std::collections::BTreeSet<String> {
        let newest = &Spec::get().documents[0];
        self.exchanges()
            .iter()
            .filter_map(|e| {
                let pointer = newest.operation(&e.method, &e.path)?;
                let template = pointer
                    .trim_start_matches("/paths/")
                    .rsplit_once('/')?
                    .0
                    .replace("~1", "/")
                    .replace("~0", "~");
                Some(format!("{} {template}", e.method))
            })
            .collect()
    }
}

impl Drop for ContractProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(request_body) = axum::body::to_bytes(body, 64 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let full_path = parts.uri.path().to_owned();
    let path = full_path
        .split_once("/api/v1/")
        .map_or(full_path.as_str(), |(_, p)| p)
        // `…/api/v1//batch/events` (a base URL ending in `/`) is the same path.
        .trim_start_matches('/')
        .to_owned();
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_owned),
        request: request_body.clone(),
        status: 0,
        answer: Bytes::new(),
    };
    let spec = Spec::get();
    if let Err(why) = spec.check_request(&exchange) {
        let refused = violation(&shared, &exchange, "request", why);
        if shared.enforce {
            return refused;
        }
    }
    // The same path and query, on the upstream's host.
    let mut url = shared.upstream.clone();
    url.set_path(&full_path);
    url.set_query(exchange.query.as_deref());
    let method = Method::from_bytes(parts.method.as_str().as_bytes()).unwrap_or(Method::GET);
    let mut upstream = shared.http.request(method, url).body(request_body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(error) => {
            return (StatusCode::BAD_GATEWAY, format!("contract proxy: {error}")).into_response();
        }
    };
    let status = answer.status();
    let headers: HeaderMap = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_default();
    exchange.status = status.as_u16();
    exchange.answer = body.clone();
    if let Err(why) = spec.check_answer(&exchange) {
        let refused = violation(&shared, &exchange, "answer", why);
        if shared.enforce {
            return refused;
        }
    } else {
        lock(&shared.exchanges).push(exchange);
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::OK);
    for (name, value) in &headers {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

fn violation(shared: &Shared, exchange: &Exchange, what: &str, why: String) -> Response {
    let message = format!(
        "contract: the {what} of {} /api/v1/{} breaks the spec: {why}",
        exchange.method, exchange.path
    );
    eprintln!("{message}");
    lock(&shared.violations).push(message.clone());
    lock(&shared.exchanges).push(exchange.clone());
    let mut response = Response::new(Body::from(json!({ "error": message }).to_string()));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
