//! Building a [`Client`]: keys, site, endpoint, timeouts, retry and pacing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::client::{Client, Inner};
use crate::delivery::{DeliveryConfig, DeliveryFailure, Dispatcher, FailureHook};
use crate::error::ConfigError;
use crate::rate_limit::{Pacer, RateLimits};
use crate::transport::Api;
use crate::transport::retry::RetryPolicy;

/// Bento's production API root.
pub(crate) const DEFAULT_BASE_URL: &str = "https://app.bentonow.com/api/v1";

/// The environment variables [`Client::from_env`] reads.
pub mod env {
    /// The publishable key (the Basic-auth user name).
    pub const PUBLISHABLE_KEY: &str = "BENTO_PUBLISHABLE_KEY";
    /// The secret key (the Basic-auth password).
    pub const SECRET_KEY: &str = "BENTO_SECRET_KEY";
    /// The site UUID sent with every request.
    pub const SITE_UUID: &str = "BENTO_SITE_UUID";
    /// Optional: another API root, such as a local emulator's.
    pub const BASE_URL: &str = "BENTO_BASE_URL";
    /// Optional: `1` (or `true`, `yes`) for a dry run whatever else is set,
    /// `0` (or `false`, `no`) to require the keys even in a debug build.
    pub const DRY_RUN: &str = "BENTO_DRY_RUN";
}

/// Configures and builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// let client = bento_core::Client::builder()
///     .publishable_key("pk_example")
///     .secret_key("sk_example")
///     .site_uuid("site-uuid")
///     .app_name("acme-web/2.1")
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), bento_core::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
#[derive(Clone)]
pub struct ClientBuilder {
    publishable_key: Option<String>,
    secret_key: Option<SecretString>,
    site_uuid: Option<String>,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    app_name: Option<String>,
    retry: RetryPolicy,
    rate_limits: RateLimits,
    events_per_request: usize,
    max_response_bytes: u64,
    delivery: DeliveryConfig,
    rate_budget: Option<Arc<dyn crate::rate_limit::budget::RateBudget>>,
    erasure_ttl: Duration,
    plan: Option<Arc<bento_plan::Plan>>,
    dry_run: bool,
}

/// The default cap on a response body: far above anything Bento sends.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "publishable_key",
                &self.publishable_key.as_deref().map(redact),
            )
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "[redacted]"),
            )
            .field("site_uuid", &self.site_uuid)
            .field("base_url", &crate::error::redact_url(&self.base_url))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("app_name", &self.app_name)
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("delivery", &self.delivery)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// Keeps enough of a key to tell two apart in a log, never the whole key.
pub(crate) fn redact(key: &str) -> String {
    let shown: String = key.chars().take(4).collect();
    format!("{shown}…")
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            publishable_key: None,
            secret_key: None,
            site_uuid: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            app_name: None,
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::default(),
            events_per_request: crate::events::MAX_EVENTS_PER_REQUEST,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            delivery: DeliveryConfig::default(),
            rate_budget: None,
            erasure_ttl: crate::erasure::DEFAULT_TTL,
            plan: None,
            dry_run: false,
        }
    }
}

