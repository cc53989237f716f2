//! The delivery engine's metrics through the `metrics` facade, read back by
//! a recorder. Its own test binary, since the recorder is process-wide.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bento_core::Event;
use bento_emulator::{Emulator, Fault};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// Counters and gauges by name (labels summed), histograms as their samples.
#[derive(Default)]
struct Store {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<HashMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<HashMap<String, Arc<Samples>>>,
    described: Mutex<Vec<String>>,
}

type Labels = Vec<(String, String)>;

#[derive(Default)]
struct Samples(Mutex<Vec<(Labels, f64)>>);

struct Count(Arc<AtomicU64>);
impl CounterFn for Count {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

struct Level(Arc<AtomicU64>);
impl GaugeFn for Level {
    fn increment(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::SeqCst)) + value);
    }
    fn decrement(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::SeqCst)) - value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::SeqCst);
    }
}

struct Sample(Arc<Samples>, Labels);
impl HistogramFn for Sample {
    fn record(&self, value: f64) {
        self.0.0.lock().unwrap().push((self.1.clone(), value));
    }
}

struct Shared(Arc<Store>);

impl Recorder for Shared {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.0
            .described
            .lock()
            .unwrap()
            .push(key.as_str().to_owned());
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.0
            .described
            .lock()
            .unwrap()
            .push(key.as_str().to_owned());
    }
    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.0
            .described
            .lock()
            .unwrap()
            .push(key.as_str().to_owned());
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = self.0.counters.lock().unwrap();
        let cell = counters.entry(key.name().to_owned()).or_default();
        Counter::from_arc(Arc::new(Count(Arc::clone(cell))))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut gauges = self.0.gauges.lock().unwrap();
        let cell = gauges.entry(key.name().to_owned()).or_default();
        Gauge::from_arc(Arc::new(Level(Arc::clone(cell))))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut histograms = self.0.histograms.lock().unwrap();
        let samples = histograms.entry(key.name().to_owned()).or_default();
        let labels = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        Histogram::from_arc(Arc::new(Sample(Arc::clone(samples), labels)))
    }
}

impl Store {
    fn counter(&self, name: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }
    fn gauge(&self, name: &str) -> f64 {
        self.gauges
            .lock()
            .unwrap()
            .get(name)
            .map_or(f64::NAN, |g| f64::from_bits(g.load(Ordering::SeqCst)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_reports_its_counters_gauges_and_batch_latency() {
    let store = Arc::new(Store::default());
    metrics::set_global_recorder(Shared(Arc::clone(&store))).unwrap();

    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = bento_tests::client_for(&emulator)
        .queue_capacity(20)
        .delivery_backoff(bento_core::delivery::Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(250),
        ))
        .build()
        .unwrap();
    // One retried 503, then a 400 that bisects down to the one bad item.
    emulator.inject(Fault::status(503).on("/batch/events").times(1));
    for n in 0..10 {
        client
            .track(&Event::new("page.view", format!("u{n}@example.com")).detail("n", n))
            .unwrap();
    }
    client.flush(Duration::from_secs(10)).await.unwrap();
    emulator.inject(
        Fault::status(400)
            .on("/batch/events")
            .body_contains("poison")
            .times(u64::MAX),
    );
    client
        .track(&Event::new("poison", "p@example.com"))
        .unwrap();
    client.track(&Event::new("fine", "f@example.com")).unwrap();
    client.flush(Duration::from_secs(10)).await.unwrap();
    // Overflow: 30 offered to a queue of 20 while Bento stalls.
    emulator.inject(
        Fault::delay(Duration::from_millis(300))
            .on("/batch/events")
            .times(1),
    );
    let dropped = (0..30)
        .filter(|n| {
            client
                .track(&Event::new("burst", format!("b{n}@example.com")))
                .is_err()
        })
        .count() as u64;
    client.flush(Duration::from_secs(10)).await.unwrap();

    let stats = client.stats();
    assert_eq!(
        store.counter("bento_delivery_items_queued_total"),
        stats.queued
    );
    assert_eq!(store.counter("bento_delivery_items_sent_total"), stats.sent);
    assert_eq!(store.counter("bento_delivery_items_failed_total"), 1);
    assert_eq!(
        store.counter("bento_delivery_items_retried_total"),
        stats.retried
    );
    assert!(stats.retried >= 10, "{stats:?}");
    assert!(dropped > 0);
    assert_eq!(store.counter("bento_delivery_items_dropped_total"), dropped);
    assert_eq!(store.gauge("bento_delivery_items_pending"), 0.0);
    assert_eq!(store.gauge("bento_delivery_requests_in_flight"), 0.0);

    let histograms = store.histograms.lock().unwrap();
    let samples = histograms["bento_delivery_batch_duration_seconds"]
        .0
        .lock()
        .unwrap();
    let outcome = |o: &str| {
        samples
            .iter()
            .filter(|(labels, _)| labels.contains(&("outcome".into(), o.into())))
            .count()
    };
    assert_eq!(outcome("retry"), 1, "the 503");
    assert!(outcome("bisected") >= 1);
    assert!(outcome("delivered") >= 3);
    assert!(samples.iter().all(|(labels, seconds)| {
        labels.contains(&("kind".into(), "events".into())) && *seconds >= 0.0
    }));
    let delayed = samples.iter().map(|(_, s)| *s).fold(0.0, f64::max);
    assert!(delayed >= 0.3, "the stalled batch took {delayed} s");
    let described = store.described.lock().unwrap();
    for name in [
        "bento_delivery_items_queued_total",
        "bento_delivery_items_pending",
        "bento_delivery_batch_duration_seconds",
    ] {
        assert!(described.iter().any(|d| d == name), "{name} described");
    }
}
