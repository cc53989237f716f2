//! Configuring an [`Emulator`](crate::Emulator).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Bento's endpoint families, each rate-limited on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `/fetch/*`
    Fetch,
    /// `/batch/*`
    Batch,
    /// `/experimental/*`
    Experimental,
    /// `/stats/*`
    Stats,
}

impl Family {
    pub(crate) fn of(path: &str) -> Option<Family> {
        match path.split('/').next()? {
            "fetch" => Some(Family::Fetch),
            "batch" => Some(Family::Batch),
            "experimental" => Some(Family::Experimental),
            "stats" => Some(Family::Stats),
            _ => None,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// At most `requests` in any window of `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window.
    pub window: Duration,
}

impl Limit {
    /// `requests` per `window`.
    pub fn new(requests: u32, window: Duration) -> Self {
        Self {
            requests: requests.max(1),
            window,
        }
    }
}

/// Which of Bento's documented response shapes the emulator answers with.
///
/// The spec (`openapi.yaml`) and the live service differ; clients must decode
/// both, so tests can run against either.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// What the live service sends: `{"results", "failed"}` counts, `"fields": {}`,
    /// created objects as `{"data": {...}}`, `{}` for a missing subscriber.
    #[default]
    Live,
    /// What `openapi.yaml` shows: `{"result": n}` for imports, commands answered
    /// with the subscriber, `"fields": null`, created objects as `{"data": [...]}`,
    /// `{"data": null}` for a missing subscriber.
    Spec,
}

/// Builds an [`Emulator`](crate::Emulator).
///
/// ```
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
/// use bento_emulator::{Emulator, Family, Limit};
///
/// let emulator = Emulator::builder()
///     .rate_limit(Family::Batch, Limit::new(5, Duration::from_secs(1)))
///     .authorized_sender("hello@acme.test")
///     .start()
///     .await?;
/// println!("Bento at {}", emulator.base_url());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until start() is called"]
pub struct EmulatorBuilder {
    pub(crate) addr: SocketAddr,
    pub(crate) publishable_key: String,
    pub(crate) secret_key: String,
    pub(crate) site_uuid: String,
    pub(crate) limits: [Option<Limit>; 4],
    pub(crate) retry_after: bool,
    pub(crate) dialect: Dialect,
    pub(crate) authorized_senders: Vec<String>,
    pub(crate) max_events_per_request: usize,
    pub(crate) max_body_bytes: usize,
    pub(crate) workers: usize,
    pub(crate) keep_events: Option<usize>,
    pub(crate) keep_requests: usize,
    pub(crate) max_connections: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) plan: Option<std::sync::Arc<bento_plan::Plan>>,
    pub(crate) deletion_delay: Duration,
    pub(crate) import_delay: Duration,
    pub(crate) deletion_quota: u32,
    pub(crate) transactional_platform: bool,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        let minute = Some(Limit::new(100, Duration::from_secs(60)));
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            publishable_key: "emulator-publishable-key".into(),
            secret_key: "emulator-secret-key".into(),
            site_uuid: "emulator-site-uuid".into(),
            limits: [
                minute,
                minute,
                minute,
                Some(Limit::new(60, Duration::from_secs(3600))),
            ],
            retry_after: true,
            dialect: Dialect::Live,
            authorized_senders: Vec::new(),
            max_events_per_request: 1000,
            max_body_bytes: 16 * 1024 * 1024,
            workers: 2,
            keep_events: None,
            keep_requests: 10_000,
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            plan: None,
            deletion_delay: Duration::ZERO,
            import_delay: Duration::ZERO,
            deletion_quota: 1000,
            transactional_platform: true,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Listens on `127.0.0.1:port`.
    pub fn port(mut self, port: u16) -> Self {
        self.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        self
    }

    /// The keys clients must present with Basic auth.
    pub fn keys(
        mut self,
        publishable_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.publishable_key = publishable_key.into();
        self.secret_key = secret_key.into();
        self
    }

    /// The publishable key clients must present (Basic-auth user name).
    pub fn publishable_key(mut self, key: impl Into<String>) -> Self {
        self.publishable_key = key.into();
        self
    }

