//! Scripted failures, so retries, rate limits and shutdown are tested against
//! real HTTP rather than a mocked transport.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a fault does to a request it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answers with `status` (and `Retry-After` when set).
    Status {
        /// The HTTP status.
        status: u16,
        /// Seconds for a `Retry-After` header.
        #[serde(default)]
        retry_after: Option<u64>,
        /// The body; a JSON `{"error": ...}` by default.
        #[serde(default)]
        body: Option<String>,
        /// Process the request normally first, then answer with the fault
        /// (the ambiguous failure that makes clients send duplicates).
        #[serde(default)]
        after_processing: bool,
    },
    /// Waits, then processes the request normally.
    Delay {
        /// How long, in milliseconds.
        millis: u64,
    },
    /// Closes the connection without answering.
    Drop {
        /// Process the request first, then drop the connection.
        #[serde(default)]
        after_processing: bool,
    },
}

/// A scripted failure for the next matching requests.
///
/// ```
/// use std::time::Duration;
/// use bento_emulator::Fault;
/// let three_503s = Fault::status(503).times(3);
/// let thirty_percent_500s = Fault::status(500).ratio(0.3).on("/batch/events");
/// let rate_limited = Fault::status(429).retry_after(2);
/// let stall = Fault::delay(Duration::from_secs(5));
/// let dropped = Fault::drop_connection().after_processing();
/// # let _ = (three_503s, thirty_percent_500s, rate_limited, stall, dropped);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// What it does.
    pub action: FaultAction,
    /// Only requests whose API path starts with this (such as `/batch/events`).
    #[serde(default)]
    pub path: Option<String>,
    /// How many requests it applies to; unlimited when `None` and `ratio` is set, else 1.
    #[serde(default)]
    pub times: Option<u64>,
    /// The share of matching requests it applies to, from 0 to 1.
    #[serde(default)]
    pub ratio: Option<f64>,
    /// Only requests whose body contains this text (a "poison" item, to test
    /// how a client isolates the one item a server refuses).
    #[serde(default)]
    pub body_contains: Option<String>,
}

impl Fault {
    /// Why this fault could never do what it says, for the HTTP control
    /// API's 400: a status outside 100-599, a ratio outside 0-1, an empty
    /// `body_contains` (which would never match), `times` of 0.
    pub fn check(&self) -> Result<(), String> {
        if let FaultAction::Status { status, .. } = self.action
            && !(100..=599).contains(&status)
        {
            return Err(format!(
                "status {status} is not an HTTP status (100 to 599)"
            ));
        }
        if let Some(ratio) = self.ratio
            && !(0.0..=1.0).contains(&ratio)
        {
            return Err(format!("ratio {ratio} is not a share between 0 and 1"));
        }
        if self.body_contains.as_deref().is_some_and(str::is_empty) {
            return Err("body_contains is empty, so it would match nothing; leave it out".into());
        }
        if self.times == Some(0) {
            return Err("times is 0, so the fault would never apply; leave it out for once".into());
        }
        Ok(())
    }

    fn new(action: FaultAction) -> Self {
        Self {
            action,
            path: None,
            times: None,
            ratio: None,
            body_contains: None,
        }
    }

    /// Answers with `status`.
    pub fn status(status: u16) -> Self {
        Self::new(FaultAction::Status {
            status,
            retry_after: None,
            body: None,
            after_processing: false,
        })
    }

