//! Tracing spans: one per API operation and one per delivery batch, with
//! OpenTelemetry's HTTP client attributes, and never personal data or keys.
//! Its own test binary, since it installs a process-wide subscriber.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bento_core::Event;
use bento_emulator::Emulator;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;
type SharedFields = Arc<Mutex<Fields>>;

/// Every span (name and fields, as finally recorded) and every event's fields.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<(String, SharedFields)>>>,
    events: Arc<Mutex<Vec<Fields>>>,
}

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Collect(&mut fields));
        fields.insert("level".to_owned(), attrs.metadata().level().to_string());
        let fields = Arc::new(Mutex::new(fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Arc::clone(&fields));
        }
        self.spans
            .lock()
            .unwrap()
            .push((attrs.metadata().name().to_owned(), fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions().get::<SharedFields>()
        {
            values.record(&mut Collect(&mut fields.lock().unwrap()));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
}

impl Capture {
    fn spans(&self, name: &str) -> Vec<Fields> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, fields)| fields.lock().unwrap().clone())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_follow_http_client_conventions_without_personal_data() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = bento_tests::client_for(&emulator).build().unwrap();
    let email = "secret.person@example.com";

    // Direct calls: a read, a delete by id (a templated path), a failure.
    client.find_subscriber(email).await.unwrap();
    let _ = client.delete_tag("12345", "old").await;
    emulator.inject(
        bento_emulator::Fault::status(503)
            .on("/fetch/tags")
            .times(1),
    );
    client.tags().await.unwrap();

    // The engine: one batch, one retry after a 503.
    emulator.inject(
        bento_emulator::Fault::status(503)
            .on("/batch/events")
            .times(1),
    );
    for n in 0..3 {
        client
            .track(&Event::new("page.view", email).detail("n", n))
            .unwrap();
    }
    client.flush(Duration::from_secs(10)).await.unwrap();

    let requests = capture.spans("bento.request");
    let find = requests
        .iter()
        .find(|s| s["url.template"] == "/fetch/subscribers")
        .expect("a span for find_subscriber");
    assert_eq!(find["http.request.method"], "GET");
    assert_eq!(find["server.address"], "127.0.0.1");
    assert_eq!(find["http.response.status_code"], "200");
    assert_eq!(find["otel.kind"], "client");

    let delete = requests
        .iter()
        .find(|s| s["http.request.method"] == "DELETE")
        .expect("a span for delete_tag");
    assert_eq!(
        delete["url.template"], "/fetch/tags/{id}",
        "ids stay out of the template"
    );

    let tags = requests
        .iter()
        .find(|s| s["url.template"] == "/fetch/tags")
        .expect("a span for tags");
    assert_eq!(tags["http.request.resend_count"], "1", "{tags:?}");
    assert_eq!(tags["http.response.status_code"], "200");
    assert!(!tags.contains_key("error.type"), "it succeeded in the end");

    let batches = capture.spans("bento.batch");
    assert!(batches.len() >= 2, "{batches:?}");
    let first = &batches[0];
    // Debug: a busy service's `log` output gets no two lines per batch.
    assert_eq!(first["level"], "DEBUG");
    assert_eq!(first["url.template"], "/batch/events");
    assert_eq!(first["bento.batch.items"], "3");
    assert_eq!(first["bento.batch.attempt"], "1");
    assert_eq!(first["http.response.status_code"], "503");
    assert_eq!(first["bento.batch.outcome"], "retry");
    assert!(first["bento.batch.bytes"].parse::<usize>().unwrap() > 0);
    let last = batches.last().unwrap();
    assert_eq!(last["bento.batch.attempt"], "2");
    assert_eq!(last["bento.batch.outcome"], "delivered");

    // No email address, key, site uuid or body anywhere: spans or events.
    let secrets = [
        email,
        "secret.person",
        emulator.secret_key(),
        emulator.publishable_key(),
        emulator.site_uuid(),
    ];
    let everything: Vec<String> = capture
        .spans
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(_, f)| f.lock().unwrap().values().cloned().collect::<Vec<_>>())
        .chain(
            capture
                .events
                .lock()
                .unwrap()
                .iter()
                .flat_map(|f| f.values().cloned().collect::<Vec<_>>()),
        )
        .collect();
    for value in &everything {
        for secret in secrets {
            assert!(!value.contains(secret), "`{secret}` leaked in `{value}`");
        }
        assert!(!value.contains("page.view"), "a body leaked in `{value}`");
    }
}
