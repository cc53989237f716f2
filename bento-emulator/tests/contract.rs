//! The emulator enforces Bento's contract on raw HTTP requests, whatever the client.
#![allow(clippy::unwrap_used)]

use bento_emulator::{Emulator, Fault};
use serde_json::{Value, json};

fn http_client() -> reqwest::Client {
    bento_tests::install_tls();
    reqwest::Client::new()
}

struct Raw {
    emulator: Emulator,
    http: reqwest::Client,
}

impl Raw {
    async fn new() -> Self {
        let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
        Self {
            emulator,
            http: http_client(),
        }
    }

    fn url(&self, path: &str, site: bool) -> String {
        let base = format!("{}/{path}", self.emulator.base_url());
        if site {
            format!("{base}?site_uuid={}", self.emulator.site_uuid())
        } else {
            base
        }
    }

    fn post(&self, path: &str, site: bool) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path, site))
            .basic_auth(
                self.emulator.publishable_key(),
                Some(self.emulator.secret_key()),
            )
            .header("user-agent", "contract-test/1.0")
            .header("content-type", "application/json")
    }

    async fn get_json(&self, url: String) -> Value {
        let text = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.parse().unwrap()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, String) {
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

fn events(n: usize) -> String {
    let events: Vec<Value> = (0..n)
        .map(|i| json!({"type": "x", "email": format!("u{i}@example.com")}))
        .collect();
    json!({ "events": events }).to_string()
}

#[tokio::test]
async fn requires_a_user_agent() {
    let raw = Raw::new().await;
    let request = raw
        .http
        .post(raw.url("batch/events", true))
        .basic_auth(
            raw.emulator.publishable_key(),
            Some(raw.emulator.secret_key()),
        )
        .header("content-type", "application/json")
        .body(events(1));
    assert_eq!(raw.send(request).await, (403, "BLOCKED".to_owned()));
}

#[tokio::test]
async fn requires_basic_auth() {
    let raw = Raw::new().await;
    let anonymous = raw
        .http
        .get(raw.url("fetch/tags", true))
        .header("user-agent", "t/1");
    let (status, body) = raw.send(anonymous).await;
    assert_eq!(status, 401);
    assert!(body.contains("Basic auth"), "{body}");
}

#[tokio::test]
async fn site_uuid_in_query_or_body_and_401_without() {
    let raw = Raw::new().await;
    assert_eq!(
        raw.send(raw.post("batch/events", true).body(events(1)))
            .await
            .0,
        200
    );
    let in_body = json!({"site_uuid": raw.emulator.site_uuid(), "events": [{"type": "x", "email": "a@example.com"}]});
    assert_eq!(
        raw.send(raw.post("batch/events", false).body(in_body.to_string()))
            .await
            .0,
        200
    );
    let (status, body) = raw
        .send(raw.post("batch/events", false).body(events(1)))
        .await;
    assert_eq!(status, 401);
    assert!(body.contains("site_uuid is required"), "{body}");
    assert_eq!(raw.emulator.events().len(), 2);
}

#[tokio::test]
async fn malformed_bodies_are_400s_naming_the_field() {
    let raw = Raw::new().await;
    let cases = [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (r#"{"events": {}}"#, "`events` must be an array"),
        (r#"{"events": []}"#, "it is empty"),
        (
            r#"{"events": [{"type": "x"}]}"#,
            "events[0].email is required",
        ),
        (
            r#"{"events": [{"type": "x", "email": "nope"}]}"#,
            "events[0].email `nope` is not a valid email",
        ),
        (
            r#"{"events": [{"type": 3, "email": "a@b.co"}]}"#,
            "events[0].type must be a string",
        ),
        (
            r#"{"events": [{"type": "x", "email": "a@b.co", "fields": []}]}"#,
            "events[0].fields must be a JSON object",
        ),
    ];
    for (body, expected) in cases {
        let (status, text) = raw.send(raw.post("batch/events", true).body(body)).await;
        assert_eq!(status, 400, "{body}");
        assert!(text.contains(expected), "{body} -> {text}");
    }
    let plain = raw
        .http
        .post(raw.url("batch/events", true))
        .basic_auth(
            raw.emulator.publishable_key(),
            Some(raw.emulator.secret_key()),
        )
        .header("user-agent", "contract-test/1.0")
        .header("content-type", "text/plain")
        .body(events(1));
    let (status, text) = raw.send(plain).await;
    assert_eq!(status, 400);
    assert!(text.contains("Content-Type"), "{text}");
    let command = json!({"command": [{"command": "explode", "email": "a@b.co"}]}).to_string();
    let (status, text) = raw
        .send(raw.post("fetch/commands", true).body(command))
        .await;
    assert_eq!(status, 400);
    assert!(text.contains("unknown"), "{text}");
    assert!(
        raw.emulator.events().is_empty(),
        "a refused batch records nothing"
    );
}

#[tokio::test]
async fn batch_limits_are_enforced() {
    let raw = Raw::new().await;
    assert_eq!(
        raw.send(raw.post("batch/events", true).body(events(1000)))
            .await
            .0,
        200
    );
    let (status, text) = raw
        .send(raw.post("batch/events", true).body(events(1001)))
        .await;
    assert_eq!(status, 400);
    assert!(text.contains("between 1 and 1000"), "{text}");
    let emails: Vec<Value> = (0..61)
        .map(|_| json!({"to": "a@b.co", "from": "f@b.co", "subject": "s", "html_body": "h"}))
        .collect();
    let (status, text) = raw
        .send(
            raw.post("batch/emails", true)
                .body(json!({ "emails": emails }).to_string()),
        )
        .await;
    assert_eq!(
        (status, text.contains("between 1 and 60")),
        (400, true),
        "{text}"
    );
}

#[tokio::test]
async fn documented_alternative_forms_are_accepted() {
    let raw = Raw::new().await;
    // multi-query guide: flat create body and a single command object, site_uuid in the body
    let site = raw.emulator.site_uuid().to_owned();
    let create = json!({"site_uuid": site, "email": "jesse@example.com"}).to_string();
    assert_eq!(
        raw.send(raw.post("fetch/subscribers", false).body(create))
            .await
            .0,
        201
    );
    let command = json!({"site_uuid": site, "command": {"command": "add_field", "email": "jesse@example.com", "query": {"key": "name", "value": "Jesse"}}});
    assert_eq!(
        raw.send(raw.post("fetch/commands", false).body(command.to_string()))
            .await
            .0,
        200
    );
    assert_eq!(
        raw.emulator.subscriber("jesse@example.com").unwrap().fields["name"],
        "Jesse"
    );
    // the Node SDK's blacklist path
    let blacklist = raw
        .http
        .get(format!(
            "{}&domain=example.com",
            raw.url("experimental/blacklist", true)
        ))
        .basic_auth(
            raw.emulator.publishable_key(),
            Some(raw.emulator.secret_key()),
        )
        .header("user-agent", "t/1");
    assert_eq!(raw.send(blacklist).await.0, 200);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let emulator = Emulator::builder()
        .rate_limit(
            bento_emulator::Family::Stats,
            bento_emulator::Limit::new(1, std::time::Duration::from_secs(3600)),
        )
        .start()
        .await
        .unwrap();
    let http = http_client();
    let get = || {
        http.get(format!(
            "{}/stats/site?site_uuid={}",
            emulator.base_url(),
            emulator.site_uuid()
        ))
        .basic_auth(emulator.publishable_key(), Some(emulator.secret_key()))
        .header("user-agent", "t/1")
        .send()
    };
    assert_eq!(get().await.unwrap().status().as_u16(), 200);
    let limited = get().await.unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3590..=3600).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn inspection_api_lists_state_and_takes_faults() {
    let raw = Raw::new().await;
    let root = format!("http://{}/__emulator", raw.emulator.addr());
    let fault = json!({"action": {"kind": "status", "status": 503}, "times": 1});
    let response = raw
        .http
        .post(format!("{root}/faults"))
        .body(fault.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        raw.send(raw.post("batch/events", true).body(events(2)))
            .await
            .0,
        503
    );
    assert_eq!(
        raw.send(raw.post("batch/events", true).body(events(2)))
            .await
            .0,
        200
    );
    let listed = raw.get_json(format!("{root}/events")).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let one = raw
        .get_json(format!("{root}/subscribers?email=u1@example.com"))
        .await;
    assert_eq!(one["email"], "u1@example.com");
    let requests = raw.get_json(format!("{root}/requests")).await;
    let statuses: Vec<u64> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![503, 200]);
    raw.http.post(format!("{root}/reset")).send().await.unwrap();
    assert!(raw.emulator.events().is_empty());
}

#[tokio::test]
async fn garbage_never_panics_the_server() {
    let raw = Raw::new().await;
    raw.emulator
        .inject(Fault::drop_connection().after_processing());
    let _ = raw.post("batch/events", true).body(events(1)).send().await;
    let bodies = [
        "",
        "null",
        "\"x\"",
        "{\"events\": null}",
        "{\"events\": [null, 1, \"x\"]}",
        "{\"command\": [{}]}",
        "\u{0}\u{1}",
    ];
    let paths = [
        "batch/events",
        "batch/subscribers",
        "batch/emails",
        "batch/broadcasts",
        "fetch/commands",
        "fetch/subscribers",
        "fetch/tags",
        "fetch/fields",
        "fetch/search",
        "fetch/sequences/abc/emails/templates",
        "nope",
    ];
    for path in paths {
        for body in bodies {
            let (status, _) = raw.send(raw.post(path, true).body(body)).await;
            // search ignores members it does not know, so only a non-object body is wrong there
            let lenient = path == "fetch/search";
            assert!(
                status < 500 && (lenient || status >= 400),
                "{path} {body:?} -> {status}"
            );
        }
    }
    // still serving
    assert_eq!(
        raw.send(raw.post("batch/events", true).body(events(1)))
            .await
            .0,
        200
    );
    assert_eq!(raw.emulator.events().len(), 2);
}

/// Valid `/batch/events` bodies take a zero-copy path, everything else the
/// general one: both must record the same thing, and an invalid item still
/// gets its precise 400 with nothing recorded.
#[tokio::test]
async fn fast_and_general_event_paths_agree() {
    let raw = Raw::new().await;
    let body = json!({"events": [
        {"type": "a", "email": "a@b.co", "fields": {"n": 1, "nested": {"x": [1, 2]}}, "details": {"d": "é\"q"}},
        {"type": "b", "email": "b@b.co", "fields": null, "details": null, "date": "2024-05-01T12:00:00Z"},
        {"type": "c", "email": "c@b.co", "extra": true},
    ]});
    let (status, _) = raw
        .send(raw.post("batch/events", true).body(body.to_string()))
        .await;
    assert_eq!(status, 200);
    // The same events with a body-level site_uuid and a non-object `fields` on
    // one of them, so the general path must answer.
    let mut invalid = body.clone();
    invalid["events"][1]["fields"] = json!(5);
    let (status, text) = raw
        .send(raw.post("batch/events", true).body(invalid.to_string()))
        .await;
    assert_eq!(status, 400);
    assert!(text.contains("events[1].fields"), "{text}");

    let events = raw.emulator.events();
    assert_eq!(events.len(), 3, "the refused batch recorded nothing");
    assert_eq!(
        Value::Object(events[0].fields.clone()),
        json!({"n": 1, "nested": {"x": [1, 2]}})
    );
    assert_eq!(
        Value::Object(events[0].details.clone()),
        json!({"d": "é\"q"})
    );
    assert!(events[1].fields.is_empty() && events[1].details.is_empty());
    assert_eq!(events[1].date.as_deref(), Some("2024-05-01T12:00:00Z"));
    assert_eq!(events[2].event_type, "c");
    assert_eq!(raw.emulator.subscriber("a@b.co").unwrap().fields["n"], 1);
}

impl Raw {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path, true))
            .basic_auth(
                self.emulator.publishable_key(),
                Some(self.emulator.secret_key()),
            )
            .header("user-agent", "contract-test/1.0")
            .header("content-type", "application/json")
    }
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn deep_nesting_is_stored_faithfully_or_refused_never_both() {
    let raw = Raw::new().await;
    for depth in [1000, 200, 130] {
        let body = format!(
            r#"{{"events":[{{"type":"x","email":"a@example.com","details":{{"deep":{}}}}}]}}"#,
            nested(depth)
        );
        let (status, text) = raw.send(raw.post("batch/events", true).body(body)).await;
        assert_eq!(status, 400, "depth {depth}: {text}");
    }
    assert!(raw.emulator.events().is_empty(), "nothing stored");
    let body = format!(
        r#"{{"events":[{{"type":"x","email":"a@example.com","details":{{"deep":{}}}}}]}}"#,
        nested(100)
    );
    let (status, text) = raw.send(raw.post("batch/events", true).body(body)).await;
    assert_eq!(status, 200, "{text}");
    let stored = &raw.emulator.events()[0];
    let expected: Value = serde_json::from_str(&nested(100)).unwrap();
    assert_eq!(stored.details["deep"], expected, "stored faithfully");
}