    /// Delays the request, then processes it normally.
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultAction::Delay {
            millis: delay.as_millis() as u64,
        })
    }

    /// Closes the connection without an answer.
    pub fn drop_connection() -> Self {
        Self::new(FaultAction::Drop {
            after_processing: false,
        })
    }

    /// Adds `Retry-After: seconds` (status faults only).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        if let FaultAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(seconds);
        }
        self
    }

    /// Sets the answer body (status faults only).
    pub fn body(mut self, text: impl Into<String>) -> Self {
        if let FaultAction::Status { body, .. } = &mut self.action {
            *body = Some(text.into());
        }
        self
    }

    /// Processes the request before failing it (status and drop faults).
    pub fn after_processing(mut self) -> Self {
        match &mut self.action {
            FaultAction::Status {
                after_processing, ..
            }
            | FaultAction::Drop { after_processing } => *after_processing = true,
            FaultAction::Delay { .. } => {}
        }
        self
    }

    /// Applies to the next `n` matching requests.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Applies to this share of matching requests (until `times` runs out, if set).
    pub fn ratio(mut self, share: f64) -> Self {
        self.ratio = Some(share.clamp(0.0, 1.0));
        self
    }

    /// Applies only to API paths starting with `prefix`, such as `/batch/events`.
    pub fn on(mut self, prefix: impl Into<String>) -> Self {
        self.path = Some(prefix.into());
        self
    }

    /// Applies only to requests whose body contains `text`.
    ///
    /// ```
    /// use bento_emulator::Fault;
    /// // Refuse, with a 400, every batch that carries this one event.
    /// let poison = Fault::status(400).body_contains("poison@example.com").times(u64::MAX);
    /// # let _ = poison;
    /// ```
    pub fn body_contains(mut self, text: impl Into<String>) -> Self {
        self.body_contains = Some(text.into());
        self
    }

    fn matches(&self, path: &str, body: &[u8]) -> bool {
        let body_matches = self.body_contains.as_deref().is_none_or(|needle| {
            !needle.is_empty()
                && body
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
        });
        body_matches && self.matches_path(path)
    }

    fn matches_path(&self, path: &str) -> bool {
        self.path.as_deref().is_none_or(|prefix| {
            let prefix = prefix.trim_start_matches('/');
            let prefix = prefix.strip_prefix("api/v1/").unwrap_or(prefix);
            path.starts_with(prefix)
        })
    }
}

/// Faults waiting for requests, first match wins.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: Vec<(Fault, Option<u64>)>,
}

impl FaultQueue {
    /// The faults waiting, with how many requests each still applies to.
    pub(crate) fn list(&self) -> &[(Fault, Option<u64>)] {
        &self.faults
    }

    pub(crate) fn push(&mut self, fault: Fault) {
        let remaining = match (fault.times, fault.ratio) {
            (Some(n), _) => Some(n),
            (None, Some(_)) => None,
            (None, None) => Some(1),
        };
        if remaining != Some(0) {
            self.faults.push((fault, remaining));
        }
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.faults.len()
    }

    /// The action for a request to `path` (relative to `/api/v1/`) with
    /// `body`, if a fault applies.
    pub(crate) fn take(&mut self, path: &str, body: &[u8]) -> Option<FaultAction> {
        let index = self.faults.iter().position(|(fault, _)| {
            fault.matches(path, body) && fault.ratio.is_none_or(|share| fastrand::f64() < share)
        })?;
        let (fault, remaining) = &mut self.faults[index];
        let action = fault.action.clone();
        if let Some(n) = remaining {
            *n -= 1;
            if *n == 0 {
                self.faults.remove(index);
            }
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_run_out_in_order() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::status(503).times(2));
        queue.push(Fault::drop_connection());
        assert!(matches!(
            queue.take("batch/events", b""),
            Some(FaultAction::Status { status: 503, .. })
        ));
        assert!(matches!(
            queue.take("fetch/tags", b""),
            Some(FaultAction::Status { status: 503, .. })
        ));
        assert!(matches!(
            queue.take("batch/events", b""),
            Some(FaultAction::Drop { .. })
        ));
        assert_eq!(queue.take("batch/events", b""), None);
    }

    #[test]
    fn path_filters_and_ratios() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::status(500).on("/api/v1/batch/events").ratio(1.0));
        assert_eq!(queue.take("fetch/tags", b""), None);
        for _ in 0..10 {
            assert!(queue.take("batch/events", b"").is_some());
        }
        queue.clear();
        queue.push(Fault::status(500).ratio(0.0));
        assert_eq!(queue.take("batch/events", b""), None);
        assert_eq!(queue.len(), 1);
        queue.clear();
        queue.push(Fault::status(400).body_contains("poison").times(5));
        assert_eq!(queue.take("batch/events", br#"{"events":[{"a":1}]}"#), None);
        assert!(
            queue
                .take("batch/events", br#"{"events":[{"poison":1}]}"#)
                .is_some()
        );
    }

    #[test]
    fn faults_round_trip_as_json() {
        let fault = Fault::status(429).retry_after(3).on("/batch").times(2);
        let json = serde_json::to_string(&fault).unwrap();
        assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), fault);
        let minimal: Fault = serde_json::from_str(r#"{"action": {"kind": "drop"}}"#).unwrap();
        assert_eq!(minimal, Fault::drop_connection());
    }
}