    /// The secret key clients must present (Basic-auth password).
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = key.into();
        self
    }

    /// The site UUID clients must send.
    pub fn site_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.site_uuid = uuid.into();
        self
    }

    /// Sets (or with `None`, lifts) the rate limit of a family.
    ///
    /// Defaults are Bento's: 100 per minute for fetch, batch and experimental; 60 per hour for stats.
    pub fn rate_limit(mut self, family: Family, limit: impl Into<Option<Limit>>) -> Self {
        self.limits[family.index()] = limit.into();
        self
    }

    /// Whether a 429 of the rate limiter says when to come back
    /// (`Retry-After`, the default). No Bento source documents the header:
    /// `false` answers as a Bento that sends none would.
    pub fn rate_limit_retry_after(mut self, send: bool) -> Self {
        self.retry_after = send;
        self
    }

    /// Lifts every rate limit.
    pub fn no_rate_limits(mut self) -> Self {
        self.limits = [None; 4];
        self
    }

    /// Which documented response shapes to answer with (default [`Dialect::Live`]).
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// Allows `address` as the `from` of emails and broadcasts. Until one is
    /// added, any sender is allowed; after, others get "Author not authorized".
    pub fn authorized_sender(mut self, address: impl Into<String>) -> Self {
        self.authorized_senders.push(address.into());
        self
    }

    /// Holds events and subscriber imports to a tracking plan
    /// (`bento-plan.toml`): one off the plan (an undeclared event type,
    /// field or detail, a missing required detail, a value of the wrong
    /// kind) is answered 400 naming it, and nothing of its batch is stored.
    /// So tests in any language catch drift from the plan.
    pub fn plan(mut self, plan: bento_plan::Plan) -> Self {
        self.plan = Some(std::sync::Arc::new(plan));
        self
    }

    /// Makes `POST /batch/subscribers` imports visible `delay` after they
    /// were accepted, as live Bento's are (it processes imports in the
    /// background); default at once. Reads, searches and inspection see a
    /// subscriber only from then.
    pub fn import_delay(mut self, delay: Duration) -> Self {
        self.import_delay = delay;
        self
    }

    /// How long after `POST /data_deletion_requests` the subscriber is
    /// anonymized (default at once; Bento does it later, asynchronously).
    pub fn deletion_delay(mut self, delay: Duration) -> Self {
        self.deletion_delay = delay;
        self
    }

    /// Data deletion requests accepted per UTC day before 429
    /// `rate_limit_exceeded` (default Bento's 1,000).
    pub fn deletion_quota(mut self, per_day: u32) -> Self {
        self.deletion_quota = per_day;
        self
    }

    /// Whether the site has the Transactional Platform (default yes):
    /// without it, `/delivery/*` answers 403 as Bento does.
    pub fn transactional_platform(mut self, enabled: bool) -> Self {
        self.transactional_platform = enabled;
        self
    }

    /// The most events accepted per `/batch/events` request (default 1000).
    pub fn max_events_per_request(mut self, n: usize) -> Self {
        self.max_events_per_request = n.max(1);
        self
    }

    /// The largest request body accepted (default 16 MiB); a larger one is
    /// answered 413, as Bento's front end does.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes.max(1);
        self
    }

    /// Remembers only the `n` most recent events (default: all), so that a
    /// long-running emulator or a load test stays within bounded memory.
    /// Subscribers and their fields are still updated by every event.
    pub fn keep_events(mut self, n: usize) -> Self {
        self.keep_events = Some(n);
        self
    }

    /// How many requests the request log keeps, newest last (default
    /// 10,000): the log stays bounded however long the emulator runs.
    pub fn keep_requests(mut self, n: usize) -> Self {
        self.keep_requests = n.max(1);
        self
    }

    /// The most connections served at once (default 512). Further clients
    /// wait in the listen queue until one closes, so slow or idle
    /// connections can use up at most this many.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a client may take to send a request's headers, and how long
    /// an idle keep-alive connection stays open (default 10 s): slow clients
    /// cannot hold connections forever.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Runtime worker threads serving requests (default 2).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }
}
