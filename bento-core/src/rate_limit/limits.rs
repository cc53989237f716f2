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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    requests: u32,
    window: Duration,
}

impl RateLimit {
    /// `requests` per `window`; `requests` is at least 1.
    pub fn new(requests: u32, window: Duration) -> Self {
        Self {
            requests: requests.max(1),
            window,
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
/// The defaults are the strictest values Bento documents: 100 requests per
/// minute for `/fetch`, `/batch` and `/experimental`; 30 per hour for
/// `/stats` (the 2026-08-22 spec; older pages say 60); 1,000 a day for
/// `/data_deletion_requests`. No source states a limit for `/delivery` or
/// `/chat`: none is paced, and Bento's 429s are still honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    limits: [Option<RateLimit>; 7],
}

impl Default for RateLimits {
    fn default() -> Self {
        let per_minute = Some(RateLimit::per_minute(100));
        Self {
            limits: [
                per_minute,
                per_minute,
                per_minute,
                Some(RateLimit::per_hour(30)),
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
            Some(RateLimit::per_minute(100))
        );
        assert_eq!(
            limits.get(EndpointFamily::Stats),
            Some(RateLimit::per_hour(30))
        );
        assert_eq!(
            limits.get(EndpointFamily::Deletion),
            Some(RateLimit::per_day(1000))
        );
        assert_eq!(limits.get(EndpointFamily::Chat), None);
        assert_eq!(RateLimits::unlimited().get(EndpointFamily::Fetch), None);
    }
}
