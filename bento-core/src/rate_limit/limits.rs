//! The limits the client paces to: Bento's endpoint families and a limit
//! for each.

use std::time::Duration;

/// Bento's endpoint families, each rate-limited on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointFamily {
    /// `/fetch/*`: reads, commands, tags, fields.
    Fetch,
    /// `/batch/*`: events, imports, emails, broadcasts.
    Batch,
    /// `/experimental/*`: validation, blacklist, moderation, gender, geolocation.
    Experimental,
    /// `/stats/*`: site, segment, report and ads statistics.
    Stats,
    /// `/data_deletion_requests`: 1,000 a day.
    Deletion,
    /// `/delivery/*`: the Transactional Platform's delivery report and events
    /// (no source states a limit).
    Delivery,
    /// `/chat/*`: conversations, inboxes, messages (no source states a limit).
    Chat,
}

impl EndpointFamily {
    pub(crate) const ALL: [EndpointFamily; 7] = [
        Self::Fetch,
        Self::Batch,
        Self::Experimental,
        Self::Stats,
        Self::Deletion,
        Self::Delivery,
        Self::Chat,
    ];

    /// The family of an API path such as `batch/events` or `/api/v1/fetch/tags`.
    pub fn of_path(path: &str) -> Option<Self> {
        let path = path.trim_start_matches('/');
        let path = path.strip_prefix("api/v1/").unwrap_or(path);
        match path.split('/').next()? {
            "fetch" => Some(Self::Fetch),
            "batch" => Some(Self::Batch),
            "experimental" => Some(Self::Experimental),
            "stats" => Some(Self::Stats),
            "data_deletion_requests" => Some(Self::Deletion),
            "delivery" => Some(Self::Delivery),
            "chat" => Some(Self::Chat),
            _ => None,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// At most `requests` requests in any window of length `window`.
///
/// The pacer lowers a family's rate when Bento answers 429 anyway (to what
/// Bento had accepted in the window) and probes back up, a tenth of the limit
/// per window that wanted more, never above the limit; an
/// [`estimate`](Self::estimate) may be probed above, up to twice its value.
///
/// ```
/// use bento_core::{RateLimit, Scope};
///
/// // Bento's documented value for `/batch`, which the docs give as
/// // "about 60 a minute per IP": the pacer may find more.
/// let batch = RateLimit::per_minute(60).estimate().with_scope(Scope::Ip);
/// assert!(batch.is_estimate());
/// assert_eq!(batch.scope(), Scope::Ip);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    requests: u32,
    window: Duration,
    estimate: bool,
    scope: Scope,
}

/// Whom Bento counts a limit for. No source says for most families; the
/// values the 2026-08-22 spec gives are per IP.
///
/// The pacer is the same for every scope: one window per client, shared by
/// its clones, and with a durable store's fleet budget, one budget for every
/// process on the database. That is exact for limits per key or per site,
/// and for limits per IP when the fleet reaches Bento from one address (the
/// usual NAT); a fleet behind several addresses stays under the limit and
/// uses a share of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Per client IP address.
    Ip,
    /// Per API key.
    Key,
    /// Per Bento site.
    Site,
    /// No source states it.
    Unknown,
}

impl RateLimit {
    /// `requests` per `window`; `requests` is at least 1.
    pub fn new(requests: u32, window: Duration) -> Self {
        Self {
            requests: requests.max(1),
            window,
            estimate: false,
            scope: Scope::Unknown,
        }
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }

    /// `requests` per hour.
    pub fn per_hour(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(3600))
    }

    /// `requests` per day (24 hours, sliding).
    pub fn per_day(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(86_400))
    }

    /// Marks this limit as an estimate of Bento's: the pacer starts here and,
    /// while windows want more and no 429 comes, probes above it, up to
    /// twice. Bento's documented values conflict, so the defaults of
    /// `/fetch`, `/batch` and `/experimental` are estimates; a limit set with
    /// [`new`](Self::new) is never exceeded.
    pub fn estimate(mut self) -> Self {
        self.estimate = true;
        self
    }

    /// Whether the pacer may probe above this limit.
    pub fn is_estimate(&self) -> bool {
        self.estimate
    }

    /// Says whom Bento counts this limit for.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Whom Bento counts this limit for.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The number of requests allowed per window.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The window the client paces against: slightly longer than the server's,
    /// so that network jitter cannot squeeze N+1 requests into the server's view
    /// of one window.
    pub(crate) fn paced_window(&self) -> Duration {
        self.window
            .saturating_add((self.window / 200).max(Duration::from_millis(10)))
    }
}