impl ClientBuilder {
    /// A builder with Bento's production endpoint and the default policies.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from the environment: `BENTO_PUBLISHABLE_KEY`,
    /// `BENTO_SECRET_KEY`, `BENTO_SITE_UUID` and, when set,
    /// `BENTO_BASE_URL`.
    ///
    /// With none of the three keys set, a debug build runs
    /// [dry](Self::dry_run) (and says so once at start-up), so that
    /// `cargo run` works before anyone has an account; a release build
    /// fails with [`ConfigError::NoEnv`], so that a service that lost its
    /// keys stops at start-up instead of dropping every event. Some keys
    /// set but not all is always [`ConfigError::MissingEnv`], naming the
    /// one missing. `BENTO_DRY_RUN=1` runs dry in any build, whatever else
    /// is set (a staging copy, a load test); `BENTO_DRY_RUN=0` requires the
    /// keys in a debug build too.
    ///
    /// Debug or release is the build profile's `debug-assertions`, which
    /// Cargo applies to every crate: `cargo run` and `cargo test` run dry,
    /// `cargo run --release` and a release image do not. (Rocket picks its
    /// configuration profile by the same rule.)
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(std::env::var, cfg!(debug_assertions))
    }

    pub(crate) fn from_lookup(
        lookup: impl Fn(&'static str) -> Result<String, std::env::VarError>,
        debug_build: bool,
    ) -> Result<Self, ConfigError> {
        let read = |var: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(var) {
                Ok(value) if value.trim().is_empty() => Ok(None),
                Ok(value) => Ok(Some(value.trim().to_owned())),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode { var }),
            }
        };
        let dry_run = match read(env::DRY_RUN)?.as_deref() {
            None => None,
            Some(value) => Some(parse_switch(value).ok_or_else(|| ConfigError::Invalid {
                setting: env::DRY_RUN,
                reason: format!("`{value}` is neither 1/true/yes nor 0/false/no"),
            })?),
        };
        let publishable_key = read(env::PUBLISHABLE_KEY)?;
        let secret_key = read(env::SECRET_KEY)?;
        let site_uuid = read(env::SITE_UUID)?;
        let none_set = publishable_key.is_none() && secret_key.is_none() && site_uuid.is_none();
        match dry_run {
            Some(true) => return Ok(Self::new().dry_run()),
            None if none_set && debug_build => {
                crate::transport::dry_run::show(format_args!(
                    "bento: no BENTO_* variables set, so this debug build sends nothing to Bento \
                     and shows what it would send (set the keys, or BENTO_DRY_RUN=0 to require \
                     them)"
                ));
                return Ok(Self::new().dry_run());
            }
            None if none_set => return Err(ConfigError::NoEnv),
            _ => {}
        }
        let require =
            |value: Option<String>, var: &'static str| value.ok_or(ConfigError::MissingEnv { var });
        let mut builder = Self::new()
            .publishable_key(require(publishable_key, env::PUBLISHABLE_KEY)?)
            .secret_key(require(secret_key, env::SECRET_KEY)?)
            .site_uuid(require(site_uuid, env::SITE_UUID)?);
        if let Some(url) = read(env::BASE_URL)? {
            builder = builder.base_url(url);
        }
        Ok(builder)
    }

    /// The tracking plan given to [`plan`](Self::plan), if any.
    #[cfg(feature = "emulator")]
    pub(crate) fn planned(&self) -> Option<&bento_plan::Plan> {
        self.plan.as_deref()
    }

    /// Sends nothing: each batch the client would send (events,
    /// subscribers, commands, emails) is shown item by item, answered as
    /// Bento answers a batch it took, and counted as delivered. Every check
    /// before the wire (validation, the plan, sizes, the outbox) runs as
    /// usual. Calls that need the account's answer (reads, creates) fail
    /// with [`Error::DryRun`](crate::Error::DryRun). No keys are needed.
    ///
    /// The lines go to the app's `tracing` subscriber when it has one
    /// (target `bento_core::dry_run`, info level), else to standard error.
    /// [`from_env`](Self::from_env) picks this in a debug build with no
    /// `BENTO_*` set.
    ///
    /// ```
    /// let client = bento_core::Client::builder().dry_run().build()?;
    /// assert!(client.is_dry_run());
    /// # Ok::<(), bento_core::ConfigError>(())
    /// ```
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// The publishable key: the user name of Basic auth.
    pub fn publishable_key(mut self, key: impl Into<String>) -> Self {
        self.publishable_key = Some(key.into());
        self
    }

    /// The secret key: the password of Basic auth. Never printed or logged.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(SecretString::from(key.into()));
        self
    }

    /// The site UUID sent with every request.
    pub fn site_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.site_uuid = Some(uuid.into());
        self
    }

    /// The API root (default `https://app.bentonow.com/api/v1`); point it at an emulator in tests.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The deadline of each request, body included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The deadline for opening a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Your application's name, added to the User-Agent: `bento-rust/0.1.0 (acme-web/2.1)`.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// How failed requests are retried (see [`RetryPolicy`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Client-side rate limits per endpoint family (see [`RateLimits`]).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// The most events sent in one `/batch/events` request (1 to 1000, default 1000).
    ///
    /// Bento's spec allows 1000; one newer documentation page says 100. Larger
    /// inputs are split into requests of this size.
    pub fn events_per_request(mut self, n: usize) -> Self {
        self.events_per_request = n;
        self
    }

    /// The largest response body the client reads, in bytes (default 16 MiB,
    /// at least 1024). A larger answer is
    /// [`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge): the
    /// `Content-Length` is checked first and reading stops at the cap, so a
    /// misbehaving server or proxy cannot exhaust the application's memory.
    /// Error answers (4xx, 5xx) are read up to 64 KiB only, whatever this is.
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// How many items (events and subscriber records) the background delivery
    /// engine holds at most, queued or being retried (default 10,000). When
    /// it is full, `track` hands items back instead of growing without bound.
    pub fn queue_capacity(mut self, items: usize) -> Self {
        self.delivery.queue_capacity = items;
        self
    }

    /// How long a tracked item may wait for its batch to fill before the
    /// batch is sent anyway (default 1 s).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.delivery.flush_interval = interval;
        self
    }

    /// The largest request body the delivery engine builds, in bytes (default
    /// 4 MiB). A batch closes at this size even with fewer than 1000 items;
    /// a single item larger than this is refused by `track`.
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.delivery.max_batch_bytes = bytes;
        self
    }

    /// How many batch requests the delivery engine has in flight at once (default 2).
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.delivery.max_in_flight = requests;
        self
    }

    /// The backoff of the delivery engine (and the outbox relay) between
    /// attempts of a failed batch (default: 250 ms doubling up to 60 s, with
    /// full jitter). Direct calls use [`retry`](Self::retry).
    ///
    /// Background delivery does not count attempts: a failure that may pass
    /// (Bento unreachable, 408, 429, 500, 502, 503, 504, a timeout, a dropped
    /// connection) is retried for as long as it lasts, so an outage leaves
    /// items pending, never failed. Items are given up (and handed to the
    /// failure hook) when Bento refuses them (a 4xx on the item alone, or a
    /// status that says a retry cannot succeed), when they are older than
    /// [`delivery_max_age`](Self::delivery_max_age), or at the shutdown
    /// deadline. The queue's [`queue_capacity`](Self::queue_capacity) bounds
    /// what an outage can hold: past it, `track` returns
    /// [`TrackError::QueueFull`](crate::TrackError::QueueFull).
    pub fn delivery_backoff(mut self, backoff: crate::delivery::Backoff) -> Self {
        self.delivery.backoff = backoff;
        self
    }

    /// How long an item may wait in the in-memory queue through failures
    /// that may pass before it is given up (default `None`: until the
    /// shutdown deadline). An item past it is handed to the failure hook as
    /// [`FailureReason::Expired`](crate::FailureReason::Expired) at its next
    /// failure. `Some(Duration::ZERO)` gives up at the first failure.
    pub fn delivery_max_age(mut self, age: impl Into<Option<Duration>>) -> Self {
        self.delivery.max_age = age.into();
        self
    }

    /// How long [`Client::erase`](crate::Client::erase)'s tombstone refuses
    /// anything about the erased person (default 30 days, longer than any
    /// retry, maximum age or replay the SDK makes).
    pub fn erasure_ttl(mut self, ttl: Duration) -> Self {
        self.erasure_ttl = ttl;
        self
    }

    /// How long dropping the last `Client` waits for queued items to be
    /// delivered (default 5 s). Prefer an explicit
    /// [`Client::shutdown`](crate::Client::shutdown) at exit.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.delivery.drain_timeout = timeout;
        self
    }

    /// Makes the delivery engine also relay this durable store (a
    /// transactional outbox, such as `bento_outbox::Outbox` on PostgreSQL or
    /// SQLite) into Bento, with the engine's batching, pacing, retry rule and
    /// failure hook: see [`store`](crate::integration::store). The relay starts with
    /// `build()`; exactly one client among all that share the store relays
    /// at a time.
    pub fn outbox(mut self, store: impl crate::store::DurableStore) -> Self {
        self.delivery.store = Some(Arc::new(store));
        self
    }

    /// Checks every event and subscriber record against a tracking plan
    /// when it is tracked, queued, sent or imported (`track`,
    /// `enqueue_subscriber`, `send_events`, `import_subscribers` and their
    /// siblings): one off the plan is a
    /// [`ValidationError::OffPlan`](crate::ValidationError::OffPlan) and is
    /// neither queued nor sent. The derives check typed events against the
    /// same file at compile time; this catches the dynamic ones
    /// ([`Event::new`](crate::Event::new), [`SubscriberImport`](crate::SubscriberImport)).
    /// Each item is decoded once more to be checked, a few microseconds per
    /// `track`; without a plan nothing is checked.
    ///
    /// ```
    /// use bento_core::plan::Plan;
    ///
    /// let plan = Plan::parse(r#"
    /// [events."account.signup"]
    /// details = { source = "string" }
    /// "#)?;
    /// let client = bento_core::Client::builder()
    ///     .publishable_key("pk").secret_key("sk").site_uuid("site")
    ///     .plan(plan)
    ///     .build()?;
    /// let typo = bento_core::Event::new("acount.signup", "ada@example.com");
    /// let error = client.track(&typo).unwrap_err();
    /// assert!(error.to_string().contains("did you mean `account.signup`"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// `bento_core::include_plan!()` (with the `derive` feature) embeds the
    /// file the derives were checked against, at compile time:
    /// `.plan(bento_core::include_plan!())`. Or read one at run time with
    /// [`Plan::load`](bento_plan::Plan::load).
    pub fn plan(mut self, plan: bento_plan::Plan) -> Self {
        self.plan = Some(Arc::new(plan));
        self
    }

    /// Makes direct calls (and the delivery engine) also take their
    /// rate-limit slots from `budget`, shared with other processes: see
    /// [`budget`](crate::integration::budget). A store that brings its own
    /// ([`DurableStore::paces_direct_calls`](crate::store::DurableStore::paces_direct_calls))
    /// needs no call here.
    pub fn rate_budget(mut self, budget: impl crate::rate_limit::budget::RateBudget) -> Self {
        self.rate_budget = Some(Arc::new(budget));
        self
    }

    /// Called on the delivery thread with items the engine gave up on, and
    /// why: refused by Bento, out of retries, or left at a shutdown deadline.
    /// Keep it quick; it must not block on the client itself. To requeue
    /// items, use [`DeliveryFailure::client`] rather than capturing a
    /// `Client`: a hook that owns a clone keeps the client alive, so dropping
    /// your last handle would never drain the queue.
    ///
    /// The items hold personal data (addresses, field values): wherever the
    /// hook keeps them (a file, a table, a queue) is a copy
    /// [`Client::erase`](crate::Client::erase) cannot reach; purge it when a
    /// person is erased (the demo's `erase_from_spool` does so for its files).
    /// Items refused or removed because their person was erased reach the
    /// hook without their data ([`FailureReason::Erased`](crate::FailureReason::Erased)).
    ///
    /// ```
    /// let builder = bento_core::Client::builder().on_delivery_failure(|failure| {
    ///     eprintln!("{} Bento items not delivered: {}", failure.items.len(), failure.reason);
    /// });
    /// # let _ = builder;
    /// ```
    pub fn on_delivery_failure(
        mut self,
        hook: impl Fn(DeliveryFailure) + Send + Sync + 'static,
    ) -> Self {
        let hook: FailureHook = Arc::new(hook);
        self.delivery.on_failure = Some(hook);
        self
    }

    /// Tests only: switches that make the engine panic in its loop, or in its
    /// next request, once each.
    #[cfg(test)]
    pub(crate) fn engine_panics(
        &self,
    ) -> (
        Arc<std::sync::atomic::AtomicBool>,
        Arc<std::sync::atomic::AtomicBool>,
    ) {
        (
            Arc::clone(&self.delivery.inject_panic),
            Arc::clone(&self.delivery.inject_request_panic),
        )
    }

    /// Builds the client. Fails on missing keys or an unusable setting; never panics.
    pub fn build(mut self) -> Result<Client, ConfigError> {
        if self.dry_run {
            // Nothing is sent, so nothing needs the account's keys.
            self.publishable_key
                .get_or_insert_with(|| "dry-run".to_owned());
            self.secret_key
                .get_or_insert_with(|| SecretString::from("dry-run".to_owned()));
            self.site_uuid.get_or_insert_with(|| "dry-run".to_owned());
        }
        let publishable_key = self.publishable_key.ok_or(ConfigError::Missing {
            setting: "publishable_key",
        })?;
        let secret_key = self.secret_key.ok_or(ConfigError::Missing {
            setting: "secret_key",
        })?;
        let site_uuid = self.site_uuid.ok_or(ConfigError::Missing {
            setting: "site_uuid",
        })?;
        for (setting, value) in [
            ("publishable_key", publishable_key.as_str()),
            ("secret_key", secret_key.expose_secret()),
            ("site_uuid", site_uuid.as_str()),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    setting,
                    reason: "must not be empty".into(),
                });
            }
        }
        if !(1..=crate::events::MAX_EVENTS_PER_REQUEST).contains(&self.events_per_request) {
            return Err(ConfigError::Invalid {
                setting: "events_per_request",
                reason: format!("{} is outside 1..=1000", self.events_per_request),
            });
        }
        for (setting, value) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Invalid {
                    setting,
                    reason: "must be longer than zero".into(),
                });
            }
        }
        if self.max_response_bytes < 1024 {
            return Err(ConfigError::Invalid {
                setting: "max_response_bytes",
                reason: format!("{} is below the minimum of 1024", self.max_response_bytes),
            });
        }
        let base_url = parse_base_url(&self.base_url)?;
        let user_agent = user_agent(
            self.app_name.as_deref(),
            [
                publishable_key.as_str(),
                secret_key.expose_secret(),
                site_uuid.as_str(),
            ],
        )?;
        let http = crate::transport::http_client(&user_agent, self.connect_timeout)?;
        let mut delivery = self.delivery.validate()?;
        // The tombstones' hashes are keyed by the account's secret: stable
        // across restarts and processes of one account, useless without it.
        let mut key = b"bento-erasure-v1:".to_vec();
        key.extend_from_slice(secret_key.expose_secret().as_bytes());
        delivery.tombstones = Arc::new(crate::erasure::Tombstones::new(&key, self.erasure_ttl));
        let budget = self.rate_budget.clone().or_else(|| {
            let store = delivery.store.as_ref()?;
            store
                .paces_direct_calls()
                .then(|| store.rate_budget())
                .flatten()
        });
        let relays = delivery.has_outbox();
        let api = Arc::new(Api {
            base_url,
            publishable_key,
            secret_key,
            site_uuid,
            user_agent,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            retry: self.retry,
            pacer: Arc::new(Pacer::new(&self.rate_limits, self.timeout)),
            events_per_request: self.events_per_request,
            max_response_bytes: self.max_response_bytes,
            dry_run: self.dry_run,
            budget,
        });
        // The engine holds its owner weakly and untyped: it hands the
        // failure hook a client without keeping one alive or knowing `Client`.
        let inner = Arc::new_cyclic(|owner: &std::sync::Weak<Inner>| {
            let owner: crate::delivery::Owner = owner.clone();
            Inner {
                http,
                plan: self.plan.clone(),
                dispatcher: Dispatcher::new(delivery, Arc::clone(&api), owner),
                api,
            }
        });
        let client = Client { inner };
        if relays {
            // The relay runs whether or not anything is tracked in memory.
            client
                .inner
                .dispatcher
                .start()
                .map_err(|reason| ConfigError::Invalid {
                    setting: "outbox",
                    reason: format!("could not start the delivery thread: {reason}"),
                })?;
        }
        Ok(client)
    }
}

