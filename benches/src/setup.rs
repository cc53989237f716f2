//! An emulator and a client pointed at it, for the bench binaries.

use bento_core::{BentoEvent, Client, ClientBuilder, Event, RateLimits};
use bento_emulator::Emulator;

use crate::sink::Sink;

/// A client for `emulator` without client-side rate limits.
pub fn client_for(emulator: &Emulator) -> ClientBuilder {
    bento_core::testing::client_for(emulator)
        .app_name("bento-benches")
        .rate_limits(RateLimits::unlimited())
}

/// A client delivering to `sink`, with room for a long benchmark's events.
pub fn client_for_sink(sink: &Sink) -> ClientBuilder {
    Client::builder()
        .base_url(sink.base_url())
        .publishable_key("pk")
        .secret_key("sk")
        .site_uuid("site")
        .rate_limits(RateLimits::unlimited())
        .queue_capacity(1_000_000)
}

/// The small event the web benchmarks track once per request.
#[derive(Debug, BentoEvent)]
#[bento(event = "page.view")]
pub struct PageView {
    /// The visitor.
    pub email: &'static str,
    /// The page.
    pub path: &'static str,
}

/// The page view of `GET /hello`.
pub const HELLO_VIEW: PageView = PageView {
    email: "visitor@example.com",
    path: "/hello",
};

/// The process's peak resident set size so far, in bytes (Linux `VmHWM`).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The process's resident set size now, in bytes (Linux `VmRSS`).
pub fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The event the outbox benches write: a `$purchase` with a field and three details.
pub fn outbox_event(n: usize) -> Event {
    Event::new("$purchase", format!("buyer{n}@example.com"))
        .field("first_name", "Ada")
        .detail("order", format!("o-{n}"))
        .detail("total", 129.95)
        .detail("currency", "USD")
}

/// A client tracking the same purchase into the sink, and a runtime to
/// flush it: the setting of the `track` and `erasure` benches.
#[derive(Debug)]
pub struct TrackingSink {
    /// Where flushes run.
    pub runtime: tokio::runtime::Runtime,
    /// What the client delivers to.
    pub sink: Sink,
    /// The client, with room for a long benchmark's events.
    pub client: Client,
    /// The event tracked.
    pub event: crate::purchase::Purchase,
}

impl TrackingSink {
    /// The client, with one event tracked and delivered (the connection is up).
    pub fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let sink = Sink::start().expect("sink");
        let client = client_for_sink(&sink)
            .queue_capacity(4_000_000)
            .build()
            .expect("client");
        let tracking = Self {
            runtime,
            sink,
            client,
            event: crate::purchase::purchase(),
        };
        tracking.client.track(&tracking.event).expect("tracked");
        tracking.flush();
        tracking
    }

    /// Waits until everything tracked was delivered.
    pub fn flush(&self) {
        self.runtime
            .block_on(self.client.flush(std::time::Duration::from_secs(600)))
            .expect("flushed");
    }

    /// The time `iters` calls of `track` take; the flush after them is not
    /// counted.
    pub fn timed(&self, iters: u64) -> std::time::Duration {
        let start = std::time::Instant::now();
        for _ in 0..iters {
            self.client
                .track(std::hint::black_box(&self.event))
                .expect("tracked");
        }
        let took = start.elapsed();
        self.flush();
        took
    }
}