/// The client-side limit of each endpoint family.
///
/// The defaults are the strictest values Bento documents (its sources
/// conflict: see `docs/DESIGN-NOTES.md`):
///
/// | Family | Default | Scope | |
/// |---|---|---|---|
/// | `/fetch` | 60 a minute | per IP | estimate |
/// | `/batch` | 60 a minute | per IP | estimate |
/// | `/experimental` | 100 a minute | unknown | estimate |
/// | `/stats` | 30 an hour | per IP | |
/// | `/data_deletion_requests` | 1,000 a day | unknown | |
/// | `/delivery`, `/chat` | not paced | unknown | |
///
/// An estimate is probed above while Bento accepts more (up to twice); every
/// family is lowered when Bento answers 429 and probed back up. No source
/// states a limit for `/delivery` or `/chat`: they are not paced, and
/// Bento's 429s are still honoured.
///
/// ```
/// use std::time::Duration;
/// use bento_core::{EndpointFamily, RateLimit, RateLimits, Scope};
///
/// let limits = RateLimits::default()
///     .set(EndpointFamily::Batch, RateLimit::per_minute(100).with_scope(Scope::Key));
/// assert_eq!(limits.get(EndpointFamily::Batch).unwrap().requests(), 100);
/// assert_eq!(limits.get(EndpointFamily::Fetch).unwrap().scope(), Scope::Ip);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    limits: [Option<RateLimit>; 7],
}

impl Default for RateLimits {
    fn default() -> Self {
        let per_ip = RateLimit::per_minute(60).estimate().with_scope(Scope::Ip);
        Self {
            limits: [
                Some(per_ip),
                Some(per_ip),
                Some(RateLimit::per_minute(100).estimate()),
                Some(RateLimit::per_hour(30).with_scope(Scope::Ip)),
                Some(RateLimit::per_day(1000)),
                None,
                None,
            ],
        }
    }
}

impl RateLimits {
    /// No client-side pacing at all (the server's 429s are still retried).
    pub fn unlimited() -> Self {
        Self { limits: [None; 7] }
    }

    /// Sets the limit of one family; `None` turns pacing off for it.
    pub fn set(mut self, family: EndpointFamily, limit: impl Into<Option<RateLimit>>) -> Self {
        self.limits[family.index()] = limit.into();
        self
    }

    /// The limit of one family.
    pub fn get(&self, family: EndpointFamily) -> Option<RateLimit> {
        self.limits[family.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_come_from_paths() {
        assert_eq!(
            EndpointFamily::of_path("batch/events"),
            Some(EndpointFamily::Batch)
        );
        assert_eq!(
            EndpointFamily::of_path("/api/v1/fetch/tags"),
            Some(EndpointFamily::Fetch)
        );
        assert_eq!(
            EndpointFamily::of_path("experimental/blacklist.json"),
            Some(EndpointFamily::Experimental)
        );
        assert_eq!(
            EndpointFamily::of_path("stats/site"),
            Some(EndpointFamily::Stats)
        );
        assert_eq!(
            EndpointFamily::of_path("data_deletion_requests"),
            Some(EndpointFamily::Deletion)
        );
        assert_eq!(
            EndpointFamily::of_path("chat/conversations/7/notes"),
            Some(EndpointFamily::Chat)
        );
        assert_eq!(
            EndpointFamily::of_path("delivery/report"),
            Some(EndpointFamily::Delivery)
        );
        assert_eq!(EndpointFamily::of_path("other"), None);
    }

    #[test]
    fn defaults_follow_bento_documentation() {
        let limits = RateLimits::default();
        assert_eq!(
            limits.get(EndpointFamily::Batch),
            Some(RateLimit::per_minute(60).estimate().with_scope(Scope::Ip))
        );
        assert_eq!(
            limits.get(EndpointFamily::Stats),
            Some(RateLimit::per_hour(30).with_scope(Scope::Ip))
        );
        assert_eq!(
            limits.get(EndpointFamily::Deletion),
            Some(RateLimit::per_day(1000))
        );
        assert_eq!(limits.get(EndpointFamily::Chat), None);
        assert_eq!(RateLimits::unlimited().get(EndpointFamily::Fetch), None);
    }
}