/// `1/true/yes/on` or `0/false/no/off`, in any case.
fn parse_switch(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_base_url(raw: &str) -> Result<reqwest::Url, ConfigError> {
    // The URL goes into the error, and so into logs: never with a key in it.
    let invalid = |reason: &str| ConfigError::BaseUrl {
        url: crate::error::redact_url(raw),
        reason: reason.to_owned(),
    };
    let mut url = reqwest::Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not carry a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Keys in the URL would end up in every error message that prints it.
        return Err(invalid(
            "put the keys in publishable_key/secret_key, not in the URL",
        ));
    }
    // Url::join replaces the last segment unless the path ends in '/'.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn user_agent(app_name: Option<&str>, secrets: [&str; 3]) -> Result<String, ConfigError> {
    let base = concat!("bento-rust/", env!("CARGO_PKG_VERSION"));
    let Some(app) = app_name.map(str::trim).filter(|app| !app.is_empty()) else {
        return Ok(base.to_owned());
    };
    if app.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(ConfigError::Invalid {
            setting: "app_name",
            reason: "must be printable ASCII (it goes into the User-Agent header)".into(),
        });
    }
    if secrets.iter().any(|secret| app.contains(secret)) {
        return Err(ConfigError::Invalid {
            setting: "app_name",
            reason:
                "must not contain an API key or the site UUID (the User-Agent is logged by proxies)"
                    .into(),
        });
    }
    Ok(format!("{base} ({app})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(
        vars: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&'static str) -> Result<String, std::env::VarError> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .ok_or(std::env::VarError::NotPresent)
        }
    }

    #[test]
    fn from_env_names_the_missing_variable() {
        let err = ClientBuilder::from_lookup(lookup(&[("BENTO_PUBLISHABLE_KEY", "pk")]), true)
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingEnv {
                var: "BENTO_SECRET_KEY"
            }
        ));
        assert!(err.to_string().contains("BENTO_SECRET_KEY"));
        let err = ClientBuilder::from_lookup(
            lookup(&[
                ("BENTO_PUBLISHABLE_KEY", "pk"),
                ("BENTO_SECRET_KEY", "sk"),
                ("BENTO_SITE_UUID", "  "),
            ]),
            false,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingEnv {
                var: "BENTO_SITE_UUID"
            }
        ));
    }

    #[test]
    fn from_env_reads_every_variable() {
        let client = ClientBuilder::from_lookup(
            lookup(&[
                ("BENTO_PUBLISHABLE_KEY", "pk"),
                ("BENTO_SECRET_KEY", "sk"),
                ("BENTO_SITE_UUID", "site"),
                ("BENTO_BASE_URL", "http://127.0.0.1:4010/api/v1"),
            ]),
            true,
        )
        .and_then(ClientBuilder::build)
        .expect("client");
        assert_eq!(client.base_url(), "http://127.0.0.1:4010/api/v1/");
        assert!(
            !client.is_dry_run(),
            "keys set: a real client, in any build"
        );
    }

    #[test]
    fn with_no_keys_a_debug_build_runs_dry_and_a_release_build_refuses_to_start() {
        let debug = ClientBuilder::from_lookup(lookup(&[]), true)
            .and_then(ClientBuilder::build)
            .expect("a dry-run client");
        assert!(debug.is_dry_run());
        let release = ClientBuilder::from_lookup(lookup(&[]), false).unwrap_err();
        assert!(matches!(release, ConfigError::NoEnv));
        let message = release.to_string();
        assert!(message.contains("BENTO_SECRET_KEY") && message.contains("BENTO_DRY_RUN=1"));
        // BENTO_DRY_RUN decides in either build.
        let forced = ClientBuilder::from_lookup(lookup(&[("BENTO_DRY_RUN", "1")]), false)
            .and_then(ClientBuilder::build)
            .expect("a dry run on purpose");
        assert!(forced.is_dry_run());
        let keys_and_dry = ClientBuilder::from_lookup(
            lookup(&[
                ("BENTO_PUBLISHABLE_KEY", "pk"),
                ("BENTO_SECRET_KEY", "sk"),
                ("BENTO_SITE_UUID", "site"),
                ("BENTO_DRY_RUN", "yes"),
            ]),
            false,
        )
        .and_then(ClientBuilder::build)
        .expect("a dry run with keys");
        assert!(keys_and_dry.is_dry_run());
        let required =
            ClientBuilder::from_lookup(lookup(&[("BENTO_DRY_RUN", "0")]), true).unwrap_err();
        assert!(matches!(
            required,
            ConfigError::MissingEnv {
                var: "BENTO_PUBLISHABLE_KEY"
            }
        ));
        let typo =
            ClientBuilder::from_lookup(lookup(&[("BENTO_DRY_RUN", "maybe")]), true).unwrap_err();
        assert!(
            typo.to_string().contains("BENTO_DRY_RUN") && typo.to_string().contains("maybe"),
            "{typo}"
        );
    }

    #[test]
    fn builder_reports_missing_and_invalid_settings() {
        let err = ClientBuilder::new()
            .publishable_key("pk")
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                setting: "secret_key"
            }
        ));
        let base = || {
            ClientBuilder::new()
                .publishable_key("pk")
                .secret_key("sk")
                .site_uuid("site")
        };
        assert!(matches!(
            base().base_url("ftp://x").build(),
            Err(ConfigError::BaseUrl { .. })
        ));
        assert!(matches!(
            base().base_url("not a url").build(),
            Err(ConfigError::BaseUrl { .. })
        ));
        assert!(matches!(
            base().base_url("https://pk:sk@h/api").build(),
            Err(ConfigError::BaseUrl { .. })
        ));
        for leaky in [
            "https://pk:SECRET@h/api",
            "https://h/api?key=SECRET",
            "https://h/api#SECRET",
            "not a url?key=SECRET",
            "ftp://SECRET@h",
        ] {
            let builder = base().base_url(leaky);
            assert!(!format!("{builder:?}").contains("SECRET"), "{leaky}");
            let err = builder.build().unwrap_err();
            assert!(matches!(err, ConfigError::BaseUrl { .. }));
            assert!(!err.to_string().contains("SECRET"), "{err}");
            assert!(!format!("{err:?}").contains("SECRET"), "{err:?}");
        }
        assert!(matches!(
            base().connect_timeout(Duration::ZERO).build(),
            Err(ConfigError::Invalid {
                setting: "connect_timeout",
                ..
            })
        ));
        assert!(matches!(
            base().max_response_bytes(10).build(),
            Err(ConfigError::Invalid {
                setting: "max_response_bytes",
                ..
            })
        ));
        assert!(matches!(
            base().events_per_request(0).build(),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(matches!(
            base().events_per_request(1001).build(),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(matches!(
            base().app_name("x\ny").build(),
            Err(ConfigError::Invalid {
                setting: "app_name",
                ..
            })
        ));
        assert!(matches!(
            base().app_name("app sk").build(),
            Err(ConfigError::Invalid {
                setting: "app_name",
                ..
            })
        ));
        assert!(matches!(
            base().secret_key(" ").build(),
            Err(ConfigError::Invalid {
                setting: "secret_key",
                ..
            })
        ));
    }

    #[test]
    fn user_agent_names_sdk_and_app_only() {
        let ua = user_agent(Some("acme/1.0"), ["pk", "sk", "site"]).expect("ua");
        assert_eq!(
            ua,
            format!("bento-rust/{} (acme/1.0)", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            user_agent(None, ["pk", "sk", "site"]).expect("ua"),
            format!("bento-rust/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