#[tokio::test]
async fn event_dates_must_be_date_times() {
    let raw = Raw::new().await;
    for date in ["three years ago", "2024-05-01", "2024-13-01T00:00:00Z"] {
        let body = json!({"events": [{"type": "x", "email": "a@example.com", "date": date}]});
        let (status, text) = raw
            .send(raw.post("batch/events", true).body(body.to_string()))
            .await;
        assert_eq!(status, 400, "{date}: {text}");
        assert!(text.contains("RFC 3339"), "{text}");
    }
    let body = json!({"events": [{"type": "x", "email": "a@example.com", "date": "2024-05-01T12:00:00+02:00"}]});
    let (status, _) = raw
        .send(raw.post("batch/events", true).body(body.to_string()))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn experimental_parameters_may_come_in_the_body() {
    let raw = Raw::new().await;
    let (status, text) = raw
        .send(
            raw.post("experimental/validation", true)
                .body(json!({"email": "ada@example.com"}).to_string()),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"valid\":true"), "{text}");
    let (status, text) = raw
        .send(
            raw.post("experimental/gender", true)
                .body(json!({"name": "Ada Lovelace"}).to_string()),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("female"), "{text}");
    let (status, _) = raw
        .send(raw.post("experimental/gender", true).body("{}"))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn unsent_broadcasts_leave_absent_timestamps_out() {
    let raw = Raw::new().await;
    let body = json!({"broadcasts": [{"name": "N", "subject": "S", "content": "<p>c</p>",
        "type": "plain", "from": {"email": "f@example.com"}, "batch_size_per_hour": 10}]});
    let (status, text) = raw
        .send(raw.post("batch/broadcasts", true).body(body.to_string()))
        .await;
    assert_eq!(status, 200, "{text}");
    let attributes = &raw.emulator.broadcasts()[0]["attributes"];
    assert!(attributes.get("send_at").is_none(), "{attributes}");
    assert!(
        attributes.get("sent_final_batch_at").is_none(),
        "{attributes}"
    );
    assert!(!attributes.to_string().contains("null"), "{attributes}");
}

#[tokio::test]
async fn an_unsupported_method_is_405_with_allow() {
    let raw = Raw::new().await;
    let response = raw
        .request(reqwest::Method::DELETE, "batch/events")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response.headers()["allow"].to_str().unwrap(),
        "POST",
        "{:?}",
        response.headers()
    );
    let response = raw
        .request(reqwest::Method::PUT, "fetch/tags")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"].to_str().unwrap(), "GET, POST");
    let missing = raw
        .request(reqwest::Method::GET, "fetch/nothing")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn the_fault_api_refuses_faults_that_cannot_work() {
    let raw = Raw::new().await;
    let url = format!("http://{}/__emulator/faults", raw.emulator.addr());
    for (fault, says) in [
        (
            json!({"action": {"kind": "status", "status": 0}}),
            "status 0",
        ),
        (
            json!({"action": {"kind": "status", "status": 65535}}),
            "status 65535",
        ),
        (
            json!({"action": {"kind": "status", "status": 503}, "ratio": -5.0}),
            "ratio -5",
        ),
        (
            json!({"action": {"kind": "status", "status": 503}, "ratio": 7.0}),
            "ratio 7",
        ),
        (
            json!({"action": {"kind": "status", "status": 503}, "body_contains": ""}),
            "body_contains is empty",
        ),
        (
            json!({"action": {"kind": "status", "status": 503}, "times": 0}),
            "times is 0",
        ),
    ] {
        let (status, text) = raw.send(raw.http.post(&url).body(fault.to_string())).await;
        assert_eq!(status, 400, "{fault}: {text}");
        assert!(text.contains(says), "{text}");
    }
    let good = json!({"action": {"kind": "status", "status": 503}, "ratio": 0.5});
    let (status, _) = raw.send(raw.http.post(&url).body(good.to_string())).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn the_request_log_is_bounded() {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .keep_requests(100)
        .start()
        .await
        .unwrap();
    let raw = Raw {
        emulator,
        http: http_client(),
    };
    for n in 0..300 {
        let body = json!({"events": [{"type": "x", "email": format!("u{n}@example.com")}]});
        let (status, _) = raw
            .send(raw.post("batch/events", true).body(body.to_string()))
            .await;
        assert_eq!(status, 200);
    }
    let log = raw.emulator.requests();
    assert_eq!(log.len(), 100);
    assert_eq!(raw.emulator.events().len(), 300, "events are kept apart");
}

/// Slow and idle clients cannot hold the server: headers must arrive within
/// the timeout, and the connection cap leaves real clients waiting only
/// until slow ones are cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_idle_connections_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let emulator = Emulator::builder()
        .no_rate_limits()
        .max_connections(16)
        .header_timeout(std::time::Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let mut attackers = Vec::new();
    for n in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(emulator.addr())
            .await
            .unwrap();
        if n % 2 == 0 {
            // Headers that never end.
            let _ = stream
                .write_all(b"POST /api/v1/batch/events HTTP/1.1\r\nHost: x\r\n")
                .await;
        }
        attackers.push(stream);
    }
    let raw = Raw {
        emulator,
        http: http_client(),
    };
    let started = std::time::Instant::now();
    let (status, text) = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        raw.send(raw.post("batch/events", true).body(events(1))),
    )
    .await
    .expect("a real client gets through");
    assert_eq!(status, 200, "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The attackers that got a slot were disconnected.
    let mut closed = 0;
    for stream in &mut attackers {
        let mut buf = [0u8; 256];
        if let Ok(Ok(_)) =
            tokio::time::timeout(std::time::Duration::from_millis(50), stream.read(&mut buf)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 16, "{closed} of 40 slow connections were cut off");
}

/// Four requests the spec forbids, refused as Bento does: a
/// `batch_size_per_hour` that is not a number (a per-item failure inside
/// the 200), `personalizations: null`, an object as a custom field value,
/// and a search bound with neither `gt` nor `lt`.
#[tokio::test]
async fn what_the_spec_forbids_is_refused() {
    let raw = Raw::new().await;
    let broadcast = json!({"broadcasts": [{
        "name": "B", "subject": "S", "content": "c", "type": "plain",
        "from": {"email": "news@acme.test"}, "batch_size_per_hour": {}
    }]});
    let (status, body) = raw
        .send(
            raw.post("batch/broadcasts", true)
                .body(broadcast.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = body.parse().unwrap();
    assert_eq!(answer["failed"], 1, "{body}");
    assert!(
        answer["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("batch_size_per_hour"),
        "{body}"
    );

    let email = json!({"emails": [{
        "to": "ada@example.com", "from": "hello@acme.test", "subject": "S",
        "html_body": "<p>x</p>", "transactional": true, "personalizations": null
    }]});
    let (status, body) = raw
        .send(raw.post("batch/emails", true).body(email.to_string()))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("personalizations"), "{body}");

    let import =
        json!({"subscribers": [{"email": "ada@example.com", "address": {"city": "Paris"}}]});
    let (status, body) = raw
        .send(raw.post("batch/subscribers", true).body(import.to_string()))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("address"), "{body}");

    let search = json!({"created_at": {}});
    let (status, body) = raw
        .send(raw.post("fetch/search", true).body(search.to_string()))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("created_at"), "{body}");
    assert!(
        raw.emulator.subscriber("ada@example.com").is_none(),
        "nothing stored"
    );
}
